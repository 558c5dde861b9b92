// The Workspaces and Groups screens' shared frame: a list of named things, a form to create
// one (for those who may) and the detail of the one opened below the list.
import type { UseQueryResult } from "@tanstack/react-query";
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { toIpcError } from "../backend/backend";
import type { Change } from "../bindings/Change";
import { useChange } from "./changes";
import { FormError, SubmitCancel, TextField, fieldMessages } from "./forms";
import { OfflineHint } from "./notices";
import { ScreenHead } from "./ScreenHead";
import { useCan, type Permission } from "../shell/permissions";

export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
}

export function ListScreen<T extends { id: string; name: string }>(props: {
  title: string;
  permission: Permission;
  createLabel: string;
  /** What the list would hold, said when it holds nothing. */
  emptyText: string;
  rows: UseQueryResult<T[]>;
  rowTestId: string;
  columns: readonly Column<T>[];
  nameNote?: (row: T) => ReactNode;
  create: (onDone: () => void) => ReactNode;
  detail: (row: T, writable: boolean) => ReactNode;
}) {
  const can = useCan();
  const headingId = useId();
  const writable = can(props.permission);
  const [creating, setCreating] = useState(false);
  const [openId, setOpenId] = useState<string | null>(null);
  const { data, error } = props.rows;
  const open = data?.find((r) => r.id === openId) ?? null;

  // The cache answers in moments: the screen appears with its list rather than before it.
  if (props.rows.isPending) return <section className="screen admin-screen" aria-busy="true" aria-label={props.title} />;
  return (
    <section className="screen admin-screen" aria-labelledby={headingId}>
      <ScreenHead id={headingId} title={props.title}>
        {data && <span className="count">{data.length}</span>}
        {writable && (
          <div className="head-actions">
            <button type="button" className="button primary" onClick={() => setCreating(true)}>
              {props.createLabel}
            </button>
          </div>
        )}
      </ScreenHead>
      <OfflineHint permission={props.permission} />
      {writable && creating && props.create(() => setCreating(false))}
      {error && (
        <p className="table-message error" role="alert">
          {toIpcError(error).message}
        </p>
      )}
      {data?.length === 0 && (
        <div className="empty-state" data-testid="empty-state">
          <p className="empty-title">Nothing here yet</p>
          <p className="muted">{props.emptyText}</p>
        </div>
      )}
      {data && data.length > 0 && (
        <table className="simple-table">
          <thead>
            <tr>
              <th>Name</th>
              {props.columns.map((c) => (
                <th key={c.header}>{c.header}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.map((r) => (
              <tr key={r.id} data-testid={props.rowTestId} aria-selected={r.id === openId}>
                <td>
                  <button type="button" className="link-button" aria-expanded={r.id === openId} onClick={() => setOpenId(r.id === openId ? null : r.id)}>
                    {r.name}
                  </button>
                  {props.nameNote?.(r)}
                </td>
                {props.columns.map((c) => (
                  <td key={c.header}>{c.cell(r)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && props.detail(open, writable)}
    </section>
  );
}

/**
 * A form of a required name and one optional text field; empty optional text is left out of
 * the change `toChange` makes.
 */
export function CreateForm(props: {
  title: string;
  optional: { key: string; label: string; hint?: string };
  submitLabel: string;
  invalidate: string;
  toChange: (name: string, optional: string | undefined) => Change;
  onDone: () => void;
}) {
  const [name, setName] = useState("");
  const [other, setOther] = useState("");
  const create = useChange({ refresh: [[props.invalidate]], onDone: props.onDone });
  const shown = ["name", props.optional.key];
  const errors = fieldMessages(create.error, shown);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.run(props.toChange(name.trim(), other.trim() || undefined));
  };
  return (
    <form className="panel-form" aria-label={props.title} onSubmit={submit}>
      <h2>{props.title}</h2>
      <TextField label="Name" required autoFocus value={name} error={errors.name} onChange={(e) => setName(e.target.value)} />
      <TextField
        label={props.optional.label}
        value={other}
        error={errors[props.optional.key]}
        hint={props.optional.hint}
        onChange={(e) => setOther(e.target.value)}
      />
      <FormError error={create.error} shown={shown} />
      <SubmitCancel disabled={create.pending} onCancel={props.onDone}>
        {props.submitLabel}
      </SubmitCancel>
    </form>
  );
}
