// Pieces the insight screens (overview, usage, audit) share: a heading that says how old the
// data is when the gateway is out of reach, and a query's error.
import type { ReactNode } from "react";
import { toIpcError } from "../backend/backend";
import { formatDateTime } from "../format";
import { useStatus } from "../shell/permissions";

export function ScreenHead({ id, title, children }: { id: string; title: string; children?: ReactNode }) {
  const status = useStatus();
  return (
    <div className="screen-head">
      <h1 id={id}>{title}</h1>
      {status.offline && (
        <span className="as-of muted" data-testid="as-of">
          {status.synced_at ? `Data as of ${formatDateTime(status.synced_at)}` : "Nothing synced yet"}
        </span>
      )}
      {children}
    </div>
  );
}

export function QueryError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="form-error" role="alert">
      {toIpcError(error).message}
    </p>
  );
}
