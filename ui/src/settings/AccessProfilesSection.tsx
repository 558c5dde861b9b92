// Access profiles: named model grants, limits and a budget that new people start from, and the
// org's default. A profile's values are copied when an account is created, so editing one here
// changes nobody who already started from it.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useBackend } from "../backend/backend";
import type { AccessProfile } from "../bindings/AccessProfile";
import type { AppStatus } from "../bindings/AppStatus";
import type { Budget } from "../bindings/Budget";
import type { Limits } from "../bindings/Limits";
import { AMOUNT_ERROR, formatUsd, parseThresholds, readAmount } from "../format";
import { useChange } from "../shared/changes";
import { ConfirmButton } from "../shared/ConfirmButton";
import { differs, FormError, SubmitCancel, TextField, fieldMessages } from "../shared/forms";
import { Notice, useActionNotice } from "../shared/notices";
import { useCan } from "../shell/permissions";

const LIMITS = [
  ["requests_per_min", "Requests per minute"],
  ["input_tokens_per_min", "Input tokens per minute"],
  ["output_tokens_per_min", "Output tokens per minute"],
  ["max_concurrent", "Concurrent requests"],
] as const;
const CAPS = [
  ["daily_usd", "Daily cap (USD)"],
  ["weekly_usd", "Weekly cap (USD)"],
  ["monthly_usd", "Monthly cap (USD)"],
] as const;
type LimitKey = (typeof LIMITS)[number][0];
type CapKey = (typeof CAPS)[number][0];

const SHOWN = ["name", "description", "grants", ...LIMITS.map(([k]) => k), ...CAPS.map(([k]) => k), "alert_thresholds"];

/** What a profile gives, in a line. */
export function profileSummary(p: AccessProfile): string {
  const parts = [p.grants.length === 1 ? "1 model" : `${p.grants.length} models`];
  const caps = CAPS.filter(([k]) => p.budget[k] !== null).map(([k, label]) => `${label.split(" ")[0]!.toLowerCase()} ${formatUsd(p.budget[k]!)}`);
  if (caps.length > 0) parts.push(`budget ${caps.join(", ")}`);
  if (p.limits.requests_per_min !== null) parts.push(`${p.limits.requests_per_min} requests/min`);
  return parts.join(" · ");
}

export function AccessProfilesSection({ status }: { status: AppStatus }) {
  const backend = useBackend();
  const can = useCan();
  const profiles = useQuery({ queryKey: ["accessProfiles"], queryFn: () => backend.listAccessProfiles() });
  const [editing, setEditing] = useState<AccessProfile | "new" | null>(null);
  const edit = (what: AccessProfile | "new") => {
    setNotice(null);
    setEditing(what);
  };
  const [notice, setNotice] = useActionNotice();
  const change = useChange({ refresh: [["accessProfiles"]] });
  const setDefault = useChange({ refresh: [["accessProfiles"]], onDone: () => setNotice("Default saved.") });
  if (!status.me) return null;
  const write = can("policy.write");
  const list = profiles.data?.profiles ?? [];
  const defaultId = profiles.data?.default_profile_id ?? null;

  return (
    <section className="settings-section" aria-labelledby="access-profiles-title">
      <h2 id="access-profiles-title">Access profiles</h2>
      <p className="muted">
        What new people start with: models, rate limits and a budget, copied to each account when it is created. Editing a profile later
        changes nobody who already started from it.
      </p>
      {notice && <Notice>{notice}</Notice>}
      <FormError error={change.error ?? setDefault.error} />
      <div className="field">
        <label htmlFor="default-profile">Default for new people</label>
        <select
          id="default-profile"
          value={defaultId ?? ""}
          disabled={!can("org.write") || setDefault.pending}
          onChange={(e) => setDefault.run({ op: "patch_org", patch: { default_profile_id: e.target.value } })}
        >
          <option value="">None</option>
          {list.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </div>
      {list.length === 0 ? (
        <p className="muted">No access profiles yet.</p>
      ) : (
        <ul className="plain-list" data-testid="access-profiles">
          {list.map((p) => (
            <li key={p.id} data-testid="access-profile">
              <strong>{p.name}</strong>
              {p.id === defaultId && <span className="badge">Default</span>} <span className="muted">{profileSummary(p)}</span>
              {p.description && <div className="muted">{p.description}</div>}
              {write && (
                <span className="row-actions">
                  <button type="button" className="button" onClick={() => edit(p)}>
                    Edit {p.name}
                  </button>
                  <ConfirmButton
                    label={`Delete ${p.name}`}
                    title={`Delete the profile ${p.name}?`}
                    pending={change.pending}
                    onConfirm={() => change.run({ op: "delete_access_profile", id: p.id }, () => setNotice(`${p.name} was deleted.`))}
                  >
                    People who started from it keep what they were given.
                  </ConfirmButton>
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {write && editing === null && (
        <div className="form-actions">
          <button type="button" className="button" onClick={() => edit("new")}>
            New profile
          </button>
        </div>
      )}
      {write && editing !== null && (
        <ProfileEditor
          key={editing === "new" ? "new" : editing.id}
          profile={editing === "new" ? null : editing}
          onDone={(message) => {
            setNotice(message);
            setEditing(null);
          }}
          onCancel={() => setEditing(null)}
        />
      )}
    </section>
  );
}

function numberText(v: number | null): string {
  return v === null ? "" : String(v);
}

/** A number as typed: its value, or the text itself when it is not one (which differs from any). */
function typed(raw: string): number | null | string {
  const n = readAmount(raw);
  return n === undefined ? raw : n;
}

/** A saved profile as its editor's Save compares it. */
function valuesOf(p: AccessProfile) {
  return {
    name: p.name,
    description: p.description,
    grants: [...p.grants].sort(),
    limits: LIMITS.map(([k]) => p.limits[k]),
    caps: CAPS.map(([k]) => p.budget[k]),
    thresholds: p.budget.alert_thresholds,
  };
}

/** A new profile (`profile` null) or an edit of one. */
function ProfileEditor({ profile, onDone, onCancel }: { profile: AccessProfile | null; onDone: (message: string) => void; onCancel: () => void }) {
  const backend = useBackend();
  const models = useQuery({ queryKey: ["models"], queryFn: () => backend.listModels() });
  const [name, setName] = useState(profile?.name ?? "");
  const [description, setDescription] = useState(profile?.description ?? "");
  const [grants, setGrants] = useState<string[]>(profile?.grants ?? []);
  const [limits, setLimits] = useState<Record<LimitKey, string>>(() => {
    const l = profile?.limits;
    return Object.fromEntries(LIMITS.map(([k]) => [k, numberText(l ? l[k] : null)])) as Record<LimitKey, string>;
  });
  const [caps, setCaps] = useState<Record<CapKey, string>>(() => {
    const b = profile?.budget;
    return Object.fromEntries(CAPS.map(([k]) => [k, numberText(b ? b[k] : null)])) as Record<CapKey, string>;
  });
  const [thresholds, setThresholds] = useState((profile?.budget.alert_thresholds ?? [50, 80, 100]).join(", "));
  const [invalid, setInvalid] = useState<Record<string, string>>({});
  const save = useChange({
    refresh: [["accessProfiles"]],
    onDone: () => onDone(profile ? `${name.trim()} was saved.` : `${name.trim()} was created.`),
  });
  const messages = { ...fieldMessages(save.error, SHOWN), ...invalid };
  const changed = !profile || differs(valuesOf(profile), {
    name: name.trim(),
    description: description.trim(),
    grants: [...grants].sort(),
    limits: LIMITS.map(([k]) => typed(limits[k])),
    caps: CAPS.map(([k]) => typed(caps[k])),
    thresholds: parseThresholds(thresholds),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const errors: Record<string, string> = {};
    const read = (key: string, raw: string): number | null => {
      const n = readAmount(raw);
      if (n === undefined) errors[key] = AMOUNT_ERROR;
      return n ?? null;
    };
    const l = Object.fromEntries(LIMITS.map(([k]) => [k, read(k, limits[k])])) as unknown as Limits;
    const parsed = parseThresholds(thresholds);
    if (typeof parsed === "string") errors.alert_thresholds = parsed;
    const b = {
      ...Object.fromEntries(CAPS.map(([k]) => [k, read(k, caps[k])])),
      alert_thresholds: typeof parsed === "string" ? [] : parsed,
    } as unknown as Budget;
    setInvalid(errors);
    if (Object.keys(errors).length > 0) return;
    const values = { name: name.trim(), description: description.trim(), grants, limits: l, budget: b };
    save.run(profile ? { op: "patch_access_profile", id: profile.id, patch: values } : { op: "create_access_profile", profile: values });
  }

  return (
    <form className="panel-form" aria-label={profile ? `Edit ${profile.name}` : "New access profile"} onSubmit={submit}>
      <h3>{profile ? `Edit ${profile.name}` : "New access profile"}</h3>
      <TextField label="Name" required value={name} error={messages.name} onChange={(e) => setName(e.target.value)} />
      <TextField label="Description (optional)" value={description} error={messages.description} onChange={(e) => setDescription(e.target.value)} />
      <fieldset className="field checkbox-group">
        <legend>Models</legend>
        {models.data?.length === 0 && <span className="muted">The catalog has no models yet.</span>}
        {models.data?.map((m) => (
          <label key={m.id} className="checkbox">
            <input
              type="checkbox"
              checked={grants.includes(m.id)}
              onChange={(e) => setGrants(e.target.checked ? [...grants, m.id] : grants.filter((g) => g !== m.id))}
            />
            {m.display_name}
          </label>
        ))}
        {messages.grants && <span className="field-error">{messages.grants}</span>}
      </fieldset>
      <div className="form-row">
        {LIMITS.map(([k, label]) => (
          <TextField
            key={k}
            label={label}
            inputMode="decimal"
            value={limits[k]}
            error={messages[k]}
            onChange={(e) => setLimits({ ...limits, [k]: e.target.value })}
          />
        ))}
      </div>
      <div className="form-row">
        {CAPS.map(([k, label]) => (
          <TextField
            key={k}
            label={label}
            inputMode="decimal"
            value={caps[k]}
            error={messages[k]}
            onChange={(e) => setCaps({ ...caps, [k]: e.target.value })}
          />
        ))}
        <TextField label="Alert at (% of each cap)" value={thresholds} error={messages.alert_thresholds} onChange={(e) => setThresholds(e.target.value)} />
      </div>
      <FormError error={save.error} shown={SHOWN} />
      <SubmitCancel disabled={save.pending || !changed} onCancel={onCancel}>
        {profile ? "Save profile" : "Create profile"}
      </SubmitCancel>
    </form>
  );
}
