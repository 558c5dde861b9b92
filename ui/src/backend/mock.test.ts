import { describe, expect, it } from "vitest";
import { createMockBackend, MOCK_PASSWORD, mockProfile, mockUsers } from "./mock";

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

describe("listUsers, from fixtures", () => {
  const filter = { query: "", role: null, status: null, workspace_id: null, group_id: null, sort: "name", descending: false, offset: 0, limit: 100 } as const;

  it("answers the users whatever the filter asks, paged by its offset and limit", async () => {
    const backend = createMockBackend({ users: 250 });
    const page = await backend.listUsers({ ...filter, query: "anything", offset: 200 });
    expect(page.total).toBe(250);
    expect(page.rows).toEqual(users.slice(200, 250));
  });

  it("answers a filter with the first prepared answer it has the values of", async () => {
    const backend = createMockBackend({ users: 10 });
    backend.userAnswers = [
      { when: { role: "auditor", status: "pending" }, rows: [users[4]!] },
      { when: { role: "auditor" }, rows: [users[3]!, users[4]!] },
    ];
    expect((await backend.listUsers({ ...filter, role: "auditor" })).rows).toEqual([users[3], users[4]]);
    expect((await backend.listUsers({ ...filter, role: "auditor", status: "pending" })).rows).toEqual([users[4]]);
    expect((await backend.listUsers({ ...filter, role: "admin" })).total).toBe(10);
    expect(backend.listUsersCalls.map((f) => f.role)).toEqual(["auditor", "auditor", "admin"]);
  });
});

describe("mock profiles, from fixtures", () => {
  const good = { name: "Acme prod", url: "https://gw.acme.example/", ca_pem: null, insecure_http: false };

  it("keeps a profile as entered, signed out, or answers what the core was set to answer", async () => {
    const backend = createMockBackend();
    const added = await backend.addProfile(good);
    expect(added).toMatchObject({ name: "Acme prod", url: "https://gw.acme.example/", custom_ca: false, signed_in: false, embedded: false });

    const refusal = { code: "invalid", message: "Give the profile a name.", fields: [{ field: "name", message: "Give the profile a name." }] };
    backend.profileAnswers = [refusal, mockProfile("any", "Acme production", { url: "https://gw.acme.example/", signed_in: false })];
    await expect(backend.addProfile({ ...good, name: "" })).rejects.toEqual(refusal);
    const edited = await backend.editProfile(added.id, { ...good, name: " Acme production " });
    expect(edited).toMatchObject({ id: added.id, name: "Acme production" });
    expect((await backend.listProfiles()).map((p) => p.name)).toEqual(["Demo organisation (on this computer)", "Acme production"]);

    const withCa = await backend.editProfile(added.id, { ...good, ca_pem: "-----BEGIN CERTIFICATE-----" });
    expect(withCa.custom_ca).toBe(true);
    expect((await backend.editProfile(added.id, good)).custom_ca).toBe(true);
    expect((await backend.editProfile(added.id, { ...good, ca_pem: "" })).custom_ca).toBe(false);
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

  it("removing the open profile leaves none open", async () => {
    const backend = createMockBackend({ profiles: [mockProfile("acme", "Acme")] });
    await expect(backend.removeProfile("demo")).rejects.toMatchObject({ code: "no_profile" });
    await backend.activateProfile("acme");
    await backend.removeProfile("acme");
    expect(backend.status).toMatchObject({ phase: "signed_out", profile: null });
    expect(await backend.listProfiles()).toEqual([]);
  });

  it("keeps settings, and runs changes only while signed in and online", async () => {
    const backend = createMockBackend();
    const settings = { sync_interval_secs: 60, check_updates_at_start: false, log_level: "debug", theme: "dark" } as const;
    expect(await backend.setSettings(settings)).toEqual(settings);
    expect(await backend.getSettings()).toEqual(settings);

    const change = { op: "suspend_user", id: "usr_00001" } as const;
    expect(await backend.applyChange(change)).toEqual({ kind: "done" });
    backend.emitStatus({ ...backend.status, offline: true });
    await expect(backend.applyChange(change)).rejects.toMatchObject({ code: "offline" });
    expect(backend.changes).toEqual([change]);
  });
});
