// What the signed-in admin may do, from the gateway's own list (`Me.permissions`): the UI offers
// only that, and the gateway enforces it regardless.
import { createContext, useContext } from "react";
import type { AppStatus } from "../bindings/AppStatus";

/** The gateway's permission names (crates/gateway/src/permissions.rs). */
export type Permission =
  | "org.read"
  | "org.write"
  | "users.read"
  | "users.write"
  | "users.lifecycle"
  | "invitations.read"
  | "invitations.write"
  | "workspaces.read"
  | "workspaces.write"
  | "groups.read"
  | "groups.write"
  | "models.read"
  | "models.write"
  | "policy.write"
  | "keys.read"
  | "keys.write"
  | "usage.read"
  | "audit.read"
  | "identity.read"
  | "identity.write"
  | "notifications.read"
  | "notifications.write";

/** The status the screens are shown under; the app provides it above them. */
export const StatusContext = createContext<AppStatus | null>(null);

export function useStatus(): AppStatus {
  const status = useContext(StatusContext);
  if (!status) throw new Error("useStatus() needs a <StatusContext.Provider> above it");
  return status;
}

/** Whether the admin may `permission`. Offline or signed out, nothing that changes is offered. */
export function useCan(): (permission: Permission) => boolean {
  const status = useStatus();
  const granted = new Set(status.me?.permissions ?? []);
  const online = status.phase === "ready" && !status.offline;
  return (permission) => granted.has(permission) && (online || permission.endsWith(".read"));
}
