// What an audit entry changed, from its summary's `before` and `after` (the gateway writes both
// where they apply): the fields whose values differ, each before → after.
import type { AuditEntry } from "../bindings/AuditEntry";

export interface FieldChange {
  field: string;
  /** As text; `null` when the field was not there. */
  before: string | null;
  after: string | null;
}

type Json = AuditEntry["summary"];

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function text(v: Json | undefined): string | null {
  if (v === undefined) return null;
  if (v === null) return "none";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** The changed fields of `entry`, in the order `after` (then `before`) lists them; none when its summary has neither. */
export function changesOf(entry: AuditEntry): FieldChange[] {
  const summary = entry.summary;
  if (!isObject(summary)) return [];
  const before = isObject(summary.before) ? summary.before : {};
  const after = isObject(summary.after) ? summary.after : {};
  const fields = [...new Set([...Object.keys(after), ...Object.keys(before)])];
  return fields
    .map((field) => ({ field, before: text(before[field]), after: text(after[field]) }))
    .filter((c) => c.before !== c.after);
}
