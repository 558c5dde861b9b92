// A user's model grants, rate limits and budget: their own, and what is in effect.
import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/backend";
import type { UserDetail } from "../bindings/UserDetail";
import { ResetsIn, resetsOf } from "../shared/budgets";
import { GrantList, LimitsAndBudget, sourceText } from "../shared/policy";
import { useCan } from "../shell/permissions";

export function UserPolicy({ detail }: { detail: UserDetail }) {
  const can = useCan();
  const id = detail.user.id;
  const subject = { subject_kind: "user", subject_id: id } as const;
  const backend = useBackend();
  const status = useQuery({ queryKey: ["budget", "user", id], queryFn: () => backend.budgetStatus({ kind: "user", id }) });
  const resets = status.data ? resetsOf(status.data.forecast) : {};
  const own = new Set(detail.grants.map((g) => g.model_id));

  return (
    <>
      <GrantList
        subject={subject}
        writable={can("policy.write")}
        empty="No model is granted to this user or their groups."
        granted={detail.effective.grants.map((g) => ({
          model_id: g.model_id,
          own: own.has(g.model_id),
          note: g.sources.map((s) => sourceText(s, detail.groups)).join(", "),
        }))}
      />
      <LimitsAndBudget
        subject={subject}
        limits={detail.limits}
        budget={detail.budget}
        effective={{ limits: detail.effective.limits, budget: detail.effective.budget, groups: detail.groups }}
        writable={can("policy.write")}
        budgetNotes={{
          daily_usd: <ResetsIn at={resets.daily} />,
          weekly_usd: <ResetsIn at={resets.weekly} />,
          monthly_usd: <ResetsIn at={resets.monthly} />,
        }}
      />
    </>
  );
}
