// A user's API keys. A new key's secret goes to the clipboard, never to the screen.
import { useState, type FormEvent } from "react";
import type { UserDetail } from "../bindings/UserDetail";
import { formatDate, formatRelative } from "../format";
import { useChange } from "../shared/changes";
import { fieldMessages, FormError, TextField } from "../shared/forms";
import { Notice } from "../shared/notices";
import { useCan } from "../shell/permissions";

export const NEW_KEY_MESSAGE = "The new key is on your clipboard; it is shown only this once.";

export function ApiKeys({ detail }: { detail: UserDetail }) {
  const can = useCan();
  const runner = useChange();
  const [name, setName] = useState("");
  const [created, setCreated] = useState(false);
  const write = can("keys.write");
  const messages = fieldMessages(runner.error, ["name"]);

  function create(e: FormEvent) {
    e.preventDefault();
    setCreated(false);
    runner.run({ op: "create_key", user_id: detail.user.id, name: name.trim() }, () => {
      setName("");
      setCreated(true);
    });
  }

  if (!can("keys.read")) return null;
  return (
    <section className="detail-section" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      {detail.api_keys.length === 0 ? (
        <p className="muted">No API keys.</p>
      ) : (
        <ul className="plain-list">
          {detail.api_keys.map((k) => (
            <li key={k.id} data-testid="api-key">
              <strong>{k.name}</strong> <code>{k.prefix}…</code>{" "}
              <span className="muted">
                created {formatDate(k.created_at)}
                {k.last_used_at ? `, used ${formatRelative(k.last_used_at)}` : ", never used"}
                {k.revoked_at ? `, revoked ${formatDate(k.revoked_at)}` : ""}
              </span>
              {write && !k.revoked_at && (
                <button type="button" className="button danger" disabled={runner.pending} onClick={() => runner.run({ op: "revoke_key", id: k.id })}>
                  Revoke {k.name}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {write && (
        <form className="form-row" onSubmit={create}>
          <TextField label="New key's name" value={name} disabled={runner.pending} error={messages.name} onChange={(e) => setName(e.target.value)} />
          <button type="submit" className="button" disabled={runner.pending || name.trim() === ""}>
            Create key
          </button>
        </form>
      )}
      {created && (
        <Notice>
          {NEW_KEY_MESSAGE}
        </Notice>
      )}
      <FormError error={runner.error} shown={["name"]} />
    </section>
  );
}
