import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { BackendContext, type Backend } from "./backend/backend";
import { Shell } from "./shell/Shell";
import { Failed, Starting } from "./shell/Startup";
import { useAppStatus } from "./shell/useAppStatus";
import { UsersScreen } from "./users/UsersScreen";

export function AppProviders({ backend, queryClient, children }: { backend: Backend; queryClient: QueryClient; children: ReactNode }) {
  return (
    <BackendContext.Provider value={backend}>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </BackendContext.Provider>
  );
}

export function App() {
  const { status, error } = useAppStatus();
  if (error) return <Failed error={error} />;
  if (!status || status.phase === "starting") return <Starting />;
  if (status.phase === "failed") return <Failed error={status.error} />;
  return (
    <Shell status={status}>
      <UsersScreen syncing={status.syncing !== null} />
    </Shell>
  );
}
