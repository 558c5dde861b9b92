// The one module that talks to Tauri; everything else goes through `Backend`.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { AppStatus } from "../bindings/AppStatus";
import type { SyncReport } from "../bindings/SyncReport";
import type { UserFilter } from "../bindings/UserFilter";
import type { UserRows } from "../bindings/UserRows";
import { toIpcError, type Backend } from "./backend";

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toIpcError(e);
  }
}

export const tauriBackend: Backend = {
  appStatus: () => call<AppStatus>("app_status"),
  listUsers: (filter: UserFilter) => call<UserRows>("list_users", { filter }),
  syncNow: () => call<SyncReport>("sync_now"),
  onStatus: (cb) => listen<AppStatus>("status", (event) => cb(event.payload)),
};
