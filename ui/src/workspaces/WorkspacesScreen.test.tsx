import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AUDITOR_PERMISSIONS, createMockBackend, readyStatus, type MockBackend } from "../backend/mock";
import { renderApp } from "../test/render";

/** Research's members, in the cache's order, and the one user the search for `outsider` finds. */
function withResearch(backend: MockBackend): MockBackend {
  const members = backend.users.filter((u) => u.workspaces.includes("Research"));
  const outsider = backend.users.find((u) => !u.workspaces.includes("Research"))!;
  backend.userAnswers = [
    { when: { workspace_id: "ws_research" }, rows: members },
    { when: { query: outsider.email }, rows: [outsider] },
  ];
  return backend;
}

async function renderWorkspaces(backend: MockBackend = createMockBackend()) {
  withResearch(backend);
  window.location.hash = "#workspaces";
  renderApp(backend);
  await screen.findByRole("heading", { name: "Workspaces" });
  await waitFor(() => expect(screen.getAllByTestId("workspace-row")).toHaveLength(2));
  return backend;
}

async function openResearch(backend: MockBackend) {
  fireEvent.click(screen.getByRole("button", { name: "Research" }));
  const panel = await screen.findByRole("region", { name: "Research members" });
  const expected = backend.users.filter((u) => u.workspaces.includes("Research"));
  await waitFor(() => expect(within(panel).getAllByTestId("member-row")).toHaveLength(expected.length));
  return { panel, expected };
}

describe("workspaces", () => {
  it("lists workspaces with slug and member count, and a workspace's members by its id", async () => {
    const backend = await renderWorkspaces();
    const cells = within(screen.getAllByTestId("workspace-row")[0]!).getAllByRole("cell").map((c) => c.textContent);
    expect(cells).toEqual(["Research", "research", "20"]);
    const { panel, expected } = await openResearch(backend);
    expect(backend.listUsersCalls.some((f) => f.workspace_id === "ws_research")).toBe(true);
    expect(expected.length).toBeGreaterThan(0);
    expect(within(panel).getAllByTestId("member-row").map((r) => r.getAttribute("aria-label"))).toEqual(expected.map((u) => u.name));
  });

  it("creates a workspace, leaving out an empty slug", async () => {
    const backend = await renderWorkspaces();
    fireEvent.click(screen.getByRole("button", { name: "New workspace" }));
    const form = await screen.findByRole("form", { name: "New workspace" });
    fireEvent.change(within(form).getByLabelText("Name"), { target: { value: " Legal " } });
    fireEvent.submit(form);
    await waitFor(() => expect(backend.changes).toEqual([{ op: "create_workspace", workspace: { name: "Legal" } }]));
    await waitFor(() => expect(screen.queryByRole("form", { name: "New workspace" })).toBeNull());
  });

  it("changes a member's role, removes a member after confirming, and adds one found by name", async () => {
    const backend = await renderWorkspaces();
    const { panel, expected } = await openResearch(backend);
    const first = expected[0]!;
    const row = within(panel).getByRole("row", { name: first.name });
    fireEvent.change(within(row).getByLabelText(`Workspace role of ${first.name}`), { target: { value: "operator" } });
    await waitFor(() => expect(backend.changes).toEqual([{ op: "set_workspace_member", workspace_id: "ws_research", user_id: first.id, role: "operator" }]));

    fireEvent.click(within(row).getByRole("button", { name: "Remove" }));
    fireEvent.click(within(screen.getByRole("alertdialog", { name: `Remove ${first.name} from Research?` })).getByRole("button", { name: "Remove" }));
    await waitFor(() => expect(backend.changes[1]).toEqual({ op: "remove_workspace_member", workspace_id: "ws_research", user_id: first.id }));

    const outsider = backend.users.find((u) => !u.workspaces.includes("Research"))!;
    fireEvent.change(within(panel).getByLabelText("With the role"), { target: { value: "auditor" } });
    fireEvent.change(within(panel).getByLabelText("Add a member"), { target: { value: outsider.email } });
    fireEvent.click(await within(panel).findByRole("button", { name: `Add ${outsider.name} (${outsider.email})` }));
    await waitFor(() => expect(backend.changes[2]).toEqual({ op: "set_workspace_member", workspace_id: "ws_research", user_id: outsider.id, role: "auditor" }));
  });

  it("shows the gateway's error when a change fails", async () => {
    const backend = await renderWorkspaces();
    backend.applyChange = async () => {
      throw { code: "conflict", message: "A workspace with the slug legal exists." };
    };
    fireEvent.click(screen.getByRole("button", { name: "New workspace" }));
    const form = await screen.findByRole("form", { name: "New workspace" });
    fireEvent.change(within(form).getByLabelText("Name"), { target: { value: "Legal" } });
    fireEvent.submit(form);
    expect((await within(form).findByRole("alert")).textContent).toBe("A workspace with the slug legal exists.");
  });

  it("offers an auditor no create, role change or removal", async () => {
    const status = readyStatus();
    status.me!.permissions = AUDITOR_PERMISSIONS;
    const backend = await renderWorkspaces(createMockBackend({ status }));
    const { panel } = await openResearch(backend);
    expect(screen.queryByRole("button", { name: "New workspace" })).toBeNull();
    expect(within(panel).queryByRole("button", { name: "Remove" })).toBeNull();
    expect(within(panel).queryByRole("combobox")).toBeNull();
    expect(within(panel).queryByLabelText("Add a member")).toBeNull();
  });
});
