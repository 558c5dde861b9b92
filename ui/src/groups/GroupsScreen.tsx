import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/backend";
import type { GroupRole } from "../bindings/GroupRole";
import { GROUP_ROLE_LABEL } from "../shared/roles";
import type { GroupRow } from "../bindings/GroupRow";
import { ActionsHeader } from "../shared/ActionsHeader";
import { useChange } from "../shared/changes";
import { ConfirmButton } from "../shared/ConfirmButton";
import { FormError } from "../shared/forms";
import { CreateForm, ListScreen, type Column } from "../shared/ListScreen";
import { UserSearch } from "../shared/UserSearch";
import { useCan } from "../shell/permissions";
import { PolicyEditors } from "./PolicyEditors";
import { formatUsd } from "../format";
import { ForecastPanel, PERIOD_NAME, ResetsIn } from "../shared/budgets";
import { QueryError } from "../shared/notices";

const COLUMNS: readonly Column<GroupRow>[] = [
  { header: "Members", cell: (g) => g.member_count },
  { header: "Managers", cell: (g) => g.managers.map((m) => m.name).join(", ") || <span className="muted">—</span> },
];

export function GroupsScreen() {
  const backend = useBackend();
  const can = useCan();
  const groups = useQuery({ queryKey: ["groups"], queryFn: () => backend.listGroups() });
  return (
    <ListScreen
      title="Groups"
      permission="groups.write"
      createLabel="New group"
      emptyText={"Groups of users that share model access, limits and budgets."}
      rows={groups}
      rowTestId="group-row"
      columns={COLUMNS}
      nameNote={(g) => (
        <>
          {g.description && <div className="muted">{g.description}</div>}
          {g.scim_managed && <div className="muted">{SCIM_MANAGED_GROUP}</div>}
        </>
      )}
      create={(onDone) => (
        <CreateForm
          title="New group"
          optional={{ key: "description", label: "Description (optional)" }}
          submitLabel="Create group"
          invalidate="groups"
          toChange={(name, description) => ({ op: "create_group", group: description ? { name, description } : { name } })}
          onDone={onDone}
        />
      )}
      detail={(g, writable) => <GroupDetail group={g} writable={writable} policy={can("policy.write")} />}
    />
  );
}

export const SCIM_MANAGED_GROUP = "Managed by your identity provider (SCIM)";
export const SCIM_MANAGED_GROUP_REASON = "Your identity provider manages this group's name and members; change them there.";

function GroupDetail({ group, writable, policy }: { group: GroupRow; writable: boolean; policy: boolean }) {
  const backend = useBackend();
  const members = useQuery({ queryKey: ["groups", "members", group.id], queryFn: () => backend.listGroupMembers(group.id) });
  const change = useChange({ refresh: [["groups"], ["users"]] });
  const setRole = (user_id: string, role: GroupRole) => change.run({ op: "set_group_member", group_id: group.id, user_id, role });
  // Who is in the group is the provider's; who of them manages it stays the console's.
  const membersWritable = writable && !group.scim_managed;

  return (
    <section className="detail-panel" aria-label={`${group.name} members`}>
      <h2>{group.name}: members</h2>
      {group.scim_managed && (
        <p className="muted" data-testid="scim-managed-reason">
          {SCIM_MANAGED_GROUP_REASON}
        </p>
      )}
      <FormError error={change.error} />
      {membersWritable && <UserSearch label="Add a member" exclude={members.data?.map((m) => m.person.id)} onPick={(u) => setRole(u.id, "member")} />}
      {members.data?.length === 0 && <p className="muted">No members yet.</p>}
      {members.data && members.data.length > 0 && (
        <table className="simple-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>E-mail</th>
              <th>Role</th>
              <ActionsHeader />
            </tr>
          </thead>
          <tbody>
            {members.data.map(({ person, role }) => (
              <tr key={person.id} data-testid="group-member-row" aria-label={person.name}>
                <td>{person.name}</td>
                <td>{person.email}</td>
                <td>
                  {writable ? (
                    <select aria-label={`Role of ${person.name}`} value={role} disabled={change.pending} onChange={(e) => setRole(person.id, e.target.value as GroupRole)}>
                      <option value="member">{GROUP_ROLE_LABEL.member}</option>
                      <option value="manager">{GROUP_ROLE_LABEL.manager}</option>
                    </select>
                  ) : (
                    GROUP_ROLE_LABEL[role]
                  )}
                </td>
                <td className="row-actions">
                  {membersWritable && (
                    <ConfirmButton
                      label="Remove"
                      title={`Remove ${person.name} from ${group.name}?`}
                      pending={change.pending}
                      onConfirm={() => change.run({ op: "remove_group_member", group_id: group.id, user_id: person.id })}
                    >
                      They lose what the group grants.
                    </ConfirmButton>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <GroupBudget groupId={group.id} />
      {policy && <PolicyEditors groupId={group.id} />}
    </section>
  );
}

/** The group's own budget: spend of its members in each capped period, when it resets, and the forecast. */
function GroupBudget({ groupId }: { groupId: string }) {
  const backend = useBackend();
  const status = useQuery({
    queryKey: ["budget", "group", groupId],
    queryFn: () => backend.budgetStatus({ kind: "group", id: groupId }),
  });
  if (status.error) return <QueryError error={status.error} />;
  if (!status.data) return null;
  const { periods, forecast } = status.data;
  return (
    <section className="detail-panel" aria-label="Budget and forecast" data-testid="group-budget">
      <h3>Budget</h3>
      {periods.length === 0 ? (
        <p className="muted">No budget: the group's members spend without a shared cap.</p>
      ) : (
        <ul className="plain-list">
          {periods.map((p) => (
            <li key={p.period} data-testid={`group-budget-${p.period}`}>
              {PERIOD_NAME[p.period]}: {formatUsd(p.spent_usd)} of {p.cap_usd === null ? "no cap" : formatUsd(p.cap_usd)} ·{" "}
              <ResetsIn at={p.resets_at} />
            </li>
          ))}
        </ul>
      )}
      <ForecastPanel forecast={forecast} />
    </section>
  );
}
