import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/backend";

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
