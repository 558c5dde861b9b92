import { useState, type FormEvent } from "react";
import type { IdentityProvider } from "../bindings/IdentityProvider";
import type { InvitationCreate } from "../bindings/InvitationCreate";
import type { Role } from "../bindings/Role";
import { useChange } from "../shared/changes";
import { FormError, SubmitCancel, TextField, fieldMessages } from "../shared/forms";
import { RoleSelect } from "../shared/roles";
import { WorkspacePicker } from "./WorkspacePicker";
import { ProfilePicker, profileField, type ProfileChoice } from "../shared/ProfilePicker";

const SHOWN = ["email", "first_name", "last_name", "tenant_id", "notification_email", "profile_id"] as const;

/** One invitation; `onSent` gets what to tell the admin. */
export function InviteForm({ onSent, onCancel }: { onSent: (message: string) => void; onCancel: () => void }) {
  const [email, setEmail] = useState("");
  const [firstName, setFirstName] = useState("");
  const [lastName, setLastName] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [workspaces, setWorkspaces] = useState<string[]>([]);
  const [provider, setProvider] = useState<IdentityProvider>("any");
  const [tenant, setTenant] = useState("");
  const [notify, setNotify] = useState("");
  const [profile, setProfile] = useState<ProfileChoice>(undefined);
  const invite = useChange({
    refresh: [["invitations"]],
    onDone: (changed) =>
      onSent(
        changed.kind === "existing_user"
          ? `${changed.value.email} is already a member; no invitation was sent.`
          : "Invitation sent; the link is on your clipboard.",
      ),
  });
  const errors = fieldMessages(invite.error, SHOWN);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const invitation: InvitationCreate = { email: email.trim(), role, workspace_ids: workspaces, ...profileField(profile) };
    if (firstName.trim()) invitation.first_name = firstName.trim();
    if (lastName.trim()) invitation.last_name = lastName.trim();
    if (provider !== "any") invitation.identity_provider = provider;
    if (provider === "microsoft" && tenant.trim()) invitation.tenant_id = tenant.trim();
    if (notify.trim()) invitation.notification_email = notify.trim();
    invite.run({ op: "invite", invitation });
  };

  return (
    <form className="panel-form" aria-label="Invite a user" onSubmit={submit}>
      <h2>Invite a user</h2>
      <TextField label="E-mail" type="email" required autoFocus value={email} error={errors.email} onChange={(e) => setEmail(e.target.value)} />
      <div className="form-row">
        <TextField label="First name" value={firstName} error={errors.first_name} onChange={(e) => setFirstName(e.target.value)} />
        <TextField label="Last name" value={lastName} error={errors.last_name} onChange={(e) => setLastName(e.target.value)} />
      </div>
      <RoleSelect value={role} onChange={setRole} />
      <WorkspacePicker value={workspaces} onChange={setWorkspaces} />
      <ProfilePicker id="invite-profile" value={profile} onChange={setProfile} />
      <div className="form-row">
        <div className="field">
          <label htmlFor="invite-provider">Identity provider</label>
          <select id="invite-provider" value={provider} onChange={(e) => setProvider(e.target.value as IdentityProvider)}>
            <option value="any">Any</option>
            <option value="google">Google</option>
            <option value="microsoft">Microsoft</option>
            <option value="oidc">The organisation's identity provider</option>
          </select>
        </div>
        {provider === "microsoft" && (
          <TextField label="Tenant ID" value={tenant} error={errors.tenant_id} onChange={(e) => setTenant(e.target.value)} />
        )}
      </div>
      <TextField
        label="Notification e-mail (optional)"
        type="email"
        value={notify}
        error={errors.notification_email}
        hint="Where the invitation is sent, if not to the invitee's address."
        onChange={(e) => setNotify(e.target.value)}
      />
      <FormError error={invite.error} shown={SHOWN} />
      <SubmitCancel disabled={invite.pending} onCancel={onCancel}>
        Send invitation
      </SubmitCancel>
    </form>
  );
}
