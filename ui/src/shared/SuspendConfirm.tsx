import { useState } from "react";
import { dialogKeys } from "./dialog";

/**
 * Asks before suspending: who (one person or a count), what it does, and an optional reason,
 * which the audit entry keeps. Escape or Cancel backs out.
 */
export function SuspendConfirm({ who, pending, onConfirm, onCancel }: { who: string; pending: boolean; onConfirm: (reason: string | undefined) => void; onCancel: () => void }) {
  const [reason, setReason] = useState("");
  const keys = dialogKeys(onCancel);
  return (
    <div className="confirm" role="alertdialog" aria-labelledby="suspend-title" aria-describedby="suspend-text" {...keys}>
      <strong id="suspend-title">Suspend {who}?</strong>
      <p id="suspend-text">Their sign-ins, access tokens and API keys stop working at once, until they are reactivated.</p>
      <div className="field">
        <label htmlFor="suspend-reason">Reason (optional, kept in the audit log)</label>
        <textarea id="suspend-reason" rows={2} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} autoFocus />
      </div>
      <div className="form-actions">
        <button type="button" className="button danger primary" disabled={pending} onClick={() => onConfirm(reason.trim() === "" ? undefined : reason.trim())}>
          Suspend
        </button>
        <button type="button" className="button" disabled={pending} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
