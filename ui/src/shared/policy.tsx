// The editors of what a subject (a user or a group) sets itself: model grants, rate limits and a
// budget with its alert thresholds. They start from the saved values and offer Save once
// something differs. A user's also say, for each field, what the gateway enforces (the strictest
// of the user's own value and their groups') and where that comes from.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";
import { useBackend } from "../backend/backend";
import type { Budget } from "../bindings/Budget";
import type { EffectiveCount } from "../bindings/EffectiveCount";
import type { Limits } from "../bindings/Limits";
import type { SubjectKind } from "../bindings/SubjectKind";
import type { UserGroup } from "../bindings/UserGroup";
import { AMOUNT_ERROR, formatUsd, parseThresholds, readAmount } from "../format";
import { useChange, type ChangeRunner } from "./changes";
import { Field, fieldMessages, FormError, TextField } from "./forms";

export interface PolicyField<K extends string> {
  key: K;
  label: string;
  format(value: number): string;
}

const count = new Intl.NumberFormat();

export const LIMIT_FIELDS: PolicyField<keyof Limits>[] = [
  { key: "requests_per_min", label: "Requests per minute", format: (v) => count.format(v) },
  { key: "input_tokens_per_min", label: "Input tokens per minute", format: (v) => count.format(v) },
  { key: "output_tokens_per_min", label: "Output tokens per minute", format: (v) => count.format(v) },
  { key: "max_concurrent", label: "Concurrent requests", format: (v) => count.format(v) },
];

type Cap = "daily_usd" | "weekly_usd" | "monthly_usd";
export const BUDGET_FIELDS: PolicyField<Cap>[] = [
  { key: "daily_usd", label: "Daily cap (USD)", format: formatUsd },
  { key: "weekly_usd", label: "Weekly cap (USD)", format: formatUsd },
  { key: "monthly_usd", label: "Monthly cap (USD)", format: formatUsd },
];

/** Where an effective value comes from, in words. */
export function sourceText(source: string | null, groups: readonly UserGroup[]): string {
  if (source === null) return "not set anywhere";
  if (source === "user") return "own";
  return `from group ${groups.find((g) => g.id === source)?.name ?? source}`;
}

function toText(value: number | null): string {
  return value === null ? "" : String(value);
}

/** What the gateway enforces for each field, and the groups the sources name. */
interface InEffect<K extends string> {
  values: Record<K, EffectiveCount>;
  groups: readonly UserGroup[];
}

interface Props<K extends string> {
  title: string;
  fields: readonly PolicyField<K>[];
  own: Record<K, number | null>;
  effective?: InEffect<K>;
  /** Null: the admin may not change it, and sees it only. */
  runner: ChangeRunner | null;
  onSave(values: Record<K, number | null>): void;
  /** More inputs of the form (the budget's thresholds), and their field names for errors. */
  extra?: { fields: readonly string[]; node: ReactNode; error?: string | null; changed?: boolean };
  /** Said under a field (a budget cap's "resets in …"). */
  notes?: Partial<Record<K, ReactNode>>;
}

export function PolicyForm<K extends string>({ title, fields, own, effective, runner, onSave, extra, notes }: Props<K>) {
  const [text, setText] = useState(() => Object.fromEntries(fields.map((f) => [f.key, toText(own[f.key])])) as Record<K, string>);
  const [invalid, setInvalid] = useState<Partial<Record<K, string>>>({});
  const shown = [...fields.map((f) => f.key as string), ...(extra?.fields ?? [])];
  const messages = fieldMessages(runner?.error ?? null, shown);
  // The one rule for Save: offered once something differs from what is saved.
  const changed = fields.some((f) => readAmount(text[f.key]) !== own[f.key]) || (extra?.changed ?? false);

  function submit(e: FormEvent) {
    e.preventDefault();
    const values = {} as Record<K, number | null>;
    const errors: Partial<Record<K, string>> = {};
    for (const f of fields) {
      const n = readAmount(text[f.key]);
      if (n === undefined) errors[f.key] = AMOUNT_ERROR;
      values[f.key] = n ?? null;
    }
    setInvalid(errors);
    if (Object.keys(errors).length === 0 && !extra?.error) onSave(values);
  }

  return (
    <form className="policy-form" onSubmit={submit} aria-label={title}>
      <h2>{title}</h2>
      <div className="policy-grid">
        {fields.map((f) => {
          const eff = effective?.values[f.key];
          const effText = eff?.value == null ? "none" : f.format(eff.value);
          const ownValue = own[f.key];
          return (
            <div key={f.key} className="policy-field" data-testid={`policy-${f.key}`}>
              {runner ? (
                <TextField
                  label={f.label}
                  inputMode="decimal"
                  value={text[f.key]}
                  disabled={runner.pending}
                  error={invalid[f.key] ?? messages[f.key]}
                  onChange={(e) => setText((t) => ({ ...t, [f.key]: e.target.value }))}
                />
              ) : (
                <span>
                  <strong>{f.label}</strong>: {ownValue === null ? "none" : f.format(ownValue)}
                </span>
              )}
              {eff && effective && (
                <span className="effective muted" data-testid="effective">
                  Effective: {effText} ({sourceText(eff.source, effective.groups)})
                </span>
              )}
              {eff && effective && ownValue !== null && eff.value !== null && eff.source !== null && eff.source !== "user" && eff.value < ownValue && (
                <span className="field-note" data-testid="inherited-applies">
                  The own {f.format(ownValue)} is looser: {sourceText(eff.source, effective.groups).replace(/^from /, "")}&apos;s {effText} still applies.
                </span>
              )}
              {notes?.[f.key]}
            </div>
          );
        })}
        {extra?.node}
      </div>
      {runner && (
        <>
          <FormError error={runner.error} shown={shown} />
          <div className="form-actions">
            <button type="submit" className="button primary" disabled={runner.pending || !changed}>
              {runner.pending ? "Saving…" : `Save ${title.toLowerCase()}`}
            </button>
            {runner.done && !changed && (
              <span className="muted" role="status">
                Saved.
              </span>
            )}
          </div>
        </>
      )}
    </form>
  );
}

/** Whose policy an editor changes. */
export interface PolicySubject {
  subject_kind: SubjectKind;
  subject_id: string;
}

/** A subject's own rate limits and budget; `effective` adds what is in force (a user's). */
export function LimitsAndBudget(props: {
  subject: PolicySubject;
  limits: Limits;
  budget: Budget;
  effective?: { limits: Record<keyof Limits, EffectiveCount>; budget: Record<Cap, EffectiveCount>; groups: readonly UserGroup[] };
  writable: boolean;
  budgetNotes?: Partial<Record<Cap, ReactNode>>;
}) {
  const { subject, budget: saved, effective, writable } = props;
  const limits = useChange();
  const budget = useChange();
  const [thresholds, setThresholds] = useState(saved.alert_thresholds.join(", "));
  const read = parseThresholds(thresholds);
  const thresholdError = typeof read === "string" ? read : null;
  const parsed = typeof read === "string" ? [] : read;
  return (
    <>
      <PolicyForm
        title="Rate limits"
        fields={LIMIT_FIELDS}
        own={props.limits}
        effective={effective && { values: effective.limits, groups: effective.groups }}
        runner={writable ? limits : null}
        onSave={(values) => limits.run({ op: "set_limits", ...subject, limits: values })}
      />
      <PolicyForm
        title="Budget"
        fields={BUDGET_FIELDS}
        own={saved}
        effective={effective && { values: effective.budget, groups: effective.groups }}
        runner={writable ? budget : null}
        notes={props.budgetNotes}
        onSave={(values) => budget.run({ op: "set_budget", ...subject, budget: { ...values, alert_thresholds: parsed } })}
        extra={{
          fields: ["alert_thresholds"],
          error: thresholdError,
          changed: parsed.join(",") !== saved.alert_thresholds.join(","),
          node: writable ? (
            <Field label="Alert thresholds (% of each cap)" error={thresholdError ?? budget.error?.fields?.find((f) => f.field === "alert_thresholds")?.message}>
              {(p) => <input className="input" {...p} value={thresholds} disabled={budget.pending} onChange={(e) => setThresholds(e.target.value)} />}
            </Field>
          ) : (
            <span>
              <strong>Alert thresholds</strong>: {saved.alert_thresholds.map((t) => `${t}%`).join(", ") || "none"}
            </span>
          ),
        }}
      />
    </>
  );
}

/** A model the subject has, and whether the subject's own grant is what gives it. */
export interface GrantedModel {
  model_id: string;
  own: boolean;
  /** Where it comes from, said after the name (a user's: "own, from group ML"). */
  note?: string;
}

/** The models a subject has, each own grant revocable, and a grant of one it lacks. */
export function GrantList({ subject, granted, writable, empty }: { subject: PolicySubject; granted: readonly GrantedModel[]; writable: boolean; empty: string }) {
  const backend = useBackend();
  const runner = useChange();
  const models = useQuery({ queryKey: ["models"], queryFn: () => backend.listModels() });
  const [picked, setPicked] = useState("");
  const name = (modelId: string) => models.data?.find((m) => m.id === modelId)?.display_name ?? modelId;
  const own = new Set(granted.filter((g) => g.own).map((g) => g.model_id));
  const grantable = (models.data ?? []).filter((m) => !own.has(m.id));

  return (
    <section className="detail-section" aria-labelledby={`grants-${subject.subject_id}`}>
      <h2 id={`grants-${subject.subject_id}`}>Models</h2>
      {granted.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <ul className="plain-list">
          {granted.map((g) => (
            <li key={g.model_id} data-testid="grant">
              <span>{name(g.model_id)}</span>
              {g.note && <span className="muted"> ({g.note})</span>}{" "}
              {writable && g.own && (
                <button
                  type="button"
                  className="button danger"
                  disabled={runner.pending}
                  onClick={() => runner.run({ op: "revoke_grant", ...subject, model_id: g.model_id })}
                >
                  Revoke {name(g.model_id)}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {writable && (
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
            onClick={() => runner.run({ op: "grant", ...subject, model_id: picked }, () => setPicked(""))}
          >
            Grant
          </button>
        </div>
      )}
      <FormError error={runner.error} />
    </section>
  );
}
