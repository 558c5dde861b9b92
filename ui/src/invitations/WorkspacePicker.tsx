import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/backend";
import { ROLES } from "./changes";
import type { Role } from "../bindings/Role";

/** The workspaces to add an invitee to, as checkboxes (Tab and Space choose them). */
export function WorkspacePicker({ value, onChange }: { value: string[]; onChange: (ids: string[]) => void }) {
  const backend = useBackend();
  const workspaces = useQuery({ queryKey: ["workspaces"], queryFn: () => backend.listWorkspaces() });
  return (
    <fieldset className="field checkbox-group">
      <legend>Workspaces</legend>
      {workspaces.data?.length === 0 && <span className="muted">No workspaces yet.</span>}
      {workspaces.data?.map((w) => (
        <label key={w.id} className="checkbox">
          <input
            type="checkbox"
            checked={value.includes(w.id)}
            onChange={(e) => onChange(e.target.checked ? [...value, w.id] : value.filter((id) => id !== w.id))}
          />
          {w.name}
        </label>
      ))}
    </fieldset>
  );
}

/** The roles as a select's options. */
export function RoleOptions() {
  return ROLES.map((r) => (
    <option key={r.value} value={r.value}>
      {r.label}
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
