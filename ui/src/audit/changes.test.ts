import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../bindings/AuditEntry";
import { changesOf } from "./changes";

const entry = (summary: AuditEntry["summary"]): AuditEntry => ({
  id: "aud_1",
  at: "2026-11-01T00:00:00Z",
  actor_id: null,
  action: "user.updated",
  target_kind: "user",
  target_id: "usr_1",
  summary,
  revision: 1,
});

describe("changesOf", () => {
  it("lists only the fields that differ, before and after", () => {
    expect(changesOf(entry({ before: { role: "member", name: "Ann" }, after: { role: "admin", name: "Ann" } }))).toEqual([
      { field: "role", before: "member", after: "admin" },
    ]);
  });

  it("shows a field that appeared or went, and values that are not text as JSON", () => {
    expect(changesOf(entry({ before: { cap: null, gone: 1 }, after: { cap: 150, ws: ["a"] } }))).toEqual([
      { field: "cap", before: "none", after: "150" },
      { field: "ws", before: null, after: '["a"]' },
      { field: "gone", before: "1", after: null },
    ]);
  });

  it("has nothing to say of a summary without before or after", () => {
    expect(changesOf(entry({ via: "scim" }))).toEqual([]);
    expect(changesOf(entry(null))).toEqual([]);
  });
});
