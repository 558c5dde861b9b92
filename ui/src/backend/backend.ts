import { createContext, useContext } from "react";
import type { AccessProfiles } from "../bindings/AccessProfiles";
import type { AppStatus } from "../bindings/AppStatus";
import type { AuditExportFormat } from "../bindings/AuditExportFormat";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { BulkPreviewItem } from "../bindings/BulkPreviewItem";
import type { Channel } from "../bindings/Channel";
import type { DeliveryAttempt } from "../bindings/DeliveryAttempt";
import type { AuditRows } from "../bindings/AuditRows";
import type { CacheInfo } from "../bindings/CacheInfo";
import type { BudgetStatus } from "../bindings/BudgetStatus";
import type { GroupMemberRow } from "../bindings/GroupMemberRow";
import type { GroupPolicy } from "../bindings/GroupPolicy";
import type { GroupRow } from "../bindings/GroupRow";
import type { IdentitySettings } from "../bindings/IdentitySettings";
import type { InvitationFilter } from "../bindings/InvitationFilter";
import type { InvitationRows } from "../bindings/InvitationRows";
import type { Model } from "../bindings/Model";
import type { Overview } from "../bindings/Overview";
import type { ScimToken } from "../bindings/ScimToken";
import type { SpendSubject } from "../bindings/SpendSubject";
import type { UsageChart } from "../bindings/UsageChart";
import type { UsageFilter } from "../bindings/UsageFilter";
import type { UserDetail } from "../bindings/UserDetail";
import type { WorkspaceRow } from "../bindings/WorkspaceRow";
import type { Change } from "../bindings/Change";
import type { Changed } from "../bindings/Changed";
import type { IpcError } from "../bindings/IpcError";
import type { LogInfo } from "../bindings/LogInfo";
import type { ProfileInput } from "../bindings/ProfileInput";
import type { ProfileSummary } from "../bindings/ProfileSummary";
import type { Settings } from "../bindings/Settings";
import type { SignIn } from "../bindings/SignIn";
import type { SignInProvider } from "../bindings/SignInProvider";
import type { SyncReport } from "../bindings/SyncReport";
import type { UpdateInfo } from "../bindings/UpdateInfo";
import type { SsoProvider } from "../bindings/SsoProvider";
import type { UpdateProgress } from "../bindings/UpdateProgress";
import type { UserFilter } from "../bindings/UserFilter";
import type { UserRows } from "../bindings/UserRows";

/** What the UI may ask of the app's backend. Failures reject with an `IpcError`. */
export interface Backend {
  appStatus(): Promise<AppStatus>;
  listUsers(filter: UserFilter): Promise<UserRows>;
  syncNow(): Promise<SyncReport>;
  /** Calls `cb` with every new status; resolves to the function that stops listening. */
  onStatus(cb: (s: AppStatus) => void): Promise<() => void>;

  listProfiles(): Promise<ProfileSummary[]>;
  /** A new profile, signed out; sign in to it next. */
  addProfile(input: ProfileInput): Promise<ProfileSummary>;
  /** A changed URL or CA applies when the profile is next opened; the credential stays. */
  editProfile(id: string, input: ProfileInput): Promise<ProfileSummary>;
  /** Deletes the profile with its credential and its cache. */
  removeProfile(id: string): Promise<void>;
  /** Opens the profile; the new status arrives as events. */
  activateProfile(id: string): Promise<void>;
  /** Signs in to the profile and opens it. The password or token goes to the keychain only. */
  signIn(id: string, how: SignIn): Promise<AppStatus>;
  /**
   * Signs in to the profile with the organisation's identity provider in the system browser,
   * and opens it; resolves once the browser comes back (the session goes to the keychain only).
   * Rejects with code `cancelled` after `cancelSso`, `timed_out` when nobody finishes in the
   * browser in time, or the gateway's refusal in plain words.
   */
  signInSso(id: string, provider: SignInProvider): Promise<AppStatus>;
  /** The identity providers the profile's gateway offers for single sign-on (asked before signing in). */
  listSsoProviders(id: string): Promise<SsoProvider[]>;
  /** Ends the single sign-on waiting for the browser, if one is. */
  cancelSso(): Promise<void>;
  /** Forgets the profile's credential; its cache stays readable. */
  signOut(id: string): Promise<void>;

  getSettings(): Promise<Settings>;
  setSettings(settings: Settings): Promise<Settings>;

  /** The open profile's cache: its size on this computer and when it last synced. */
  cacheInfo(): Promise<CacheInfo>;
  /** Deletes the open profile's cache and fills it again from the gateway; refused offline. */
  clearCache(): Promise<CacheInfo>;

  /**
   * Runs one change through the gateway, then syncs. A secret it produces (a new API key or SCIM
   * token, an invitation link) goes to the clipboard and is never returned.
   */
  applyChange(change: Change): Promise<Changed>;

  /** The app's version, as the shell was built. */
  appVersion(): Promise<string>;

  // Updates: the Rust side talks to the update server and checks the signature.
  /** Asks the update server for a newer version; null when this one is the newest. */
  checkUpdate(): Promise<UpdateInfo | null>;
  /** What the last check (at start or from Settings) found, without asking again. */
  availableUpdate(): Promise<UpdateInfo | null>;
  /** Calls `cb` with what each check finds (the check at start may end after the UI is up). */
  onUpdateFound(cb: (u: UpdateInfo | null) => void): Promise<() => void>;
  /** Downloads the update found and verifies its signature; progress goes to `onUpdateProgress`. */
  downloadUpdate(): Promise<UpdateInfo>;
  /** Calls `cb` with each step of a download; resolves to the function that stops listening. */
  onUpdateProgress(cb: (p: UpdateProgress) => void): Promise<() => void>;
  /** Installs the downloaded update over this app; it runs after `restartApp`. */
  installUpdate(): Promise<void>;
  restartApp(): Promise<void>;

  /** Where the log files are, and whether RUST_LOG decides their level. */
  logInfo(): Promise<LogInfo>;
  /** Opens the log folder in the system's file manager. */
  openLogFolder(): Promise<void>;

  // What the screens read: all from the cache, so they work offline.
  overview(): Promise<Overview>;
  userDetail(id: string): Promise<UserDetail>;
  listInvitations(filter: InvitationFilter): Promise<InvitationRows>;
  /** Puts the invitation's link on the clipboard (from the cache, offline too); never returns it. */
  copyInviteLink(id: string): Promise<void>;
  /** Puts the links of these invitations on the clipboard, one `address<TAB>link` line each. */
  copyInviteLinks(ids: string[]): Promise<void>;
  /** What a bulk invitation of `text` would do with each entry (the gateway's reading, the cache's people). */
  bulkPreview(text: string): Promise<BulkPreviewItem[]>;
  usageChart(filter: UsageFilter): Promise<UsageChart>;
  budgetStatus(subject: SpendSubject): Promise<BudgetStatus>;
  listAudit(filter: AuditFilter): Promise<AuditRows>;
  /** The categories of the cached log's actions (`user` of `user.suspend`), in order. */
  auditCategories(): Promise<string[]>;
  listWorkspaces(): Promise<WorkspaceRow[]>;
  listGroups(): Promise<GroupRow[]>;
  listGroupMembers(groupId: string): Promise<GroupMemberRow[]>;
  /** What the group itself grants, limits and caps, from the cache. */
  groupPolicy(groupId: string): Promise<GroupPolicy>;
  listModels(): Promise<Model[]>;
  /**
   * The SCIM tokens, without their secrets. Read from the gateway, not the cache: offline it
   * rejects with `offline`. Made and revoked with `applyChange`.
   */
  listScimTokens(): Promise<ScimToken[]>;
  /**
   * The org's single sign-on settings and the providers the gateway sets up. Read from the
   * gateway, not the cache: offline it rejects with `offline`. Set with `applyChange`.
   */
  getIdentitySettings(): Promise<IdentitySettings>;
  /** Asks where to save (a native dialog), writes the CSV; the row count, or null if cancelled. */
  exportUsersCsv(filter: UserFilter): Promise<number | null>;
  exportUsageCsv(filter: UsageFilter): Promise<number | null>;
  /** The access profiles new people start from and the org's default, from the cache. Changed with `applyChange`. */
  listAccessProfiles(): Promise<AccessProfiles>;
  /**
   * The notification channels (outgoing webhooks), without their secrets. Read from the gateway,
   * not the cache: offline it rejects with `offline`. Changed with `applyChange`.
   */
  listChannels(): Promise<Channel[]>;
  /** A channel's delivery log, newest first (the last 1,000 attempts), from the gateway. */
  listChannelDeliveries(id: string): Promise<DeliveryAttempt[]>;
  /**
   * Asks where to save, then writes the gateway's audit export of the entries matching
   * `filter` (its paging aside); the bytes written, or null if cancelled.
   */
  exportAudit(filter: AuditFilter, format: AuditExportFormat): Promise<number | null>;
}

export const BackendContext = createContext<Backend | null>(null);

export function useBackend(): Backend {
  const backend = useContext(BackendContext);
  if (!backend) throw new Error("useBackend() needs a <BackendContext.Provider> above it");
  return backend;
}

export function isIpcError(e: unknown): e is IpcError {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as Record<string, unknown>).code === "string" &&
    typeof (e as Record<string, unknown>).message === "string"
  );
}

/**
 * Any rejection as an `IpcError`. Commands reject with one, but Tauri itself rejects with
 * plain strings (unknown command, bad arguments) and code can throw `Error`s.
 */
export function toIpcError(e: unknown): IpcError {
  if (isIpcError(e)) return e;
  if (e instanceof Error) return { code: "internal", message: e.message };
  if (typeof e === "string" && e !== "") return { code: "internal", message: e };
  return { code: "internal", message: "Something went wrong." };
}
