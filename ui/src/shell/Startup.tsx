import type { IpcError } from "../bindings/IpcError";
import type { ProfileSummary } from "../bindings/ProfileSummary";

export function Starting({ profile }: { profile: ProfileSummary | null }) {
  return (
    <div className="center-screen" role="status" data-testid="app-starting">
      <div className="spinner" aria-hidden="true" />
      <p>{profile === null ? "Starting…" : profile.embedded ? "Starting the demo gateway and syncing…" : `Connecting to ${profile.name} and syncing…`}</p>
    </div>
  );
}

export function Failed({ error }: { error: IpcError | null }) {
  return (
    <div className="center-screen" role="alert" data-testid="app-failed">
      <div className="failed">
        <h1>Gatehouse could not start</h1>
        <p className="failed-message">{error?.message ?? "The app stopped before it was ready."}</p>
        {error && <p className="muted">Error code: {error.code}</p>}
      </div>
    </div>
  );
}
