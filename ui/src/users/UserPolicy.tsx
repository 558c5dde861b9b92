// A user's model grants, rate limits and budget: their own, and what is in effect.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useBackend } from "../backend/backend";
import type { Budget } from "../bindings/Budget";
import type { Limits } from "../bindings/Limits";
import type { UserDetail } from "../bindings/UserDetail";
import { formatUsd, parseThresholds } from "../format";
import { useChange } from "../shared/changes";
import { Field, FormError } from "../shared/forms";
import { useCan } from "../shell/permissions";
import { PolicyForm, sourceText, type PolicyField } from "./PolicyForm";
import { ResetsIn, resetsOf } from "../shared/budgets";

const count = new Intl.NumberFormat();

const LIMIT_FIELDS: PolicyField<keyof Limits>[] = [
  { key: "requests_per_min", label: "Requests per minute", format: (v) => count.format(v) },
  { key: "input_tokens_per_min", label: "Input tokens per minute", format: (v) => count.format(v) },
  { key: "output_tokens_per_min", label: "Output tokens per minute", format: (v) => count.format(v) },
  { key: "max_concurrent", label: "Concurrent requests", format: (v) => count.format(v) },
];

type Cap = "daily_usd" | "weekly_usd" | "monthly_usd";
const BUDGET_FIELDS: PolicyField<Cap>[] = [
  { key: "daily_usd", label: "Daily cap (USD)", format: formatUsd },
  { key: "weekly_usd", label: "Weekly cap (USD)", format: formatUsd },
  { key: "monthly_usd", label: "Monthly cap (USD)", format: formatUsd },
];

export function UserPolicy({ detail }: { detail: UserDetail }) {
  const can = useCan();
  const id = detail.user.id;
  const limits = useChange();
  const budget = useChange();
  const [thresholds, setThresholds] = useState(detail.budget.alert_thresholds.join(", "));
  const read = parseThresholds(thresholds);
  const thresholdError = typeof read === "string" ? read : null;
  const parsed = typeof read === "string" ? [] : read;
  const backend = useBackend();
  const status = useQuery({ queryKey: ["budget", "user", id], queryFn: () => backend.budgetStatus({ kind: "user", id }) });
  const resets = status.data ? resetsOf(status.data.forecast) : {};
  const budgetNotes = {
    daily_usd: <ResetsIn at={resets.daily} />,
    weekly_usd: <ResetsIn at={resets.weekly} />,
    monthly_usd: <ResetsIn at={resets.monthly} />,
  };

  return (
    <>
      <Grants detail={detail} />
      <PolicyForm
        title="Rate limits"
        fields={LIMIT_FIELDS}
        own={detail.limits}
        effective={detail.effective.limits}
        groups={detail.groups}
        runner={can("policy.write") ? limits : null}
        onSave={(values) => limits.run({ op: "set_limits", subject_kind: "user", subject_id: id, limits: values })}
      />
      <PolicyForm
        title="Budget"
        fields={BUDGET_FIELDS}
        own={detail.budget}
        effective={detail.effective.budget}
        groups={detail.groups}
        runner={can("policy.write") ? budget : null}
        notes={budgetNotes}
        onSave={(values) => {
          const next: Budget = { ...values, alert_thresholds: parsed };
          budget.run({ op: "set_budget", subject_kind: "user", subject_id: id, budget: next });
        }}
        extra={{
          fields: ["alert_thresholds"],
          error: thresholdError,
          changed: parsed.join(",") !== detail.budget.alert_thresholds.join(","),
          node: can("policy.write") ? (
            <Field label="Alert thresholds (% of each cap)" error={thresholdError ?? budget.error?.fields?.find((f) => f.field === "alert_thresholds")?.message}>
              {(p) => (
                <input className="input" {...p} value={thresholds} disabled={budget.pending} onChange={(e) => setThresholds(e.target.value)} />
              )}
            </Field>
          ) : (
            <span>
              <strong>Alert thresholds</strong>: {detail.budget.alert_thresholds.map((t) => `${t}%`).join(", ") || "none"}
            </span>
          ),
        }}
      />
    </>
  );
}

function Grants({ detail }: { detail: UserDetail }) {
  const backend = useBackend();
  const can = useCan();
  const runner = useChange();
  const models = useQuery({ queryKey: ["models"], queryFn: () => backend.listModels() });
  const [picked, setPicked] = useState("");
  const id = detail.user.id;
  const name = (modelId: string) => models.data?.find((m) => m.id === modelId)?.display_name ?? modelId;
  const own = new Set(detail.grants.map((g) => g.model_id));
  const grantable = (models.data ?? []).filter((m) => !own.has(m.id));
  const write = can("policy.write");

  return (
    <section className="detail-section" aria-labelledby="grants-title">
      <h2 id="grants-title">Models</h2>
      {detail.effective.grants.length === 0 ? (
        <p className="muted">No model is granted to this user or their groups.</p>
      ) : (
        <ul className="plain-list">
          {detail.effective.grants.map((g) => (
            <li key={g.model_id} data-testid="grant">
              <span>{name(g.model_id)}</span>{" "}
              <span className="muted">({g.sources.map((s) => sourceText(s, detail.groups)).join(", ")})</span>
              {write && own.has(g.model_id) && (
                <button
                  type="button"
                  className="button danger"
                  disabled={runner.pending}
                  onClick={() => runner.run({ op: "revoke_grant", subject_kind: "user", subject_id: id, model_id: g.model_id })}
                >
                  Revoke {name(g.model_id)}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {write && (
        <div className="form-row">
          <select aria-label="Model to grant" value={picked} disabled={runner.pending} onChange={(e) => setPicked(e.target.value)}>
            <option value="">Pick a model…</option>
            {grantable.map((m) => (
              <option key={m.id} value={m.id}>
                {m.display_name}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="button"
            disabled={runner.pending || picked === ""}
            onClick={() => runner.run({ op: "grant", subject_kind: "user", subject_id: id, model_id: picked }, () => setPicked(""))}
          >
            Grant
          </button>
        </div>
      )}
      <FormError error={runner.error} />
    </section>
  );
}
