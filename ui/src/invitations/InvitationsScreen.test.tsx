import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AUDITOR_PERMISSIONS, createMockBackend, readyStatus, type MockBackend } from "../backend/mock";
import type { BulkPreviewItem } from "../bindings/BulkPreviewItem";
import type { Change } from "../bindings/Change";
import type { InvitationRow } from "../bindings/InvitationRow";
import type { InvitationStatus } from "../bindings/InvitationStatus";
import { renderApp } from "../test/render";
import { formatTimeLeft } from "./InvitationsScreen";

const DAY = 86_400;

function invitation(id: string, email: string, status: InvitationStatus, secondsLeft: number | null, hasLink = true): InvitationRow {
  const at = "2026-11-01T00:00:00Z";
  return {
    invitation: {
      id,
      email,
      first_name: email.split("@")[0]!,
      last_name: "Tester",
      role: "member",
      workspace_ids: [],
      identity_provider: "any",
      tenant_id: null,
      notification_email: null,
      status,
      invited_by: "usr_00000",
      created_at: at,
      sent_at: at,
      expires_at: "2026-11-08T00:00:00Z",
      accepted_at: null,
      link: null,
      revision: 1,
      profile_id: null,
    },
    has_link: hasLink,
    seconds_left: secondsLeft,
  };
}

/** Five invitations, one answer a status tab asks for each (the cache filters by status). */
function seeded(backend: MockBackend = createMockBackend()): MockBackend {
  const all = [
    invitation("inv_1", "pat@acme.example", "pending", 6 * DAY + 3600),
    invitation("inv_2", "lee@acme.example", "pending", 5 * 3600, false),
    invitation("inv_3", "kim@acme.example", "accepted", null),
    invitation("inv_4", "ola@acme.example", "expired", null),
    invitation("inv_5", "rev@acme.example", "revoked", null),
  ];
  backend.reads.invitations = all;
  backend.reads.invitationAnswers = [
    { when: { status: "pending" }, rows: all.slice(0, 2) },
    { when: { status: "accepted" }, rows: [all[2]!] },
    { when: { status: "expired" }, rows: [all[3]!] },
    { when: { status: "revoked" }, rows: [all[4]!] },
  ];
  return backend;
}

async function renderInvitations(backend: MockBackend = seeded()) {
  window.location.hash = "#invitations";
  renderApp(backend);
  await screen.findByRole("heading", { name: "Invitations" });
  await waitFor(() => expect(screen.queryAllByTestId("invitation-row").length).toBeGreaterThan(0));
  return backend;
}

const emails = () => screen.queryAllByTestId("invitation-row").map((r) => within(r).getAllByRole("cell")[0]!.textContent);
const row = (email: string) => screen.getByRole("row", { name: email });
const change = (backend: MockBackend, n = 0): Change | undefined => backend.changes[n];

describe("invitations: list", () => {
  it("shows pending invitations with their time left, and filters by the status tabs", async () => {
    await renderInvitations();
    expect(emails()).toEqual(["pat@acme.example", "lee@acme.example"]);
    expect(within(row("pat@acme.example")).getByText("6 days left")).toBeTruthy();
    expect(within(row("lee@acme.example")).getByText("5 hours left")).toBeTruthy();
    // Roles are written as everywhere else.
    expect(within(row("pat@acme.example")).getAllByRole("cell")[2]!.textContent).toMatch(/^(Member|Auditor|Operator|Admin)$/);
    // Counts come with the tabs.
    await waitFor(() => expect(screen.getByRole("tab", { name: /Pending/ }).textContent).toBe("Pending2"));
    expect(screen.getByRole("tab", { name: /All/ }).textContent).toBe("All5");

    fireEvent.click(screen.getByRole("tab", { name: /Accepted/ }));
    await waitFor(() => expect(emails()).toEqual(["kim@acme.example"]));
    expect(screen.getByRole("tab", { name: /Accepted/ }).getAttribute("aria-selected")).toBe("true");

    // The arrow keys move along the tabs.
    fireEvent.keyDown(screen.getByRole("tablist"), { key: "ArrowRight" });
    await waitFor(() => expect(emails()).toEqual(["ola@acme.example"]));
    fireEvent.keyDown(screen.getByRole("tablist"), { key: "End" });
    await waitFor(() => expect(emails()).toHaveLength(5));
  });

  it("formats the time left in the largest whole unit", () => {
    expect(formatTimeLeft(6 * DAY + 100)).toBe("6 days left");
    expect(formatTimeLeft(DAY)).toBe("1 day left");
    expect(formatTimeLeft(2 * 3600 + 59)).toBe("2 hours left");
    expect(formatTimeLeft(30)).toBe("1 minute left");
  });
});

describe("invitations: actions", () => {
  it("copies a link through the backend, offline too, and only where the cache has one", async () => {
    const backend = await renderInvitations(seeded(createMockBackend({ status: readyStatus({ offline: true }) })));
    expect((within(row("lee@acme.example")).getByRole("button", { name: "Copy link" }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(within(row("pat@acme.example")).getByRole("button", { name: "Copy link" }));
    await within(row("pat@acme.example")).findByRole("button", { name: "Link copied" });
    expect(backend.reads.copiedLinks).toEqual(["inv_1"]);
    // Offline, nothing that changes is offered, and the admin is told why.
    expect(screen.queryByRole("button", { name: "Resend" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Invite" })).toBeNull();
    expect(screen.getByTestId("write-hint").textContent).toContain("unreachable");
  });

  it("resends an invitation", async () => {
    const backend = await renderInvitations();
    fireEvent.click(within(row("lee@acme.example")).getByRole("button", { name: "Resend" }));
    await waitFor(() => expect(change(backend)).toEqual({ op: "resend_invitation", id: "inv_2" }));
    expect((await screen.findByRole("status")).textContent).toContain("link is on your clipboard");
    // The notice goes once the next change starts (this one never ends).
    backend.applyChange = () => new Promise(() => {});
    fireEvent.click(within(row("pat@acme.example")).getByRole("button", { name: "Resend" }));
    await waitFor(() => expect(screen.queryByRole("status")).toBeNull());
  });

  it("revokes only after the admin confirms, and Escape backs out", async () => {
    const backend = await renderInvitations();
    fireEvent.click(within(row("pat@acme.example")).getByRole("button", { name: "Revoke" }));
    const dialog = screen.getByRole("alertdialog", { name: "Revoke the invitation for pat@acme.example?" });
    fireEvent.keyDown(dialog, { key: "Escape" });
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(backend.changes).toEqual([]);

    fireEvent.click(within(row("pat@acme.example")).getByRole("button", { name: "Revoke" }));
    fireEvent.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Revoke" }));
    await waitFor(() => expect(backend.changes).toEqual([{ op: "revoke_invitation", id: "inv_1" }]));
  });

  it("offers an auditor no invite, resend, revoke or copy", async () => {
    const status = readyStatus();
    status.me!.permissions = AUDITOR_PERMISSIONS;
    await renderInvitations(seeded(createMockBackend({ status })));
    expect(screen.getAllByTestId("invitation-row")).toHaveLength(2);
    for (const name of ["Invite", "Bulk invite", "Resend", "Revoke", "Copy link"]) {
      expect(screen.queryByRole("button", { name })).toBeNull();
    }
    // An auditor could never write, so there is nothing to explain.
    expect(screen.queryByTestId("write-hint")).toBeNull();
  });
});

function fill(scope: HTMLElement, label: string, value: string) {
  fireEvent.change(within(scope).getByLabelText(label), { target: { value } });
}

describe("invitations: single invite", () => {
  it("sends the InvitationCreate the form describes and says where the link is", async () => {
    const backend = await renderInvitations();
    fireEvent.click(screen.getByRole("button", { name: "Invite" }));
    const form = await screen.findByRole("form", { name: "Invite a user" });
    fill(form, "E-mail", " new@acme.example ");
    fill(form, "First name", "Nia");
    fill(form, "Last name", "Okafor");
    fill(form, "Role", "operator");
    fireEvent.click(await within(form).findByLabelText("Support"));
    fill(form, "Identity provider", "microsoft");
    fill(form, "Tenant ID", "tenant-42");
    fill(form, "Notification e-mail (optional)", "boss@acme.example");
    fireEvent.submit(form);
    await waitFor(() =>
      expect(change(backend)).toEqual({
        op: "invite",
        invitation: {
          email: "new@acme.example",
          first_name: "Nia",
          last_name: "Okafor",
          role: "operator",
          workspace_ids: ["ws_support"],
          identity_provider: "microsoft",
          tenant_id: "tenant-42",
          notification_email: "boss@acme.example",
        },
      }),
    );
    expect((await screen.findByRole("status")).textContent).toBe("Invitation sent; the link is on your clipboard.");
    expect(screen.queryByRole("form", { name: "Invite a user" })).toBeNull();
    // And once the next action begins.
    fireEvent.click(screen.getByRole("button", { name: "Invite" }));
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("leaves out what was not filled in, and shows the tenant only for Microsoft", async () => {
    const backend = await renderInvitations();
    fireEvent.click(screen.getByRole("button", { name: "Invite" }));
    const form = await screen.findByRole("form", { name: "Invite a user" });
    expect(within(form).queryByLabelText("Tenant ID")).toBeNull();
    fill(form, "E-mail", "solo@acme.example");
    fireEvent.submit(form);
    await waitFor(() => expect(change(backend)).toEqual({ op: "invite", invitation: { email: "solo@acme.example", role: "member", workspace_ids: [] } }));
  });

  it("closes the form on Escape, as every dialog, with nothing sent", async () => {
    const backend = await renderInvitations();
    fireEvent.click(screen.getByRole("button", { name: "Invite" }));
    const form = await screen.findByRole("form", { name: "Invite a user" });
    fill(form, "E-mail", "escape@acme.example");
    fireEvent.keyDown(within(form).getByLabelText("E-mail"), { key: "Escape" });
    await waitFor(() => expect(screen.queryByRole("form", { name: "Invite a user" })).toBeNull());
    expect(backend.changes).toEqual([]);
  });

  it("shows the gateway's seat_limit_reached message and keeps the form", async () => {
    const backend = await renderInvitations();
    backend.applyChange = async () => {
      throw { code: "seat_limit_reached", message: "The organisation has no free seats: 100 of 100 seats used." };
    };
    fireEvent.click(screen.getByRole("button", { name: "Invite" }));
    const form = await screen.findByRole("form", { name: "Invite a user" });
    fill(form, "E-mail", "late@acme.example");
    fireEvent.submit(form);
    expect((await within(form).findByRole("alert")).textContent).toContain("100 of 100 seats used");
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("puts a validation error next to its field", async () => {
    const backend = await renderInvitations();
    backend.applyChange = async () => {
      throw { code: "validation_failed", message: "Invalid request.", fields: [{ field: "email", message: "Not an e-mail address." }] };
    };
    fireEvent.click(screen.getByRole("button", { name: "Invite" }));
    const form = await screen.findByRole("form", { name: "Invite a user" });
    fill(form, "E-mail", "nope");
    fireEvent.submit(form);
    expect((await within(form).findByTestId("field-error")).textContent).toBe("Not an e-mail address.");
    expect(within(form).queryByRole("alert")).toBeNull();
  });
});

describe("invitations: bulk invite", () => {
  const pasted = `Avery Quinn <avery.quinn@northwind.example>, new.one@acme.example
NEW.ONE@acme.example; two@acme.example pending@acme.example
not-an-address`;
  // What the cache's preview answers for `pasted` (its rules are the gateway's, tested in Rust).
  const previewed: BulkPreviewItem[] = [
    { text: "avery.quinn@northwind.example", first_name: "Avery", last_name: "Quinn", kind: "already_member" },
    { text: "new.one@acme.example", first_name: "", last_name: "", kind: "to_invite" },
    { text: "new.one@acme.example", first_name: "", last_name: "", kind: "duplicate" },
    { text: "two@acme.example", first_name: "", last_name: "", kind: "to_invite" },
    { text: "pending@acme.example", first_name: "", last_name: "", kind: "already_invited" },
    { text: "not-an-address", first_name: "", last_name: "", kind: "invalid" },
  ];

  async function openBulk(backend?: MockBackend) {
    const b = backend ?? seeded();
    b.reads.bulkPreviews[pasted] = previewed;
    await renderInvitations(b);
    fireEvent.click(screen.getByRole("button", { name: "Bulk invite" }));
    const form = await screen.findByRole("form", { name: "Bulk invite" });
    fill(form, "Addresses", pasted);
    return { backend: b, form };
  }

  it("previews each entry as the cache reads it, names included", async () => {
    const { form } = await openBulk();
    await waitFor(() => expect(within(form).getByRole("button", { name: "Send 2 invitations" })).toBeTruthy());
    const tokens = within(form)
      .getAllByTestId("bulk-token")
      .map((t) => [t.textContent, t.dataset.kind]);
    expect(tokens).toEqual([
      ["Avery Quinn avery.quinn@northwind.example Already a member", "already_member"],
      ["new.one@acme.example To invite", "to_invite"],
      ["new.one@acme.example Repeated", "duplicate"],
      ["two@acme.example To invite", "to_invite"],
      ["pending@acme.example Already invited", "already_invited"],
      ["not-an-address Not an address", "invalid"],
    ]);
    expect(within(form).getByTestId("bulk-counts").textContent).toBe(
      "To invite: 2 · Repeated: 1 · Already invited: 1 · Already a member: 1 · Not an address: 1",
    );
  });

  it("sends the text, shows each entry's outcome and copies all links at once", async () => {
    const { backend, form } = await openBulk();
    const sent: Change[] = [];
    const row = invitation("inv_new", "new.one@acme.example", "pending", 7 * DAY);
    backend.applyChange = async (c) => {
      sent.push(c);
      return {
        kind: "bulk_invite",
        value: {
          results: [
            { email: "new.one@acme.example", outcome: "invited", invitation: row.invitation, message: null },
            { email: "two@acme.example", outcome: "seat_limit_reached", invitation: null, message: "100 of 100 seats used." },
          ],
        },
      };
    };
    fill(form, "Role", "auditor");
    fireEvent.click(await within(form).findByRole("button", { name: "Send 2 invitations" }));
    await waitFor(() => expect(sent).toEqual([{ op: "bulk_invite", bulk: { text: pasted, role: "auditor", workspace_ids: [] } }]));
    const results = await screen.findAllByTestId("bulk-result");
    expect(results.map((r) => r.textContent)).toEqual(["new.one@acme.exampleInvited", "two@acme.exampleSeat limit reached — 100 of 100 seats used."]);
    expect(screen.getByRole("heading", { name: "Bulk invite: 1 invitation sent" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Copy all links" }));
    expect((await screen.findByRole("status")).textContent).toContain("The links are on your clipboard");
    expect(backend.reads.copiedLinks).toEqual(["inv_new"]);
  });
});
