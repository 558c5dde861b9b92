// The bar above the table when users are ticked: suspend them, or give them one role. Each user
// is one change; the ones the gateway refuses are named with its reason.
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { Change } from "../bindings/Change";
import type { Role } from "../bindings/Role";
import { formatCount } from "../format";
import { useCan } from "../shell/permissions";
import { ROLES, RoleOptions } from "../shared/roles";
import { SuspendConfirm } from "../shared/SuspendConfirm";


interface Props {
  /** The ticked users: id → name. */
  selected: ReadonlyMap<string, string>;
  onClear(): void;
}

export function BulkBar({ selected, onClear }: Props) {
  const backend = useBackend();
  const client = useQueryClient();
  const can = useCan();
  const [role, setRole] = useState<Role | "">("");
  const [pending, setPending] = useState(false);
  const [suspending, setSuspending] = useState(false);
  const [report, setReport] = useState<{ done: number; failures: string[] } | null>(null);

  async function runAll(change: (id: string) => Change) {
    setPending(true);
    setReport(null);
    const failures: string[] = [];
    let done = 0;
    for (const [id, name] of selected) {
      try {
        await backend.applyChange(change(id));
        done++;
      } catch (e) {
        failures.push(`${name}: ${toIpcError(e).message}`);
      }
    }
    setPending(false);
    setReport({ done, failures });
    await client.invalidateQueries();
    if (failures.length === 0) onClear();
  }

  if (selected.size === 0 && !report) return null;
  return (
    <div className="bulk-bar" role="region" aria-label="Selected users" data-testid="bulk-bar">
      {selected.size > 0 && (
        <>
          <span>{formatCount(selected.size, "user", "users")} selected</span>
          {can("users.lifecycle") && (
            <button type="button" className="button danger" disabled={pending} onClick={() => setSuspending(true)}>
              Suspend…
            </button>
          )}
          {can("users.write") && (
            <>
              <select aria-label="New role" value={role} disabled={pending} onChange={(e) => setRole(ROLES.find((r) => r === e.target.value) ?? "")}>
                <option value="">Change role…</option>
                <RoleOptions />
              </select>
              <button
                type="button"
                className="button"
                disabled={pending || role === ""}
                onClick={() => role !== "" && runAll((id) => ({ op: "patch_user", id, patch: { role } }))}
              >
                Apply role
              </button>
            </>
          )}
          <button type="button" className="button" disabled={pending} onClick={onClear}>
            Clear selection
          </button>
        </>
      )}
      {report && (
        <div className={report.failures.length > 0 ? "form-error" : "muted"} role={report.failures.length > 0 ? "alert" : "status"}>
          {report.failures.length === 0
            ? `Changed ${formatCount(report.done, "user", "users")}.`
            : `${report.failures.length} of ${report.done + report.failures.length} failed:`}
          {report.failures.length > 0 && (
            <ul>
              {report.failures.map((f) => (
                <li key={f}>{f}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {suspending && (
        <SuspendConfirm
          who={formatCount(selected.size, "user", "users")}
          pending={pending}
          onCancel={() => setSuspending(false)}
          onConfirm={(reason) => {
            setSuspending(false);
            void runAll((id) => ({ op: "suspend_user", id, ...(reason !== undefined && { reason }) }));
          }}
        />
      )}
    </div>
  );
}
