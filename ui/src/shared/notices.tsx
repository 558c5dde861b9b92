// What a screen says about itself: a change that went through, a read that failed, and why
// changes are not offered while offline.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type ReactNode } from "react";
import { toIpcError } from "../backend/backend";
import { useStatus, type Permission } from "../shell/permissions";

/** Says that something went through (read out by screen readers). */
export function Notice({ children }: { children: ReactNode }) {
  return (
    <p className="notice" role="status">
      {children}
    </p>
  );
}

/**
 * What the last action on a screen did, to show in a `Notice`. The one rule for notices: it goes
 * once the next change starts, anywhere (every change is a mutation of the query client), or
 * when the screen clears it as another action begins (opening a form).
 */
export function useActionNotice(): [string | null, (notice: string | null) => void] {
  const [notice, setNotice] = useState<string | null>(null);
  const client = useQueryClient();
  useEffect(
    () =>
      client.getMutationCache().subscribe((event) => {
        if (event.type === "added") setNotice(null);
      }),
    [client],
  );
  return [notice, setNotice];
}

/** A query's error, or nothing. */
export function QueryError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="form-error" role="alert">
      {toIpcError(error).message}
    </p>
  );
}

/**
 * Why an admin who may `permission` is not offered it right now (offline or not ready), or
 * nothing when they may use it or may never.
 */
export function OfflineHint({ permission }: { permission: Permission }) {
  const status = useStatus();
  const granted = status.me?.permissions.includes(permission) ?? false;
  if (!granted || (status.phase === "ready" && !status.offline)) return null;
  return (
    <p className="muted write-hint" data-testid="write-hint">
      Changes are off while the gateway is unreachable; what is shown is from the cache.
    </p>
  );
}

