// Pieces the Invitations, Workspaces and Groups screens share for changing things: running a
// change through the backend (and re-reading the cache after it), asking before a destructive
// one, and saying why changes are not offered while offline.
import { useMutation, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { Change } from "../bindings/Change";
import type { Changed } from "../bindings/Changed";
import type { IpcError } from "../bindings/IpcError";
import type { Role } from "../bindings/Role";
import { useStatus, type Permission } from "../shell/permissions";

export const ROLES: readonly { value: Role; label: string }[] = [
  { value: "member", label: "Member" },
  { value: "auditor", label: "Auditor" },
  { value: "operator", label: "Operator" },
  { value: "admin", label: "Admin" },
];

/** Runs changes; on success the reads under `keys` are read again (the backend has synced). */
export function useChange(keys: readonly QueryKey[], onSuccess?: (changed: Changed, change: Change) => void) {
  const backend = useBackend();
  const client = useQueryClient();
  return useMutation<Changed, IpcError, Change>({
    mutationFn: async (change) => {
      try {
        return await backend.applyChange(change);
      } catch (e) {
        throw toIpcError(e);
      }
    },
    onSuccess: (changed, change) => {
      for (const queryKey of keys) void client.invalidateQueries({ queryKey });
      onSuccess?.(changed, change);
    },
  });
}

/**
 * Why an admin who may `permission` is not offered it right now (offline or not ready), or
 * nothing when they may use it or may never.
 */
export function OfflineHint({ permission }: { permission: Permission }) {
  const status = useStatus();
  const granted = status.me?.permissions.includes(permission) ?? false;
  if (!granted || (status.phase === "ready" && !status.offline)) return null;
  return (
    <p className="muted write-hint" data-testid="write-hint">
      Changes are off while the gateway is unreachable; what is shown is from the cache.
    </p>
  );
}

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
  if (!open) {
    return (
      <button ref={opener} type="button" className="button danger" disabled={props.disabled} onClick={() => setOpen(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <div className="confirm" role="alertdialog" aria-label={props.title} onKeyDown={(e) => e.key === "Escape" && close()}>
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

/** Tabs as a tablist: Left/Right (and Home/End) move between them, like the platform's tabs. */
export function Tabs<T extends string>(props: {
  label: string;
  tabs: readonly { value: T; label: string; count?: number | undefined }[];
  value: T;
  onChange: (value: T) => void;
}) {
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const move = (index: number) => {
    const n = props.tabs.length;
    const next = props.tabs[(index + n) % n]!;
    props.onChange(next.value);
    refs.current[(index + n) % n]?.focus();
  };
  const current = props.tabs.findIndex((t) => t.value === props.value);
  return (
    <div
      className="tabs"
      role="tablist"
      aria-label={props.label}
      onKeyDown={(e) => {
        const to = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: props.tabs.length - 1 }[e.key];
        if (to === undefined) return;
        e.preventDefault();
        move(to);
      }}
    >
      {props.tabs.map((t, i) => (
        <button
          key={t.value}
          ref={(el) => {
            refs.current[i] = el;
          }}
          type="button"
          role="tab"
          className="tab"
          aria-selected={t.value === props.value}
          tabIndex={t.value === props.value ? 0 : -1}
          onClick={() => props.onChange(t.value)}
        >
          {t.label}
          {t.count !== undefined && <span className="tab-count">{t.count}</span>}
        </button>
      ))}
    </div>
  );
}

/** A form's submit button (its label is `children`) and Cancel. */
export function SubmitCancel(props: { children: ReactNode; disabled?: boolean; onCancel: () => void }) {
  return (
    <div className="form-actions">
      <button type="submit" className="button primary" disabled={props.disabled}>
        {props.children}
      </button>
      <button type="button" className="button" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  );
}

/** The header of a table's actions column: named for screen readers, blank on screen. */
export function ActionsHeader() {
  return (
    <th>
      <span className="visually-hidden">Actions</span>
    </th>
  );
}
