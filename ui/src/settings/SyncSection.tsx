import type { AppStatus } from "../bindings/AppStatus";
import { FormError } from "../shared/forms";
import { SyncNowButton } from "../shell/Shell";
import { useSettings } from "./useSettings";

export const INTERVALS: readonly { secs: number; label: string }[] = [
  { secs: 0, label: "Off" },
  { secs: 60, label: "Every minute" },
  { secs: 300, label: "Every 5 minutes" },
  { secs: 900, label: "Every 15 minutes" },
  { secs: 3600, label: "Every hour" },
];

export function SyncSection({ status }: { status: AppStatus }) {
  const { settings, change, saving, error } = useSettings();
  const current = settings?.sync_interval_secs;
  // An interval set some other way still shows as itself.
  const options =
    current === undefined || INTERVALS.some((i) => i.secs === current)
      ? INTERVALS
      : [...INTERVALS, { secs: current, label: `Every ${current} seconds` }];

  return (
    <section className="settings-section" aria-labelledby="sync-title">
      <h2 id="sync-title">Sync</h2>
      <p className="muted">
        The app reads everything from its cache on this computer and syncs it with the gateway: at start, after every
        change, on request, and on this interval.
      </p>
      <div className="form-row">
        <div className="field">
          <label htmlFor="sync-interval">Background sync</label>
          <select
            id="sync-interval"
            value={current ?? ""}
            disabled={!settings || saving}
            onChange={(e) => change({ sync_interval_secs: Number(e.target.value) })}
          >
            {current === undefined && <option value="">…</option>}
            {options.map((i) => (
              <option key={i.secs} value={i.secs}>
                {i.label}
              </option>
            ))}
          </select>
        </div>
        <div className="sync-area">
          <SyncNowButton status={status} />
        </div>
      </div>
      <FormError error={error} />
    </section>
  );
}
