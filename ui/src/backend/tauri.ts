// The one module that talks to Tauri; everything else goes through `Backend`.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { AppStatus } from "../bindings/AppStatus";
import type { SyncReport } from "../bindings/SyncReport";
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
};
