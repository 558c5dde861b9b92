import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AUDITOR_PERMISSIONS, createMockBackend, readyStatus, type MockBackend } from "../backend/mock";
import { renderApp } from "../test/render";
import { parseThresholds } from "../format";

const at = "2026-11-01T00:00:00Z";
const ana = { id: "usr_00001", name: "Blake Quinn", email: "blake.quinn@northwind.example" };
const bo = { id: "usr_00002", name: "Casey Quinn", email: "casey.quinn@northwind.example" };

function seeded(backend: MockBackend = createMockBackend()): MockBackend {
  backend.reads.groups = [
    { id: "grp_ml", name: "ML team", description: "Model research", member_count: 2, managers: [ana], created_at: at, scim_managed: false },
    { id: "grp_ops", name: "Ops", description: "", member_count: 0, managers: [], created_at: at, scim_managed: false },
  ];
  backend.reads.groupMembers = { grp_ml: [{ person: ana, role: "manager" }, { person: bo, role: "member" }] };
  return backend;
}

async function renderGroups(backend: MockBackend = seeded()) {
  window.location.hash = "#groups";
  renderApp(backend);
  await screen.findByRole("heading", { name: "Groups" });
  await waitFor(() => expect(screen.getAllByTestId("group-row")).toHaveLength(2));
  return backend;
}

async function openMl() {
  fireEvent.click(screen.getByRole("button", { name: "ML team" }));
  const panel = await screen.findByRole("region", { name: "ML team members" });
  await waitFor(() => expect(within(panel).getAllByTestId("group-member-row")).toHaveLength(2));
  return panel;
}

const fill = (scope: HTMLElement, label: string, value: string) => fireEvent.change(within(scope).getByLabelText(label), { target: { value } });

describe("groups", () => {
  it("lists groups with members and managers, and a group's members with their roles", async () => {
    await renderGroups();
    const cells = within(screen.getAllByTestId("group-row")[0]!).getAllByRole("cell").map((c) => c.textContent);
    expect(cells).toEqual(["ML teamModel research", "2", "Blake Quinn"]);
    const panel = await openMl();
    expect((within(panel).getByLabelText("Role of Blake Quinn") as HTMLSelectElement).value).toBe("manager");
    expect((within(panel).getByLabelText("Role of Casey Quinn") as HTMLSelectElement).value).toBe("member");
  });

  it("creates a group", async () => {
    const backend = await renderGroups();
    fireEvent.click(screen.getByRole("button", { name: "New group" }));
    const form = await screen.findByRole("form", { name: "New group" });
    fill(form, "Name", "Interns");
    fill(form, "Description (optional)", "Summer 2027");
    fireEvent.submit(form);
    await waitFor(() => expect(backend.changes).toEqual([{ op: "create_group", group: { name: "Interns", description: "Summer 2027" } }]));
  });

  it("makes a member a manager, removes one after confirming, and adds one", async () => {
    const backend = await renderGroups();
    const panel = await openMl();
    fill(panel, "Role of Casey Quinn", "manager");
    await waitFor(() => expect(backend.changes).toEqual([{ op: "set_group_member", group_id: "grp_ml", user_id: bo.id, role: "manager" }]));

    fireEvent.click(within(within(panel).getByRole("row", { name: "Blake Quinn" })).getByRole("button", { name: "Remove" }));
    fireEvent.click(within(screen.getByRole("alertdialog", { name: "Remove Blake Quinn from ML team?" })).getByRole("button", { name: "Remove" }));
    await waitFor(() => expect(backend.changes[1]).toEqual({ op: "remove_group_member", group_id: "grp_ml", user_id: ana.id }));

    fill(panel, "Add a member", "avery.quinn@");
    fireEvent.click(await within(panel).findByRole("button", { name: "Add Avery Quinn (avery.quinn@northwind.example)" }));
    await waitFor(() => expect(backend.changes[2]).toEqual({ op: "set_group_member", group_id: "grp_ml", user_id: "usr_00000", role: "member" }));
  });

  it("leaves the members of a group the identity provider manages to the provider", async () => {
    const backend = seeded();
    backend.reads.groups = backend.reads.groups.map((g) => (g.id === "grp_ml" ? { ...g, scim_managed: true } : g));
    await renderGroups(backend);
    expect(within(screen.getAllByTestId("group-row")[0]!).getByRole("cell", { name: /ML team/ }).textContent).toContain(
      "Managed by your identity provider (SCIM)",
    );
    expect(within(screen.getAllByTestId("group-row")[1]!).getAllByRole("cell")[0]!.textContent).not.toContain("SCIM");
    const panel = await openMl();
    expect(within(panel).getByTestId("scim-managed-reason").textContent).toBe(
      "Your identity provider manages this group's name and members; change them there.",
    );
    expect(within(panel).queryByLabelText("Add a member")).toBeNull();
    expect(within(panel).queryByRole("button", { name: "Remove" })).toBeNull();
    // Who of the members manages the group stays the console's.
    fill(panel, "Role of Casey Quinn", "manager");
    await waitFor(() => expect(backend.changes).toEqual([{ op: "set_group_member", group_id: "grp_ml", user_id: bo.id, role: "manager" }]));
  });

  it("starts the editors from what the group sets, and offers Save once something differs", async () => {
    const backend = seeded();
    backend.reads.models.push({ ...backend.reads.models[0]!, id: "gpt", display_name: "GPT" });
    backend.reads.groupPolicies.grp_ml = {
      grants: ["echo"],
      limits: { requests_per_min: 60, input_tokens_per_min: null, output_tokens_per_min: null, max_concurrent: 4 },
      budget: { daily_usd: null, weekly_usd: null, monthly_usd: 250, alert_thresholds: [50, 90] },
    };
    await renderGroups(backend);
    const panel = await openMl();

    // What the group grants, each revocable; only what it lacks can be granted.
    await waitFor(() => expect(within(panel).getAllByTestId("grant").map((g) => g.textContent)).toEqual(["Echo Revoke Echo"]));
    const pick = within(panel).getByLabelText("Model to grant") as HTMLSelectElement;
    await within(pick).findByRole("option", { name: "GPT" });
    expect(within(pick).queryByRole("option", { name: "Echo" })).toBeNull();
    fireEvent.change(pick, { target: { value: "gpt" } });
    fireEvent.click(within(panel).getByRole("button", { name: "Grant" }));
    await waitFor(() => expect(backend.changes).toEqual([{ op: "grant", subject_kind: "group", subject_id: "grp_ml", model_id: "gpt" }]));
    fireEvent.click(within(panel).getByRole("button", { name: "Revoke Echo" }));
    await waitFor(() => expect(backend.changes[1]).toEqual({ op: "revoke_grant", subject_kind: "group", subject_id: "grp_ml", model_id: "echo" }));

    const limits = within(panel).getByRole("form", { name: "Rate limits" });
    expect((within(limits).getByLabelText("Requests per minute") as HTMLInputElement).value).toBe("60");
    expect((within(limits).getByLabelText("Concurrent requests") as HTMLInputElement).value).toBe("4");
    const saveLimits = within(limits).getByRole("button", { name: "Save rate limits" }) as HTMLButtonElement;
    expect(saveLimits.disabled).toBe(true);
    fill(limits, "Requests per minute", "120");
    expect(saveLimits.disabled).toBe(false);
    // What the cache holds once the change has synced.
    backend.reads.groupPolicies.grp_ml.limits.requests_per_min = 120;
    fireEvent.submit(limits);
    await waitFor(() =>
      expect(backend.changes[2]).toEqual({
        op: "set_limits",
        subject_kind: "group",
        subject_id: "grp_ml",
        limits: { requests_per_min: 120, input_tokens_per_min: null, output_tokens_per_min: null, max_concurrent: 4 },
      }),
    );
    expect(await within(limits).findByText("Saved.")).toBeTruthy();
    expect(saveLimits.disabled).toBe(true);

    const budget = within(panel).getByRole("form", { name: "Budget" });
    expect((within(budget).getByLabelText("Monthly cap (USD)") as HTMLInputElement).value).toBe("250");
    expect((within(budget).getByLabelText("Alert thresholds (% of each cap)") as HTMLInputElement).value).toBe("50, 90");
    const saveBudget = within(budget).getByRole("button", { name: "Save budget" }) as HTMLButtonElement;
    expect(saveBudget.disabled).toBe(true);
    fill(budget, "Alert thresholds (% of each cap)", "80 50");
    fill(budget, "Daily cap (USD)", "12.5");
    expect(saveBudget.disabled).toBe(false);
    fireEvent.submit(budget);
    await waitFor(() =>
      expect(backend.changes[3]).toEqual({
        op: "set_budget",
        subject_kind: "group",
        subject_id: "grp_ml",
        budget: { daily_usd: 12.5, weekly_usd: null, monthly_usd: 250, alert_thresholds: [50, 80] },
      }),
    );
  });

  it("says when a group grants nothing and sets no limit", async () => {
    await renderGroups();
    const panel = await openMl();
    expect(await within(panel).findByText("The group grants no model.")).toBeTruthy();
    const limits = within(panel).getByRole("form", { name: "Rate limits" });
    expect((within(limits).getByLabelText("Requests per minute") as HTMLInputElement).value).toBe("");
  });

  it("refuses a negative limit next to its field without sending it", async () => {
    const backend = await renderGroups();
    const panel = await openMl();
    const limits = within(panel).getByRole("form", { name: "Rate limits" });
    fill(limits, "Requests per minute", "-5");
    fireEvent.submit(limits);
    expect((await within(limits).findByTestId("field-error")).textContent).toContain("0 or more");
    expect(backend.changes).toEqual([]);
    expect(parseThresholds("50, x")).toBe("Whole percents, such as 50, 80, 100.");
  });

  it("offers an auditor no create, member change or policy editors", async () => {
    const status = readyStatus();
    status.me!.permissions = AUDITOR_PERMISSIONS;
    await renderGroups(seeded(createMockBackend({ status })));
    const panel = await openMl();
    expect(screen.queryByRole("button", { name: "New group" })).toBeNull();
    expect(within(panel).queryByRole("combobox")).toBeNull();
    expect(within(panel).queryByRole("button", { name: "Remove" })).toBeNull();
    expect(within(panel).queryByRole("form", { name: "Rate limits" })).toBeNull();
    expect(within(panel).queryByRole("button", { name: "Grant" })).toBeNull();
    expect(within(panel).getByRole("row", { name: "Blake Quinn" }).textContent).toContain("Manager");
  });
});

describe("groups: none yet", () => {
  it("says what groups are for when there are none", async () => {
    window.location.hash = "#groups";
    renderApp(createMockBackend());
    expect((await screen.findByTestId("empty-state")).textContent).toContain("share model access");
    expect(screen.queryByRole("table")).toBeNull();
  });
});
