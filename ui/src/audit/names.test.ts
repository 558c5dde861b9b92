import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../bindings/AuditEntry";
import { actorText, targetText } from "./names";

const entry = (over: Partial<AuditEntry>): AuditEntry => ({
  id: "aud_1",
  at: "2026-11-02T10:00:00Z",
  actor_id: "usr_admin",
  action: "user.suspend",
  target_kind: "user",
  target_id: "usr_robin",
  summary: null,
  revision: 1,
  ...over,
});
const names = { usr_admin: "Avery Quinn", usr_robin: "Robin Ito", grp_interns: "Interns" };

describe("audit names", () => {
  it("names the actor, or says the system, or falls back to the id", () => {
    expect(actorText(entry({}), names)).toBe("Avery Quinn");
    expect(actorText(entry({ actor_id: null }), names)).toBe("the system");
    expect(actorText(entry({ actor_id: "usr_gone" }), names)).toBe("usr_gone");
    expect(actorText(entry({ actor_id: "stk_1", summary: { via: "scim", scim_token: "Entra ID" } }), names)).toBe(
      "SCIM (Entra ID)",
    );
  });

  it("names a plain target and a subject's policy", () => {
    expect(targetText(entry({}), names)).toBe("user Robin Ito");
    expect(targetText(entry({ target_kind: "budget", target_id: "user:usr_robin" }), names)).toBe("budget of user Robin Ito");
    expect(targetText(entry({ target_kind: "grant", target_id: "group:grp_interns:gpt-4o" }), names)).toBe(
      "grant of group Interns (gpt-4o)",
    );
    expect(targetText(entry({ target_kind: "invitation", target_id: "inv_9" }), names)).toBe("invitation inv_9");
  });
});
