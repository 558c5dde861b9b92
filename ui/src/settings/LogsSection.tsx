import { useMutation, useQuery } from "@tanstack/react-query";
import { toIpcError, useBackend } from "../backend/backend";
import type { LogLevel } from "../bindings/LogLevel";
import { FormError } from "../shared/forms";
import { useSettings } from "./useSettings";

export const LOG_LEVELS: readonly { level: LogLevel; label: string }[] = [
  { level: "error", label: "Errors only" },
  { level: "warn", label: "Warnings and errors" },
  { level: "info", label: "Normal" },
  { level: "debug", label: "Detailed (debug)" },
  { level: "trace", label: "Everything (trace)" },
];

/** Where the log files are, opening their folder, and how much goes into them. */
export function LogsSection() {
  const backend = useBackend();
  const { settings, change, saving, error: settingsError } = useSettings();
  const info = useQuery({ queryKey: ["log-info"], queryFn: () => backend.logInfo() });
  const open = useMutation({ mutationFn: () => backend.openLogFolder() });
  const fromEnv = info.data?.level_from_env ?? false;
  const error = info.error ?? open.error;

  return (
    <section className="settings-section" aria-labelledby="logs-title">
      <h2 id="logs-title">Logs</h2>
      <p className="muted">
        The app writes a log file a day, to look into a problem or send with a report. Passwords, tokens, API keys and
        invitation links never go into it.
      </p>
      {info.data && (
        <p>
          Folder: <code data-testid="log-dir">{info.data.dir}</code>
        </p>
      )}
      <div className="form-row">
        <div className="field">
          <label htmlFor="log-level">Log level</label>
          <select
            id="log-level"
            value={settings?.log_level ?? ""}
            disabled={!settings || saving || fromEnv}
            aria-describedby={fromEnv ? "log-level-env" : undefined}
            onChange={(e) => change({ log_level: e.target.value as LogLevel })}
          >
            {!settings && <option value="">…</option>}
            {LOG_LEVELS.map((l) => (
              <option key={l.level} value={l.level}>
                {l.label}
              </option>
            ))}
          </select>
          {fromEnv && (
            <span className="field-hint muted" id="log-level-env">
              RUST_LOG is set, so it decides the level.
            </span>
          )}
        </div>
        <div>
          <button type="button" className="button" disabled={!info.data || open.isPending} onClick={() => open.mutate()}>
            Open log folder
          </button>
        </div>
      </div>
      <FormError error={settingsError ?? (error ? toIpcError(error) : null)} />
    </section>
  );
}
