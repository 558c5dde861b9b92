import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useDeferredValue, useState, type FormEvent } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { BulkInviteItem } from "../bindings/BulkInviteItem";
import type { BulkOutcome } from "../bindings/BulkOutcome";
import type { Role } from "../bindings/Role";
import type { BulkPreviewKind } from "../bindings/BulkPreviewKind";
import { formatCount } from "../format";
import { useChange } from "../shared/changes";
import { FormError, SubmitCancel } from "../shared/forms";
import { Notice } from "../shared/notices";
import { RoleSelect } from "../shared/roles";
import { WorkspacePicker } from "./WorkspacePicker";
import { ProfilePicker, profileField, type ProfileChoice } from "../shared/ProfilePicker";

const PREVIEW_LABEL: Record<BulkPreviewKind, string> = {
  to_invite: "To invite",
  duplicate: "Repeated",
  already_invited: "Already invited",
  already_member: "Already a member",
  invalid: "Not an address",
};

const PREVIEW_ORDER: BulkPreviewKind[] = ["to_invite", "duplicate", "already_invited", "already_member", "invalid"];

const OUTCOME_LABEL: Record<BulkOutcome, string> = {
  invited: "Invited",
  already_member: "Already a member",
  already_invited: "Already invited",
  duplicate: "Repeated",
  invalid: "Not an address",
  seat_limit_reached: "Seat limit reached",
};

/** Many invitations from pasted text: a preview of what was found, then each address's outcome. */
export function BulkInviteForm({ onCancel }: { onCancel: () => void }) {
  const backend = useBackend();
  const [text, setText] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [workspaces, setWorkspaces] = useState<string[]>([]);
  const [profile, setProfile] = useState<ProfileChoice>(undefined);
  const [results, setResults] = useState<BulkInviteItem[] | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const deferred = useDeferredValue(text);
  // The gateway's own reading of the text (one extractor, in Rust) against the cached people.
  const previewed = useQuery({
    queryKey: ["bulk-preview", deferred],
    queryFn: () => backend.bulkPreview(deferred),
    enabled: deferred.trim() !== "",
    placeholderData: keepPreviousData,
  });
  const preview = deferred.trim() === "" ? [] : (previewed.data ?? []);
  const checking = previewed.isFetching || text !== deferred;
  const counts = (kind: BulkPreviewKind) => preview.filter((t) => t.kind === kind).length;
  const toInvite = counts("to_invite");

  const send = useChange({
    refresh: [["invitations"]],
    onDone: (changed) => setResults(changed.kind === "bulk_invite" ? changed.value.results : []),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    send.run({ op: "bulk_invite", bulk: { text, role, workspace_ids: workspaces, ...profileField(profile) } });
  };

  if (results) {
    const invited = results.filter((r) => r.outcome === "invited").length;
    const links = results.flatMap((r) => (r.invitation ? [r.invitation.id] : []));
    const copyAll = () => {
      setCopied(null);
      backend.copyInviteLinks(links).then(
        () => setCopied("The links are on your clipboard: one line per invitee, the address and then the link."),
        (e: unknown) => setCopied(toIpcError(e).message),
      );
    };
    return (
      <section className="panel-form" aria-label="Bulk invite results">
        <h2>Bulk invite: {formatCount(invited, "invitation sent", "invitations sent")}</h2>
        <p className="muted">Each invitee got an e-mail with their link; copy the links to send them another way.</p>
        {copied && <Notice>{copied}</Notice>}
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
          {links.length > 0 && (
            <button type="button" className="button" onClick={copyAll}>
              Copy all links
            </button>
          )}
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
            {PREVIEW_ORDER.filter((k) => k === "to_invite" || counts(k) > 0)
              .map((k) => `${PREVIEW_LABEL[k]}: ${counts(k)}`)
              .join(" · ")}
          </p>
          <ul className="bulk-list">
            {preview.map((t, i) => (
              <li key={`${t.text}-${i}`} data-testid="bulk-token" data-kind={t.kind}>
                {(t.first_name || t.last_name) && <span className="bulk-name">{`${t.first_name} ${t.last_name}`.trim()} </span>}
                <span className="bulk-address">{t.text}</span> <span className={`pill preview-${t.kind}`}>{PREVIEW_LABEL[t.kind]}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
      <RoleSelect value={role} onChange={setRole} />
      <WorkspacePicker value={workspaces} onChange={setWorkspaces} />
      <ProfilePicker id="bulk-profile" value={profile} onChange={setProfile} />
      <FormError error={send.error} />
      <SubmitCancel disabled={send.pending || checking || toInvite === 0} onCancel={onCancel}>
        {toInvite > 0 ? `Send ${formatCount(toInvite, "invitation", "invitations")}` : "Send invitations"}
      </SubmitCancel>
    </form>
  );
}
