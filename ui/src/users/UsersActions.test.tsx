import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AUDITOR_PERMISSIONS, createMockBackend, readyStatus } from "../backend/mock";
import { renderApp } from "../test/render";

function auditorBackend() {
  const status = readyStatus();
  return createMockBackend({ status: { ...status, me: { ...status.me!, permissions: AUDITOR_PERMISSIONS } } });
}

function withGroups() {
  const backend = createMockBackend({ users: 64 });
  backend.reads.groups = [
    { id: "grp_eng", name: "Engineering", description: "", member_count: 3, managers: [], created_at: "2026-11-01T00:00:00Z", scim_managed: false },
  ];
  return backend;
}

function rowOf(email: string): HTMLElement {
  const row = screen.getAllByTestId("user-row").find((r) => r.textContent?.includes(email));
  if (!row) throw new Error(`no row for ${email}`);
  return row;
}

describe("users table actions", () => {
  it("shows the month's spend and the groups of each user", async () => {
    const backend = createMockBackend({ users: 3 });
    backend.users[0] = { ...backend.users[0]!, spend_mtd_usd: 1234.5, groups: ["Engineering", "Ops"] };
    renderApp(backend);
    await screen.findByText("3 users");
    const cells = within(rowOf("avery.quinn@")).getAllByRole("cell").map((c) => c.textContent);
    expect(cells.slice(7)).toEqual(["Engineering, Ops", "$1,234.50"]);
  });

  it("filters by workspace and group, from the lists of both", async () => {
    const { backend } = renderApp(withGroups());
    await screen.findByText("64 users");
    const workspace = screen.getByRole("combobox", { name: "Workspace" });
    await waitFor(() => expect(within(workspace).getAllByRole("option").map((o) => o.textContent)).toEqual(["All workspaces", "Research", "Support"]));
    fireEvent.change(workspace, { target: { value: "ws_research" } });
    await waitFor(() => expect(backend.listUsersCalls.at(-1)).toMatchObject({ workspace_id: "ws_research", group_id: null }));

    const group = screen.getByRole("combobox", { name: "Group" });
    await waitFor(() => expect(within(group).getAllByRole("option")).toHaveLength(2));
    fireEvent.change(group, { target: { value: "grp_eng" } });
    await waitFor(() => expect(backend.listUsersCalls.at(-1)).toMatchObject({ workspace_id: "ws_research", group_id: "grp_eng", offset: 0 }));

    fireEvent.change(workspace, { target: { value: "" } });
    await waitFor(() => expect(backend.listUsersCalls.at(-1)).toMatchObject({ workspace_id: null, group_id: "grp_eng" }));
  });

  it("suspends every ticked user, one change each", async () => {
    const { backend } = renderApp();
    await screen.findByText("64 users");
    fireEvent.click(screen.getByRole("checkbox", { name: "Select Avery Quinn" }));
    fireEvent.click(screen.getByRole("checkbox", { name: "Select Blake Quinn" }));
    expect(within(screen.getByTestId("bulk-bar")).getByText("2 users selected")).toBeTruthy();
    // Ticking does not open the user.
    expect(window.location.hash).toBe("");

    fireEvent.click(within(screen.getByTestId("bulk-bar")).getByRole("button", { name: "Suspend…" }));
    // It asks first, and Escape backs out with nothing changed.
    const ask = screen.getByRole("alertdialog", { name: "Suspend 2 users?" });
    fireEvent.keyDown(ask, { key: "Escape" });
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(backend.changes).toEqual([]);
    fireEvent.click(within(screen.getByTestId("bulk-bar")).getByRole("button", { name: "Suspend…" }));
    fireEvent.change(screen.getByLabelText("Reason (optional, kept in the audit log)"), { target: { value: " Contractors' access ended " } });
    fireEvent.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Suspend" }));
    expect(await screen.findByText("Changed 2 users.")).toBeTruthy();
    expect(backend.changes).toEqual([
      { op: "suspend_user", id: "usr_00000", reason: "Contractors' access ended" },
      { op: "suspend_user", id: "usr_00001", reason: "Contractors' access ended" },
    ]);
    expect(screen.getByRole("checkbox", { name: "Select Avery Quinn" })).toHaveProperty("checked", false);
  });

  it("changes the role of the ticked users and names the ones the gateway refused", async () => {
    const backend = createMockBackend();
    const apply = backend.applyChange;
    backend.applyChange = async (change) => {
      if (change.op === "patch_user" && change.id === "usr_00001") throw { code: "forbidden", message: "You may not demote the last admin." };
      return apply(change);
    };
    renderApp(backend);
    await screen.findByText("64 users");
    fireEvent.click(screen.getByRole("checkbox", { name: "Select Avery Quinn" }));
    fireEvent.click(screen.getByRole("checkbox", { name: "Select Blake Quinn" }));
    const bar = screen.getByTestId("bulk-bar");
    fireEvent.change(within(bar).getByRole("combobox", { name: "New role" }), { target: { value: "auditor" } });
    fireEvent.click(within(bar).getByRole("button", { name: "Apply role" }));

    const alert = await within(bar).findByRole("alert");
    expect(alert.textContent).toContain("1 of 2 failed");
    expect(alert.textContent).toContain("Blake Quinn: You may not demote the last admin.");
    expect(backend.changes).toEqual([{ op: "patch_user", id: "usr_00000", patch: { role: "auditor" } }]);
    // The refused user stays ticked, to try again.
    expect(within(bar).getByText("2 users selected")).toBeTruthy();
  });

  it("exports the filtered users and says how many were saved, or nothing when cancelled", async () => {
    const backend = createMockBackend();
    const filters: unknown[] = [];
    backend.exportUsersCsv = async (filter) => {
      filters.push(filter);
      return filters.length === 1 ? 12 : null;
    };
    renderApp(backend);
    await screen.findByText("64 users");
    fireEvent.change(screen.getByRole("combobox", { name: "Role" }), { target: { value: "auditor" } });
    fireEvent.click(screen.getByRole("button", { name: "Export CSV" }));
    expect(await screen.findByText("Saved 12 users")).toBeTruthy();
    expect(filters[0]).toMatchObject({ role: "auditor", query: "", offset: 0 });

    fireEvent.click(screen.getByRole("button", { name: "Export CSV" }));
    await waitFor(() => expect(filters).toHaveLength(2));
    await waitFor(() => expect(screen.queryByText(/^Saved/)).toBeNull());
  });

  it("opens a user on a click or on Enter, and Invite goes to the invitations", async () => {
    renderApp();
    await screen.findByText("64 users");
    fireEvent.keyDown(rowOf("blake.quinn@"), { key: "Enter" });
    expect(await screen.findByRole("heading", { level: 1, name: "Blake Quinn" })).toBeTruthy();
    expect(window.location.hash).toBe("#users/usr_00001");

    fireEvent.click(screen.getByRole("link", { name: "← All users" }));
    await screen.findByText("64 users");
    fireEvent.click(rowOf("avery.quinn@"));
    expect(await screen.findByRole("heading", { level: 1, name: "Avery Quinn" })).toBeTruthy();

    window.location.hash = "#users";
    await screen.findByText("64 users");
    fireEvent.click(screen.getByRole("button", { name: "Invite" }));
    await waitFor(() => expect(window.location.hash).toBe("#invitations"));
  });

  it("drops the ticks when the filter changes", async () => {
    renderApp();
    await screen.findByText("64 users");
    fireEvent.click(screen.getByRole("checkbox", { name: "Select Avery Quinn" }));
    expect(screen.getByTestId("bulk-bar")).toBeTruthy();
    fireEvent.change(screen.getByRole("combobox", { name: "Role" }), { target: { value: "admin" } });
    await waitFor(() => expect(screen.queryByTestId("bulk-bar")).toBeNull());
    expect(screen.getByRole("checkbox", { name: "Select Avery Quinn" })).toHaveProperty("checked", false);
  });

  it("moves through the rows with the arrow keys and opens the focused one with Enter", async () => {
    renderApp();
    await screen.findByText("64 users");
    const table = screen.getByTestId("users-table");
    table.focus();
    fireEvent.keyDown(table, { key: "ArrowDown" });
    const rows = screen.getAllByTestId("user-row");
    expect(document.activeElement).toBe(rows[0]);
    fireEvent.keyDown(rows[0]!, { key: "ArrowDown" });
    expect(document.activeElement).toBe(rows[1]);
    fireEvent.keyDown(rows[1]!, { key: "ArrowUp" });
    expect(document.activeElement).toBe(rows[0]);
    fireEvent.keyDown(rows[0]!, { key: "Enter" });
    const name = rows[0]!.querySelector(".name")!.textContent!;
    expect(await screen.findByRole("heading", { level: 1, name })).toBeTruthy();
  });

  it("offers an auditor no change: no ticks, bulk actions or invite", async () => {
    renderApp(auditorBackend());
    await screen.findByText("64 users");
    expect(screen.getAllByTestId("user-row").length).toBeGreaterThan(10);
    expect(screen.queryAllByRole("checkbox")).toHaveLength(0);
    expect(screen.queryByRole("button", { name: "Invite" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Suspend…" })).toBeNull();
    // Reading out is still theirs.
    expect(screen.getByRole("button", { name: "Export CSV" })).toBeTruthy();
  });
});
