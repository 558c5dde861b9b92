import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import { useBackendEvent } from "../backend/useBackendEvent";
import type { UpdateInfo } from "../bindings/UpdateInfo";
import type { UpdateProgress } from "../bindings/UpdateProgress";
import { FormError } from "../shared/forms";
import { useAvailableUpdate } from "./useAvailableUpdate";
import { useSettings } from "./useSettings";

/**
 * Checking for a new version (here, and at start when the setting says so), downloading it
 * with its progress, then installing it and restarting. The download and its signature check
 * happen in the app's Rust side; a download that fails the check is refused with a message.
 */
export function UpdatesSection() {
  const backend = useBackend();
  const client = useQueryClient();
  const { settings, change, saving, error: settingsError } = useSettings();
  // What the check at start found, or the last check from here.
  const found = useAvailableUpdate();
  const check = useMutation({
    mutationFn: () => backend.checkUpdate(),
    onSuccess: (update) => client.setQueryData(["update"], update),
  });
  const [progress, setProgress] = useState<UpdateProgress | null>(null);
  useBackendEvent(backend.onUpdateProgress, setProgress);
  const download = useMutation({
    mutationFn: () => {
      setProgress(null);
      return backend.downloadUpdate();
    },
  });
  const install = useMutation({
    mutationFn: async () => {
      await backend.installUpdate();
      await backend.restartApp();
    },
  });
  const update = found.data ?? null;
  const error = check.error ?? download.error ?? install.error ?? found.error;
  const busy = check.isPending || download.isPending || install.isPending;

  return (
    <section className="settings-section" aria-labelledby="updates-title">
      <h2 id="updates-title">Updates</h2>
      <p className="muted">New versions are signed; the app installs only what carries a valid signature.</p>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={settings?.check_updates_at_start ?? false}
          disabled={!settings || saving}
          onChange={(e) => change({ check_updates_at_start: e.target.checked })}
        />
        Check for updates when the app starts
      </label>
      <FormError error={settingsError} />
      <div className="update-check">
        <button type="button" className="button" disabled={busy} onClick={() => check.mutate()}>
          {check.isPending ? "Checking…" : "Check for updates"}
        </button>
        <span role="status" data-testid="update-status">
          {updateText(update, check.isSuccess, download.isSuccess, install.isPending)}
        </span>
      </div>
      {update?.notes && <p className="muted update-notes">{update.notes}</p>}
      {update && !download.isSuccess && (
        <div>
          <button type="button" className="button primary" disabled={busy} onClick={() => download.mutate()}>
            {download.isPending ? "Downloading…" : `Download version ${update.version}`}
          </button>
        </div>
      )}
      {download.isPending && <DownloadProgress progress={progress} />}
      {update && download.isSuccess && (
        <div>
          <button type="button" className="button primary" disabled={busy} onClick={() => install.mutate()}>
            Install and restart
          </button>
        </div>
      )}
      <FormError error={error ? toIpcError(error) : null} />
    </section>
  );
}

function updateText(update: UpdateInfo | null, checked: boolean, downloaded: boolean, installing: boolean): string {
  if (installing) return "Installing…";
  if (update && downloaded) return `Version ${update.version} is downloaded and its signature verified.`;
  if (update) return `Version ${update.version} is available (this is ${update.current_version}).`;
  if (checked) return "This is the newest version.";
  return "";
}

const MB = 1024 * 1024;

function DownloadProgress({ progress }: { progress: UpdateProgress | null }) {
  const received = progress?.phase === "downloading" ? progress.received : 0;
  const total = progress?.phase === "downloading" ? progress.total : null;
  const percent = total ? Math.min(100, Math.round((received / total) * 100)) : undefined;
  return (
    <div className="update-progress">
      <progress aria-label="Download" max={100} value={percent} data-testid="update-progress" />
      <span className="muted">
        {progress?.phase === "verified"
          ? "Checking the signature…"
          : total
            ? `${(received / MB).toFixed(1)} of ${(total / MB).toFixed(1)} MB`
            : `${(received / MB).toFixed(1)} MB`}
      </span>
    </div>
  );
}
