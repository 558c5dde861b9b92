import { useEffect, useRef, useState, type ReactNode } from "react";
import { dialogKeys } from "./dialog";

/** A button that asks before it runs: Escape or Cancel backs out, focus starts on Confirm. */
export function ConfirmButton(props: {
  label: string;
  title: string;
  children?: ReactNode;
  confirmLabel?: string;
  pending?: boolean;
  disabled?: boolean;
  onConfirm: () => void;
}) {
  const [open, setOpen] = useState(false);
  const confirm = useRef<HTMLButtonElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (open) confirm.current?.focus();
  }, [open]);
  const close = () => {
    setOpen(false);
    queueMicrotask(() => opener.current?.focus());
  };
  const keys = dialogKeys(close);
  if (!open) {
    return (
      <button ref={opener} type="button" className="button danger" disabled={props.disabled} onClick={() => setOpen(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <div className="confirm" role="alertdialog" aria-label={props.title} {...keys}>
      <p>
        <strong>{props.title}</strong> {props.children}
      </p>
      <div className="form-actions">
        <button
          ref={confirm}
          type="button"
          className="button danger primary"
          disabled={props.pending}
          onClick={() => {
            props.onConfirm();
            setOpen(false);
          }}
        >
          {props.confirmLabel ?? props.label}
        </button>
        <button type="button" className="button" onClick={close}>
          Cancel
        </button>
      </div>
    </div>
  );
}
