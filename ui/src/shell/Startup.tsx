import type { IpcError } from "../bindings/IpcError";

export function Starting() {
  return (
    <div className="center-screen" role="status" data-testid="app-starting">
      <div className="spinner" aria-hidden="true" />
      <p>Starting the demo gateway and syncing…</p>
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
