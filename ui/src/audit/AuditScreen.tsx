import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useBackend } from "../backend/backend";
import type { AuditEntry } from "../bindings/AuditEntry";
import type { AuditExportFormat } from "../bindings/AuditExportFormat";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { AuditRows } from "../bindings/AuditRows";
import { formatCount, formatDateTime, formatNumber } from "../format";
import { QueryError } from "../shared/notices";
import { ScreenHead } from "../shared/ScreenHead";
import { actorText, targetText } from "./names";

export const AUDIT_PAGE = 50;

/** What the admin typed, before it becomes a filter. */
interface Typed {
  action: string;
  actor: string;
  target: string;
  from: string;
  to: string;
}

const NONE: Typed = { action: "", actor: "", target: "", from: "", to: "" };

/** The local midnight starting `day` (`YYYY-MM-DD`), `plusDays` later, as an instant. */
function localMidnight(day: string, plusDays = 0): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y!, m! - 1, d! + plusDays).toISOString();
}

/** The filter for what was typed: blanks are no condition, and the "to" day is included. */
export function auditFilterOf(typed: Typed, offset: number): AuditFilter {
  const text = (s: string) => (s.trim() === "" ? null : s.trim());
  return {
    action: text(typed.action),
    actor_id: text(typed.actor),
    target_id: text(typed.target),
    from: typed.from === "" ? null : localMidnight(typed.from),
    to: typed.to === "" ? null : localMidnight(typed.to, 1),
    offset,
    limit: AUDIT_PAGE,
  };
}

export function AuditScreen() {
  const backend = useBackend();
  const [typed, setTyped] = useState<Typed>(NONE);
  const [applied, setApplied] = useState<Typed>(NONE);
  const [offset, setOffset] = useState(0);
  const filter = auditFilterOf(applied, offset);
  const audit = useQuery({ queryKey: ["audit", filter], queryFn: () => backend.listAudit(filter), placeholderData: keepPreviousData });
  // The gateway's export: the whole log matching the applied filters, not only the cached page.
  const exported = useMutation({ mutationFn: (format: AuditExportFormat) => backend.exportAudit(filter, format) });

  function apply(e: FormEvent) {
    e.preventDefault();
    setApplied(typed);
    setOffset(0);
  }
  function clear() {
    setTyped(NONE);
    setApplied(NONE);
    setOffset(0);
  }
  const input = (key: keyof Typed, label: string, type = "text", placeholder?: string) => (
    <label className="inline-field">
      {label}
      <input
        type={type}
        className="input"
        value={typed[key]}
        placeholder={placeholder}
        autoComplete="off"
        spellCheck={false}
        onChange={(e) => setTyped({ ...typed, [key]: e.target.value })}
      />
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
        {input("action", "Action", "text", "user.update")}
        {input("actor", "Actor id")}
        {input("target", "Target id")}
        {input("from", "From", "date")}
        {input("to", "To", "date")}
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
            Saved {formatCount(exported.data, "byte", "bytes")}
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
        <ol className="audit-list" data-testid="audit-list">
          {rows.map((entry) => (
            <AuditRow key={entry.id} entry={entry} names={audit.data?.names ?? {}} />
          ))}
        </ol>
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

function AuditRow({ entry, names }: { entry: AuditEntry; names: AuditRows["names"] }) {
  const [open, setOpen] = useState(false);
  const id = `audit-${entry.id}`;
  return (
    <li className="audit-entry" data-testid="audit-entry">
      <button type="button" className="audit-summary" aria-expanded={open} aria-controls={open ? id : undefined} onClick={() => setOpen(!open)}>
        <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>
        <span className="audit-actor" title={entry.actor_id ?? undefined}>
          {actorText(entry, names)}
        </span>
        <code className="audit-action">{entry.action}</code>
        <span className="audit-target" title={entry.target_id}>
          {targetText(entry, names)}
        </span>
      </button>
      {open && (
        <pre className="audit-json" id={id} data-testid="audit-json">
          {JSON.stringify(entry.summary, null, 2)}
        </pre>
      )}
    </li>
  );
}
