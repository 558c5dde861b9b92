import { useMutation } from "@tanstack/react-query";
import { useEffect, useEffectEvent, useRef, type KeyboardEvent, type ReactNode } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { AppStatus } from "../bindings/AppStatus";
import type { SyncProgress } from "../bindings/SyncProgress";
import { formatCount, formatDateTime, formatRelative } from "../format";
import { SignInForm } from "../settings/SignInForm";
import { UpdateBanner } from "../settings/UpdateBanner";
import { SCREENS, screenHref, type ScreenId } from "./router";
import { useNow } from "./useNow";

interface ShellProps {
  status: AppStatus;
  current: ScreenId;
  onNavigate: (id: ScreenId) => void;
  children: ReactNode;
}

export function Shell({ status, current, onNavigate, children }: ShellProps) {
  const main = useRef<HTMLElement>(null);
  useScreenShortcuts((id) => {
    onNavigate(id);
    // The keyboard goes on from the top of the new screen, not from where it was.
    main.current?.focus({ preventScroll: true });
  });
  const label = SCREENS.find((s) => s.id === current)?.label;
  useEffect(() => {
    document.title = label ? `${label} — Gatehouse` : "Gatehouse";
  }, [label]);

  return (
    <div className="app">
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Gatehouse
        </div>
        <Sidebar current={current} onNavigate={onNavigate} />
      </aside>
      <div className="main">
        <TopBar status={status} />
        {status.phase === "signed_out" && <SignedOutBanner status={status} onNavigate={onNavigate} />}
        {status.offline && <OfflineBanner syncedAt={status.synced_at} />}
        {status.notice && (
          <div className="notice-banner" role="status" data-testid="cache-notice">
            {status.notice}
          </div>
        )}
        {current !== "settings" && <UpdateBanner onNavigate={onNavigate} />}
        <main className="content" ref={main} tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}

const IS_MAC = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform);

/** The links to every screen; ↑ and ↓ (Home, End) move between them, Enter opens one. */
function Sidebar({ current, onNavigate }: { current: ScreenId; onNavigate: (id: ScreenId) => void }) {
  function onKeyDown(e: KeyboardEvent<HTMLElement>) {
    const links = Array.from(e.currentTarget.querySelectorAll<HTMLAnchorElement>("a"));
    const at = links.indexOf(document.activeElement as HTMLAnchorElement);
    const next = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: links.length - 1 }[e.key];
    if (next === undefined || at === -1) return;
    e.preventDefault();
    links[(next + links.length) % links.length]?.focus();
  }
  return (
    <nav aria-label="Main" className="nav" onKeyDown={onKeyDown}>
      {SCREENS.map((s, i) => (
        <a
          key={s.id}
          href={screenHref(s.id)}
          className="nav-item"
          aria-current={s.id === current ? "page" : undefined}
          aria-keyshortcuts={`Control+${i + 1} Meta+${i + 1}`}
          title={`${s.label} (${IS_MAC ? "⌘" : "Ctrl+"}${i + 1})`}
          onClick={(e) => {
            e.preventDefault();
            onNavigate(s.id);
          }}
        >
          {s.label}
        </a>
      ))}
    </nav>
  );
}

/** Ctrl+1…8 (⌘1…8 on a Mac) opens the screen at that place in the sidebar. */
function useScreenShortcuts(open: (id: ScreenId) => void) {
  const onOpen = useEffectEvent(open);
  useEffect(() => {
    function onKey(e: globalThis.KeyboardEvent) {
      if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
      const screen = SCREENS[Number(e.key) - 1];
      if (!/^[1-9]$/.test(e.key) || !screen) return;
      e.preventDefault();
      onOpen(screen.id);
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}

/** "Sync now", and why the last one it started failed. */
export function SyncNowButton({ status }: { status: AppStatus }) {
  const backend = useBackend();
  // Progress and the new data arrive as status events; only a failure is the button's to show.
  const sync = useMutation({ mutationFn: () => backend.syncNow() });
  // A later sync that succeeded (in the background, or after the gateway came back) makes the
  // failure old news: an error beside "Synced just now" would say two things at once.
  const { reset } = sync;
  useEffect(() => reset(), [status.synced_at, reset]);
  return (
    <>
      {sync.error && (
        <span className="sync-error" role="alert" title={toIpcError(sync.error).message}>
          {toIpcError(sync.error).message}
        </span>
      )}
      <button
        type="button"
        className="button"
        data-testid="sync-now"
        disabled={sync.isPending || status.syncing !== null}
        onClick={() => sync.mutate()}
      >
        Sync now
      </button>
    </>
  );
}

function TopBar({ status }: { status: AppStatus }) {
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
        <SyncIndicator status={status} />
        <SyncNowButton status={status} />
      </div>
      {status.syncing && <SyncProgressBar progress={status.syncing} />}
    </header>
  );
}

/** How far the sync has come from where it started to the gateway's head; moving stripes until the
 * first page says how far there is to go. */
function SyncProgressBar({ progress }: { progress: SyncProgress }) {
  const span = progress.head - progress.start;
  const percent = span > 0 ? Math.min(100, Math.round(((progress.revision - progress.start) / span) * 100)) : null;
  if (percent === null) {
    return (
      <div className="progress" role="progressbar" aria-label="Syncing">
        <span />
      </div>
    );
  }
  return (
    <div className="progress determinate" role="progressbar" aria-label="Syncing" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
      <span style={{ width: `${percent}%` }} />
    </div>
  );
}

function SyncIndicator({ status }: { status: AppStatus }) {
  const now = useNow();
  let text: ReactNode;
  if (status.syncing) {
    text = `Syncing… ${formatCount(status.syncing.applied, "change", "changes")}`;
  } else if (status.phase === "starting") {
    text = "Connecting…";
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

/** Signed out (by the admin, or the gateway refused the credential): sign in again, or browse the cache. */
function SignedOutBanner({ status, onNavigate }: { status: AppStatus; onNavigate: (id: ScreenId) => void }) {
  const profile = status.profile;
  const asOf = status.synced_at ? ` (data as of ${formatDateTime(status.synced_at)})` : "";
  return (
    <section className="signed-out-banner" aria-label="Signed out" data-testid="signed-out-banner">
      {profile ? (
        <>
          <p>
            <strong>Signed out of {profile.name}.</strong> The cached data stays readable{asOf}; sign in to sync and make
            changes.
          </p>
          {status.error && <p className="banner-reason">{status.error.message}</p>}
          <SignInForm profile={profile} compact />
        </>
      ) : (
        <p>
          <strong>No profile is open.</strong>{" "}
          <a
            href={screenHref("settings")}
            onClick={(e) => {
              e.preventDefault();
              onNavigate("settings");
            }}
          >
            Choose or add one in Settings
          </a>
          .
        </p>
      )}
    </section>
  );
}
