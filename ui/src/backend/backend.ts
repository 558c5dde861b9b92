import { createContext, useContext } from "react";
import type { AppStatus } from "../bindings/AppStatus";
import type { IpcError } from "../bindings/IpcError";
import type { SyncReport } from "../bindings/SyncReport";
import type { UserFilter } from "../bindings/UserFilter";
import type { UserRows } from "../bindings/UserRows";

/** What the UI may ask of the app's backend. Failures reject with an `IpcError`. */
export interface Backend {
  appStatus(): Promise<AppStatus>;
  listUsers(filter: UserFilter): Promise<UserRows>;
  syncNow(): Promise<SyncReport>;
  /** Calls `cb` with every new status; resolves to the function that stops listening. */
  onStatus(cb: (s: AppStatus) => void): Promise<() => void>;
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
