import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { BackendContext, type Backend } from "./backend/backend";
import type { AppStatus } from "./bindings/AppStatus";
import { AuditScreen } from "./audit/AuditScreen";
import { GroupsScreen } from "./groups/GroupsScreen";
import { InvitationsScreen } from "./invitations/InvitationsScreen";
import { OverviewScreen } from "./overview/OverviewScreen";
import { SettingsScreen } from "./settings/SettingsScreen";
import { StatusContext } from "./shell/permissions";
import { useRoute, type ScreenId } from "./shell/router";
import { Shell } from "./shell/Shell";
import { Failed, Starting } from "./shell/Startup";
import { useAppStatus } from "./shell/useAppStatus";
import { UsageScreen } from "./usage/UsageScreen";
import { UsersScreen } from "./users/UsersScreen";
import { WorkspacesScreen } from "./workspaces/WorkspacesScreen";

export function AppProviders({ backend, queryClient, children }: { backend: Backend; queryClient: QueryClient; children: ReactNode }) {
  return (
    <BackendContext.Provider value={backend}>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </BackendContext.Provider>
  );
}

export function App() {
  const { status, error } = useAppStatus();
  const [screen, navigate] = useRoute();
  if (error) return <Failed error={error} />;
  // Opening a profile that has synced before keeps the shell up: its cache is readable.
  if (!status || (status.phase === "starting" && status.synced_at === null)) return <Starting profile={status?.profile ?? null} />;
  if (status.phase === "failed") return <Failed error={status.error} />;
  return (
    <StatusContext.Provider value={status}>
      <Shell status={status} current={screen} onNavigate={navigate}>
        <Screen id={screen} status={status} />
      </Shell>
    </StatusContext.Provider>
  );
}

function Screen({ id, status }: { id: ScreenId; status: AppStatus }) {
  switch (id) {
    case "overview":
      return <OverviewScreen />;
    case "users":
      return <UsersScreen syncing={status.syncing !== null} />;
    case "invitations":
      return <InvitationsScreen />;
    case "workspaces":
      return <WorkspacesScreen />;
    case "groups":
      return <GroupsScreen />;
    case "usage":
      return <UsageScreen />;
    case "audit":
      return <AuditScreen />;
    case "settings":
      return <SettingsScreen status={status} />;
  }
}
