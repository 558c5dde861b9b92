import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toIpcError, useBackend } from "../backend/backend";
import type { IpcError } from "../bindings/IpcError";
import type { Settings } from "../bindings/Settings";

/**
 * The saved settings and a way to change some of them. While a change is being saved,
 * `settings` already shows it; `error` is the last failure to read or save.
 */
export function useSettings(): {
  settings: Settings | undefined;
  change: (patch: Partial<Settings>) => void;
  saving: boolean;
  error: IpcError | null;
} {
  const backend = useBackend();
  const client = useQueryClient();
  const query = useQuery({ queryKey: ["settings"], queryFn: () => backend.getSettings() });
  const save = useMutation({
    mutationFn: (next: Settings) => backend.setSettings(next),
    onSuccess: (saved) => client.setQueryData(["settings"], saved),
  });
  const error = query.error ?? save.error;
  return {
    settings: save.isPending ? save.variables : query.data,
    change: (patch) => query.data && save.mutate({ ...query.data, ...patch }),
    saving: save.isPending,
    error: error ? toIpcError(error) : null,
  };
}
