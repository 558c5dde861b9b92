import { useQuery } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { Role } from "../bindings/Role";
import type { WorkspaceCreate } from "../bindings/WorkspaceCreate";
import type { WorkspaceRow } from "../bindings/WorkspaceRow";
import { ActionsHeader, ConfirmButton, OfflineHint, SubmitCancel, useChange } from "../invitations/changes";
import { FormError, TextField, fieldMessages } from "../shell/forms";
import { useCan } from "../shell/permissions";
import { RoleOptions, RoleSelect } from "../invitations/WorkspacePicker";
import { UserSearch } from "./UserSearch";

export function WorkspacesScreen() {
  const backend = useBackend();
  const can = useCan();
  const headingId = useId();
  const writable = can("workspaces.write");
  const workspaces = useQuery({ queryKey: ["workspaces"], queryFn: () => backend.listWorkspaces() });
  const [creating, setCreating] = useState(false);
  const [openId, setOpenId] = useState<string | null>(null);
  const open = workspaces.data?.find((w) => w.id === openId) ?? null;

  return (
    <section className="screen admin-screen" aria-labelledby={headingId}>
      <div className="screen-head">
        <h1 id={headingId}>Workspaces</h1>
        {workspaces.data && <span className="count">{workspaces.data.length}</span>}
        {writable && (
          <div className="head-actions">
            <button type="button" className="button primary" onClick={() => setCreating(true)}>
              New workspace
            </button>
          </div>
        )}
      </div>
      <OfflineHint permission="workspaces.write" />
      {writable && creating && <CreateWorkspace onDone={() => setCreating(false)} />}
      {workspaces.error && (
        <p className="table-message error" role="alert">
          {toIpcError(workspaces.error).message}
        </p>
      )}
      {workspaces.data?.length === 0 && <p className="table-message muted">No workspaces yet.</p>}
      {workspaces.data && workspaces.data.length > 0 && (
        <table className="simple-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Slug</th>
              <th>Members</th>
            </tr>
          </thead>
          <tbody>
            {workspaces.data.map((w) => (
              <tr key={w.id} data-testid="workspace-row" aria-selected={w.id === openId}>
                <td>
                  <button type="button" className="link-button" aria-expanded={w.id === openId} onClick={() => setOpenId(w.id === openId ? null : w.id)}>
                    {w.name}
                  </button>
                </td>
                <td className="muted">{w.slug}</td>
                <td>{w.member_count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && <WorkspaceMembers workspace={open} writable={writable} />}
    </section>
  );
}

function CreateWorkspace({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const create = useChange([["workspaces"]], onDone);
  const errors = fieldMessages(create.error, ["name", "slug"]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const workspace: WorkspaceCreate = { name: name.trim() };
    if (slug.trim()) workspace.slug = slug.trim();
    create.mutate({ op: "create_workspace", workspace });
  };
  return (
    <form className="panel-form" aria-label="New workspace" onSubmit={submit}>
      <h2>New workspace</h2>
      <TextField label="Name" required autoFocus value={name} error={errors.name} onChange={(e) => setName(e.target.value)} />
      <TextField label="Slug (optional)" value={slug} error={errors.slug} hint="Lower-case letters, digits and dashes; made from the name when empty." onChange={(e) => setSlug(e.target.value)} />
      <FormError error={create.error} shown={["name", "slug"]} />
      <SubmitCancel disabled={create.isPending} onCancel={onDone}>
        Create workspace
      </SubmitCancel>
    </form>
  );
}

function WorkspaceMembers({ workspace, writable }: { workspace: WorkspaceRow; writable: boolean }) {
  const backend = useBackend();
  const members = useQuery({
    queryKey: ["users", "workspace", workspace.id],
    queryFn: () =>
      backend.listUsers({ query: "", role: null, status: null, workspace_id: workspace.id, group_id: null, sort: "name", descending: false, offset: 0, limit: 1000 }),
  });
  const [addRole, setAddRole] = useState<Role>("member");
  const change = useChange([["users"], ["workspaces"]]);
  const setRole = (user_id: string, role: Role) => change.mutate({ op: "set_workspace_member", workspace_id: workspace.id, user_id, role });

  return (
    <section className="detail-panel" aria-label={`${workspace.name} members`}>
      <h2>{workspace.name}: members</h2>
      <FormError error={change.error} />
      {writable && (
        <div className="form-row">
          <UserSearch label="Add a member" exclude={members.data?.rows.map((u) => u.id)} onPick={(u) => setRole(u.id, addRole)} />
          <RoleSelect id="ws-add-role" label="With the role" value={addRole} onChange={setAddRole} />
        </div>
      )}
      {members.data?.rows.length === 0 && <p className="muted">No members yet.</p>}
      {members.data && members.data.rows.length > 0 && (
        <table className="simple-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>E-mail</th>
              <ActionsHeader />
            </tr>
          </thead>
          <tbody>
            {members.data.rows.map((u) => (
              <tr key={u.id} data-testid="member-row" aria-label={u.name}>
                <td>{u.name}</td>
                <td>{u.email}</td>
                <td className="row-actions">
                  {writable && (
                    <>
                      <select aria-label={`Workspace role of ${u.name}`} value="" disabled={change.isPending} onChange={(e) => setRole(u.id, e.target.value as Role)}>
                        <option value="">Set role…</option>
                        <RoleOptions />
                      </select>
                      <ConfirmButton
                        label="Remove"
                        title={`Remove ${u.name} from ${workspace.name}?`}
                        pending={change.isPending}
                        onConfirm={() => change.mutate({ op: "remove_workspace_member", workspace_id: workspace.id, user_id: u.id })}
                      >
                        They keep their account and lose this workspace's access.
                      </ConfirmButton>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
