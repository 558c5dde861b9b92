// Which access profile a new account starts from: the org's default (nothing is sent), none, or
// one picked. Only offered to those who may grant (`policy.write`); others get the default.
import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/backend";
import { useCan } from "../shell/permissions";

const DEFAULT = "__default";
const NONE = "__none";

/** `undefined`: the org's default; `""`: no profile; else a profile's id, as the API takes them. */
export type ProfileChoice = string | undefined;

export function ProfilePicker({ id = "profile-picker", value, onChange }: { id?: string; value: ProfileChoice; onChange: (choice: ProfileChoice) => void }) {
  const backend = useBackend();
  const can = useCan();
  const profiles = useQuery({ queryKey: ["accessProfiles"], queryFn: () => backend.listAccessProfiles() });
  if (!can("policy.write")) return null;
  const defaultId = profiles.data?.default_profile_id ?? null;
  const defaultName = profiles.data?.profiles.find((p) => p.id === defaultId)?.name;
  const selected = value === undefined ? DEFAULT : value === "" ? NONE : value;
  return (
    <div className="field">
      <label htmlFor={id}>Access profile</label>
      <select
        id={id}
        value={selected}
        onChange={(e) => onChange(e.target.value === DEFAULT ? undefined : e.target.value === NONE ? "" : e.target.value)}
      >
        <option value={DEFAULT}>{defaultName ? `The org's default (${defaultName})` : "The org's default (none set)"}</option>
        <option value={NONE}>No profile</option>
        {profiles.data?.profiles.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
    </div>
  );
}

/** `choice` as the request's optional `profile_id`. */
export function profileField(choice: ProfileChoice): { profile_id?: string } {
  return choice === undefined ? {} : { profile_id: choice };
}
