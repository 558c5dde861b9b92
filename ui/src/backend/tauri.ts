// The one module that talks to Tauri; everything else goes through `Backend`.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { AppStatus } from "../bindings/AppStatus";
import type { Changed } from "../bindings/Changed";
import type { ProfileSummary } from "../bindings/ProfileSummary";
import type { SsoProvider } from "../bindings/SsoProvider";
import type { Settings } from "../bindings/Settings";
import type { SyncReport } from "../bindings/SyncReport";
import type { UpdateInfo } from "../bindings/UpdateInfo";
import type { UpdateProgress } from "../bindings/UpdateProgress";
import type { UserFilter } from "../bindings/UserFilter";
import type { UserRows } from "../bindings/UserRows";
import { toIpcError, type Backend } from "./backend";

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toIpcError(e);
  }
}

// The commands belong to the shell's `console` plugin (src-tauri/src/lib.rs), which gives each
// its own permission; a plugin's commands are invoked as `plugin:<plugin>|<command>`.
const command = (name: string) => `plugin:console|${name}`;

export const tauriBackend: Backend = {
  appStatus: () => call<AppStatus>(command("app_status")),
  listUsers: (filter: UserFilter) => call<UserRows>(command("list_users"), { filter }),
  syncNow: () => call<SyncReport>(command("sync_now")),
  onStatus: (cb) => listen<AppStatus>("status", (event) => cb(event.payload)),

  // Tauri maps the Rust arguments' snake_case names to camelCase; these are all one word.
  listProfiles: () => call<ProfileSummary[]>(command("list_profiles")),
  addProfile: (input) => call<ProfileSummary>(command("add_profile"), { input }),
  editProfile: (id, input) => call<ProfileSummary>(command("edit_profile"), { id, input }),
  removeProfile: (id) => call<void>(command("remove_profile"), { id }),
  activateProfile: (id) => call<void>(command("activate_profile"), { id }),
  signIn: (id, how) => call<AppStatus>(command("sign_in"), { id, how }),
  signInSso: (id, provider) => call<AppStatus>(command("sign_in_sso"), { id, provider }),
  listSsoProviders: (id) => call<SsoProvider[]>(command("list_sso_providers"), { id }),
  cancelSso: () => call<void>(command("cancel_sso")),
  signOut: (id) => call<void>(command("sign_out"), { id }),

  getSettings: () => call<Settings>(command("get_settings")),
  setSettings: (settings) => call<Settings>(command("set_settings"), { settings }),
  cacheInfo: () => call(command("cache_info")),
  clearCache: () => call(command("clear_cache")),

  applyChange: (change) => call<Changed>(command("apply_change"), { change }),

  appVersion: () => call<string>(command("app_version")),

  checkUpdate: () => call(command("check_update")),
  availableUpdate: () => call(command("available_update")),
  onUpdateFound: (cb) => listen<UpdateInfo | null>("update-found", (event) => cb(event.payload)),
  downloadUpdate: () => call(command("download_update")),
  onUpdateProgress: (cb) => listen<UpdateProgress>("update-progress", (event) => cb(event.payload)),
  installUpdate: () => call(command("install_update")),
  restartApp: () => call(command("restart_app")),
  logInfo: () => call(command("log_info")),
  openLogFolder: () => call(command("open_log_folder")),

  overview: () => call(command("overview")),
  userDetail: (id) => call(command("user_detail"), { id }),
  listInvitations: (filter) => call(command("list_invitations"), { filter }),
  copyInviteLink: (id) => call(command("copy_invite_link"), { id }),
  copyInviteLinks: (ids) => call(command("copy_invite_links"), { ids }),
  bulkPreview: (text) => call(command("bulk_preview"), { text }),
  auditCategories: () => call(command("audit_categories")),
  usageChart: (filter) => call(command("usage_chart"), { filter }),
  budgetStatus: (subject) => call(command("budget_status"), { subject }),
  listAudit: (filter) => call(command("list_audit"), { filter }),
  listWorkspaces: () => call(command("list_workspaces")),
  listGroups: () => call(command("list_groups")),
  listGroupMembers: (groupId) => call(command("list_group_members"), { id: groupId }),
  groupPolicy: (groupId) => call(command("group_policy"), { id: groupId }),
  listModels: () => call(command("list_models")),
  listAccessProfiles: () => call(command("list_access_profiles")),
  listScimTokens: () => call(command("list_scim_tokens")),
  getIdentitySettings: () => call(command("get_identity_settings")),
  exportUsersCsv: (filter) => call(command("export_users_csv"), { filter }),
  exportUsageCsv: (filter) => call(command("export_usage_csv"), { filter }),
  listChannels: () => call(command("list_channels")),
  listChannelDeliveries: (id) => call(command("list_channel_deliveries"), { id }),
  exportAudit: (filter, format) => call(command("export_audit"), { filter, format }),
};
