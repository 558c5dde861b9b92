import { useMutation } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { toIpcError } from "../backend/backend";
import type { ProfileInput } from "../bindings/ProfileInput";
import type { ProfileSummary } from "../bindings/ProfileSummary";
import { differs, Field, fieldMessages, FormError, TextField } from "../shared/forms";
import { Notice } from "../shared/notices";

const PROFILE_FIELDS = ["name", "url", "ca_pem"] as const;

/**
 * A profile's name, gateway URL and optional CA certificate, to add one (no `profile`) or edit
 * one. The core checks what was entered and names the field that is wrong, shown next to it.
 * A new address or certificate signs the profile out (the core deletes its credential, so it
 * never goes anywhere else): the form says so before saving. Plain http:// to another computer
 * is the admin's explicit choice, which the core refuses without.
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
  const insecureHint = useId();
  const save = useMutation({ mutationFn: props.save, onSuccess: props.onSaved });

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    // Left empty, the CA field keeps the profile's certificate; "" asks the core to remove it.
    const pasted = input.ca_pem?.trim() ? input.ca_pem : null;
    save.mutate({ ...input, ca_pem: removeCa ? "" : pasted, insecure_http: plainHttp && input.insecure_http });
  }

  const plainHttp = /^\s*http:\/\//i.test(input.url);
  // Said to a signed-in admin only: one signed out has nothing to lose.
  const signsOut =
    profile?.signed_in === true && (normalizedUrl(input.url) !== profile.url || removeCa || Boolean(input.ca_pem?.trim()));

  const changed =
    !profile ||
    removeCa ||
    Boolean(input.ca_pem?.trim()) ||
    differs([profile.name, profile.url, profile.insecure_http], [input.name.trim(), normalizedUrl(input.url), plainHttp && input.insecure_http]);
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
        hint="Where the gateway answers, like https://gateway.example.com."
        value={input.url}
        onChange={set("url")}
      />
      <Field label="CA certificate (optional)" error={messages.ca_pem} hint={caHint}>
        {(p) => (
          <textarea
            {...p}
            rows={4}
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
      {plainHttp && (
        <div className="field">
          <label className="checkbox">
            <input
              type="checkbox"
              checked={input.insecure_http}
              aria-describedby={insecureHint}
              onChange={(e) => setInput({ ...input, insecure_http: e.target.checked })}
            />
            Allow an insecure connection
          </label>
          <span className="field-hint muted" id={insecureHint}>
            Plain http:// sends your password and token unencrypted, readable by anyone on the network between you and the
            gateway. A gateway on this computer (localhost) needs no exception; for any other, use https:// if you can.
          </span>
        </div>
      )}
      {signsOut && (
        <Notice>
          Changing the address or the certificate signs you out of this profile: you sign in again after saving.
        </Notice>
      )}
      <FormError error={error} shown={PROFILE_FIELDS} />
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={save.isPending || !changed}>
          {profile ? "Save" : "Add profile"}
        </button>
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The URL as the core keeps it (trimmed, one trailing slash), to tell whether it is another. */
function normalizedUrl(url: string): string {
  return url.trim().replace(/\/+$/, "") + "/";
}
