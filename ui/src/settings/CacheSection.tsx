import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toIpcError, useBackend } from "../backend/backend";
import type { AppStatus } from "../bindings/AppStatus";
import { formatDateTime } from "../format";
import { ConfirmButton } from "../shared/ConfirmButton";
import { FormError } from "../shared/forms";

const size = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** "12.3 MB": a file's size, in the decimal units file managers show. */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "kB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${size.format(value)} ${units[unit]}`;
}

/** How much room the open profile's cache takes, and clearing it (which needs the gateway). */
export function CacheSection({ status }: { status: AppStatus }) {
  const backend = useBackend();
  const client = useQueryClient();
  const info = useQuery({
    queryKey: ["cache-info", status.profile?.id, status.synced_at],
    queryFn: () => backend.cacheInfo(),
    enabled: status.profile !== null,
  });
  const clear = useMutation({
    mutationFn: () => backend.clearCache(),
    // Every screen reads the cache: read them all again.
    onSuccess: () => client.invalidateQueries(),
  });
  const canClear = status.phase === "ready" && !status.offline;
  const error = info.error ?? clear.error;

  return (
    <section className="settings-section" aria-labelledby="cache-title">
      <h2 id="cache-title">Cache</h2>
      {info.data ? (
        <p data-testid="cache-size">
          The cache of <strong>{info.data.profile_name}</strong> takes {formatBytes(info.data.bytes)} on this computer
          {info.data.synced_at ? `; its data is as of ${formatDateTime(info.data.synced_at)}.` : "; nothing synced yet."}
        </p>
      ) : (
        <p className="muted">{status.profile ? "…" : "No profile is open."}</p>
      )}
      <p className="muted">
        Clearing deletes it and downloads everything again from the gateway. It needs the gateway, so that the app never
        sits with nothing to show.
      </p>
      <div>
        <ConfirmButton
          label="Clear cache…"
          confirmLabel="Clear and sync again"
          title={`Clear the cache of ${info.data?.profile_name ?? "this profile"}?`}
          disabled={!canClear || clear.isPending || !info.data}
          pending={clear.isPending}
          onConfirm={() => clear.mutate()}
        >
          Its users, usage and audit log on this computer are deleted, then synced again in full. Nothing changes on the
          gateway.
        </ConfirmButton>
        {clear.isPending && <span className="muted"> Clearing and syncing…</span>}
        {clear.isSuccess && !clear.isPending && <span role="status"> Cleared and synced again.</span>}
      </div>
      {!canClear && status.profile && (
        <p className="muted" data-testid="cache-clear-hint">
          {status.offline ? "Clearing is off while the gateway is unreachable." : "Sign in to clear the cache."}
        </p>
      )}
      <FormError error={error ? toIpcError(error) : null} />
    </section>
  );
}
