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

  it("passes profile, sign-in, settings and change arguments by the names the commands take", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd.replace("plugin:console|", ""), args]);
      if (cmd === "plugin:console|app_version") return "1.2.3";
      if (cmd === "plugin:console|apply_change") return { kind: "done" };
      return null;
    });
    const input = { name: "Acme", url: "https://gw.acme.example/", ca_pem: null, insecure_http: false };
    const how = { method: "token", token: "gw_secret" } as const;
    const change = { op: "revoke_key", id: "key_1" } as const;
    await tauriBackend.listProfiles();
    await tauriBackend.addProfile(input);
    await tauriBackend.editProfile("p1", input);
    await tauriBackend.removeProfile("p1");
    await tauriBackend.activateProfile("p2");
    await tauriBackend.signIn("p2", how);
    await tauriBackend.signOut("p2");
    await tauriBackend.getSettings();
    const settings = { sync_interval_secs: 60, check_updates_at_start: false, log_level: "warn", theme: "light" } as const;
    await tauriBackend.setSettings(settings);
    expect(await tauriBackend.applyChange(change)).toEqual({ kind: "done" });
    expect(await tauriBackend.appVersion()).toBe("1.2.3");
    await tauriBackend.checkUpdate();
    await tauriBackend.availableUpdate();
    await tauriBackend.downloadUpdate();
    await tauriBackend.installUpdate();
    await tauriBackend.restartApp();
    await tauriBackend.logInfo();
    await tauriBackend.openLogFolder();
    await tauriBackend.listScimTokens();
    await tauriBackend.getIdentitySettings();
    await tauriBackend.listSsoProviders("p2");
    await tauriBackend.listAccessProfiles();
    await tauriBackend.listChannels();
    await tauriBackend.listChannelDeliveries("chn_1");
    const auditFilter = { action: null, category: "user", actor_id: null, target_id: null, from: null, to: null, offset: 0, limit: 50 };
    await tauriBackend.exportAudit(auditFilter, "csv");
    await tauriBackend.auditCategories();
    await tauriBackend.bulkPreview("a@b.example");
    await tauriBackend.copyInviteLinks(["inv_1", "inv_2"]);
    expect(calls).toEqual([
      ["list_profiles", {}],
      ["add_profile", { input }],
      ["edit_profile", { id: "p1", input }],
      ["remove_profile", { id: "p1" }],
      ["activate_profile", { id: "p2" }],
      ["sign_in", { id: "p2", how }],
      ["sign_out", { id: "p2" }],
      ["get_settings", {}],
      ["set_settings", { settings }],
      ["apply_change", { change }],
      ["app_version", {}],
      ["check_update", {}],
      ["available_update", {}],
      ["download_update", {}],
      ["install_update", {}],
      ["restart_app", {}],
      ["log_info", {}],
      ["open_log_folder", {}],
      ["list_scim_tokens", {}],
      ["get_identity_settings", {}],
      ["list_sso_providers", { id: "p2" }],
      ["list_access_profiles", {}],
      ["list_channels", {}],
      ["list_channel_deliveries", { id: "chn_1" }],
      ["export_audit", { filter: auditFilter, format: "csv" }],
      ["audit_categories", {}],
      ["bulk_preview", { text: "a@b.example" }],
      ["copy_invite_links", { ids: ["inv_1", "inv_2"] }],
    ]);
  });

  it("rejects with the command's IpcError, and turns other failures into one", async () => {
    mockIPC((cmd) => {
      if (cmd === "plugin:console|sync_now") throw { code: "offline", message: "The gateway did not answer." };
      throw "command app_status not found";
    });
    await expect(tauriBackend.syncNow()).rejects.toEqual({ code: "offline", message: "The gateway did not answer." });
    await expect(tauriBackend.appStatus()).rejects.toEqual({ code: "internal", message: "command app_status not found" });
  });

  it("passes on update progress events until told to stop", async () => {
    mockIPC(() => undefined, { shouldMockEvents: true });
    const seen: unknown[] = [];
    const stop = await tauriBackend.onUpdateProgress((p) => seen.push(p));
    await emit("update-progress", { phase: "downloading", received: 10, total: 40 });
    await emit("update-progress", { phase: "verified" });
    stop();
    await emit("update-progress", { phase: "verified" });
    expect(seen).toEqual([{ phase: "downloading", received: 10, total: 40 }, { phase: "verified" }]);
  });

  it("passes on what an update check found", async () => {
    mockIPC(() => undefined, { shouldMockEvents: true });
    const seen: unknown[] = [];
    const stop = await tauriBackend.onUpdateFound((u) => seen.push(u));
    const update = { version: "0.2.0", current_version: "0.1.0", notes: null, date: null };
    await emit("update-found", update);
    await emit("update-found", null);
    stop();
    await emit("update-found", update);
    expect(seen).toEqual([update, null]);
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
