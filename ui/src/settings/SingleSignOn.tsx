// Single sign-on: which providers the gateway sets up (its configuration, only shown here), who
// may enter through them, whether a password is still enough, and what a provider's groups claim
// makes of people. Read from the gateway each time, like the SCIM tokens: nothing of it is cached.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { IdentitySettings } from "../bindings/IdentitySettings";
import type { IdentitySettingsInput } from "../bindings/IdentitySettingsInput";
import type { IpcError } from "../bindings/IpcError";
import type { JoinMode } from "../bindings/JoinMode";
import type { Role } from "../bindings/Role";
import { useChange } from "../shared/changes";
import { differs, Field, fieldMessages, FormError, TextField } from "../shared/forms";
import { Notice, QueryError } from "../shared/notices";
import { ROLE_LABEL, ROLES, RoleOptions } from "../shared/roles";

export const IDENTITY_KEY = "identity-settings";

export const NO_PROVIDER = "No identity provider is set up on this gateway; see docs/gateway.md.";
export const SSO_SAVED = "Single sign-on settings saved.";

const MAPPING_FIELDS = ["role_mapping", "role_mapping.claim_value", "role_mapping.group_id"] as const;
const SHOWN = ["jit_domains", "microsoft_tenant", "break_glass_user_id", "groups_claim", ...MAPPING_FIELDS] as const;

/** The settings as the form holds them: free text until it is sent. */
interface Draft {
  joinMode: JoinMode;
  domains: string;
  jitRole: Role;
  tenant: string;
  requireSso: boolean;
  breakGlass: string;
  groupsClaim: string;
  mapping: MappingRow[];
}

interface MappingRow {
  /** Tells rows apart while they are added and removed; never sent. */
  key: number;
  claimValue: string;
  role: Role | "";
  groupId: string;
}

let nextRowKey = 0;

function draftOf(s: IdentitySettings): Draft {
  return {
    joinMode: s.join_mode,
    domains: s.jit_domains.join(", "),
    jitRole: s.jit_role,
    tenant: s.microsoft_tenant ?? "",
    requireSso: s.require_sso,
    breakGlass: s.break_glass_user_id ?? "",
    groupsClaim: s.groups_claim,
    mapping: s.role_mapping.map((m) => ({ key: nextRowKey++, claimValue: m.claim_value, role: m.role ?? "", groupId: m.group_id ?? "" })),
  };
}

/** Domains may be typed separated by commas, spaces or lines, as people paste them. */
export function domainsOf(text: string): string[] {
  return text.split(/[\s,;]+/).filter((d) => d !== "");
}

function inputOf(d: Draft): IdentitySettingsInput {
  return {
    join_mode: d.joinMode,
    jit_domains: domainsOf(d.domains),
    jit_role: d.jitRole,
    microsoft_tenant: d.tenant.trim() || null,
    require_sso: d.requireSso,
    break_glass_user_id: d.breakGlass || null,
    groups_claim: d.groupsClaim.trim(),
    role_mapping: d.mapping.map((m) => ({
      claim_value: m.claimValue.trim(),
      ...(m.role && { role: m.role }),
      ...(m.groupId && { group_id: m.groupId }),
    })),
  };
}

/** What each field the gateway may refuse needs, in the form's words. */
function fieldWords(field: string, d: Draft): string | null {
  switch (field) {
    case "jit_domains":
      return d.joinMode === "just_in_time" && domainsOf(d.domains).length === 0
        ? "Just-in-time accounts need at least one domain."
        : "Enter domains as they appear after the @ of an address, such as northwind.example (at most 50).";
    case "microsoft_tenant":
      return "Enter the tenant ID, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47, or leave it empty.";
    case "break_glass_user_id":
      return d.requireSso
        ? "Requiring single sign-on needs a break-glass admin: an active admin who may still use a password should the provider fail."
        : "The break-glass admin must be an active admin.";
    case "groups_claim":
      return "Enter a claim name of 1 to 64 letters, digits and _ - . : /";
    case "role_mapping":
      return "Each mapping needs a claim value and a role, a group or both (at most 100 mappings).";
    case "role_mapping.claim_value":
      return "Each mapping needs a claim value of at most 256 characters.";
    case "role_mapping.group_id":
      return "A mapped group no longer exists; choose another.";
    default:
      return null;
  }
}

/**
 * What went wrong, in this form's own words: the gateway's wording is written for API clients.
 * A refused field keeps its name so that it shows next to its input.
 */
export function plainSsoError(error: unknown, draft: Draft | null): IpcError | null {
  if (!error) return null;
  const e = toIpcError(error);
  const fields = (e.fields ?? []).flatMap((f) => {
    const message = draft && fieldWords(f.field, draft);
    return message ? [{ field: f.field, message }] : [];
  });
  const message = (() => {
    switch (e.code) {
      case "offline":
        return "The gateway is unreachable right now; single sign-on settings are read from it directly. Try again when it is back.";
      case "signed_out":
      case "unauthorized":
        return "Sign in to this profile again to see single sign-on settings.";
      case "forbidden":
        return "Your role may not change how people sign in.";
      case "conflict":
        return "Single sign-on cannot be required: no identity provider is set up on this gateway, so nobody could sign in.";
      case "validation_failed":
        return "The gateway did not accept these settings; check them and try again.";
      default:
        return "The gateway could not do that. Try again in a moment.";
    }
  })();
  return { code: e.code, message, ...(fields.length > 0 && { fields }) };
}

export function SingleSignOn({ profileId, write }: { profileId: string | undefined; write: boolean }) {
  const backend = useBackend();
  const settings = useQuery({
    queryKey: [IDENTITY_KEY, profileId],
    queryFn: () => backend.getIdentitySettings(),
    // Not from the cache: a refusal offline is the answer until the gateway is back.
    retry: false,
  });
  return (
    <div className="settings-part" aria-labelledby="sso-title" role="group">
      <h3 id="sso-title">Single sign-on</h3>
      {settings.error ? (
        <QueryError error={plainSsoError(settings.error, null)} />
      ) : !settings.data ? (
        <p className="muted">…</p>
      ) : (
        <SsoForm settings={settings.data} write={write} />
      )}
    </div>
  );
}

function SsoForm({ settings, write }: { settings: IdentitySettings; write: boolean }) {
  const backend = useBackend();
  const [draft, setDraft] = useState(() => draftOf(settings));
  const [saved, setSaved] = useState(false);
  const runner = useChange({ refresh: [[IDENTITY_KEY]] });
  const admins = useQuery({
    queryKey: ["users", "active-admins"],
    queryFn: () =>
      backend.listUsers({ query: "", role: "admin", status: "active", workspace_id: null, group_id: null, sort: "name", descending: false, offset: 0, limit: 500 }),
  });
  const groups = useQuery({ queryKey: ["groups"], queryFn: () => backend.listGroups() });
  const error = plainSsoError(runner.error, draft);
  const messages = fieldMessages(error, SHOWN);
  const mappingError = MAPPING_FIELDS.map((f) => messages[f]).find(Boolean);
  const locked = !write || runner.pending;
  const activeAdmins = (admins.data?.rows ?? []).filter((u) => u.role === "admin" && u.status === "active");
  const noProvider = settings.providers.length === 0;
  const changed = differs(inputOf(draftOf(settings)), inputOf(draft));

  function edit(change: Partial<Draft>) {
    setSaved(false);
    setDraft((d) => ({ ...d, ...change }));
  }
  function editRow(key: number, change: Partial<MappingRow>) {
    edit({ mapping: draft.mapping.map((m) => (m.key === key ? { ...m, ...change } : m)) });
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    runner.run({ op: "set_identity_settings", settings: inputOf(draft) }, (changed) => {
      // The gateway tidies what it keeps (domains lowercased, blanks dropped): show that.
      if (changed.kind === "identity_settings") setDraft(draftOf(changed.value));
      setSaved(true);
    });
  }

  return (
    <form className="sso-form" onSubmit={submit} aria-label="Single sign-on settings">
      <div>
        <strong>Providers</strong>
        {noProvider ? (
          <p className="muted" data-testid="sso-no-provider">
            {NO_PROVIDER}
          </p>
        ) : (
          <ul className="plain-list" aria-label="Identity providers">
            {settings.providers.map((p) => (
              <li key={p.id} data-testid="sso-provider">
                {p.name}
              </li>
            ))}
          </ul>
        )}
      </div>

      <fieldset className="sso-fieldset">
        <legend>Who may enter</legend>
        <label>
          <input type="radio" name="join-mode" disabled={locked} checked={draft.joinMode === "invite_only"} onChange={() => edit({ joinMode: "invite_only" })} /> Invited people only
        </label>
        <label>
          <input type="radio" name="join-mode" disabled={locked} checked={draft.joinMode === "just_in_time"} onChange={() => edit({ joinMode: "just_in_time" })} /> Also anyone with an
          address at these domains (just-in-time)
        </label>
        {draft.joinMode === "just_in_time" && (
          <div className="form-row">
            <TextField
              label="Domains"
              hint="Like northwind.example; separate several with commas."
              value={draft.domains}
              disabled={locked}
              error={messages.jit_domains}
              onChange={(e) => edit({ domains: e.target.value })}
            />
            <Field label="Role of a new account">
              {(p) => (
                <select {...p} disabled={locked} value={draft.jitRole} onChange={(e) => edit({ jitRole: ROLES.find((r) => r === e.target.value) ?? draft.jitRole })}>
                  <RoleOptions />
                </select>
              )}
            </Field>
          </div>
        )}
      </fieldset>

      <fieldset className="sso-fieldset">
        <legend>Microsoft</legend>
        <TextField
          label="Microsoft tenant ID"
          hint="The tenant's GUID, from the Entra admin center's overview page. Only people of this tenant sign in with Microsoft."
          value={draft.tenant}
          disabled={locked}
          error={messages.microsoft_tenant}
          onChange={(e) => edit({ tenant: e.target.value })}
        />
      </fieldset>

      <fieldset className="sso-fieldset">
        <legend>Passwords</legend>
        <label>
          <input
            type="checkbox"
            checked={draft.requireSso}
            // Requiring it with no provider would lock everyone out; the gateway refuses it too.
            disabled={locked || (noProvider && !draft.requireSso)}
            onChange={(e) => edit({ requireSso: e.target.checked })}
          />{" "}
          Require single sign-on
        </label>
        <Field label="Break-glass admin" error={messages.break_glass_user_id} hint="The one admin who may still sign in with a password should the provider fail.">
          {(p) => (
            <select {...p} disabled={locked} value={draft.breakGlass} onChange={(e) => edit({ breakGlass: e.target.value })}>
              <option value="">None</option>
              {activeAdmins.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name} ({u.email})
                </option>
              ))}
              {draft.breakGlass !== "" && !activeAdmins.some((u) => u.id === draft.breakGlass) && (
                <option value={draft.breakGlass}>{admins.data ? "No longer an active admin" : "…"}</option>
              )}
            </select>
          )}
        </Field>
      </fieldset>

      <fieldset className="sso-fieldset">
        <legend>Role mapping</legend>
        <TextField
          label="Groups claim"
          hint="The ID-token claim that lists a person's groups."
          value={draft.groupsClaim}
          disabled={locked}
          error={messages.groups_claim}
          onChange={(e) => edit({ groupsClaim: e.target.value })}
        />
        {draft.mapping.length === 0 ? (
          <p className="muted">No mappings: roles and groups are set here in the console.</p>
        ) : (
          <table className="data-table" aria-label="Role mapping" aria-describedby={mappingError ? "sso-mapping-error" : undefined}>
            <thead>
              <tr>
                <th scope="col">Claim value</th>
                <th scope="col">Role</th>
                <th scope="col">Group</th>
                {write && <th scope="col" aria-label="Actions" />}
              </tr>
            </thead>
            <tbody>
              {draft.mapping.map((m, i) => (
                <tr key={m.key} data-testid="sso-mapping">
                  <td>
                    <input
                      className="input"
                      aria-label={`Claim value ${i + 1}`}
                      aria-invalid={Boolean(mappingError)}
                      value={m.claimValue}
                      disabled={locked}
                      onChange={(e) => editRow(m.key, { claimValue: e.target.value })}
                    />
                  </td>
                  <td>
                    <select aria-label={`Role ${i + 1}`} disabled={locked} value={m.role} onChange={(e) => editRow(m.key, { role: ROLES.find((r) => r === e.target.value) ?? "" })}>
                      <option value="">No role</option>
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {ROLE_LABEL[r]}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <select aria-label={`Group ${i + 1}`} disabled={locked} value={m.groupId} onChange={(e) => editRow(m.key, { groupId: e.target.value })}>
                      <option value="">No group</option>
                      {(groups.data ?? []).map((g) => (
                        <option key={g.id} value={g.id}>
                          {g.name}
                        </option>
                      ))}
                      {m.groupId !== "" && !(groups.data ?? []).some((g) => g.id === m.groupId) && (
                        <option value={m.groupId}>{groups.data ? "A deleted group" : "…"}</option>
                      )}
                    </select>
                  </td>
                  {write && (
                    <td>
                      <button type="button" className="button" disabled={locked} aria-label={`Remove mapping ${i + 1}`} onClick={() => edit({ mapping: draft.mapping.filter((x) => x.key !== m.key) })}>
                        Remove
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {mappingError && (
          <span className="field-error" id="sso-mapping-error" data-testid="field-error">
            {mappingError}
          </span>
        )}
        {write && (
          <div>
            <button
              type="button"
              className="button"
              disabled={locked}
              onClick={() => edit({ mapping: [...draft.mapping, { key: nextRowKey++, claimValue: "", role: "", groupId: "" }] })}
            >
              Add mapping
            </button>
          </div>
        )}
      </fieldset>

      {write && (
        <div className="form-actions">
          <button type="submit" className="button primary" disabled={runner.pending || !changed}>
            {runner.pending ? "Saving…" : "Save single sign-on"}
          </button>
        </div>
      )}
      {saved && <Notice>{SSO_SAVED}</Notice>}
      <FormError error={error} shown={SHOWN} />
    </form>
  );
}
