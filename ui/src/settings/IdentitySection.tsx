// Settings → Identity: single sign-on, then SCIM provisioning (the tokens identity providers
// provision users and groups with, and the address they send them to). A new token's secret goes
// to the clipboard, never to the screen.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { AppStatus } from "../bindings/AppStatus";
import type { IpcError } from "../bindings/IpcError";
import { formatDate, formatRelative } from "../format";
import { useChange } from "../shared/changes";
import { ConfirmButton } from "../shared/ConfirmButton";
import { FormError, TextField } from "../shared/forms";
import { Notice, OfflineHint, QueryError } from "../shared/notices";
import { useCan } from "../shell/permissions";
import { SingleSignOn } from "./SingleSignOn";

export const NEW_SCIM_TOKEN_MESSAGE = "The SCIM token is on your clipboard and is never shown here: paste it into your identity provider now.";

const TOKENS_KEY = "scim-tokens";

/**
 * What went wrong, in this section's own words: the gateway's wording is written for API
 * clients, and these answers only ever come from a few causes.
 */
export function plainScimError(error: unknown): IpcError | null {
  if (!error) return null;
  const e = toIpcError(error);
  const message = (() => {
    switch (e.code) {
      case "offline":
        return "The gateway is unreachable right now; SCIM tokens are read from it directly. Try again when it is back.";
      case "signed_out":
      case "unauthorized":
        return "Sign in to this profile again to manage SCIM tokens.";
      case "forbidden":
        return "Your role may not do that with SCIM tokens.";
      case "conflict":
        return "The organisation already holds as many SCIM tokens as it may; revoke one first.";
      case "validation_failed":
        return "Give the token a name of at most 100 characters.";
      case "not_found":
        return "That token was already revoked.";
      case "clipboard":
        // The app's own words: the token was made, but its secret did not reach the clipboard.
        return e.message;
      default:
        return "The gateway could not do that. Try again in a moment.";
    }
  })();
  return { code: e.code, message };
}

/** Where an identity provider sends its SCIM requests: the profile's gateway, at `/scim/v2`. */
export function scimBaseUrl(profileUrl: string): string {
  return `${profileUrl.replace(/\/+$/, "")}/scim/v2`;
}

export function IdentitySection({ status }: { status: AppStatus }) {
  const can = useCan();
  if (!can("identity.read") || !status.profile) return null;
  const write = can("identity.write");
  return (
    <section className="settings-section" aria-labelledby="identity-title">
      <h2 id="identity-title">Identity</h2>
      <SingleSignOn profileId={status.profile.id} write={write} />
      <ScimTokens status={status} profileUrl={status.profile.url} write={write} />
    </section>
  );
}

function ScimTokens({ status, profileUrl, write }: { status: AppStatus; profileUrl: string; write: boolean }) {
  const backend = useBackend();
  const tokens = useQuery({
    queryKey: [TOKENS_KEY, status.profile?.id],
    queryFn: () => backend.listScimTokens(),
    // Not from the cache: a refusal offline is the answer until the gateway is back.
    retry: false,
  });
  const runner = useChange({ refresh: [[TOKENS_KEY]] });
  const [name, setName] = useState("");
  const [created, setCreated] = useState(false);

  function create(e: FormEvent) {
    e.preventDefault();
    setCreated(false);
    runner.run({ op: "create_scim_token", token: { name: name.trim() } }, () => {
      setName("");
      setCreated(true);
    });
  }

  return (
    <div className="settings-part" role="group" aria-labelledby="scim-title">
      <h3 id="scim-title">SCIM provisioning</h3>
      <p className="muted">
        An identity provider (such as Entra ID or Okta) can create, update and deactivate users and groups here over SCIM.
        Give it this address and a SCIM token.
      </p>
      <p>
        SCIM base URL: <code data-testid="scim-base-url">{scimBaseUrl(profileUrl)}</code>
      </p>
      {tokens.error ? (
        <QueryError error={plainScimError(tokens.error)} />
      ) : !tokens.data ? (
        <p className="muted">…</p>
      ) : tokens.data.length === 0 ? (
        <p className="muted">No SCIM tokens.</p>
      ) : (
        <ul className="plain-list">
          {tokens.data.map((t) => (
            <li key={t.id} data-testid="scim-token" aria-label={t.name}>
              <strong>{t.name}</strong>{" "}
              <span className="muted">
                created {formatDate(t.created_at)}
                {t.last_used_at ? `, last used ${formatRelative(t.last_used_at)}` : ", never used"}
              </span>{" "}
              {write && (
                <ConfirmButton
                  label="Revoke"
                  confirmLabel="Revoke token"
                  title={`Revoke ${t.name}?`}
                  pending={runner.pending}
                  disabled={runner.pending}
                  onConfirm={() => {
                    setCreated(false);
                    runner.run({ op: "delete_scim_token", id: t.id });
                  }}
                >
                  The identity provider that holds it can no longer provision users or groups with it.
                </ConfirmButton>
              )}
            </li>
          ))}
        </ul>
      )}
      {write && (
        <form className="form-row" onSubmit={create}>
          <TextField
            label="New token's name"
            hint="Which provider or place uses it, so you know which to revoke."
            value={name}
            disabled={runner.pending}
            onChange={(e) => setName(e.target.value)}
          />
          <button type="submit" className="button" disabled={runner.pending || name.trim() === ""}>
            New SCIM token
          </button>
        </form>
      )}
      {created && <Notice>{NEW_SCIM_TOKEN_MESSAGE}</Notice>}
      <OfflineHint permission="identity.write" />
      <FormError error={plainScimError(runner.error)} />
    </div>
  );
}
