import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useBackend } from "../backend/backend";
import { useBackendEvent } from "../backend/useBackendEvent";

/** The newer version the last check found (at start or from Settings), or null. */
export function useAvailableUpdate() {
  const backend = useBackend();
  const client = useQueryClient();
  useBackendEvent(backend.onUpdateFound, (update) => client.setQueryData(["update"], update));
  return useQuery({ queryKey: ["update"], queryFn: () => backend.availableUpdate() });
}
