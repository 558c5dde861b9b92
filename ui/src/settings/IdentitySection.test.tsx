import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ADMIN_PERMISSIONS, AUDITOR_PERMISSIONS, createMockBackend, readyStatus, type MockBackend } from "../backend/mock";
import type { Permission } from "../shell/permissions";
import { renderApp } from "../test/render";
import { NEW_SCIM_TOKEN_MESSAGE } from "./IdentitySection";

function withPermissions(permissions: Permission[]): MockBackend {
  const status = readyStatus();
  return createMockBackend({ status: { ...status, me: { ...status.me!, permissions } } });
}

async function renderSettings(backend: MockBackend) {
  window.location.hash = "#settings";
  renderApp(backend);
  await screen.findByRole("heading", { name: "Settings" });
  return backend;
}

async function identity(): Promise<HTMLElement> {
  const heading = await screen.findByRole("heading", { name: "Identity" });
  return heading.closest("section")!;
}

describe("settings: identity (SCIM)", () => {
  it("lists the SCIM tokens and the base URL to give the identity provider", async () => {
    await renderSettings(createMockBackend());
    const section = await identity();
    const rows = await within(section).findAllByTestId("scim-token");
    expect(rows.map((r) => r.getAttribute("aria-label"))).toEqual(["Entra ID production", "Okta staging"]);
    expect(rows[0]!.textContent).toContain("last used");
    expect(rows[1]!.textContent).toContain("never used");
    expect(within(section).getByTestId("scim-base-url").textContent).toBe("http://127.0.0.1:4100/scim/v2");
  });

  it("makes a token, says once that its secret is on the clipboard, and never shows it", async () => {
    const backend = createMockBackend();
    const clipboard: string[] = [];
    backend.applyChange = async (change) => {
      backend.changes.push(change);
      if (change.op !== "create_scim_token") return { kind: "done" };
      // The backend puts the secret on the clipboard; the UI gets the token without it.
      clipboard.push("gsc_SECRETSECRET");
      const token = { id: "stk_new", name: change.token.name, created_by: "usr_00000", created_at: "2026-12-04T10:00:00Z", last_used_at: null };
      backend.scimTokens.push(token);
      return { kind: "scim_token", value: token };
    };
    await renderSettings(backend);
    const section = await identity();
    const create = within(section).getByRole("button", { name: "New SCIM token" });
    expect(create).toHaveProperty("disabled", true);
    fireEvent.change(within(section).getByLabelText("New token's name"), { target: { value: "  Entra ID test " } });
    fireEvent.click(create);

    expect(await within(section).findByText(NEW_SCIM_TOKEN_MESSAGE)).toBeTruthy();
    expect(backend.changes).toEqual([{ op: "create_scim_token", token: { name: "Entra ID test" } }]);
    expect(clipboard).toHaveLength(1);
    await waitFor(() => expect(within(section).getAllByTestId("scim-token")).toHaveLength(3));
    expect(document.body.textContent).not.toContain("SECRET");
    expect((within(section).getByLabelText("New token's name") as HTMLInputElement).value).toBe("");
  });

  it("revokes a token only after it is confirmed", async () => {
    const backend = createMockBackend();
    await renderSettings(backend);
    const section = await identity();
    const okta = await within(section).findByRole("listitem", { name: "Okta staging" });
    fireEvent.click(within(okta).getByRole("button", { name: "Revoke" }));
    const confirm = within(okta).getByRole("alertdialog", { name: "Revoke Okta staging?" });
    expect(backend.changes).toEqual([]);
    fireEvent.click(within(confirm).getByRole("button", { name: "Revoke token" }));
    await waitFor(() => expect(backend.changes).toEqual([{ op: "delete_scim_token", id: "stk_okta" }]));
  });

  it("says in its own words why a token was not made", async () => {
    const backend = createMockBackend();
    backend.applyChange = async () => {
      throw { code: "conflict", message: "The organisation already holds 50 SCIM tokens; revoke one first." };
    };
    await renderSettings(backend);
    const section = await identity();
    fireEvent.change(within(section).getByLabelText("New token's name"), { target: { value: "One too many" } });
    fireEvent.click(within(section).getByRole("button", { name: "New SCIM token" }));
    const alert = await within(section).findByRole("alert");
    expect(alert.textContent).toBe("The organisation already holds as many SCIM tokens as it may; revoke one first.");
    expect(within(section).queryByText(/Copied/)).toBeNull();
  });

  it("says the tokens need the gateway when it is unreachable", async () => {
    await renderSettings(createMockBackend({ status: readyStatus({ offline: true }) }));
    const section = await identity();
    // Single sign-on above says the same of its own settings.
    const scim = within(section).getByRole("heading", { name: "SCIM provisioning" }).closest<HTMLElement>("[role=group]")!;
    const alert = await within(scim).findByRole("alert");
    expect(alert.textContent).toContain("The gateway is unreachable right now; SCIM tokens");
    expect(within(section).queryByRole("button", { name: "New SCIM token" })).toBeNull();
  });

  it("shows the tokens read-only to a role without identity.write", async () => {
    await renderSettings(withPermissions(AUDITOR_PERMISSIONS));
    const section = await identity();
    expect(await within(section).findAllByTestId("scim-token")).toHaveLength(2);
    expect(within(section).queryByRole("button", { name: "Revoke" })).toBeNull();
    expect(within(section).queryByRole("button", { name: "New SCIM token" })).toBeNull();
    expect(within(section).queryByLabelText("New token's name")).toBeNull();
  });

  it("is not shown to a role without identity.read", async () => {
    const backend = withPermissions(ADMIN_PERMISSIONS.filter((p) => !p.startsWith("identity.")));
    let asked = 0;
    backend.listScimTokens = async () => {
      asked += 1;
      return [];
    };
    await renderSettings(backend);
    await screen.findByRole("heading", { name: "About" });
    expect(screen.queryByRole("heading", { name: "Identity" })).toBeNull();
    expect(screen.queryByTestId("scim-base-url")).toBeNull();
    expect(asked).toBe(0);
  });
});
