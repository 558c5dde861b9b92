import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { AppStatus } from "../bindings/AppStatus";
import type { UserFilter } from "../bindings/UserFilter";
import { readyStatus } from "./mock";
import { tauriBackend } from "./tauri";

afterEach(clearMocks);

const filter: UserFilter = {
  query: "ave",
  role: "admin",
  status: null,
  workspace_id: null,
  group_id: null,
  sort: "created_at",
  descending: true,
  offset: 200,
  limit: 200,
};

describe("the Tauri backend", () => {
  it("invokes the console plugin's commands with their arguments", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "plugin:console|list_users") return { total: 0, rows: [] };
      if (cmd === "plugin:console|sync_now") return { applied: 3, revision: 9, synced_at: "2025-06-01T12:00:00Z" };
      if (cmd === "plugin:console|app_status") return readyStatus();
      throw `unknown command ${cmd}`;
    });
    expect(await tauriBackend.listUsers(filter)).toEqual({ total: 0, rows: [] });
    expect((await tauriBackend.syncNow()).applied).toBe(3);
    expect((await tauriBackend.appStatus()).phase).toBe("ready");
    expect(calls.map(([cmd]) => cmd)).toEqual([
      "plugin:console|list_users",
      "plugin:console|sync_now",
      "plugin:console|app_status",
    ]);
    expect(calls[0]![1]).toEqual({ filter });
  });

  it("rejects with the command's IpcError, and turns other failures into one", async () => {
    mockIPC((cmd) => {
      if (cmd === "plugin:console|sync_now") throw { code: "offline", message: "The gateway did not answer." };
      throw "command app_status not found";
    });
    await expect(tauriBackend.syncNow()).rejects.toEqual({ code: "offline", message: "The gateway did not answer." });
    await expect(tauriBackend.appStatus()).rejects.toEqual({ code: "internal", message: "command app_status not found" });
  });

  it("passes on status events until told to stop", async () => {
    mockIPC(() => undefined, { shouldMockEvents: true });
    const seen: AppStatus[] = [];
    const stop = await tauriBackend.onStatus((s) => seen.push(s));
    await emit("status", readyStatus({ offline: true }));
    stop();
    await emit("status", readyStatus());
    expect(seen.map((s) => s.offline)).toEqual([true]);
  });
});
