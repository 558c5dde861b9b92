import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { IpcError } from "../bindings/IpcError";
import type { ProfileSummary } from "../bindings/ProfileSummary";
import type { SignIn } from "../bindings/SignIn";
import { fieldMessages, FormError, TextField } from "../shared/forms";

const SIGN_IN_FIELDS = ["email", "password", "token"] as const;

/**
 * Signs in to `profile` with an e-mail and password, or with a pasted token. The secret is
 * read from its input when the form is sent and the input is emptied at once: it is never
 * kept in React state, and goes to the backend (the keychain) only.
 */
export function SignInForm({ profile, compact = false, onDone }: { profile: ProfileSummary; compact?: boolean; onDone?: () => void }) {
  const backend = useBackend();
  const client = useQueryClient();
  const [method, setMethod] = useState<SignIn["method"]>("password");
  const [email, setEmail] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<IpcError | null>(null);
  const secret = useRef<HTMLInputElement>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const input = secret.current;
    if (!input || pending) return;
    const how: SignIn =
      method === "password" ? { method, email: email.trim(), password: input.value } : { method, token: input.value };
    input.value = "";
    setPending(true);
    setError(null);
    try {
      await backend.signIn(profile.id, how);
      onDone?.();
    } catch (err) {
      setError(toIpcError(err));
      input.focus();
    } finally {
      setPending(false);
      void client.invalidateQueries({ queryKey: ["profiles"] });
    }
  }

  const messages = fieldMessages(error, SIGN_IN_FIELDS);
  return (
    <form
      className={compact ? "sign-in-form compact" : "sign-in-form"}
      aria-label={`Sign in to ${profile.name}`}
      onSubmit={onSubmit}
    >
      <div className="segmented" role="radiogroup" aria-label="Sign in with">
        {(["password", "token"] as const).map((m) => (
          <label key={m}>
            <input type="radio" name="method" value={m} checked={method === m} onChange={() => setMethod(m)} />
            {m === "password" ? "E-mail and password" : "Token"}
          </label>
        ))}
      </div>
      <div className="form-row">
        {method === "password" ? (
          <>
            <TextField
              label="E-mail"
              error={messages.email}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
            <TextField label="Password" error={messages.password} ref={secret} type="password" autoComplete="current-password" required />
          </>
        ) : (
          <TextField label="Token" error={messages.token} ref={secret} type="password" required />
        )}
        <button type="submit" className="button primary" disabled={pending}>
          {pending ? "Signing in…" : "Sign in"}
        </button>
      </div>
      <FormError error={error} shown={SIGN_IN_FIELDS} />
    </form>
  );
}
