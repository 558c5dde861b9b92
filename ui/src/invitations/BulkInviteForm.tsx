import { useQueries } from "@tanstack/react-query";
import { useDeferredValue, useMemo, useState, type FormEvent } from "react";
import { useBackend } from "../backend/backend";
import type { BulkInviteItem } from "../bindings/BulkInviteItem";
import type { BulkOutcome } from "../bindings/BulkOutcome";
import type { Role } from "../bindings/Role";
import type { UserFilter } from "../bindings/UserFilter";
import { formatCount } from "../format";
import { useChange } from "../shared/changes";
import { FormError, SubmitCancel } from "../shared/forms";
import { RoleSelect } from "../shared/roles";
import { extractAddresses } from "./extract";
import { WorkspacePicker } from "./WorkspacePicker";
import { ProfilePicker, profileField, type ProfileChoice } from "../shared/ProfilePicker";

type PreviewKind = "valid" | "duplicate" | "member" | "invalid";

const PREVIEW_LABEL: Record<PreviewKind, string> = {
  valid: "To invite",
  duplicate: "Duplicate",
  member: "Already a member",
  invalid: "Invalid",
};

const OUTCOME_LABEL: Record<BulkOutcome, string> = {
  invited: "Invited",
  already_member: "Already a member",
  duplicate: "Duplicate",
  invalid: "Invalid",
  seat_limit_reached: "Seat limit reached",
};

/** The users whose e-mail contains `address`; the preview looks for the exact one among them. */
function lookup(address: string): UserFilter {
  return { query: address, role: null, status: null, workspace_id: null, group_id: null, sort: "email", descending: false, offset: 0, limit: 10 };
}

/** Many invitations from pasted text: a preview of what was found, then each address's outcome. */
export function BulkInviteForm({ onCancel }: { onCancel: () => void }) {
  const backend = useBackend();
  const [text, setText] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [workspaces, setWorkspaces] = useState<string[]>([]);
  const [profile, setProfile] = useState<ProfileChoice>(undefined);
  const [results, setResults] = useState<BulkInviteItem[] | null>(null);
  const deferred = useDeferredValue(text);
  const tokens = useMemo(() => extractAddresses(deferred), [deferred]);
  const valid = tokens.filter((t) => t.kind === "valid").map((t) => t.address);
  const members = useQueries({
    queries: valid.map((address) => ({
      queryKey: ["users", "by-email", address],
      queryFn: async () => (await backend.listUsers(lookup(address))).rows.some((u) => u.email.toLowerCase() === address),
    })),
  });
  const checking = members.some((m) => m.isPending);
  const isMember = new Set(valid.filter((_, i) => members[i]?.data === true));
  const preview = tokens.map((t) => ({ ...t, kind: (t.kind === "valid" && isMember.has(t.address) ? "member" : t.kind) as PreviewKind }));
  const toInvite = preview.filter((t) => t.kind === "valid").map((t) => t.address);
  const counts = (kind: PreviewKind) => preview.filter((t) => t.kind === kind).length;

  const send = useChange({
    refresh: [["invitations"]],
    onDone: (changed) => setResults(changed.kind === "bulk_invite" ? changed.value.results : []),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    send.run({ op: "bulk_invite", bulk: { emails: toInvite, role, workspace_ids: workspaces, ...profileField(profile) } });
  };

  if (results) {
    const invited = results.filter((r) => r.outcome === "invited").length;
    return (
      <section className="panel-form" aria-label="Bulk invite results">
        <h2>Bulk invite: {formatCount(invited, "invitation sent", "invitations sent")}</h2>
        <p className="muted">Copy any invitee's link from the list below.</p>
        <table className="simple-table">
          <thead>
            <tr>
              <th>E-mail</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody>
            {results.map((r, i) => (
              <tr key={`${r.email}-${i}`} data-testid="bulk-result">
                <td>{r.email}</td>
                <td className={`outcome-${r.outcome}`}>
                  {OUTCOME_LABEL[r.outcome]}
                  {r.message && <span className="muted"> — {r.message}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="form-actions">
          <button type="button" className="button" onClick={onCancel}>
            Done
          </button>
        </div>
      </section>
    );
  }

  return (
    <form className="panel-form" aria-label="Bulk invite" onSubmit={submit}>
      <h2>Bulk invite</h2>
      <div className="field">
        <label htmlFor="bulk-text">Addresses</label>
        <textarea
          id="bulk-text"
          rows={6}
          autoFocus
          spellCheck={false}
          placeholder="Paste anything with e-mail addresses in it: a column, a To: line, a list of names and addresses."
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </div>
      {preview.length > 0 && (
        <div className="bulk-preview" aria-label="Preview" role="region" aria-busy={checking}>
          <p data-testid="bulk-counts">
            {(["valid", "duplicate", "member", "invalid"] as const).map((k) => `${PREVIEW_LABEL[k]}: ${counts(k)}`).join(" · ")}
          </p>
          <ul className="bulk-list">
            {preview.map((t, i) => (
              <li key={`${t.address}-${i}`} data-testid="bulk-token" data-kind={t.kind}>
                <span className="bulk-address">{t.address}</span> <span className={`pill preview-${t.kind}`}>{PREVIEW_LABEL[t.kind]}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
      <RoleSelect value={role} onChange={setRole} />
      <WorkspacePicker value={workspaces} onChange={setWorkspaces} />
      <ProfilePicker id="bulk-profile" value={profile} onChange={setProfile} />
      <FormError error={send.error} />
      <SubmitCancel disabled={send.pending || checking || toInvite.length === 0} onCancel={onCancel}>
        {toInvite.length > 0 ? `Send ${formatCount(toInvite.length, "invitation", "invitations")}` : "Send invitations"}
      </SubmitCancel>
    </form>
  );
}
