import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { AppStatus } from "../bindings/AppStatus";
import type { ProfileSummary } from "../bindings/ProfileSummary";
import { FormError } from "../shared/forms";
import { ROLE_LABEL } from "../shared/roles";
import { ProfileForm } from "./ProfileForm";
import { SignInForm } from "./SignInForm";

type Panel = { id: string; kind: "edit" | "remove" | "sign-in" } | { id: null; kind: "add" };

/** Every profile, with what can be done to it; one form or confirmation open at a time. */
export function ProfilesSection({ status }: { status: AppStatus }) {
  const backend = useBackend();
  const client = useQueryClient();
  const profiles = useQuery({ queryKey: ["profiles"], queryFn: () => backend.listProfiles() });
  const [panel, setPanel] = useState<Panel | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: ["profiles"] });
  const action = useMutation({
    mutationFn: ({ kind, id }: { kind: "activate" | "sign-out" | "remove"; id: string }) =>
      kind === "activate" ? backend.activateProfile(id) : kind === "sign-out" ? backend.signOut(id) : backend.removeProfile(id),
    onSuccess: () => setPanel(null),
    onSettled: refresh,
  });
  const open = (next: Panel | null) => {
    action.reset();
    setPanel(next);
  };

  return (
    <section className="settings-section" aria-labelledby="profiles-title">
      <div className="section-head">
        <h2 id="profiles-title">Profiles</h2>
        <button type="button" className="button" onClick={() => open({ id: null, kind: "add" })} disabled={panel?.kind === "add"}>
          Add profile
        </button>
      </div>
      <p className="muted">Each profile is one gateway, with its own sign-in and its own cache on this computer.</p>
      {profiles.error && <FormError error={toIpcError(profiles.error)} />}
      <FormError error={action.error ? toIpcError(action.error) : null} />
      <ul className="profile-list" aria-label="Profiles" aria-busy={profiles.isPending}>
        {profiles.data?.map((p) => {
          const active = status.profile?.id === p.id;
          // The open profile's sign-in is the status's: the gateway may have refused a kept credential.
          const signedIn = active && status.profile ? status.profile.signed_in : p.signed_in;
          const mine = panel?.id === p.id ? panel.kind : null;
          return (
            <li key={p.id} className="profile" data-testid="profile" aria-label={p.name}>
              <div className="profile-summary">
                <div className="profile-text">
                  <div className="profile-name">
                    <strong>{p.name}</strong>
                    {p.embedded && <span className="badge">Demo</span>}
                    {p.custom_ca && <span className="badge">Custom CA</span>}
                    {p.insecure_http && (
                      <span className="badge warn" title="Passwords and tokens for this gateway cross the network unencrypted (plain http://).">
                        Insecure connection
                      </span>
                    )}
                    {active && <span className="badge accent">Active</span>}
                  </div>
                  <div className="profile-url muted">{p.url}</div>
                  <div className={signedIn ? "signed-in" : "signed-out"} data-testid="sign-in-state">
                    {signedIn ? "Signed in" : "Signed out"}
                  </div>
                  {signedIn && active && status.me && (
                    <div className="muted" data-testid="signed-in-as">
                      as {status.me.user.email}, {ROLE_LABEL[status.me.user.role]}
                    </div>
                  )}
                </div>
                <div className="profile-actions">
                  {!active && (
                    <button type="button" className="button" onClick={() => action.mutate({ kind: "activate", id: p.id })}>
                      Switch to
                    </button>
                  )}
                  {!p.embedded && !signedIn && (
                    <button type="button" className="button" onClick={() => open({ id: p.id, kind: "sign-in" })}>
                      Sign in
                    </button>
                  )}
                  {!p.embedded && signedIn && (
                    <button type="button" className="button" onClick={() => action.mutate({ kind: "sign-out", id: p.id })}>
                      Sign out
                    </button>
                  )}
                  {!p.embedded && (
                    <>
                      <button type="button" className="button" onClick={() => open({ id: p.id, kind: "edit" })}>
                        Edit
                      </button>
                      <button type="button" className="button danger" onClick={() => open({ id: p.id, kind: "remove" })}>
                        Remove
                      </button>
                    </>
                  )}
                </div>
              </div>
              {mine === "sign-in" && !signedIn && <SignInForm profile={p} onDone={() => open(null)} />}
              {mine === "edit" && (
                <ProfileForm
                  profile={p}
                  save={(input) => backend.editProfile(p.id, input)}
                  onSaved={(saved) => {
                    // A new address or certificate signed the profile out: signing in is the next step.
                    open(signedIn && !saved.signed_in ? { id: p.id, kind: "sign-in" } : null);
                    void refresh();
                  }}
                  onCancel={() => open(null)}
                />
              )}
              {mine === "remove" && (
                <ConfirmRemove
                  profile={p}
                  pending={action.isPending}
                  onConfirm={() => action.mutate({ kind: "remove", id: p.id })}
                  onCancel={() => open(null)}
                />
              )}
            </li>
          );
        })}
      </ul>
      {panel?.kind === "add" && (
        <ProfileForm
          save={(input) => backend.addProfile(input)}
          onSaved={(added) => {
            void refresh();
            // A new profile is signed out: signing in is the next step.
            open({ id: added.id, kind: "sign-in" });
          }}
          onCancel={() => open(null)}
        />
      )}
    </section>
  );
}

function ConfirmRemove(props: { profile: ProfileSummary; pending: boolean; onConfirm: () => void; onCancel: () => void }) {
  const title = `Remove ${props.profile.name}?`;
  return (
    <div
      className="confirm"
      role="alertdialog"
      aria-label={title}
      onKeyDown={(e) => {
        if (e.key === "Escape") props.onCancel();
      }}
    >
      <p>
        <strong>{title}</strong> Its cached data and its saved credential are deleted from this computer. The gateway and
        its users are not changed.
      </p>
      <div className="form-actions">
        <button type="button" className="button danger primary" disabled={props.pending} onClick={props.onConfirm}>
          Remove profile
        </button>
        <button type="button" className="button" autoFocus onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
