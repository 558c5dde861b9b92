import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { toIpcError } from "../backend/backend";
import type { ProfileInput } from "../bindings/ProfileInput";
import type { ProfileSummary } from "../bindings/ProfileSummary";
import { Field, fieldMessages, FormError, TextField } from "../shell/forms";

const PROFILE_FIELDS = ["name", "url", "ca_pem"] as const;

/**
 * A profile's name, gateway URL and optional CA certificate, to add one (no `profile`) or edit
 * one. The core checks what was entered and names the field that is wrong, shown next to it.
 */
export function ProfileForm(props: {
  profile?: ProfileSummary;
  save: (input: ProfileInput) => Promise<ProfileSummary>;
  onSaved: (saved: ProfileSummary) => void;
  onCancel: () => void;
}) {
  const { profile } = props;
  const [input, setInput] = useState<ProfileInput>({
    name: profile?.name ?? "",
    url: profile?.url ?? "",
    ca_pem: "",
    insecure_http: profile?.insecure_http ?? false,
  });
  const [removeCa, setRemoveCa] = useState(false);
  const save = useMutation({ mutationFn: props.save, onSuccess: props.onSaved });

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    // Left empty, the CA field keeps the profile's certificate; "" asks the core to remove it.
    const pasted = input.ca_pem?.trim() ? input.ca_pem : null;
    save.mutate({ ...input, ca_pem: removeCa ? "" : pasted });
  }

  const error = save.error ? toIpcError(save.error) : null;
  const messages = fieldMessages(error, PROFILE_FIELDS);
  const set = (key: keyof ProfileInput) => (e: { target: { value: string } }) => setInput({ ...input, [key]: e.target.value });
  const caHint = profile?.custom_ca
    ? "This profile trusts a certificate of its own, which is not shown. Left empty, it keeps it; paste another to replace it."
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
      {profile?.custom_ca && (
        <label className="checkbox">
          <input type="checkbox" checked={removeCa} onChange={(e) => setRemoveCa(e.target.checked)} />
          Stop trusting this profile's own certificate
        </label>
      )}
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
