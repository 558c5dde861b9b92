import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AUDITOR_PERMISSIONS, createMockBackend, readyStatus, type MockBackend } from "../backend/mock";
import type { AccessProfile } from "../bindings/AccessProfile";
import { renderApp } from "../test/render";

const at = "2026-11-01T00:00:00Z";

function profile(id: string, name: string, over: Partial<AccessProfile> = {}): AccessProfile {
  return {
    id,
    name,
    description: "",
    grants: ["echo"],
    limits: { requests_per_min: 30, input_tokens_per_min: null, output_tokens_per_min: null, max_concurrent: null },
    budget: { daily_usd: 5, weekly_usd: null, monthly_usd: 100, alert_thresholds: [50, 80, 100] },
    created_at: at,
    updated_at: at,
    revision: 1,
    ...over,
  };
}

function seeded(backend: MockBackend = createMockBackend()): MockBackend {
  backend.reads.accessProfiles = [profile("apr_eng", "Engineers"), profile("apr_ctr", "Contractors", { grants: [] })];
  return backend;
}

const fill = (scope: HTMLElement, label: string, value: string) => fireEvent.change(within(scope).getByLabelText(label), { target: { value } });

async function renderSection(backend: MockBackend) {
  window.location.hash = "#settings";
  renderApp(backend);
  const section = await screen.findByRole("region", { name: "Access profiles" });
  await waitFor(() => expect(within(section).getAllByTestId("access-profile")).toHaveLength(backend.reads.accessProfiles.length));
  return section;
}

describe("settings: access profiles", () => {
  it("lists the profiles with what they give and creates one from the form", async () => {
    const backend = seeded();
    const section = await renderSection(backend);
    const eng = within(section).getAllByTestId("access-profile")[0]!;
    expect(eng.textContent).toContain("Engineers");
    expect(eng.textContent).not.toContain("Default");
    expect(eng.textContent).toContain("1 model");
    expect(eng.textContent).toContain("$5.00");
    fireEvent.click(within(section).getByRole("button", { name: "New profile" }));
    const form = await within(section).findByRole("form", { name: "New access profile" });
    fill(form, "Name", " Interns ");
    fireEvent.click(await within(form).findByLabelText("Echo"));
    fill(form, "Requests per minute", "10");
    fill(form, "Monthly cap (USD)", "20");
    fill(form, "Alert at (% of each cap)", "80, 50");
    fireEvent.submit(form);
    await waitFor(() =>
      expect(backend.changes[0]).toEqual({
        op: "create_access_profile",
        profile: {
          name: "Interns",
          description: "",
          grants: ["echo"],
          limits: { requests_per_min: 10, input_tokens_per_min: null, output_tokens_per_min: null, max_concurrent: null },
          budget: { daily_usd: null, weekly_usd: null, monthly_usd: 20, alert_thresholds: [50, 80] },
        },
      }),
    );
  });

  it("refuses a bad number before sending, edits and deletes a profile, and picks the default", async () => {
    const backend = seeded();
    const section = await renderSection(backend);
    fireEvent.click(within(section).getByRole("button", { name: "Edit Engineers" }));
    const form = await within(section).findByRole("form", { name: "Edit Engineers" });
    expect((within(form).getByLabelText("Daily cap (USD)") as HTMLInputElement).value).toBe("5");
    const save = within(form).getByRole<HTMLButtonElement>("button", { name: "Save profile" });
    expect(save.disabled).toBe(true);
    fill(form, "Daily cap (USD)", "5.0");
    expect(save.disabled).toBe(true);
    fill(form, "Daily cap (USD)", "-1");
    expect(save.disabled).toBe(false);
    fireEvent.submit(form);
    expect(await within(form).findByText("Enter a number of 0 or more, or leave it empty for none.")).toBeTruthy();
    expect(backend.changes).toHaveLength(0);
    fill(form, "Daily cap (USD)", "7");
    fireEvent.submit(form);
    await waitFor(() => expect(backend.changes[0]).toMatchObject({ op: "patch_access_profile", id: "apr_eng", patch: { budget: { daily_usd: 7 } } }));

    fill(section, "Default for new people", "apr_ctr");
    await waitFor(() => expect(backend.changes[1]).toEqual({ op: "patch_org", patch: { default_profile_id: "apr_ctr" } }));

    fireEvent.click(within(section).getByRole("button", { name: "Delete Contractors" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Delete the profile Contractors?" });
    fireEvent.click(within(dialog).getByRole("button", { name: "Delete Contractors" }));
    await waitFor(() => expect(backend.changes[2]).toEqual({ op: "delete_access_profile", id: "apr_ctr" }));
  });

  it("shows an auditor the profiles without changing them", async () => {
    const backend = seeded(createMockBackend({ status: readyStatus({ me: { ...readyStatus().me!, permissions: AUDITOR_PERMISSIONS } }) }));
    backend.reads.defaultProfileId = "apr_ctr";
    const section = await renderSection(backend);
    expect(within(section).getAllByTestId("access-profile")[1]!.textContent).toContain("Default");
    await waitFor(() => expect((within(section).getByLabelText("Default for new people") as HTMLSelectElement).value).toBe("apr_ctr"));
    expect(within(section).queryByRole("button", { name: "New profile" })).toBeNull();
    expect(within(section).queryByRole("button", { name: "Edit Engineers" })).toBeNull();
    expect((within(section).getByLabelText("Default for new people") as HTMLSelectElement).disabled).toBe(true);
  });
});

async function renderInvitations(backend: MockBackend) {
  window.location.hash = "#invitations";
  renderApp(backend);
  await screen.findByRole("heading", { name: "Invitations" });
}

describe("invitations: the access profile new people start from", () => {
  it("sends nothing for the org's default, \"\" for none, and the id picked", async () => {
    const backend = seeded();
    await renderInvitations(backend);
    fireEvent.click(screen.getByRole("button", { name: "Invite" }));
    let form = await screen.findByRole("form", { name: "Invite a user" });
    await within(form).findByRole("option", { name: "Engineers" });
    fill(form, "E-mail", "a@acme.example");
    fill(form, "Access profile", "apr_eng");
    fireEvent.submit(form);
    await waitFor(() =>
      expect(backend.changes[0]).toEqual({ op: "invite", invitation: { email: "a@acme.example", role: "member", workspace_ids: [], profile_id: "apr_eng" } }),
    );

    fireEvent.click(screen.getByRole("button", { name: "Add directly" }));
    form = await screen.findByRole("form", { name: "Add a user" });
    await within(form).findByRole("option", { name: "Engineers" });
    fill(form, "E-mail", "b@acme.example");
    fill(form, "First name", "Bo");
    fill(form, "Last name", "Diaz");
    fill(form, "Access profile", "__none");
    fireEvent.submit(form);
    await waitFor(() =>
      expect(backend.changes[1]).toEqual({
        op: "create_user",
        user: { email: "b@acme.example", first_name: "Bo", last_name: "Diaz", role: "member", workspace_ids: [], profile_id: "" },
      }),
    );

    fireEvent.click(screen.getByRole("button", { name: "Bulk invite" }));
    form = await screen.findByRole("form", { name: "Bulk invite" });
    expect((within(form).getByLabelText("Access profile") as HTMLSelectElement).value).toBe("__default");
    expect(within(form).getByRole("option", { name: "The org's default (none set)" })).toBeTruthy();
  });

  it("names the org's default in the picker, as the cache says it", async () => {
    const backend = seeded();
    backend.reads.defaultProfileId = "apr_eng";
    await renderInvitations(backend);
    fireEvent.click(screen.getByRole("button", { name: "Invite" }));
    const form = await screen.findByRole("form", { name: "Invite a user" });
    expect(await within(form).findByRole("option", { name: "The org's default (Engineers)" })).toBeTruthy();
  });
});
