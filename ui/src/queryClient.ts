import { QueryClient } from "@tanstack/react-query";

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Queries read the local cache, which changes only by syncing; useAppStatus
        // invalidates them when a sync lands.
        staleTime: Infinity,
        refetchOnWindowFocus: false,
        // A failing local command fails the same way again.
        retry: false,
      },
    },
  });
}
