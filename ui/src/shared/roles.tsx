// The org roles, in rank order, with what the screens call them.
import type { GroupRole } from "../bindings/GroupRole";
import type { Role } from "../bindings/Role";

export const ROLE_LABEL: Record<Role, string> = {
  member: "Member",
  auditor: "Auditor",
  operator: "Operator",
  admin: "Admin",
};

export const ROLES = Object.keys(ROLE_LABEL) as Role[];

/** A group's roles, written as the org roles are. */
export const GROUP_ROLE_LABEL: Record<GroupRole, string> = { member: "Member", manager: "Manager" };

/** The roles as a select's options, in rank order. */
export function RoleOptions() {
  return ROLES.map((r) => (
    <option key={r} value={r}>
      {ROLE_LABEL[r]}
    </option>
  ));
}

/** A role as a labelled select. */
export function RoleSelect({ id = "invite-role", label = "Role", value, onChange }: { id?: string; label?: string; value: Role; onChange: (role: Role) => void }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as Role)}>
        <RoleOptions />
      </select>
    </div>
  );
}
