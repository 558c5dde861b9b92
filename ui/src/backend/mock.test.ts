import { describe, expect, it } from "vitest";
import { ALL_USERS as ALL, mockUsers, queryUsers } from "./mock";

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
