// How an audit entry reads: people, workspaces and groups by name (the cache's `names`), an id
// only where the cache no longer knows it (a deleted user, say).
import type { AuditEntry } from "../bindings/AuditEntry";

type Names = Partial<Record<string, string>>;

/** Who did it: a name, an id, or the system. */
export function actorText(entry: AuditEntry, names: Names): string {
  if (entry.actor_id === null) return "the system";
  // A provider's SCIM changes are made under the token's name, which the entry carries.
  const summary = entry.summary as { via?: unknown; scim_token?: unknown } | null;
  if (summary?.via === "scim" && typeof summary.scim_token === "string") return `SCIM (${summary.scim_token})`;
  return names[entry.actor_id] ?? entry.actor_id;
}

/**
 * What it was done to: "user Robin Ito", "workspace Research", and for a subject's policy
 * (`user:<id>`, `group:<id>:<model>`) "budget of user Robin Ito", "grant of group Interns (gpt-4o)".
 */
export function targetText(entry: AuditEntry, names: Names): string {
  const policy = /^(user|group):([^:]+)(?::(.+))?$/.exec(entry.target_id);
  if (!policy) return `${entry.target_kind} ${names[entry.target_id] ?? entry.target_id}`;
  const [, kind, id, model] = policy;
  return `${entry.target_kind} of ${kind} ${names[id!] ?? id}${model ? ` (${model})` : ""}`;
}
