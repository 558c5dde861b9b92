import { useQueries, useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { InvitationRow } from "../bindings/InvitationRow";
import type { InvitationStatus } from "../bindings/InvitationStatus";
import type { IpcError } from "../bindings/IpcError";
import { formatCount } from "../format";
import { ActionsHeader } from "../shared/ActionsHeader";
import { useChange } from "../shared/changes";
import { ConfirmButton } from "../shared/ConfirmButton";
import { FormError } from "../shared/forms";
import { Notice, useActionNotice, OfflineHint } from "../shared/notices";
import { ScreenHead } from "../shared/ScreenHead";
import { ROLE_LABEL } from "../shared/roles";
import { useCan, useStatus } from "../shell/permissions";
import { BulkInviteForm } from "./BulkInviteForm";
import { Tabs } from "./Tabs";
import { InviteForm } from "./InviteForm";
import { AddUserForm } from "./AddUserForm";

type Tab = InvitationStatus | "all";

const TABS: readonly { value: Tab; label: string }[] = [
  { value: "pending", label: "Pending" },
  { value: "accepted", label: "Accepted" },
  { value: "expired", label: "Expired" },
  { value: "revoked", label: "Revoked" },
  { value: "all", label: "All" },
];

const STATUS_LABEL: Record<InvitationStatus, string> = { pending: "Pending", accepted: "Accepted", expired: "Expired", revoked: "Revoked" };

/** "6 days left", "3 hours left", "1 minute left". */
export function formatTimeLeft(seconds: number): string {
  if (seconds <= 0) return "Expiring";
  const [size, one, many] = seconds >= 86_400 ? [86_400, "day", "days"] : seconds >= 3600 ? [3600, "hour", "hours"] : [60, "minute", "minutes"];
  return `${formatCount(Math.max(1, Math.floor(seconds / size)), one, many)} left`;
}

const filterOf = (tab: Tab, limit: number) => ({ status: tab === "all" ? null : tab, offset: 0, limit });

export function InvitationsScreen() {
  const backend = useBackend();
  const can = useCan();
  const headingId = useId();
  const [tab, setTab] = useState<Tab>("pending");
  const [panel, setPanel] = useState<"invite" | "bulk" | "add" | null>(null);
  const [notice, setNotice] = useActionNotice();
  const open = (which: typeof panel) => {
    setNotice(null);
    setPanel(which);
  };
  const list = useQuery({ queryKey: ["invitations", "list", tab], queryFn: () => backend.listInvitations(filterOf(tab, 1000)) });
  // A page of one row answers with the total: cheap counts for every tab.
  const counts = useQueries({
    queries: TABS.map((t) => ({ queryKey: ["invitations", "count", t.value], queryFn: async () => (await backend.listInvitations(filterOf(t.value, 1))).total })),
  });
  const writable = can("invitations.write");

  return (
    <section className="screen admin-screen" aria-labelledby={headingId}>
      <ScreenHead id={headingId} title="Invitations">
        {writable && (
          <div className="head-actions">
            <button type="button" className="button primary" onClick={() => open("invite")}>
              Invite
            </button>
            <button type="button" className="button" onClick={() => open("bulk")}>
              Bulk invite
            </button>
            {can("users.write") && (
              <button type="button" className="button" onClick={() => open("add")}>
                Add directly
              </button>
            )}
          </div>
        )}
      </ScreenHead>
      <OfflineHint permission="invitations.write" />
      {notice && <Notice>{notice}</Notice>}
      {writable && panel === "invite" && (
        <InviteForm
          onCancel={() => setPanel(null)}
          onSent={(message) => {
            setNotice(message);
            setPanel(null);
          }}
        />
      )}
      {writable && panel === "bulk" && <BulkInviteForm onCancel={() => setPanel(null)} />}
      {can("users.write") && panel === "add" && (
        <AddUserForm
          onCancel={() => setPanel(null)}
          onAdded={(message) => {
            setNotice(message);
            setPanel(null);
          }}
        />
      )}
      <Tabs label="Invitation status" tabs={TABS.map((t, i) => ({ ...t, count: counts[i]?.data }))} value={tab} onChange={setTab} />
      <div role="tabpanel" aria-label={TABS.find((t) => t.value === tab)!.label}>
        {list.error ? (
          <p className="table-message error" role="alert">
            {toIpcError(list.error).message}
          </p>
        ) : list.data?.rows.length === 0 ? (
          <p className="table-message muted">No invitations here.</p>
        ) : (
          list.data && <InvitationTable rows={list.data.rows} writable={writable} onNotice={setNotice} />
        )}
        {list.data && list.data.total > list.data.rows.length && (
          <p className="muted">
            Showing the first {list.data.rows.length} of {list.data.total}.
          </p>
        )}
      </div>
    </section>
  );
}

function InvitationTable({ rows, writable, onNotice }: { rows: InvitationRow[]; writable: boolean; onNotice: (message: string) => void }) {
  const backend = useBackend();
  const status = useStatus();
  // The link is copied from the cache, so it works offline: offered to whoever may invite.
  const mayCopy = status.me?.permissions.includes("invitations.write") ?? false;
  const [copied, setCopied] = useState<string | null>(null);
  const [copyError, setCopyError] = useState<IpcError | null>(null);
  const change = useChange({
    refresh: [["invitations"]],
    onDone: (_, c) => onNotice(c.op === "resend_invitation" ? "Invitation sent again; the link is on your clipboard." : "Invitation revoked."),
  });
  const copy = async (id: string) => {
    setCopyError(null);
    try {
      await backend.copyInviteLink(id);
      setCopied(id);
    } catch (e) {
      setCopied(null);
      setCopyError(toIpcError(e));
    }
  };

  return (
    <>
      <FormError error={change.error ?? copyError} />
      <table className="simple-table invitations-table">
        <thead>
          <tr>
            <th>E-mail</th>
            <th>Name</th>
            <th>Role</th>
            <th>Status</th>
            <th>Time left</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {rows.map(({ invitation: inv, has_link, seconds_left }) => (
            <tr key={inv.id} data-testid="invitation-row" aria-label={inv.email}>
              <td>{inv.email}</td>
              <td>{[inv.first_name, inv.last_name].filter(Boolean).join(" ") || <span className="muted">—</span>}</td>
              <td>{ROLE_LABEL[inv.role]}</td>
              <td>
                <span className={`pill pill-${inv.status}`}>{STATUS_LABEL[inv.status]}</span>
              </td>
              <td>{seconds_left === null ? <span className="muted">—</span> : formatTimeLeft(seconds_left)}</td>
              <td className="row-actions">
                {mayCopy && (
                  <button type="button" className="button" disabled={!has_link} title={has_link ? undefined : "No link in the cache"} onClick={() => void copy(inv.id)}>
                    {copied === inv.id ? "Link copied" : "Copy link"}
                  </button>
                )}
                {writable && (inv.status === "pending" || inv.status === "expired") && (
                  <button type="button" className="button" disabled={change.pending} onClick={() => change.run({ op: "resend_invitation", id: inv.id })}>
                    Resend
                  </button>
                )}
                {writable && inv.status === "pending" && (
                  <ConfirmButton
                    label="Revoke"
                    title={`Revoke the invitation for ${inv.email}?`}
                    pending={change.pending}
                    onConfirm={() => change.run({ op: "revoke_invitation", id: inv.id })}
                  >
                    Its link stops working.
                  </ConfirmButton>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
