import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/backend";
import type { UsageFilter } from "../bindings/UsageFilter";
import { QueryError } from "../shared/notices";
import { localDay, METRICS, UsageView } from "./UsageScreen";

export const TREND_DAYS = 30;

/** Spend day by day over the last 30 days, stacked by model: the org's, or one user's. */
export function SpendTrend({ title, userId = null, withTable = false }: { title: string; userId?: string | null; withTable?: boolean }) {
  const backend = useBackend();
  const filter: UsageFilter = {
    from: localDay(TREND_DAYS - 1),
    to: localDay(),
    group_by: "model",
    top: 6,
    user_id: userId,
    group_id: null,
    model_id: null,
    workspace_id: null,
  };
  const chart = useQuery({ queryKey: ["usageChart", filter], queryFn: () => backend.usageChart(filter) });
  if (chart.error) return <QueryError error={chart.error} />;
  if (!chart.data) return null;
  return <UsageView chart={chart.data} metric={METRICS[0]!} groupLabel="Model" table={withTable} title={title} />;
}
