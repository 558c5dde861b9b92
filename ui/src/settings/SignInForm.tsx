import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { IpcError } from "../bindings/IpcError";
import type { ProfileSummary } from "../bindings/ProfileSummary";
import type { SignIn } from "../bindings/SignIn";
import type { SignInProvider } from "../bindings/SignInProvider";
import type { SsoProvider } from "../bindings/SsoProvider";
import { fieldMessages, FormError, TextField } from "../shared/forms";

const SIGN_IN_FIELDS = ["email", "password", "token"] as const;

/**
 * Signs in to `profile` with an e-mail and password, or with a pasted token. The secret is
 * read from its input when the form is sent and the input is emptied at once: it is never
 * kept in React state, and goes to the backend (the keychain) only. Or signs in with the
 * organisation's identity provider in the system browser (`SsoSignIn`).
 */
export function SignInForm({ profile, compact = false, onDone }: { profile: ProfileSummary; compact?: boolean; onDone?: () => void }) {
  const backend = useBackend();
  const client = useQueryClient();
  const [method, setMethod] = useState<SignIn["method"]>("password");
  const [email, setEmail] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<IpcError | null>(null);
  const [inBrowser, setInBrowser] = useState(false);
  const secret = useRef<HTMLInputElement>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const input = secret.current;
    if (!input || pending || inBrowser) return;
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
        <button type="submit" className="button primary" disabled={pending || inBrowser}>
          {pending ? "Signing in…" : "Sign in"}
        </button>
      </div>
      <FormError error={error} shown={SIGN_IN_FIELDS} />
      <SsoSignIn profile={profile} disabled={pending} onWaiting={setInBrowser} onDone={onDone} />
    </form>
  );
}

const SIGN_IN_PROVIDERS: readonly string[] = ["oidc", "google", "microsoft"] satisfies SignInProvider[];

/** The providers the gateway offers that the app can sign in with. */
function offered(providers: SsoProvider[] | undefined): { id: SignInProvider; name: string }[] {
  return (providers ?? [])
    .filter((p) => SIGN_IN_PROVIDERS.includes(p.id))
    .map((p) => ({ id: p.id as SignInProvider, name: p.name }));
}

/**
 * "Sign in with SSO": the core opens the system browser at the gateway and waits for it to come
 * back; meanwhile this says so and offers Cancel. Nothing secret passes through the web view.
 */
function SsoSignIn(props: {
  profile: ProfileSummary;
  disabled: boolean;
  onWaiting: (waiting: boolean) => void;
  onDone?: () => void;
}) {
  const { profile, disabled, onWaiting, onDone } = props;
  const backend = useBackend();
  const client = useQueryClient();
  // Asked of the gateway before anyone is signed in; none (or no answer) hides single sign-on.
  const providers = offered(
    useQuery({ queryKey: ["sso-providers", profile.id], queryFn: () => backend.listSsoProviders(profile.id), retry: false }).data,
  );
  const [chosen, setProvider] = useState<SignInProvider | null>(null);
  const provider = chosen ?? providers[0]?.id ?? null;
  const [waiting, setWaiting] = useState(false);
  const [error, setError] = useState<IpcError | null>(null);
  const [cancelled, setCancelled] = useState(false);

  async function start() {
    if (waiting || provider === null) return;
    setWaiting(true);
    onWaiting(true);
    setError(null);
    setCancelled(false);
    try {
      await backend.signInSso(profile.id, provider);
      onDone?.();
    } catch (err) {
      const e = toIpcError(err);
      // The admin's own Cancel needs no alarm: a quiet note says it ended.
      if (e.code === "cancelled") setCancelled(true);
      else setError(e);
    } finally {
      setWaiting(false);
      onWaiting(false);
      void client.invalidateQueries({ queryKey: ["profiles"] });
    }
  }

  if (providers.length === 0) return null;
  return (
    <div className="sso-sign-in" role="group" aria-label="Single sign-on">
      <div className="form-row">
        <label className="field">
          <span>Identity provider</span>
          <select value={provider ?? ""} disabled={waiting} onChange={(e) => setProvider(providers.find((p) => p.id === e.target.value)?.id ?? null)}>
            {providers.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        {waiting ? (
          <button type="button" className="button" onClick={() => void backend.cancelSso()}>
            Cancel
          </button>
        ) : (
          <button type="button" className="button" disabled={disabled} onClick={() => void start()}>
            Sign in with SSO
          </button>
        )}
      </div>
      {waiting && (
        <p className="muted" role="status">
          Waiting for your browser… Finish signing in with {providers.find((p) => p.id === provider)?.name} there.
        </p>
      )}
      {cancelled && (
        <p className="muted" role="status">
          Sign-in cancelled.
        </p>
      )}
      <FormError error={error} />
    </div>
  );
}
