import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ADMIN_PERMISSIONS, AUDITOR_PERMISSIONS, createMockBackend, mockUsers, readyStatus, type MockBackend } from "../backend/mock";
import type { GroupRow } from "../bindings/GroupRow";
import type { Permission } from "../shell/permissions";
import { renderApp } from "../test/render";

function group(id: string, name: string): GroupRow {
  return { id, name, description: "", member_count: 0, managers: [], created_at: "2026-01-01T00:00:00Z", scim_managed: false };
}

/** Avery (an active admin), Bea (a suspended admin) and Cal (a member); two groups. */
function backendWith(permissions: Permission[] = ADMIN_PERMISSIONS): MockBackend {
  const [avery, bea, cal] = mockUsers(3);
  const status = readyStatus();
  const backend = createMockBackend({
    status: { ...status, me: { ...status.me!, permissions } },
    users: [avery!, { ...bea!, name: "Bea Admin", role: "admin", status: "suspended" }, { ...cal!, name: "Cal Member", role: "member", status: "active" }],
  });
  backend.reads.groups = [group("grp_eng", "Engineering"), group("grp_fin", "Finance")];
  return backend;
}

async function sso(backend: MockBackend): Promise<HTMLElement> {
  window.location.hash = "#settings";
  renderApp(backend);
  const heading = await screen.findByRole("heading", { name: "Single sign-on" });
  return heading.closest<HTMLElement>("[role=group]")!;
}

describe("settings: identity (single sign-on)", () => {
  it("shows the providers set up and the settings as the gateway holds them", async () => {
    const backend = backendWith();
    backend.identitySettings = {
      ...backend.identitySettings,
      providers: [
        { id: "google", name: "Google" },
        { id: "microsoft", name: "Microsoft" },
      ],
      join_mode: "just_in_time",
      jit_domains: ["northwind.example", "contoso.example"],
      jit_role: "auditor",
      microsoft_tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      require_sso: true,
      break_glass_user_id: "usr_00000",
      groups_claim: "roles",
      role_mapping: [{ claim_value: "gw-admins", role: "admin", group_id: "grp_eng" }],
    };
    const part = await sso(backend);
    const providers = await within(part).findAllByTestId("sso-provider");
    expect(providers.map((p) => p.textContent)).toEqual(["Google", "Microsoft"]);
    expect(within(part).getByRole<HTMLInputElement>("radio", { name: /just-in-time/ }).checked).toBe(true);
    expect(within(part).getByLabelText<HTMLInputElement>("Domains").value).toBe("northwind.example, contoso.example");
    expect(within(part).getByLabelText<HTMLSelectElement>("Role of a new account").value).toBe("auditor");
    expect(within(part).getByLabelText<HTMLInputElement>("Microsoft tenant ID").value).toBe("72f988bf-86f1-41af-91ab-2d7cd011db47");
    expect(within(part).getByRole<HTMLInputElement>("checkbox", { name: "Require single sign-on" }).checked).toBe(true);
    const breakGlass = within(part).getByLabelText<HTMLSelectElement>("Break-glass admin");
    // Only active admins may be chosen: not the suspended admin, not the member.
    await waitFor(() => expect([...breakGlass.options].map((o) => o.text)).toEqual(["None", "Avery Quinn (avery.quinn@northwind.example)"]));
    expect(breakGlass.value).toBe("usr_00000");
    expect(within(part).getByLabelText<HTMLInputElement>("Groups claim").value).toBe("roles");
    expect(within(part).getAllByTestId("sso-mapping")).toHaveLength(1);
    expect(within(part).getByLabelText<HTMLInputElement>("Claim value 1").value).toBe("gw-admins");
    expect(within(part).getByLabelText<HTMLSelectElement>("Role 1").value).toBe("admin");
    await waitFor(() => expect(within(part).getByLabelText<HTMLSelectElement>("Group 1").selectedOptions[0]!.text).toBe("Engineering"));
  });

  it("says when no provider is set up, and then single sign-on cannot be required", async () => {
    const backend = backendWith();
    backend.identitySettings = { ...backend.identitySettings, providers: [] };
    const part = await sso(backend);
    expect((await within(part).findByTestId("sso-no-provider")).textContent).toBe("No identity provider is set up on this gateway; see docs/gateway.md.");
    expect(within(part).getByRole<HTMLInputElement>("checkbox", { name: "Require single sign-on" }).disabled).toBe(true);
  });

  it("saves the settings as one change and shows what the gateway kept", async () => {
    const backend = backendWith();
    backend.identitySettings = { ...backend.identitySettings, role_mapping: [{ claim_value: "old", role: "member" }] };
    const part = await sso(backend);
    fireEvent.click(await within(part).findByRole("radio", { name: /just-in-time/ }));
    fireEvent.change(within(part).getByLabelText("Domains"), { target: { value: " northwind.example,contoso.example " } });
    fireEvent.change(within(part).getByLabelText("Role of a new account"), { target: { value: "operator" } });
    fireEvent.change(within(part).getByLabelText("Microsoft tenant ID"), { target: { value: " 72f988bf-86f1-41af-91ab-2d7cd011db47 " } });
    fireEvent.click(within(part).getByRole("checkbox", { name: "Require single sign-on" }));
    const breakGlass = within(part).getByLabelText<HTMLSelectElement>("Break-glass admin");
    await waitFor(() => expect(breakGlass.options).toHaveLength(2));
    fireEvent.change(breakGlass, { target: { value: "usr_00000" } });
    fireEvent.change(within(part).getByLabelText("Groups claim"), { target: { value: "roles" } });
    fireEvent.click(within(part).getByRole("button", { name: "Remove mapping 1" }));
    fireEvent.click(within(part).getByRole("button", { name: "Add mapping" }));
    fireEvent.click(within(part).getByRole("button", { name: "Add mapping" }));
    fireEvent.change(within(part).getByLabelText("Claim value 1"), { target: { value: " gw-admins " } });
    fireEvent.change(within(part).getByLabelText("Role 1"), { target: { value: "admin" } });
    fireEvent.change(within(part).getByLabelText("Claim value 2"), { target: { value: "finance" } });
    await waitFor(() => expect(within(part).getByLabelText<HTMLSelectElement>("Group 2").options).toHaveLength(3));
    fireEvent.change(within(part).getByLabelText("Group 2"), { target: { value: "grp_fin" } });
    fireEvent.click(within(part).getByRole("button", { name: "Save single sign-on" }));

    expect(await within(part).findByText("Single sign-on settings saved.")).toBeTruthy();
    expect(backend.changes).toEqual([
      {
        op: "set_identity_settings",
        settings: {
          join_mode: "just_in_time",
          jit_domains: ["northwind.example", "contoso.example"],
          jit_role: "operator",
          microsoft_tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47",
          require_sso: true,
          break_glass_user_id: "usr_00000",
          groups_claim: "roles",
          role_mapping: [
            { claim_value: "gw-admins", role: "admin" },
            { claim_value: "finance", group_id: "grp_fin" },
          ],
        },
      },
    ]);
    expect(within(part).getByLabelText<HTMLInputElement>("Domains").value).toBe("northwind.example, contoso.example");
  });

  it("puts refused fields next to their inputs in its own words, never the gateway's", async () => {
    const backend = backendWith();
    backend.applyChange = async (change) => {
      backend.changes.push(change);
      throw {
        code: "validation_failed",
        message: "jit_domains: just-in-time accounts need at least one domain whose addresses may join",
        fields: [
          { field: "jit_domains", message: "just-in-time accounts need at least one domain whose addresses may join" },
          { field: "role_mapping", message: 'the entry for "x" gives neither a role nor a group' },
        ],
      };
    };
    const part = await sso(backend);
    fireEvent.click(await within(part).findByRole("radio", { name: /just-in-time/ }));
    fireEvent.click(within(part).getByRole("button", { name: "Add mapping" }));
    fireEvent.change(within(part).getByLabelText("Claim value 1"), { target: { value: "x" } });
    fireEvent.click(within(part).getByRole("button", { name: "Save single sign-on" }));

    const errors = await within(part).findAllByTestId("field-error");
    expect(errors.map((e) => e.textContent)).toEqual([
      "Just-in-time accounts need at least one domain.",
      "Each mapping needs a claim value and a role, a group or both (at most 100 mappings).",
    ]);
    const domains = within(part).getByLabelText("Domains");
    expect(domains.getAttribute("aria-invalid")).toBe("true");
    expect(domains.getAttribute("aria-describedby")).toContain(errors[0]!.id);
    expect(within(part).getByLabelText("Claim value 1").getAttribute("aria-invalid")).toBe("true");
    // Every part is next to its field, so nothing is said again above the button.
    expect(within(part).queryByRole("alert")).toBeNull();
    expect(document.body.textContent).not.toContain("whose addresses may join");
    expect(within(part).queryByText("Single sign-on settings saved.")).toBeNull();
  });

  it("says in plain words why single sign-on cannot be required", async () => {
    const backend = backendWith();
    backend.applyChange = async () => {
      throw { code: "conflict", message: "No identity provider is set up on this gateway: requiring single sign-on would let nobody in." };
    };
    const part = await sso(backend);
    const save = await within(part).findByRole<HTMLButtonElement>("button", { name: "Save single sign-on" });
    // Save is offered once something differs from what the gateway holds.
    expect(save.disabled).toBe(true);
    fireEvent.change(within(part).getByLabelText("Groups claim"), { target: { value: "roles" } });
    expect(save.disabled).toBe(false);
    fireEvent.click(save);
    const alert = await within(part).findByRole("alert");
    expect(alert.textContent).toBe("Single sign-on cannot be required: no identity provider is set up on this gateway, so nobody could sign in.");
  });

  it("says the settings need the gateway when it is unreachable", async () => {
    const backend = backendWith();
    backend.emitStatus(readyStatus({ offline: true }));
    const part = await sso(backend);
    const alert = await within(part).findByRole("alert");
    expect(alert.textContent).toContain("single sign-on settings are read from it directly");
    expect(within(part).queryByRole("button", { name: "Save single sign-on" })).toBeNull();
  });

  it("shows the settings read-only to a role without identity.write", async () => {
    const backend = backendWith(AUDITOR_PERMISSIONS);
    backend.identitySettings = { ...backend.identitySettings, role_mapping: [{ claim_value: "gw-admins", role: "admin" }] };
    const part = await sso(backend);
    const claim = await within(part).findByLabelText<HTMLInputElement>("Claim value 1");
    expect(claim.value).toBe("gw-admins");
    const disabled = (e: Element) => (e as HTMLInputElement).disabled;
    expect(disabled(claim)).toBe(true);
    for (const label of ["Groups claim", "Microsoft tenant ID", "Break-glass admin", "Role 1", "Group 1"]) {
      expect(disabled(within(part).getByLabelText(label)), label).toBe(true);
    }
    expect(disabled(within(part).getByRole("radio", { name: /just-in-time/ }))).toBe(true);
    expect(within(part).queryByRole("button", { name: "Save single sign-on" })).toBeNull();
    expect(within(part).queryByRole("button", { name: "Add mapping" })).toBeNull();
    expect(within(part).queryByRole("button", { name: "Remove mapping 1" })).toBeNull();
  });

  it("is not shown, nor asked for, without identity.read", async () => {
    const backend = backendWith(ADMIN_PERMISSIONS.filter((p) => !p.startsWith("identity.")));
    let asked = 0;
    backend.getIdentitySettings = async () => {
      asked += 1;
      return backend.identitySettings;
    };
    window.location.hash = "#settings";
    renderApp(backend);
    await screen.findByRole("heading", { name: "About" });
    expect(screen.queryByRole("heading", { name: "Single sign-on" })).toBeNull();
    expect(asked).toBe(0);
  });
});
