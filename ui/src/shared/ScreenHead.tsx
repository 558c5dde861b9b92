// A screen's heading, with what stands beside it (a count, the screen's actions). The insight
// screens (overview, usage, audit) also say how old their data is when the gateway is out of reach.
import type { ReactNode } from "react";
import { formatDateTime } from "../format";
import { useStatus } from "../shell/permissions";

export function ScreenHead({ id, title, showsDataAge = false, children }: { id: string; title: string; showsDataAge?: boolean; children?: ReactNode }) {
  return (
    <div className="screen-head">
      <h1 id={id}>{title}</h1>
      {showsDataAge && <DataAge />}
      {children}
    </div>
  );
}

function DataAge() {
  const status = useStatus();
  if (!status.offline) return null;
  return (
    <span className="as-of muted" data-testid="as-of">
      {status.synced_at ? `Data as of ${formatDateTime(status.synced_at)}` : "Nothing synced yet"}
    </span>
  );
}
