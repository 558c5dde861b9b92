import { describe, expect, it } from "vitest";
import { ALL_USERS as ALL, createMockBackend, MOCK_PASSWORD, mockProfile, mockUsers, queryUsers } from "./mock";

const users = mockUsers(700);

describe("mock users", () => {
  it("are the same every time, with unique ids and e-mails", () => {
    expect(mockUsers(700)).toEqual(users);
    expect(new Set(users.map((u) => u.id)).size).toBe(700);
    expect(new Set(users.map((u) => u.email)).size).toBe(700);
    expect(new Set(users.map((u) => u.role))).toEqual(new Set(["admin", "operator", "auditor", "member"]));
    expect(new Set(users.map((u) => u.status))).toEqual(new Set(["active", "pending", "suspended"]));
    expect(users.some((u) => u.last_active_at === null)).toBe(true);
  });
});

describe("queryUsers, like the cache's list_users", () => {
  it("matches a trimmed, case-insensitive substring of the name or the e-mail", () => {
    const byName = queryUsers(users, { ...ALL, query: " aVeRy " });
    expect(byName.total).toBeGreaterThan(0);
    expect(byName.rows.every((u) => u.name.toLowerCase().includes("avery"))).toBe(true);

    // Only in e-mails: the dot between first and last name.
    const byEmail = queryUsers(users, { ...ALL, query: "AVERY.QUINN@" });
    expect(byEmail.rows.map((u) => u.email)).toEqual(["avery.quinn@northwind.example"]);
    expect(queryUsers(users, { ...ALL, query: "no such person" }).total).toBe(0);
  });

  it("filters by role and status together", () => {
    const result = queryUsers(users, { ...ALL, role: "operator", status: "suspended" });
    expect(result.total).toBe(users.filter((u) => u.role === "operator" && u.status === "suspended").length);
    expect(result.total).toBeGreaterThan(0);
    expect(result.rows.every((u) => u.role === "operator" && u.status === "suspended")).toBe(true);
  });

  it("pages by offset and limit and counts every match", () => {
    const all = queryUsers(users, ALL).rows;
    const page = queryUsers(users, { ...ALL, offset: 200, limit: 200 });
    expect(page.total).toBe(700);
    expect(page.rows).toEqual(all.slice(200, 400));
    expect(queryUsers(users, { ...ALL, offset: 690, limit: 200 }).rows).toHaveLength(10);
    expect(queryUsers(users, { ...ALL, limit: 0 }).rows).toHaveLength(100);
    expect(queryUsers(mockUsers(1200), { ...ALL, limit: 5000 }).rows).toHaveLength(1000);
  });

  it("sorts without regard to case by name, puts nulls first, and breaks ties by id", () => {
    const names = queryUsers(users, ALL).rows.map((u) => u.name.toLowerCase());
    expect(names).toEqual([...names].sort());

    const active = queryUsers(users, { ...ALL, sort: "last_active_at" }).rows;
    const firstDated = active.findIndex((u) => u.last_active_at !== null);
    expect(firstDated).toBeGreaterThan(0);
    expect(active.slice(firstDated).every((u) => u.last_active_at !== null)).toBe(true);

    const sameName = queryUsers(users, { ...ALL, query: "avery quinn" }).rows;
    expect(sameName).toHaveLength(2);
    expect(sameName.map((u) => u.id)).toEqual(sameName.map((u) => u.id).sort());

    const descending = queryUsers(users, { ...ALL, sort: "created_at", descending: true }).rows;
    const ascending = queryUsers(users, { ...ALL, sort: "created_at" }).rows;
    expect(descending).toEqual([...ascending].reverse());
  });
});

describe("mock profiles, like the core's", () => {
  const good = { name: " Acme prod ", url: "https://gw.acme.example//", ca_pem: "  ", insecure_http: false };

  it("refuses a profile without a name or with a URL that is not http(s) with a host, and keeps nothing", async () => {
    const backend = createMockBackend();
    for (const [input, field, message] of [
      [{ ...good, name: "  " }, "name", "Give the profile a name."],
      [{ ...good, url: "gw.acme.example" }, "url", '"gw.acme.example" is not a URL.'],
      [{ ...good, url: "ftp://gw.acme.example" }, "url", "The gateway URL must start with https:// (or http://) and name a host."],
      [{ ...good, ca_pem: "not a certificate" }, "ca_pem", expect.stringContaining("The CA certificate is not usable")],
    ] as const) {
      await expect(backend.addProfile(input)).rejects.toEqual({ code: "invalid", message, fields: [{ field, message }] });
    }
    expect((await backend.listProfiles()).map((p) => p.id)).toEqual(["demo"]);
  });

  it("adds a profile signed out, trimmed, with one trailing slash, and no CA for a blank one", async () => {
    const backend = createMockBackend();
    const added = await backend.addProfile(good);
    expect(added).toMatchObject({ name: "Acme prod", url: "https://gw.acme.example/", custom_ca: false, signed_in: false, embedded: false });
    expect((await backend.listProfiles()).map((p) => p.name)).toEqual(["Demo organisation (on this computer)", "Acme prod"]);
    const edited = await backend.editProfile(added.id, { ...good, ca_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----" });
    expect(edited.custom_ca).toBe(true);
  });

  it("signs in with the right password only, and opens the profile", async () => {
    const backend = createMockBackend();
    const { id } = await backend.addProfile(good);
    const wrong = { method: "password", email: "a@acme.example", password: "wrong" } as const;
    await expect(backend.signIn(id, wrong)).rejects.toEqual({ code: "unauthorized", message: "Wrong e-mail or password." });
    expect(backend.status.profile?.id).toBe("demo");

    const status = await backend.signIn(id, { ...wrong, password: MOCK_PASSWORD });
    expect(status).toMatchObject({ phase: "ready", profile: { id, signed_in: true } });
    expect(backend.status).toEqual(status);

    await backend.signOut(id);
    expect(backend.status).toMatchObject({ phase: "signed_out", me: null, profile: { id, signed_in: false } });
    expect((await backend.listProfiles()).find((p) => p.id === id)?.signed_in).toBe(false);
  });

  it("will not edit, remove or sign out of the demo; removing the open profile leaves none open", async () => {
    const backend = createMockBackend({ profiles: [mockProfile("acme", "Acme")] });
    await expect(backend.removeProfile("demo")).rejects.toMatchObject({ code: "no_profile" });
    await backend.activateProfile("acme");
    await backend.removeProfile("acme");
    expect(backend.status).toMatchObject({ phase: "signed_out", profile: null });
    expect(await backend.listProfiles()).toEqual([]);

    const withDemo = createMockBackend();
    await expect(withDemo.removeProfile("demo")).rejects.toMatchObject({ code: "invalid" });
    await expect(withDemo.signOut("demo")).rejects.toMatchObject({ code: "invalid" });
  });

  it("keeps settings within a day, and runs changes only while signed in and online", async () => {
    const backend = createMockBackend();
    const settings = { sync_interval_secs: 60, check_updates_at_start: false, log_level: "debug" } as const;
    expect(await backend.setSettings(settings)).toEqual(settings);
    await expect(backend.setSettings({ ...settings, sync_interval_secs: 90_000 })).rejects.toMatchObject({ code: "invalid" });
    expect(await backend.getSettings()).toEqual(settings);

    const change = { op: "suspend_user", id: "usr_00001" } as const;
    expect(await backend.applyChange(change)).toEqual({ kind: "done" });
    backend.emitStatus({ ...backend.status, offline: true });
    await expect(backend.applyChange(change)).rejects.toMatchObject({ code: "offline" });
    expect(backend.changes).toEqual([change]);
  });
});
