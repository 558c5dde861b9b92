import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ADMIN_PERMISSIONS, AUDITOR_PERMISSIONS, createMockBackend, readyStatus, type MockBackend } from "../backend/mock";
import type { Channel } from "../bindings/Channel";
import type { Permission } from "../shell/permissions";
import { renderApp } from "../test/render";
import { SECRET_COPIED_MESSAGE } from "./NotificationsSection";

function withPermissions(permissions: Permission[]): MockBackend {
  const status = readyStatus();
  return createMockBackend({ status: { ...status, me: { ...status.me!, permissions } } });
}

async function notifications(backend: MockBackend): Promise<HTMLElement> {
  window.location.hash = "#settings";
  renderApp(backend);
  const heading = await screen.findByRole("heading", { name: "Notifications" });
  return heading.closest("section")!;
}

/** A backend whose `applyChange` plays the gateway for channels; the secret goes to `clipboard`. */
function playingGateway(backend: MockBackend, clipboard: string[]) {
  backend.applyChange = async (change) => {
    backend.changes.push(change);
    if (change.op === "create_channel") {
      clipboard.push("whsec_SECRETSECRET");
      const channel: Channel = {
        id: "chn_new",
        name: change.channel.name,
        url: change.channel.url,
        format: change.channel.format ?? "json",
        events: change.channel.events,
        enabled: change.channel.enabled ?? true,
        created_at: "2026-12-04T10:00:00Z",
        updated_at: "2026-12-04T10:00:00Z",
        revision: 1000,
      };
      backend.channels.push(channel);
      return { kind: "channel", value: channel };
    }
    if (change.op === "rotate_channel_secret") clipboard.push("whsec_ROTATEDROTATED");
    return { kind: "done" };
  };
}

describe("settings: notifications", () => {
  it("lists the channels and shows a channel's delivery log", async () => {
    const section = await notifications(createMockBackend());
    const rows = await within(section).findAllByTestId("channel");
    expect(rows.map((r) => r.getAttribute("aria-label"))).toEqual(["Ops alerts"]);
    expect(rows[0]!.textContent).toContain("Slack");
    expect(rows[0]!.textContent).toContain("2 events");
    fireEvent.click(within(rows[0]!).getByRole("button", { name: "Delivery log" }));
    const log = await within(section).findAllByTestId("delivery");
    expect(log).toHaveLength(2);
    expect(log.map((r) => within(r).getByTestId("delivery-outcome").textContent)).toEqual(["Delivered", "Retrying"]);
    expect(log[1]!.textContent).toContain("The receiver answered HTTP 500.");
    expect(log[1]!.textContent).toContain("500");
  });

  it("makes a channel with the events ticked, says the secret is on the clipboard and never shows it", async () => {
    const backend = createMockBackend();
    const clipboard: string[] = [];
    playingGateway(backend, clipboard);
    const section = await notifications(backend);
    fireEvent.click(within(section).getByRole("button", { name: "New channel" }));
    const form = within(section).getByRole("form", { name: "New channel" });
    const create = within(form).getByRole("button", { name: "Create channel" });
    expect(create).toHaveProperty("disabled", true);
    fireEvent.change(within(form).getByLabelText("Channel name"), { target: { value: " Budget bot " } });
    fireEvent.change(within(form).getByLabelText("Webhook URL"), { target: { value: "http://127.0.0.1:9999/hook" } });
    fireEvent.change(within(form).getByLabelText("Body format"), { target: { value: "slack" } });
    fireEvent.click(within(form).getByLabelText("Budget exhausted"));
    fireEvent.click(within(form).getByLabelText("Budget threshold crossed"));
    fireEvent.click(create);

    expect(await within(section).findByText(SECRET_COPIED_MESSAGE)).toBeTruthy();
    expect(backend.changes).toEqual([
      {
        op: "create_channel",
        channel: {
          name: "Budget bot",
          url: "http://127.0.0.1:9999/hook",
          format: "slack",
          events: ["budget.threshold_crossed", "budget.exhausted"],
          enabled: true,
        },
      },
    ]);
    expect(clipboard).toHaveLength(1);
    await waitFor(() => expect(within(section).getAllByTestId("channel")).toHaveLength(2));
    expect(document.body.textContent).not.toContain("SECRET");
  });

  it("edits, tests, rotates and deletes a channel (rotating and deleting after a confirmation)", async () => {
    const backend = createMockBackend();
    playingGateway(backend, []);
    const section = await notifications(backend);
    const row = await within(section).findByRole("row", { name: "Ops alerts" });
    fireEvent.click(within(row).getByRole("button", { name: "Edit" }));
    const form = within(section).getByRole("form", { name: "Edit Ops alerts" });
    expect((within(form).getByLabelText("Budget exhausted") as HTMLInputElement).checked).toBe(true);
    const save = within(form).getByRole<HTMLButtonElement>("button", { name: "Save channel" });
    expect(save.disabled).toBe(true);
    fireEvent.click(within(form).getByLabelText("Enabled"));
    expect(save.disabled).toBe(false);
    fireEvent.click(within(form).getByLabelText("Seats full"));
    fireEvent.click(within(form).getByRole("button", { name: "Save channel" }));
    await waitFor(() => expect(backend.changes).toHaveLength(1));
    expect(backend.changes[0]).toEqual({
      op: "patch_channel",
      id: "chn_ops",
      patch: {
        name: "Ops alerts",
        url: "https://hooks.slack.example/services/T000/B000",
        format: "slack",
        events: ["budget.threshold_crossed", "budget.exhausted", "seats.full"],
        enabled: false,
      },
    });

    fireEvent.click(within(row).getByRole("button", { name: "Send test event" }));
    expect(await within(section).findByText("A test event is on its way to Ops alerts.")).toBeTruthy();
    fireEvent.click(within(row).getByRole("button", { name: "Rotate secret" }));
    fireEvent.click(within(within(row).getByRole("alertdialog", { name: "Rotate Ops alerts's secret?" })).getByRole("button", { name: "Rotate the secret" }));
    expect(await within(section).findByText(SECRET_COPIED_MESSAGE)).toBeTruthy();
    fireEvent.click(within(row).getByRole("button", { name: "Delete" }));
    fireEvent.click(within(within(row).getByRole("alertdialog", { name: "Delete Ops alerts?" })).getByRole("button", { name: "Delete channel" }));
    await waitFor(() =>
      expect(backend.changes.slice(1)).toEqual([
        { op: "test_channel", id: "chn_ops" },
        { op: "rotate_channel_secret", id: "chn_ops" },
        { op: "delete_channel", id: "chn_ops" },
      ]),
    );
  });

  it("puts the gateway's refusal of a URL next to the URL", async () => {
    const backend = createMockBackend();
    backend.applyChange = async (change) => {
      backend.changes.push(change);
      throw {
        code: "validation_failed",
        message: "Some fields are invalid.",
        fields: [{ field: "url", message: "must not point at a loopback address (127.0.0.1) unless the gateway allow-lists it (--allow-webhook-net)" }],
      };
    };
    const section = await notifications(backend);
    fireEvent.click(within(section).getByRole("button", { name: "New channel" }));
    const form = within(section).getByRole("form", { name: "New channel" });
    fireEvent.change(within(form).getByLabelText("Channel name"), { target: { value: "Local" } });
    fireEvent.change(within(form).getByLabelText("Webhook URL"), { target: { value: "http://127.0.0.1:9/hook" } });
    fireEvent.click(within(form).getByLabelText("User invited"));
    fireEvent.click(within(form).getByRole("button", { name: "Create channel" }));
    await waitFor(() => expect(backend.changes).toHaveLength(1));
    const error = await within(form).findByTestId("field-error");
    expect(error.textContent).toContain("--allow-webhook-net");
    expect(within(form).getByLabelText("Webhook URL").getAttribute("aria-invalid")).toBe("true");
  });

  it("lets an auditor read but not change, and hides the section from roles without the permission", async () => {
    const section = await notifications(withPermissions(AUDITOR_PERMISSIONS));
    await within(section).findAllByTestId("channel");
    expect(within(section).queryByRole("button", { name: "New channel" })).toBeNull();
    expect(within(section).queryByRole("button", { name: "Edit" })).toBeNull();
    expect(within(section).getByRole("button", { name: "Delivery log" })).toBeTruthy();
  });

  it("is not shown to a role without notifications.read", async () => {
    window.location.hash = "#settings";
    renderApp(withPermissions(ADMIN_PERMISSIONS.filter((p) => !p.startsWith("notifications."))));
    await screen.findByRole("heading", { name: "Settings" });
    expect(screen.queryByRole("heading", { name: "Notifications" })).toBeNull();
  });
});
