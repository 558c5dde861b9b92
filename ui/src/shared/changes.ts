// Changing things through the gateway: one change at a time, and the cached reads refresh after
// it (the backend has synced by the time it answers).
import { useMutation, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { toIpcError, useBackend } from "../backend/backend";
import type { Change } from "../bindings/Change";
import type { Changed } from "../bindings/Changed";
import type { IpcError } from "../bindings/IpcError";

export interface ChangeRunner {
  /** Runs `change`; `onDone` follows a success. */
  run(change: Change, onDone?: (changed: Changed) => void): void;
  pending: boolean;
  error: IpcError | null;
  /** The last change succeeded (false again once the next one starts). */
  done: boolean;
  reset(): void;
}

/**
 * Runs changes. After a success `onDone` hears what changed, and the reads under `refresh` are
 * read again (every read when it is not given).
 */
export function useChange(options: { refresh?: readonly QueryKey[]; onDone?: (changed: Changed, change: Change) => void } = {}): ChangeRunner {
  const backend = useBackend();
  const client = useQueryClient();
  const { refresh, onDone } = options;
  const mutation = useMutation<Changed, IpcError, Change>({
    mutationFn: async (change) => {
      try {
        return await backend.applyChange(change);
      } catch (e) {
        throw toIpcError(e);
      }
    },
    onSuccess: (changed, change) => {
      onDone?.(changed, change);
      // Every read: the change stays pending until they are read again. Named ones: behind it.
      if (!refresh) return client.invalidateQueries();
      for (const queryKey of refresh) void client.invalidateQueries({ queryKey });
    },
  });
  return {
    run: (change, done) => mutation.mutate(change, { onSuccess: done }),
    pending: mutation.isPending,
    error: mutation.error,
    done: mutation.isSuccess,
    reset: mutation.reset,
  };
}
