// Settings → Notifications: the org's notification channels (outgoing webhooks), the events each
// is sent, and each one's delivery log. A channel's signing secret (made when it is created or
// rotated) goes to the clipboard, never to the screen. Channels are read from the gateway, not
// the cache.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { AppStatus } from "../bindings/AppStatus";
import type { Change } from "../bindings/Change";
import type { Channel } from "../bindings/Channel";
import type { ChannelFormat } from "../bindings/ChannelFormat";
import type { EventType } from "../bindings/EventType";
import type { IpcError } from "../bindings/IpcError";
import { formatDateTime } from "../format";
import { ActionsHeader } from "../shared/ActionsHeader";
import { useChange } from "../shared/changes";
import { ConfirmButton } from "../shared/ConfirmButton";
import { differs, Field, FormError, SubmitCancel, TextField, fieldMessages } from "../shared/forms";
import { Notice, useActionNotice, OfflineHint, QueryError } from "../shared/notices";
import { useCan } from "../shell/permissions";

export const SECRET_COPIED_MESSAGE =
  "The channel's signing secret is on your clipboard and is never shown here: give it to the receiver now.";

const CHANNELS_KEY = "channels";
const DELIVERIES_KEY = "channel-deliveries";

/** The events a channel may subscribe to, in the gateway's order, with what they say. */
export const EVENT_CHOICES: { type: EventType; label: string }[] = [
  { type: "budget.threshold_crossed", label: "Budget threshold crossed" },
  { type: "budget.exhausted", label: "Budget exhausted" },
  { type: "user.invited", label: "User invited" },
  { type: "user.joined", label: "User joined" },
  { type: "user.suspended", label: "User suspended" },
  { type: "user.deleted", label: "User deleted" },
  { type: "api_key.created", label: "API key created" },
  { type: "api_key.revoked", label: "API key revoked" },
  { type: "api_key.expiring", label: "API key expiring within 7 days" },
  { type: "seats.90_percent", label: "Seats 90 % used" },
  { type: "seats.full", label: "Seats full" },
  { type: "audit.entry", label: "Every audit entry (audit streaming)" },
];

/** What went wrong, in this section's words; a field's own message stays next to its input. */
export function plainChannelError(error: unknown): IpcError | null {
  if (!error) return null;
  const e = toIpcError(error);
  const message = (() => {
    switch (e.code) {
      case "offline":
        return "The gateway is unreachable right now; channels are read from it directly. Try again when it is back.";
      case "signed_out":
      case "unauthorized":
        return "Sign in to this profile again to manage notification channels.";
      case "forbidden":
        return "Your role may not do that with notification channels.";
      case "conflict":
        return "The organisation already holds as many channels as it may; delete one first.";
      case "not_found":
        return "That channel was deleted.";
      case "validation_failed":
      case "clipboard":
        return e.message;
      default:
        return "The gateway could not do that. Try again in a moment.";
    }
  })();
  return { ...e, message };
}

export function NotificationsSection({ status }: { status: AppStatus }) {
  const can = useCan();
  const backend = useBackend();
  const readable = status.me?.permissions.includes("notifications.read") ?? false;
  const channels = useQuery({
    queryKey: [CHANNELS_KEY, status.profile?.id],
    queryFn: () => backend.listChannels(),
    enabled: readable && Boolean(status.profile),
    retry: false,
  });
  const runner = useChange({ refresh: [[CHANNELS_KEY], [DELIVERIES_KEY]] });
  const [editing, setEditing] = useState<Channel | "new" | null>(null);
  const [showLog, setShowLog] = useState<string | null>(null);
  const [notice, setNotice] = useActionNotice();
  if (!readable || !status.profile) return null;
  const write = can("notifications.write");

  /** Runs `change`, then says `done` (when given) once it went through. */
  function run(change: Change, done?: string) {
    setNotice(null);
    runner.run(change, () => {
      if (done) setNotice(done);
    });
  }

  return (
    <section className="settings-section" aria-labelledby="notifications-title">
      <h2 id="notifications-title">Notifications</h2>
      <p className="muted">
        Channels are webhooks the gateway posts events to: budget alerts, people joining and leaving, API keys, seats, or every audit entry
        for a SIEM. Each request is signed (<code>Gatehouse-Signature</code>) with the channel's secret and retried for a day.
      </p>
      {channels.error ? (
        <QueryError error={plainChannelError(channels.error)} />
      ) : !channels.data ? (
        <p className="muted">…</p>
      ) : channels.data.length === 0 ? (
        <p className="muted" data-testid="channels-empty">
          No channels.
        </p>
      ) : (
        <table className="data-table" data-testid="channels">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
              <ActionsHeader />
            </tr>
          </thead>
          <tbody>
            {channels.data.map((c) => (
              <tr key={c.id} data-testid="channel" aria-label={c.name}>
                <td>
                  <strong>{c.name}</strong> <span className="muted">{c.format === "slack" ? "Slack" : "JSON"}</span>
                </td>
                <td>
                  <code className="truncate" title={c.url}>
                    {c.url}
                  </code>
                </td>
                <td>{c.events.length === 1 ? EVENT_CHOICES.find((e) => e.type === c.events[0])?.label ?? c.events[0] : `${c.events.length} events`}</td>
                <td>{c.enabled ? "On" : "Off"}</td>
                <td className="row-actions">
                  <button type="button" className="button" aria-pressed={showLog === c.id} onClick={() => setShowLog(showLog === c.id ? null : c.id)}>
                    Delivery log
                  </button>
                  {write && (
                    <>
                      <button type="button" className="button" disabled={runner.pending} onClick={() => {
                          setNotice(null);
                          setEditing(c);
                        }}>
                        Edit
                      </button>
                      <button
                        type="button"
                        className="button"
                        disabled={runner.pending}
                        onClick={() => run({ op: "test_channel", id: c.id }, `A test event is on its way to ${c.name}.`)}
                      >
                        Send test event
                      </button>
                      <ConfirmButton
                        label="Rotate secret"
                        confirmLabel="Rotate the secret"
                        title={`Rotate ${c.name}'s secret?`}
                        pending={runner.pending}
                        disabled={runner.pending}
                        onConfirm={() => run({ op: "rotate_channel_secret", id: c.id }, SECRET_COPIED_MESSAGE)}
                      >
                        Requests are signed with the new secret from now on; the receiver must be given it.
                      </ConfirmButton>
                      <ConfirmButton
                        label="Delete"
                        confirmLabel="Delete channel"
                        title={`Delete ${c.name}?`}
                        pending={runner.pending}
                        disabled={runner.pending}
                        onConfirm={() => {
                          if (showLog === c.id) setShowLog(null);
                          run({ op: "delete_channel", id: c.id });
                        }}
                      >
                        Its undelivered events and its delivery log go with it.
                      </ConfirmButton>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {write && editing === null && (
        <button
          type="button"
          className="button"
          onClick={() => {
            setNotice(null);
            setEditing("new");
          }}
        >
          New channel
        </button>
      )}
      {write && editing !== null && (
        <ChannelForm
          key={editing === "new" ? "new" : editing.id}
          channel={editing === "new" ? null : editing}
          onDone={(created) => {
            setEditing(null);
            setNotice(created ? SECRET_COPIED_MESSAGE : "Saved.");
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      {notice && <Notice>{notice}</Notice>}
      <FormError error={plainChannelError(runner.error)} />
      <OfflineHint permission="notifications.write" />
      {showLog && channels.data?.some((c) => c.id === showLog) && <DeliveryLog channel={channels.data.find((c) => c.id === showLog)!} />}
    </section>
  );
}

const FIELDS = ["name", "url", "events", "format"] as const;

/** What a channel form sends: events in the order they are offered. */
function bodyOf(c: { name: string; url: string; format: ChannelFormat; events: readonly EventType[]; enabled: boolean }) {
  const events = EVENT_CHOICES.map((e) => e.type).filter((t) => c.events.includes(t));
  return { name: c.name.trim(), url: c.url.trim(), format: c.format, events, enabled: c.enabled };
}

/** Making a channel (`channel` null) or editing one. */
function ChannelForm({ channel, onDone, onCancel }: { channel: Channel | null; onDone: (created: boolean) => void; onCancel: () => void }) {
  const runner = useChange({ refresh: [[CHANNELS_KEY]] });
  const [name, setName] = useState(channel?.name ?? "");
  const [url, setUrl] = useState(channel?.url ?? "");
  const [format, setFormat] = useState<ChannelFormat>(channel?.format ?? "json");
  const [events, setEvents] = useState<EventType[]>(channel?.events ?? []);
  const [enabled, setEnabled] = useState(channel?.enabled ?? true);
  const messages = fieldMessages(plainChannelError(runner.error), FIELDS);
  const title = channel ? `Edit ${channel.name}` : "New channel";

  const body = bodyOf({ name, url, format, events, enabled });
  const changed = !channel || differs(bodyOf(channel), body);

  function submit(e: FormEvent) {
    e.preventDefault();
    if (channel) runner.run({ op: "patch_channel", id: channel.id, patch: body }, () => onDone(false));
    else runner.run({ op: "create_channel", channel: body }, () => onDone(true));
  }

  function toggle(type: EventType, on: boolean) {
    setEvents(on ? [...events.filter((t) => t !== type), type] : events.filter((t) => t !== type));
  }

  return (
    <form className="settings-part" onSubmit={submit} aria-label={title}>
      <h3>{title}</h3>
      <TextField label="Channel name" value={name} error={messages.name} disabled={runner.pending} onChange={(e) => setName(e.target.value)} />
      <TextField
        label="Webhook URL"
        inputMode="url"
        value={url}
        error={messages.url}
        hint="https:// and a public address, unless the gateway allows a private one (--allow-webhook-net)."
        disabled={runner.pending}
        onChange={(e) => setUrl(e.target.value)}
      />
      <Field label="Body format" error={messages.format}>
        {(p) => (
          <select className="input" value={format} disabled={runner.pending} onChange={(e) => setFormat(e.target.value as ChannelFormat)} {...p}>
            <option value="json">JSON event</option>
            <option value="slack">Slack-compatible message</option>
          </select>
        )}
      </Field>
      <fieldset className="checkbox-group" aria-invalid={Boolean(messages.events)}>
        <legend>Events</legend>
        {EVENT_CHOICES.map((c) => (
          <label key={c.type} className="checkbox">
            <input type="checkbox" checked={events.includes(c.type)} disabled={runner.pending} onChange={(e) => toggle(c.type, e.target.checked)} />
            {c.label}
          </label>
        ))}
        {messages.events && (
          <span className="field-error" data-testid="field-error">
            {messages.events}
          </span>
        )}
      </fieldset>
      <label className="checkbox">
        <input type="checkbox" checked={enabled} disabled={runner.pending} onChange={(e) => setEnabled(e.target.checked)} />
        Enabled
      </label>
      <FormError error={plainChannelError(runner.error)} shown={FIELDS} />
      <SubmitCancel disabled={runner.pending || !changed || name.trim() === "" || url.trim() === "" || events.length === 0} onCancel={onCancel}>
        {channel ? "Save channel" : "Create channel"}
      </SubmitCancel>
    </form>
  );
}

function DeliveryLog({ channel }: { channel: Channel }) {
  const backend = useBackend();
  const log = useQuery({
    queryKey: [DELIVERIES_KEY, channel.id],
    queryFn: () => backend.listChannelDeliveries(channel.id),
    retry: false,
  });
  return (
    <div className="settings-part" role="group" aria-labelledby="delivery-log-title">
      <h3 id="delivery-log-title">Delivery log: {channel.name}</h3>
      <button type="button" className="button" onClick={() => void log.refetch()}>
        Refresh
      </button>
      <QueryError error={plainChannelError(log.error)} />
      {log.data && log.data.length === 0 && (
        <p className="muted" data-testid="deliveries-empty">
          Nothing sent yet.
        </p>
      )}
      {log.data && log.data.length > 0 && (
        <table className="data-table" data-testid="deliveries">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Attempt</th>
              <th scope="col">Status</th>
              <th scope="col">HTTP</th>
              <th scope="col">Took</th>
              <th scope="col">What happened</th>
            </tr>
          </thead>
          <tbody>
            {log.data.map((a) => (
              <tr key={a.id} data-testid="delivery">
                <td>{formatDateTime(a.at)}</td>
                <td>
                  <code>{a.event_type}</code>
                </td>
                <td>{a.attempt}</td>
                <td data-testid="delivery-outcome">{a.outcome === "delivered" ? "Delivered" : a.outcome === "retrying" ? "Retrying" : "Failed"}</td>
                <td>{a.status_code ?? "—"}</td>
                <td>{a.duration_ms} ms</td>
                <td>
                  {a.error ?? ""}
                  {a.next_attempt_at && <span className="muted"> Next attempt {formatDateTime(a.next_attempt_at)}.</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
