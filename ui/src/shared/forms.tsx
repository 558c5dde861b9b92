// Form pieces shared by the screens: a labelled field with its error next to it, the error of a
// whole form, and the submit and Cancel buttons. A `validation_failed` error's `fields` go next
// to their inputs; any other error (or a field no input shows) is said once, above the buttons.
import { useEffect, useId, useRef, useState, type ComponentProps, type ReactNode } from "react";
import { DATE_HINT, formatInputDay, readInputDay } from "../format";
import { dialogKeys } from "./dialog";
import type { IpcError } from "../bindings/IpcError";

export interface FieldProps {
  id: string;
  "aria-invalid": boolean;
  "aria-describedby": string | undefined;
}

export function Field(props: {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  children: (input: FieldProps) => ReactNode;
}) {
  const id = useId();
  const describedBy = [props.error && `${id}-error`, props.hint && `${id}-hint`].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children({ id, "aria-invalid": Boolean(props.error), "aria-describedby": describedBy || undefined })}
      {props.hint && (
        <span className="field-hint muted" id={`${id}-hint`}>
          {props.hint}
        </span>
      )}
      {props.error && (
        <span className="field-error" id={`${id}-error`} data-testid="field-error">
          {props.error}
        </span>
      )}
    </div>
  );
}

/** A `Field` holding one text input; every other prop (ref too) goes to the input. */
export function TextField({ label, error, hint, ...input }: ComponentProps<"input"> & { label: string; error?: string | undefined; hint?: ReactNode }) {
  return (
    <Field label={label} error={error} hint={hint}>
      {(p) => <input className="input" autoComplete="off" spellCheck={false} {...input} {...p} />}
    </Field>
  );
}

/** The messages of `error`'s fields by field name, for those among `shown`. */
export function fieldMessages(error: IpcError | null, shown: readonly string[]): Record<string, string> {
  const messages: Record<string, string> = {};
  for (const f of error?.fields ?? []) if (shown.includes(f.field)) messages[f.field] ??= f.message;
  return messages;
}

/** `error`'s message, unless every part of it is already shown next to a field. */
export function FormError({ error, shown = [] }: { error: IpcError | null; shown?: readonly string[] }) {
  if (!error) return null;
  const fields = error.fields ?? [];
  if (fields.length > 0 && fields.every((f) => shown.includes(f.field))) return null;
  return (
    <p className="form-error" role="alert">
      {error.message}
    </p>
  );
}

/**
 * The one rule for Save on an edit: offered once what the form would send differs from what is
 * saved. Both sides are built the same way (a form's values as it sends them).
 */
export function differs<T>(saved: T, now: T): boolean {
  return JSON.stringify(saved) !== JSON.stringify(now);
}

/** A form's Submit and Cancel; Escape anywhere in the form cancels it too, like every dialog. */
export function SubmitCancel(props: { children: ReactNode; disabled?: boolean; onCancel: () => void }) {
  const actions = useRef<HTMLDivElement>(null);
  const cancel = useRef(props.onCancel);
  cancel.current = props.onCancel;
  useEffect(() => {
    const form = actions.current?.closest("form");
    if (!form) return;
    const keys = dialogKeys(() => cancel.current());
    form.addEventListener("keydown", keys.onKeyDown);
    return () => form.removeEventListener("keydown", keys.onKeyDown);
  }, []);
  return (
    <div className="form-actions" ref={actions}>
      <button type="submit" className="button primary" disabled={props.disabled}>
        {props.children}
      </button>
      <button type="button" className="button" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  );
}

/**
 * A day typed as the OS locale writes dates in numbers ("12/31/2026"; a pasted 2026-12-31 too).
 * Not `type=date`: WebKitGTK's takes no keyboard at all. `day` and what `onDay` hears are
 * `YYYY-MM-DD`, "" when emptied, and null while the text is not a date (marked invalid); a `day`
 * of null (what it reported) leaves the text as typed.
 */
export function DayInput({ day, onDay, ...input }: Omit<ComponentProps<"input">, "value" | "onChange"> & { day: string | null; onDay(day: string | null): void }) {
  const [text, setText] = useState(() => formatInputDay(day ?? ""));
  const [shown, setShown] = useState(day);
  // A day set from outside (a preset range, a reset) replaces what was typed.
  if (day !== shown) {
    setShown(day);
    if (day !== null && readInputDay(text) !== day) setText(formatInputDay(day));
  }
  const invalid = readInputDay(text) === null;
  return (
    <input
      className="input"
      inputMode="numeric"
      autoComplete="off"
      spellCheck={false}
      title={DATE_HINT}
      {...input}
      aria-invalid={invalid || input["aria-invalid"] === true}
      type="text"
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onDay(readInputDay(e.target.value));
      }}
    />
  );
}
