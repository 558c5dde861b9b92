import { useMutation, useQueryClient } from "@tanstack/react-query";
import { toIpcError, useBackend } from "../backend/backend";
import type { Change } from "../bindings/Change";
import type { Changed } from "../bindings/Changed";
import type { IpcError } from "../bindings/IpcError";

export interface ChangeRunner {
  /** Runs `change`; `onDone` follows a success. */
  run(change: Change, onDone?: (changed: Changed) => void): void;
  pending: boolean;
  error: IpcError | null;
  reset(): void;
}

/** One change at a time through the gateway; the cached reads refresh after it. */
export function useChange(): ChangeRunner {
  const backend = useBackend();
  const client = useQueryClient();
  const mutation = useMutation({
    mutationFn: (change: Change) => backend.applyChange(change),
    onSuccess: () => client.invalidateQueries(),
  });
  return {
    run: (change, onDone) => mutation.mutate(change, { onSuccess: onDone }),
    pending: mutation.isPending,
    error: mutation.error ? toIpcError(mutation.error) : null,
    reset: mutation.reset,
  };
}
