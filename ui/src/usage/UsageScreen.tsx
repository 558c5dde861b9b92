import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useBackend } from "../backend/backend";
import type { UsageChart } from "../bindings/UsageChart";
import type { UsageFilter } from "../bindings/UsageFilter";
import type { UsageGroupBy } from "../bindings/UsageGroupBy";
import type { UsageTotals } from "../bindings/UsageTotals";
import { StackedBars } from "../charts/lazy";
import { formatCompact, formatCompactUsd, formatCount, formatNumber, formatUsd } from "../format";
import { DayInput } from "../shared/forms";
import { QueryError } from "../shared/notices";
import { ScreenHead } from "../shared/ScreenHead";

const PRESETS = [7, 30, 90] as const;
const GROUP_LABEL: Record<UsageGroupBy, string> = { user: "User", model: "Model", workspace: "Workspace", key: "API key" };
const GROUPS = Object.keys(GROUP_LABEL) as UsageGroupBy[];

type Metric = "cost" | "requests" | "tokens";
export const METRICS: {
  id: Metric;
  label: string;
  unit: string;
  of: (t: UsageTotals) => number;
  format: (n: number) => string;
  compact: (n: number) => string;
}[] = [
  { id: "cost", label: "Cost", unit: "USD", of: (t) => t.cost_usd, format: formatUsd, compact: formatCompactUsd },
  { id: "requests", label: "Requests", unit: "Requests", of: (t) => t.requests, format: formatNumber, compact: formatCompact },
  { id: "tokens", label: "Tokens", unit: "Tokens", of: (t) => t.input_tokens + t.output_tokens, format: formatNumber, compact: formatCompact },
];

/** `YYYY-MM-DD` of the local day `daysAgo` before today. */
export function localDay(daysAgo = 0, now: Date = new Date()): string {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysAgo);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function UsageScreen() {
  const backend = useBackend();
  const [from, setFrom] = useState(() => localDay(29));
  const [to, setTo] = useState(() => localDay());
  const [groupBy, setGroupBy] = useState<UsageGroupBy>("user");
  const [metricId, setMetricId] = useState<Metric>("cost");
  /** One API key's usage, by its id ("" for every key's). */
  const [keyId, setKeyId] = useState("");
  const metric = METRICS.find((m) => m.id === metricId)!;

  const filter: UsageFilter = {
    from,
    to,
    group_by: groupBy,
    top: 8,
    user_id: null,
    group_id: null,
    model_id: null,
    workspace_id: null,
    ...(keyId.trim() !== "" && { key_id: keyId.trim() }),
  };
  const chart = useQuery({
    queryKey: ["usageChart", filter],
    queryFn: () => backend.usageChart(filter),
    placeholderData: keepPreviousData,
    enabled: from !== "" && to !== "",
  });
  const exported = useMutation({ mutationFn: (f: UsageFilter) => backend.exportUsageCsv(f) });

  function preset(days: number) {
    setFrom(localDay(days - 1));
    setTo(localDay());
  }
  const today = localDay();

  return (
    <section className="screen insights" aria-labelledby="usage-title">
      <ScreenHead id="usage-title" title="Usage" showsDataAge />
      <div className="toolbar usage-toolbar">
        <div className="segmented-buttons" role="group" aria-label="Range">
          {PRESETS.map((days) => (
            <button
              key={days}
              type="button"
              className="button"
              aria-pressed={to === today && from === localDay(days - 1)}
              onClick={() => preset(days)}
            >
              {days} days
            </button>
          ))}
        </div>
        <label className="inline-field">
          From
          <DayInput day={from} onDay={(d) => d !== null && setFrom(d)} data-testid="usage-from" />
        </label>
        <label className="inline-field">
          To
          <DayInput day={to} onDay={(d) => d !== null && setTo(d)} data-testid="usage-to" />
        </label>
        <label className="inline-field">
          Group by
          <select value={groupBy} onChange={(e) => setGroupBy(GROUPS.find((g) => g === e.target.value) ?? "user")} data-testid="usage-group-by">
            {GROUPS.map((g) => (
              <option key={g} value={g}>
                {GROUP_LABEL[g]}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-field">
          API key id
          <input type="search" className="input" value={keyId} aria-describedby="usage-key-hint" onChange={(e) => setKeyId(e.target.value)} data-testid="usage-key" />
        </label>
        <span id="usage-key-hint" className="visually-hidden">
          Empty: every key
        </span>
        <div className="segmented-buttons" role="group" aria-label="Measure">
          {METRICS.map((m) => (
            <button key={m.id} type="button" className="button" aria-pressed={m.id === metricId} onClick={() => setMetricId(m.id)}>
              {m.label}
            </button>
          ))}
        </div>
        <button type="button" className="button" onClick={() => exported.mutate(filter)} disabled={exported.isPending || chart.isError}>
          Export CSV
        </button>
      </div>
      <div aria-live="polite">
        {exported.data != null && !exported.isPending && (
          <p className="export-note" role="status" data-testid="export-result">
            Saved {formatCount(exported.data, "row", "rows")}
          </p>
        )}
      </div>
      <QueryError error={exported.error} />
      {chart.isError ? (
        <QueryError error={chart.error} />
      ) : (
        chart.data && <UsageView chart={chart.data} metric={metric} groupLabel={GROUP_LABEL[groupBy]} />
      )}
    </section>
  );
}

/** A usage chart and its table of series with totals. */
export function UsageView({
  chart,
  metric,
  groupLabel,
  table = true,
  title = `${metric.label} by ${groupLabel.toLowerCase()}`,
}: {
  chart: UsageChart;
  metric: (typeof METRICS)[number];
  groupLabel: string;
  /** With the table of series and totals under the chart. */
  table?: boolean;
  title?: string;
}) {
  const series = chart.series.map((s) => ({ label: s.label, other: s.key === null }));
  const bars = chart.days.map((d) => ({ day: d.day, values: d.values.map(metric.of) }));
  return (
    <>
      <StackedBars series={series} bars={bars} format={metric.format} compact={metric.compact} unit={metric.unit} title={title} />
      {chart.series.length === 0 ? (
        <p className="muted" data-testid="usage-empty">
          No usage in this range.
        </p>
      ) : (
        table && (
        <table className="data-table" data-testid="usage-table">
          <thead>
            <tr>
              <th scope="col">{groupLabel}</th>
              <th scope="col" className="num">Requests</th>
              <th scope="col" className="num">Input tokens</th>
              <th scope="col" className="num">Output tokens</th>
              <th scope="col" className="num">Cost</th>
            </tr>
          </thead>
          <tbody>
            {chart.series.map((s) => (
              <TotalsRow key={s.key ?? "other"} label={s.label} totals={s.total} />
            ))}
          </tbody>
          <tfoot>
            <TotalsRow label="Total" totals={chart.total} />
          </tfoot>
        </table>
        )
      )}
    </>
  );
}

function TotalsRow({ label, totals }: { label: string; totals: UsageTotals }) {
  return (
    <tr>
      <th scope="row">{label}</th>
      <td className="num">{formatNumber(totals.requests)}</td>
      <td className="num">
        <TokenCount n={totals.input_tokens} />
      </td>
      <td className="num">
        <TokenCount n={totals.output_tokens} />
      </td>
      <td className="num">{formatUsd(totals.cost_usd)}</td>
    </tr>
  );
}

/** A token count: compact from 100,000 on ("23.3M"), where the column is narrow, with the exact one on hover. */
export function TokenCount({ n }: { n: number }) {
  if (n < 100_000) return <>{formatNumber(n)}</>;
  return (
    <span title={formatNumber(n)} data-testid="token-count">
      {formatCompact(n)}
    </span>
  );
}
