// A group's grants, limits and budget. The cache has no read of a group's own policy, so these
// set values rather than edit the current ones: an empty field means unlimited (or no cap).
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";
import { useBackend } from "../backend/backend";
import type { Budget } from "../bindings/Budget";
import type { Limits } from "../bindings/Limits";
import { useChange } from "../shared/changes";
import { FormError, TextField } from "../shared/forms";
import { Notice } from "../shared/notices";
import { AMOUNT_ERROR, parseThresholds, readAmount } from "../format";

type Numbers<K extends string> = Record<K, number | null>;

/** A form of optional non-negative numbers; `extra` adds its own inputs. */
function NumbersForm<K extends string>(props: {
  title: string;
  fields: readonly { key: K; label: string }[];
  submitLabel: string;
  pending: boolean;
  extra?: ReactNode;
  extraError?: string | null;
  onSubmit: (values: Numbers<K>) => void;
}) {
  const [text, setText] = useState<Partial<Record<K, string>>>({});
  const [errors, setErrors] = useState<Partial<Record<K, string>>>({});
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const values = {} as Numbers<K>;
    const found: Partial<Record<K, string>> = {};
    for (const { key } of props.fields) {
      const n = readAmount(text[key] ?? "");
      if (n === undefined) found[key] = AMOUNT_ERROR;
      values[key] = n ?? null;
    }
    setErrors(found);
    if (Object.keys(found).length === 0 && !props.extraError) props.onSubmit(values);
  };
  return (
    <form className="panel-form" aria-label={props.title} onSubmit={submit}>
      <h3>{props.title}</h3>
      <div className="form-row">
        {props.fields.map(({ key, label }) => (
          <TextField
            key={key}
            label={label}
            inputMode="decimal"
            value={text[key] ?? ""}
            error={errors[key]}
            onChange={(e) => setText({ ...text, [key]: e.target.value })}
          />
        ))}
      </div>
      {props.extra}
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={props.pending}>
          {props.submitLabel}
        </button>
      </div>
    </form>
  );
}

const LIMITS = [
  { key: "requests_per_min", label: "Requests per minute" },
  { key: "input_tokens_per_min", label: "Input tokens per minute" },
  { key: "output_tokens_per_min", label: "Output tokens per minute" },
  { key: "max_concurrent", label: "Concurrent requests" },
] as const;

const BUDGET = [
  { key: "daily_usd", label: "Daily (USD)" },
  { key: "weekly_usd", label: "Weekly (USD)" },
  { key: "monthly_usd", label: "Monthly (USD)" },
] as const;

export function PolicyEditors({ groupId }: { groupId: string }) {
  const backend = useBackend();
  const models = useQuery({ queryKey: ["models"], queryFn: () => backend.listModels() });
  const [model, setModel] = useState("");
  const [thresholds, setThresholds] = useState("50, 80, 100");
  const [done, setDone] = useState<string | null>(null);
  const change = useChange({
    refresh: [["groups"]],
    onDone: (_, c) =>
      setDone({ grant: "Model granted.", revoke_grant: "Grant revoked.", set_limits: "Limits saved.", set_budget: "Budget saved." }[c.op as string] ?? "Saved."),
  });
  const parsed = parseThresholds(thresholds);
  const subject = { subject_kind: "group", subject_id: groupId } as const;
  const chosen = model || models.data?.[0]?.id || "";

  return (
    <section className="detail-panel" aria-label="Access and limits">
      <h3>Access and limits</h3>
      {done && <Notice>{done}</Notice>}
      <FormError error={change.error} />
      <div className="form-row">
        <div className="field">
          <label htmlFor="grant-model">Model</label>
          <select id="grant-model" value={chosen} onChange={(e) => setModel(e.target.value)}>
            {models.data?.map((m) => (
              <option key={m.id} value={m.id}>
                {m.display_name}
              </option>
            ))}
          </select>
        </div>
        <div className="form-actions">
          <button type="button" className="button" disabled={!chosen || change.pending} onClick={() => change.run({ op: "grant", ...subject, model_id: chosen })}>
            Grant
          </button>
          <button type="button" className="button danger" disabled={!chosen || change.pending} onClick={() => change.run({ op: "revoke_grant", ...subject, model_id: chosen })}>
            Revoke grant
          </button>
        </div>
      </div>
      <NumbersForm
        title="Rate limits"
        fields={LIMITS}
        submitLabel="Save limits"
        pending={change.pending}
        onSubmit={(limits: Limits) => change.run({ op: "set_limits", ...subject, limits })}
      />
      <NumbersForm
        title="Budget"
        fields={BUDGET}
        submitLabel="Save budget"
        pending={change.pending}
        extraError={typeof parsed === "string" ? parsed : null}
        extra={
          <TextField
            label="Alert at (% of each cap)"
            value={thresholds}
            error={typeof parsed === "string" ? parsed : undefined}
            onChange={(e) => setThresholds(e.target.value)}
          />
        }
        onSubmit={(caps) => {
          if (typeof parsed === "string") return;
          const budget: Budget = { ...caps, alert_thresholds: parsed };
          change.run({ op: "set_budget", ...subject, budget });
        }}
      />
    </section>
  );
}
