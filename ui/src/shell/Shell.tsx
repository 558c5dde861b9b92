import { useMutation } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { AppStatus } from "../bindings/AppStatus";
import { formatCount, formatDateTime, formatRelative } from "../format";
import { useNow } from "./useNow";

export function Shell({ status, children }: { status: AppStatus; children: ReactNode }) {
  return (
    <div className="app">
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Gatehouse
        </div>
        <nav aria-label="Main">
          <a href="#users" className="nav-item" aria-current="page">
            Users
          </a>
        </nav>
      </aside>
      <div className="main">
        <TopBar status={status} />
        {status.offline && <OfflineBanner syncedAt={status.synced_at} />}
        <main className="content">{children}</main>
      </div>
    </div>
  );
}

function TopBar({ status }: { status: AppStatus }) {
  const backend = useBackend();
  // Progress and the new data arrive as status events; only a failure is the button's to show.
  const sync = useMutation({ mutationFn: () => backend.syncNow() });
  return (
    <header className="topbar">
      <div className="identity">
        <span className="org" data-testid="org-name">
          {status.me?.org.name ?? status.profile?.name ?? "Gatehouse"}
        </span>
        {status.profile && (
          <span className="profile muted" data-testid="profile-name">
            {status.profile.name}
          </span>
        )}
      </div>
      <div className="sync-area">
        {sync.error && (
          <span className="sync-error" role="alert">
            {toIpcError(sync.error).message}
          </span>
        )}
        <SyncIndicator status={status} />
        <button
          type="button"
          className="button"
          data-testid="sync-now"
          disabled={sync.isPending || status.syncing !== null}
          onClick={() => sync.mutate()}
        >
          Sync now
        </button>
      </div>
      {status.syncing && (
        <div className="progress" role="progressbar" aria-label="Syncing">
          <span />
        </div>
      )}
    </header>
  );
}

function SyncIndicator({ status }: { status: AppStatus }) {
  const now = useNow();
  let text: ReactNode;
  if (status.syncing) {
    text = `Syncing… ${formatCount(status.syncing.applied, "change", "changes")}`;
  } else if (status.offline) {
    text = <span className="offline-text">Offline</span>;
  } else if (status.synced_at) {
    text = (
      <time dateTime={status.synced_at} title={formatDateTime(status.synced_at)}>
        Synced {formatRelative(status.synced_at, now)}
      </time>
    );
  } else {
    text = "Not synced yet";
  }
  return (
    <span className="sync-status muted" data-testid="sync-status">
      {text}
    </span>
  );
}

function OfflineBanner({ syncedAt }: { syncedAt: string | null }) {
  return (
    <div className="offline-banner" role="status" data-testid="offline-banner">
      <strong>{syncedAt ? `Offline — data as of ${formatDateTime(syncedAt)}` : "Offline — nothing synced yet"}</strong>
      <span>The gateway did not answer. Changes made there will show after the next sync.</span>
    </div>
  );
}
