// A user's API keys and each key's own policy: an expiry, a subset of the user's models, rate
// limits and a budget, edited in one form; rotation with a grace period; revocation. A new or
// rotated key's secret goes to the clipboard, never to the screen.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useBackend } from "../backend/backend";
import type { ApiKey } from "../bindings/ApiKey";
import type { Budget } from "../bindings/Budget";
import type { Change } from "../bindings/Change";
import type { Limits } from "../bindings/Limits";
import type { UserDetail } from "../bindings/UserDetail";
import type { BudgetPeriod } from "../bindings/BudgetPeriod";
import { AMOUNT_ERROR, DATE_HINT, formatDate, formatDateTime, formatInputDay, formatRelative, formatResetsIn, formatUsd, readAmount } from "../format";
import { resetsOf } from "../shared/budgets";
import { useNow } from "../shell/useNow";
import { useChange } from "../shared/changes";
import { DayInput, differs, Field, fieldMessages, FormError, SubmitCancel, TextField } from "../shared/forms";
import { Notice, useActionNotice } from "../shared/notices";
import { useCan, useStatus } from "../shell/permissions";

export const NEW_KEY_MESSAGE = "The new key is on your clipboard and is never shown here: paste it where it is needed now.";
export const ROTATED_KEY_MESSAGE = "The key's new secret is on your clipboard and is never shown here: paste it where it is needed now.";

/** How long a rotated-out secret keeps working: 0 to 7 days, in seconds. */
export const GRACE_CHOICES: { seconds: number; label: string }[] = [
  { seconds: 0, label: "Stops at once" },
  { seconds: 3600, label: "1 hour" },
  { seconds: 86_400, label: "1 day" },
  { seconds: 3 * 86_400, label: "3 days" },
  { seconds: 7 * 86_400, label: "7 days" },
];

const LIMIT_FIELDS: { field: keyof Limits; label: string }[] = [
  { field: "requests_per_min", label: "Key requests per minute" },
  { field: "input_tokens_per_min", label: "Key input tokens per minute" },
  { field: "output_tokens_per_min", label: "Key output tokens per minute" },
  { field: "max_concurrent", label: "Key concurrent requests" },
];
const BUDGET_FIELDS: { field: "daily_usd" | "weekly_usd" | "monthly_usd"; label: string }[] = [
  { field: "daily_usd", label: "Key daily budget (USD)" },
  { field: "weekly_usd", label: "Key weekly budget (USD)" },
  { field: "monthly_usd", label: "Key monthly budget (USD)" },
];
const SHOWN_FIELDS = ["name", "expires_at", "model_ids", ...LIMIT_FIELDS.map((f) => f.field), ...BUDGET_FIELDS.map((f) => f.field)];

/** What the key form holds, as typed. */
interface KeyForm {
  name: string;
  /** `YYYY-MM-DD`, or "" for no expiry. */
  /** `YYYY-MM-DD`, "" for never, null while what is typed is not a date. */
  expires: string | null;
  /** Checked models; none checked: every model the user has. */
  models: string[];
  limits: Record<keyof Limits, string>;
  budget: Record<"daily_usd" | "weekly_usd" | "monthly_usd", string>;
  /** Kept from the key; a new key alerts at its user's percents. */
  thresholds: number[];
}

const text = (n: number | null): string => (n === null ? "" : String(n));

function formOf(key: ApiKey | null, userThresholds: number[]): KeyForm {
  return {
    name: key?.name ?? "",
    expires: key?.expires_at ? localDate(key.expires_at) : "",
    models: key?.model_ids ?? [],
    limits: {
      requests_per_min: text(key?.limits.requests_per_min ?? null),
      input_tokens_per_min: text(key?.limits.input_tokens_per_min ?? null),
      output_tokens_per_min: text(key?.limits.output_tokens_per_min ?? null),
      max_concurrent: text(key?.limits.max_concurrent ?? null),
    },
    budget: {
      daily_usd: text(key?.budget.daily_usd ?? null),
      weekly_usd: text(key?.budget.weekly_usd ?? null),
      monthly_usd: text(key?.budget.monthly_usd ?? null),
    },
    thresholds: key?.budget.alert_thresholds ?? userThresholds,
  };
}

/** A form as Save compares it: which models are checked, not in what order. */
function comparable(f: KeyForm): KeyForm {
  return { ...f, name: f.name.trim(), models: [...f.models].sort() };
}

/** The local day of an instant, `YYYY-MM-DD`. */
function localDate(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The end of a local day (the key works through it), as an instant. */
export function endOfLocalDay(day: string): string {
  return new Date(`${day}T23:59:59`).toISOString();
}

/**
 * The key's policy from the form, in the gateway's shape (the gateway checks the ranges), and
 * what is typed that is not an amount, by field.
 */
function policyOf(form: KeyForm): { expires_at: string | null; model_ids: string[] | null; limits: Limits; budget: Budget; invalid: Record<string, string> } {
  const invalid: Record<string, string> = {};
  if (form.expires === null) invalid.expires_at = `Enter the day as a date such as ${formatInputDay("2026-12-31")}, or leave it empty.`;
  const numberOrNull = (field: string, s: string): number | null => {
    const n = readAmount(s);
    if (n === undefined) invalid[field] = AMOUNT_ERROR;
    return n ?? null;
  };
  return {
    invalid,
    expires_at: form.expires ? endOfLocalDay(form.expires) : null,
    model_ids: form.models.length === 0 ? null : [...form.models].sort(),
    limits: {
      requests_per_min: numberOrNull("requests_per_min", form.limits.requests_per_min),
      input_tokens_per_min: numberOrNull("input_tokens_per_min", form.limits.input_tokens_per_min),
      output_tokens_per_min: numberOrNull("output_tokens_per_min", form.limits.output_tokens_per_min),
      max_concurrent: numberOrNull("max_concurrent", form.limits.max_concurrent),
    },
    budget: {
      daily_usd: numberOrNull("daily_usd", form.budget.daily_usd),
      weekly_usd: numberOrNull("weekly_usd", form.budget.weekly_usd),
      monthly_usd: numberOrNull("monthly_usd", form.budget.monthly_usd),
      alert_thresholds: form.thresholds,
    },
  };
}

export function isExpired(key: ApiKey, now: number = Date.now()): boolean {
  return key.expires_at !== null && Date.parse(key.expires_at) <= now;
}

/**
 * The key's own limits and budget in a few words, each budget with when it resets (the org's
 * periods, the same for every subject: `resets`), or null when it sets none.
 */
function policySummary(key: ApiKey, resets: Partial<Record<BudgetPeriod, string>>, now: number): string | null {
  const parts: string[] = [];
  const l = key.limits;
  if (l.requests_per_min !== null) parts.push(`${l.requests_per_min} requests/min`);
  if (l.input_tokens_per_min !== null) parts.push(`${l.input_tokens_per_min} input tokens/min`);
  if (l.output_tokens_per_min !== null) parts.push(`${l.output_tokens_per_min} output tokens/min`);
  if (l.max_concurrent !== null) parts.push(`${l.max_concurrent} at once`);
  const cap = (usd: number, per: string, period: BudgetPeriod) => {
    const at = resets[period];
    return `${formatUsd(usd)} a ${per}${at ? ` (${formatResetsIn(at, now)})` : ""}`;
  };
  if (key.budget.daily_usd !== null) parts.push(cap(key.budget.daily_usd, "day", "daily"));
  if (key.budget.weekly_usd !== null) parts.push(cap(key.budget.weekly_usd, "week", "weekly"));
  if (key.budget.monthly_usd !== null) parts.push(cap(key.budget.monthly_usd, "month", "monthly"));
  return parts.length === 0 ? null : parts.join(", ");
}

export function ApiKeys({ detail }: { detail: UserDetail }) {
  const can = useCan();
  const runner = useChange();
  const [form, setForm] = useState<KeyForm>(() => formOf(null, detail.budget.alert_thresholds));
  /** The key being edited or rotated, if any: its form replaces the new key's. */
  const [editing, setEditing] = useState<ApiKey | null>(null);
  const [rotating, setRotating] = useState<ApiKey | null>(null);
  const [grace, setGrace] = useState(0);
  const [notice, setNotice] = useActionNotice();
  const backend = useBackend();
  // The user's budget status (the query the detail's spend section makes) carries when each
  // budget period resets; a key's budgets reset with them.
  const status = useQuery({
    queryKey: ["budget", "user", detail.user.id],
    queryFn: () => backend.budgetStatus({ kind: "user", id: detail.user.id }),
  });
  const resets = status.data ? resetsOf(status.data.forecast) : {};
  // The owner manages their own keys (online); `keys.write` anyone's.
  const app = useStatus();
  const mine = app.me?.user.id === detail.user.id;
  const write = can("keys.write") || (mine && app.phase === "ready" && !app.offline);
  const [invalid, setInvalid] = useState<Record<string, string>>({});
  const messages: Record<string, string | undefined> = { ...fieldMessages(runner.error, SHOWN_FIELDS), ...invalid };
  // A key may use only what its user has: the models of the effective policy.
  const models = detail.effective.grants.map((g) => g.model_id);

  function start(key: ApiKey | null, action: "edit" | "rotate" | null) {
    runner.reset();
    setNotice(null);
    setInvalid({});
    setEditing(action === "edit" ? key : null);
    setRotating(action === "rotate" ? key : null);
    setForm(formOf(action === "edit" ? key : null, detail.budget.alert_thresholds));
    setGrace(0);
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    setNotice(null);
    const { invalid: wrong, ...policy } = policyOf(form);
    setInvalid(wrong);
    if (Object.keys(wrong).length > 0) return;
    if (editing) {
      runner.run({ op: "update_key", id: editing.id, patch: { name: form.name.trim(), ...policy } }, () => start(null, null));
      return;
    }
    // Only what the admin set: a key without options is made as before.
    const setLimits = Object.values(policy.limits).some((v) => v !== null);
    const setBudget = [policy.budget.daily_usd, policy.budget.weekly_usd, policy.budget.monthly_usd].some((v) => v !== null);
    const create: Change = {
      op: "create_key",
      user_id: detail.user.id,
      name: form.name.trim(),
      ...(policy.expires_at !== null && { expires_at: policy.expires_at }),
      ...(policy.model_ids !== null && { model_ids: policy.model_ids }),
      ...(setLimits && { limits: policy.limits }),
      ...(setBudget && { budget: policy.budget }),
    };
    runner.run(create, () => {
      start(null, null);
      setNotice(NEW_KEY_MESSAGE);
    });
  }

  function rotate(e: FormEvent) {
    e.preventDefault();
    if (!rotating) return;
    runner.run({ op: "rotate_key", id: rotating.id, grace_seconds: grace }, () => {
      start(null, null);
      setNotice(ROTATED_KEY_MESSAGE);
    });
  }

  if (!can("keys.read") && !mine) return null;
  const formTitle = editing ? `Edit API key ${editing.name}` : "New API key";
  return (
    <section className="detail-section" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      {detail.api_keys.length === 0 ? (
        <p className="muted">No API keys.</p>
      ) : (
        <ul className="plain-list">
          {detail.api_keys.map((k) => (
            <KeyRow
              key={k.id}
              apiKey={k}
              spent={detail.key_spend_mtd_usd[k.id] ?? 0}
              resets={resets}
              write={write}
              pending={runner.pending}
              onEdit={() => start(k, "edit")}
              onRotate={() => start(k, "rotate")}
              onRevoke={() => runner.run({ op: "revoke_key", id: k.id })}
            />
          ))}
        </ul>
      )}
      {write && rotating && (
        <form className="key-form" aria-label={`Rotate API key ${rotating.name}`} onSubmit={rotate}>
          <Field label="Old secret keeps working for">
            {(p) => (
              <select className="input" value={grace} onChange={(e) => setGrace(Number(e.target.value))} {...p}>
                {GRACE_CHOICES.map((c) => (
                  <option key={c.seconds} value={c.seconds}>
                    {c.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <SubmitCancel disabled={runner.pending} onCancel={() => start(null, null)}>
            Rotate key
          </SubmitCancel>
        </form>
      )}
      {write && !rotating && (
        <form className="key-form" aria-label={formTitle} onSubmit={submit}>
          <TextField
            label={editing ? "Key name" : "New key's name"}
            value={form.name}
            disabled={runner.pending}
            error={messages.name}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
          />
          <Field label="Key expires on" error={messages.expires_at} hint={`${DATE_HINT}. Empty: the key does not expire. It works through the end of that day.`}>
            {(p) => <DayInput {...p} day={form.expires} disabled={runner.pending} onDay={(expires) => setForm({ ...form, expires })} />}
          </Field>
          <fieldset className="key-models">
            <legend>Models</legend>
            <p className="muted">None checked: every model the user has, now and later.</p>
            {models.length === 0 && <p className="muted">The user has no models yet.</p>}
            {models.map((m) => (
              <label key={m} className="checkbox">
                <input
                  type="checkbox"
                  checked={form.models.includes(m)}
                  disabled={runner.pending}
                  onChange={(e) => setForm({ ...form, models: e.target.checked ? [...form.models, m] : form.models.filter((x) => x !== m) })}
                />
                {`Model ${m}`}
              </label>
            ))}
            {messages.model_ids && (
              <span className="field-error" data-testid="field-error">
                {messages.model_ids}
              </span>
            )}
          </fieldset>
          <NumberFields
            legend="Limits (empty: none of the key's own)"
            fields={LIMIT_FIELDS}
            values={form.limits}
            errors={messages}
            disabled={runner.pending}
            onChange={(field, value) => setForm({ ...form, limits: { ...form.limits, [field]: value } })}
          />
          <NumberFields
            legend="Budget (empty: none of the key's own)"
            fields={BUDGET_FIELDS}
            values={form.budget}
            errors={messages}
            disabled={runner.pending}
            onChange={(field, value) => setForm({ ...form, budget: { ...form.budget, [field]: value } })}
          />
          {editing ? (
            <SubmitCancel
              disabled={runner.pending || form.name.trim() === "" || !differs(comparable(formOf(editing, detail.budget.alert_thresholds)), comparable(form))}
              onCancel={() => start(null, null)}
            >
              Save key
            </SubmitCancel>
          ) : (
            <button type="submit" className="button" disabled={runner.pending || form.name.trim() === ""}>
              Create key
            </button>
          )}
        </form>
      )}
      {notice && <Notice>{notice}</Notice>}
      <FormError error={runner.error} shown={SHOWN_FIELDS} />
    </section>
  );
}

/** A fieldset of number inputs, as typed (empty: none). */
function NumberFields<F extends string>(props: {
  legend: string;
  fields: { field: F; label: string }[];
  values: Record<F, string>;
  errors: Record<string, string | undefined>;
  disabled: boolean;
  onChange: (field: F, value: string) => void;
}) {
  return (
    <fieldset className="key-numbers">
      <legend>{props.legend}</legend>
      {props.fields.map(({ field, label }) => (
        <TextField
          key={field}
          label={label}
          inputMode="decimal"
          value={props.values[field]}
          disabled={props.disabled}
          error={props.errors[field]}
          onChange={(e) => props.onChange(field, e.target.value)}
        />
      ))}
    </fieldset>
  );
}

function KeyRow(props: {
  apiKey: ApiKey;
  spent: number;
  resets: Partial<Record<BudgetPeriod, string>>;
  write: boolean;
  pending: boolean;
  onEdit: () => void;
  onRotate: () => void;
  onRevoke: () => void;
}) {
  const k = props.apiKey;
  const expired = isExpired(k);
  const now = useNow(60_000);
  const summary = policySummary(k, props.resets, now);
  const live = !k.revoked_at;
  return (
    <li data-testid="api-key">
      <strong>{k.name}</strong> <code>{k.prefix}…</code>{" "}
      {expired && live && <span className="badge danger">expired</span>}{" "}
      <span className="muted">
        created {formatDate(k.created_at)}
        {k.last_used_at ? `, used ${formatRelative(k.last_used_at)}` : ", never used"}
        {k.revoked_at ? `, revoked ${formatDate(k.revoked_at)}` : ""}
        {k.expires_at && !expired ? `, expires ${formatDate(k.expires_at)}` : ""}
        {k.expires_at && expired ? `, expired ${formatDate(k.expires_at)}` : ""}
      </span>
      <div className="muted" data-testid="api-key-policy">
        {k.model_ids === null ? "All of the user's models" : `Models: ${k.model_ids.join(", ")}`}
        {summary ? `; ${summary}` : ""}
        {`; ${formatUsd(props.spent)} this month`}
        {k.previous_secret_expires_at && Date.parse(k.previous_secret_expires_at) > Date.now()
          ? `; the previous secret works until ${formatDateTime(k.previous_secret_expires_at)}`
          : ""}
      </div>
      {props.write && live && (
        <span className="row-actions">
          <button type="button" className="button" disabled={props.pending} onClick={props.onEdit}>
            Edit {k.name}
          </button>
          <button type="button" className="button" disabled={props.pending} onClick={props.onRotate}>
            Rotate {k.name}
          </button>
          <button type="button" className="button danger" disabled={props.pending} onClick={props.onRevoke}>
            Revoke {k.name}
          </button>
        </span>
      )}
    </li>
  );
}
