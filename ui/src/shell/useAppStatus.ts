import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { AppStatus } from "../bindings/AppStatus";
import type { IpcError } from "../bindings/IpcError";

/**
 * The app's status as the backend last announced it; `error` when it could not even be asked.
 * Everything else the UI shows is read from the cache, so a sync that moved `synced_at`
 * makes every query stale.
 */
export function useAppStatus(): { status: AppStatus | null; error: IpcError | null } {
  const backend = useBackend();
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [error, setError] = useState<IpcError | null>(null);

  useEffect(() => {
    let live = true;
    let heard = false;
    let stop: (() => void) | undefined;
    (async () => {
      // Listen before asking, so no change falls between the answer and the subscription.
      const unlisten = await backend.onStatus((s) => {
        heard = true;
        if (live) setStatus(s);
      });
      if (!live) return unlisten();
      stop = unlisten;
      const first = await backend.appStatus();
      // An event that came in meanwhile is newer than this answer.
      if (live && !heard) setStatus(first);
    })().catch((e: unknown) => {
      if (live) setError(toIpcError(e));
    });
    return () => {
      live = false;
      stop?.();
    };
  }, [backend]);

  const client = useQueryClient();
  const syncedAt = status?.synced_at ?? null;
  const lastSyncedAt = useRef(syncedAt);
  useEffect(() => {
    if (syncedAt === lastSyncedAt.current) return;
    lastSyncedAt.current = syncedAt;
    void client.invalidateQueries();
  }, [client, syncedAt]);

  return { status, error };
}
