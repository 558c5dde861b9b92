// An editor for a user's own limits or budget that also says, for each field, what the gateway
// enforces (the strictest of the user's own value and their groups') and where that comes from.
import { useState, type FormEvent, type ReactNode } from "react";
import type { EffectiveCount } from "../bindings/EffectiveCount";
import type { UserGroup } from "../bindings/UserGroup";
import type { ChangeRunner } from "../shared/changes";
import { fieldMessages, FormError, TextField } from "../shared/forms";
import { AMOUNT_ERROR, readAmount } from "../format";

export interface PolicyField<K extends string> {
  key: K;
  label: string;
  format(value: number): string;
}

/** Where an effective value comes from, in words. */
export function sourceText(source: string | null, groups: readonly UserGroup[]): string {
  if (source === null) return "not set anywhere";
  if (source === "user") return "own";
  return `from group ${groups.find((g) => g.id === source)?.name ?? source}`;
}

function toText(value: number | null): string {
  return value === null ? "" : String(value);
}

interface Props<K extends string> {
  title: string;
  fields: readonly PolicyField<K>[];
  own: Record<K, number | null>;
  effective: Record<K, EffectiveCount>;
  groups: readonly UserGroup[];
  /** Null: the admin may not change it, and sees it only. */
  runner: ChangeRunner | null;
  onSave(values: Record<K, number | null>): void;
  /** More inputs of the form (the budget's thresholds), and their field names for errors. */
  extra?: { fields: readonly string[]; node: ReactNode; error?: string | null; changed?: boolean };
  /** Said under a field (a budget cap's "resets in …"). */
  notes?: Partial<Record<K, ReactNode>>;
}

export function PolicyForm<K extends string>({ title, fields, own, effective, groups, runner, onSave, extra, notes }: Props<K>) {
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
          const eff = effective[f.key];
          const effText = eff.value === null ? "none" : f.format(eff.value);
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
                  <strong>{f.label}</strong>: {own[f.key] === null ? "none" : f.format(own[f.key]!)}
                </span>
              )}
              <span className="effective muted" data-testid="effective">
                Effective: {effText} ({sourceText(eff.source, groups)})
              </span>
              {own[f.key] !== null && eff.value !== null && eff.source !== null && eff.source !== "user" && eff.value < own[f.key]! && (
                <span className="field-note" data-testid="inherited-applies">
                  The own {f.format(own[f.key]!)} is looser: {sourceText(eff.source, groups).replace(/^from /, "")}&apos;s {effText} still applies.
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
          </div>
        </>
      )}
    </form>
  );
}
