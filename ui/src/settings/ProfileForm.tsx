import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { toIpcError } from "../backend/backend";
import { profileInputErrors } from "../backend/profileRules";
import type { IpcError } from "../bindings/IpcError";
import type { ProfileInput } from "../bindings/ProfileInput";
import type { ProfileSummary } from "../bindings/ProfileSummary";
import { Field, fieldMessages, FormError, TextField } from "../shell/forms";

const PROFILE_FIELDS = ["name", "url", "ca_pem"] as const;

/**
 * A profile's name, gateway URL and optional CA certificate, to add one (no `profile`) or edit
 * one. The core's rules are checked first, so a mistake shows next to its field without a
 * round trip; what only the core can judge (the CA's PEM) comes back as the form's error.
 */
export function ProfileForm(props: {
  profile?: ProfileSummary;
  save: (input: ProfileInput) => Promise<ProfileSummary>;
  onSaved: (saved: ProfileSummary) => void;
  onCancel: () => void;
}) {
  const { profile } = props;
  const [input, setInput] = useState<ProfileInput>({ name: profile?.name ?? "", url: profile?.url ?? "", ca_pem: "" });
  const [checked, setChecked] = useState<IpcError | null>(null);
  const save = useMutation({ mutationFn: props.save, onSuccess: props.onSaved });

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const fields = profileInputErrors(input);
    setChecked(fields.length > 0 ? { code: "validation_failed", message: fields[0]!.message, fields } : null);
    if (fields.length === 0) save.mutate({ ...input, ca_pem: input.ca_pem?.trim() ? input.ca_pem : null });
  }

  const error = checked ?? (save.error ? toIpcError(save.error) : null);
  const messages = fieldMessages(error, PROFILE_FIELDS);
  const set = (key: keyof ProfileInput) => (e: { target: { value: string } }) => setInput({ ...input, [key]: e.target.value });
  const caHint = profile?.custom_ca
    ? "This profile trusts a certificate of its own, which is not shown. Paste it again to keep it; left empty, the profile trusts only the system's certificates."
    : "Only for a gateway whose certificate comes from a private certificate authority.";

  return (
    <form
      className="profile-form"
      aria-label={profile ? `Edit ${profile.name}` : "Add a profile"}
      onSubmit={onSubmit}
      noValidate
    >
      <TextField label="Name" error={messages.name} value={input.name} onChange={set("name")} />
      <TextField
        label="Gateway URL"
        error={messages.url}
        type="url"
        placeholder="https://gateway.example.com"
        value={input.url}
        onChange={set("url")}
      />
      <Field label="CA certificate (optional)" error={messages.ca_pem} hint={caHint}>
        {(p) => (
          <textarea
            {...p}
            rows={4}
            placeholder="-----BEGIN CERTIFICATE-----"
            spellCheck={false}
            value={input.ca_pem ?? ""}
            onChange={set("ca_pem")}
          />
        )}
      </Field>
      <FormError error={error} shown={PROFILE_FIELDS} />
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={save.isPending}>
          {profile ? "Save" : "Add profile"}
        </button>
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
