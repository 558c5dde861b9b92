import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import { Fragment, useState, type FormEvent } from "react";
import { useBackend } from "../backend/backend";
import type { AuditEntry } from "../bindings/AuditEntry";
import type { AuditExportFormat } from "../bindings/AuditExportFormat";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { AuditRows } from "../bindings/AuditRows";
import { formatCount, formatDateTime, formatNumber } from "../format";
import { DayInput } from "../shared/forms";
import { QueryError } from "../shared/notices";
import { ScreenHead } from "../shared/ScreenHead";
import { UserSearch } from "../shared/UserSearch";
import { changesOf } from "./changes";
import { actorText, targetText } from "./names";

export const AUDIT_PAGE = 50;

/** What the categories of actions are called; one the console does not know reads as itself. */
const CATEGORY_LABEL: Record<string, string> = {
  user: "People",
  invitation: "Invitations",
  group: "Groups",
  workspace: "Workspaces",
  key: "API keys",
  grant: "Model access",
  limits: "Rate limits",
  budget: "Budgets",
  model: "Models",
  org: "Organisation",
  profile: "Access profiles",
  channel: "Notification channels",
  identity: "Single sign-on",
  role_mapping: "Role mappings",
  scim_token: "SCIM tokens",
  session: "Sign-ins",
  token: "Access tokens",
};

export function categoryLabel(category: string): string {
  return CATEGORY_LABEL[category] ?? category;
}

interface Person {
  id: string;
  name: string;
}

/** What the admin chose, before it becomes a filter. */
interface Typed {
  action: string;
  category: string;
  actor: Person | null;
  target: Person | null;
  /** `YYYY-MM-DD`, "" for none, null while what is typed is not a date. */
  from: string | null;
  to: string | null;
}

const NONE: Typed = { action: "", category: "", actor: null, target: null, from: "", to: "" };

/** The local midnight starting `day` (`YYYY-MM-DD`), `plusDays` later, as an instant. */
function localMidnight(day: string, plusDays = 0): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y!, m! - 1, d! + plusDays).toISOString();
}

/** The filter for what was chosen: blanks are no condition, and the "to" day is included. */
export function auditFilterOf(typed: Typed, offset: number): AuditFilter {
  const text = (s: string) => (s.trim() === "" ? null : s.trim());
  return {
    action: text(typed.action),
    category: text(typed.category),
    actor_id: typed.actor?.id ?? null,
    target_id: typed.target?.id ?? null,
    from: typed.from ? localMidnight(typed.from) : null,
    to: typed.to ? localMidnight(typed.to, 1) : null,
    offset,
    limit: AUDIT_PAGE,
  };
}

/** A person the log is narrowed to, with a button to let go of them; else the search for one. */
function PersonFilter({ label, value, onChange }: { label: string; value: Person | null; onChange: (p: Person | null) => void }) {
  if (value === null) return <UserSearch label={label} verb="Only" onPick={(u) => onChange({ id: u.id, name: u.name })} />;
  return (
    <div className="field">
      <span className="field-label">{label}</span>
      <span className="chip" data-testid="person-filter">
        {value.name}
        <button type="button" className="chip-remove" aria-label={`${label}: not only ${value.name}`} onClick={() => onChange(null)}>
          ×
        </button>
      </span>
    </div>
  );
}

export function AuditScreen() {
  const backend = useBackend();
  const [typed, setTyped] = useState<Typed>(NONE);
  const [applied, setApplied] = useState<Typed>(NONE);
  const [offset, setOffset] = useState(0);
  const filter = auditFilterOf(applied, offset);
  const audit = useQuery({ queryKey: ["audit", filter], queryFn: () => backend.listAudit(filter), placeholderData: keepPreviousData });
  const categories = useQuery({ queryKey: ["audit", "categories"], queryFn: () => backend.auditCategories() });
  // The gateway's export: the whole log matching the applied filters, not only the cached page.
  const exported = useMutation({ mutationFn: (format: AuditExportFormat) => backend.exportAudit(filter, format) });

  function apply(e: FormEvent) {
    e.preventDefault();
    // A date field that does not hold a date says so itself; nothing is applied until it does.
    if (typed.from === null || typed.to === null) return;
    setApplied(typed);
    setOffset(0);
  }
  function clear() {
    setTyped(NONE);
    setApplied(NONE);
    setOffset(0);
  }
  const dayInput = (key: "from" | "to", label: string) => (
    <label className="inline-field">
      {label}
      <DayInput day={typed[key]} onDay={(day) => setTyped({ ...typed, [key]: day })} />
    </label>
  );

  const total = audit.data?.total ?? 0;
  const rows = audit.data?.rows ?? [];
  return (
    <section className="screen insights" aria-labelledby="audit-title">
      <ScreenHead id="audit-title" title="Audit log" showsDataAge>
        <span className="count" role="status" data-testid="audit-count">
          {audit.data ? `${formatNumber(total)} ${total === 1 ? "entry" : "entries"}` : ""}
        </span>
      </ScreenHead>
      <form className="toolbar audit-filters" onSubmit={apply} aria-label="Filter the audit log">
        <PersonFilter label="Who" value={typed.actor} onChange={(actor) => setTyped({ ...typed, actor })} />
        <PersonFilter label="About" value={typed.target} onChange={(target) => setTyped({ ...typed, target })} />
        <label className="inline-field">
          Category
          <select value={typed.category} onChange={(e) => setTyped({ ...typed, category: e.target.value })}>
            <option value="">Every category</option>
            {(categories.data ?? []).map((c) => (
              <option key={c} value={c}>
                {categoryLabel(c)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-field">
          Exact action
          <input
            className="input"
            value={typed.action}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => setTyped({ ...typed, action: e.target.value })}
          />
        </label>
        {dayInput("from", "From")}
        {dayInput("to", "To")}
        <button type="submit" className="button primary">
          Filter
        </button>
        <button type="button" className="button" onClick={clear}>
          Clear
        </button>
        <button type="button" className="button" disabled={exported.isPending} onClick={() => exported.mutate("jsonl")}>
          Export JSONL
        </button>
        <button type="button" className="button" disabled={exported.isPending} onClick={() => exported.mutate("csv")}>
          Export CSV
        </button>
      </form>
      <div aria-live="polite">
        {exported.data != null && !exported.isPending && (
          <p className="export-note" role="status" data-testid="audit-export-result">
            Saved {formatCount(exported.data, "byte", "bytes")}: every entry these filters show, from the gateway
          </p>
        )}
      </div>
      <QueryError error={exported.error} />
      <QueryError error={audit.error} />
      {audit.data && rows.length === 0 ? (
        <p className="muted" data-testid="audit-empty">
          No entries match.
        </p>
      ) : (
        <table className="data-table audit-table" data-testid="audit-list">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">About</th>
              <th scope="col">What changed</th>
              <th scope="col">
                <span className="visually-hidden">Details</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((entry) => (
              <AuditRow key={entry.id} entry={entry} names={audit.data?.names ?? {}} />
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" className="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - AUDIT_PAGE))}>
          Previous
        </button>
        <span className="muted" data-testid="audit-range">
          {rows.length === 0 ? "" : `${formatNumber(offset + 1)}–${formatNumber(offset + rows.length)} of ${formatNumber(total)}`}
        </span>
        <button type="button" className="button" disabled={offset + AUDIT_PAGE >= total} onClick={() => setOffset(offset + AUDIT_PAGE)}>
          Next
        </button>
      </nav>
    </section>
  );
}

/** How many changed fields a row names before "and N more". */
const INLINE_CHANGES = 2;

function AuditRow({ entry, names }: { entry: AuditEntry; names: AuditRows["names"] }) {
  const [open, setOpen] = useState(false);
  const id = `audit-${entry.id}`;
  const changes = changesOf(entry);
  // A creation's fields are all new: the row says "created", the details list them.
  const updated = changes.some((c) => c.before !== null);
  const inline = (updated ? changes : [])
    .slice(0, INLINE_CHANGES)
    .map((c) => `${c.field}: ${c.before ?? "—"} → ${c.after ?? "—"}`)
    .join("; ");
  const more = updated ? changes.length - INLINE_CHANGES : 0;
  return (
    <Fragment>
      <tr className="audit-entry" data-testid="audit-entry">
        <td>
          <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>
        </td>
        <td className="audit-actor" title={entry.actor_id ?? undefined}>
          {actorText(entry, names)}
        </td>
        <td>
          <code className="audit-action">{entry.action}</code>
        </td>
        <td className="audit-target" title={entry.target_id}>
          {targetText(entry, names)}
        </td>
        <td className="audit-changes" title={inline || undefined} data-testid="audit-changes">
          {inline}
          {more > 0 && <span className="muted"> and {more} more</span>}
        </td>
        <td>
          <button type="button" className="button small" aria-expanded={open} aria-controls={open ? id : undefined} onClick={() => setOpen(!open)}>
            {open ? "Hide" : "Details"}
          </button>
        </td>
      </tr>
      {open && (
        <tr className="audit-details" id={id}>
          <td colSpan={6}>
            {changes.length > 0 && (
              <table className="simple-table" data-testid="audit-diff">
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Before</th>
                    <th scope="col">After</th>
                  </tr>
                </thead>
                <tbody>
                  {changes.map((c) => (
                    <tr key={c.field}>
                      <th scope="row">{c.field}</th>
                      <td>{c.before ?? "—"}</td>
                      <td>{c.after ?? "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <pre className="audit-json" data-testid="audit-json">
              {JSON.stringify(entry.summary, null, 2)}
            </pre>
          </td>
        </tr>
      )}
    </Fragment>
  );
}
