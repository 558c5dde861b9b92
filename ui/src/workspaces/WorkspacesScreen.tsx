import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useBackend } from "../backend/backend";
import type { Role } from "../bindings/Role";
import type { WorkspaceRow } from "../bindings/WorkspaceRow";
import { ActionsHeader } from "../shared/ActionsHeader";
import { useChange } from "../shared/changes";
import { ConfirmButton } from "../shared/ConfirmButton";
import { FormError } from "../shared/forms";
import { CreateForm, ListScreen, type Column } from "../shared/ListScreen";
import { RoleOptions, RoleSelect } from "../shared/roles";
import { UserSearch } from "../shared/UserSearch";

const COLUMNS: readonly Column<WorkspaceRow>[] = [
  { header: "Slug", cell: (w) => <span className="muted">{w.slug}</span> },
  { header: "Members", cell: (w) => w.member_count },
];

export function WorkspacesScreen() {
  const backend = useBackend();
  const workspaces = useQuery({ queryKey: ["workspaces"], queryFn: () => backend.listWorkspaces() });
  return (
    <ListScreen
      title="Workspaces"
      permission="workspaces.write"
      createLabel="New workspace"
      emptyText={"The organisation's workspaces, their members and their roles."}
      rows={workspaces}
      rowTestId="workspace-row"
      columns={COLUMNS}
      create={(onDone) => (
        <CreateForm
          title="New workspace"
          optional={{ key: "slug", label: "Slug (optional)", hint: "Lower-case letters, digits and dashes; made from the name when empty." }}
          submitLabel="Create workspace"
          invalidate="workspaces"
          toChange={(name, slug) => ({ op: "create_workspace", workspace: slug ? { name, slug } : { name } })}
          onDone={onDone}
        />
      )}
      detail={(w, writable) => <WorkspaceMembers workspace={w} writable={writable} />}
    />
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
  const change = useChange({ refresh: [["users"], ["workspaces"]] });
  const setRole = (user_id: string, role: Role) => change.run({ op: "set_workspace_member", workspace_id: workspace.id, user_id, role });

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
                      <select aria-label={`Workspace role of ${u.name}`} value="" disabled={change.pending} onChange={(e) => setRole(u.id, e.target.value as Role)}>
                        <option value="">Set role…</option>
                        <RoleOptions />
                      </select>
                      <ConfirmButton
                        label="Remove"
                        title={`Remove ${u.name} from ${workspace.name}?`}
                        pending={change.pending}
                        onConfirm={() => change.run({ op: "remove_workspace_member", workspace_id: workspace.id, user_id: u.id })}
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
