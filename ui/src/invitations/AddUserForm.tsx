import { useState, type FormEvent } from "react";
import type { Role } from "../bindings/Role";
import type { UserCreate } from "../bindings/UserCreate";
import { useChange } from "../shared/changes";
import { FormError, SubmitCancel, TextField, fieldMessages } from "../shared/forms";
import { ProfilePicker, profileField, type ProfileChoice } from "../shared/ProfilePicker";
import { RoleSelect } from "../shared/roles";
import { WorkspacePicker } from "./WorkspacePicker";

const SHOWN = ["email", "first_name", "last_name", "password", "profile_id"] as const;

/** An account added directly, without an invitation; without a password the person is mailed a link to set one. */
export function AddUserForm({ onAdded, onCancel }: { onAdded: (message: string) => void; onCancel: () => void }) {
  const [email, setEmail] = useState("");
  const [firstName, setFirstName] = useState("");
  const [lastName, setLastName] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [workspaces, setWorkspaces] = useState<string[]>([]);
  const [password, setPassword] = useState("");
  const [profile, setProfile] = useState<ProfileChoice>(undefined);
  const add = useChange({
    refresh: [["users"], ["invitations"]],
    onDone: (changed) =>
      onAdded(
        changed.kind === "user"
          ? `${changed.value.email} was added${changed.value.profile_name ? `, starting from profile ${changed.value.profile_name}` : ""}.`
          : "Added.",
      ),
  });
  const errors = fieldMessages(add.error, SHOWN);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const user: UserCreate = {
      email: email.trim(),
      first_name: firstName.trim(),
      last_name: lastName.trim(),
      role,
      workspace_ids: workspaces,
      ...profileField(profile),
    };
    if (password) user.password = password;
    add.run({ op: "create_user", user });
  };

  return (
    <form className="panel-form" aria-label="Add a user" onSubmit={submit}>
      <h2>Add a user</h2>
      <TextField label="E-mail" type="email" required autoFocus value={email} error={errors.email} onChange={(e) => setEmail(e.target.value)} />
      <div className="form-row">
        <TextField label="First name" required value={firstName} error={errors.first_name} onChange={(e) => setFirstName(e.target.value)} />
        <TextField label="Last name" required value={lastName} error={errors.last_name} onChange={(e) => setLastName(e.target.value)} />
      </div>
      <RoleSelect id="add-role" value={role} onChange={setRole} />
      <WorkspacePicker value={workspaces} onChange={setWorkspaces} />
      <ProfilePicker id="add-profile" value={profile} onChange={setProfile} />
      <TextField
        label="Password (optional)"
        type="password"
        autoComplete="new-password"
        value={password}
        error={errors.password}
        hint="Without one, the person is mailed a link to set a password."
        onChange={(e) => setPassword(e.target.value)}
      />
      <FormError error={add.error} shown={SHOWN} />
      <SubmitCancel disabled={add.pending} onCancel={onCancel}>
        Add user
      </SubmitCancel>
    </form>
  );
}
