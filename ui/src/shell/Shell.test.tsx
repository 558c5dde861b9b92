import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { createMockBackend, MOCK_PASSWORD, mockProfile, readyStatus } from "../backend/mock";
import { formatDateTime } from "../format";
import { renderApp } from "../test/render";
import { SCREENS } from "./router";

function current(): string | null {
  return screen.getByRole("navigation", { name: "Main" }).querySelector('[aria-current="page"]')?.textContent ?? null;
}

describe("navigation", () => {
  it("lists every screen in the sidebar and opens Users first", async () => {
    renderApp();
    await screen.findByTestId("users-table");
    const links = screen.getAllByRole("link");
    expect(links.map((l) => l.textContent)).toEqual([
      "Overview", "Users", "Invitations", "Workspaces", "Groups", "Usage", "Audit log", "Settings",
    ]);
    expect(current()).toBe("Users");
    expect(links.filter((l) => l.hasAttribute("aria-current"))).toHaveLength(1);
  });

  it("moves between the links with the arrow keys and opens one with a click", async () => {
    renderApp();
    const users = await screen.findByRole("link", { name: "Users" });
    users.focus();
    fireEvent.keyDown(users, { key: "ArrowDown" });
    expect(document.activeElement?.textContent).toBe("Invitations");
    fireEvent.keyDown(document.activeElement!, { key: "End" });
    expect(document.activeElement?.textContent).toBe("Settings");
    fireEvent.keyDown(document.activeElement!, { key: "ArrowDown" });
    expect(document.activeElement?.textContent).toBe("Overview");
    fireEvent.keyDown(document.activeElement!, { key: "ArrowUp" });
    expect(document.activeElement?.textContent).toBe("Settings");

    fireEvent.click(screen.getByRole("link", { name: "Groups" }));
    expect(await screen.findByRole("heading", { name: "Groups" })).toBeTruthy();
    expect(current()).toBe("Groups");
    expect(window.location.hash).toBe("#groups");
    expect(screen.getByTestId("empty-state").textContent).toContain("Nothing here yet");
    expect(screen.queryByTestId("users-table")).toBeNull();
  });

  it("opens the nth screen with Ctrl+n or ⌘n, and leaves plain digits alone", async () => {
    renderApp();
    await screen.findByTestId("users-table");
    fireEvent.keyDown(window, { key: "8" });
    expect(current()).toBe("Users");

    fireEvent.keyDown(window, { key: "8", ctrlKey: true });
    expect(await screen.findByRole("heading", { name: "Settings" })).toBeTruthy();
    expect(current()).toBe("Settings");
    expect(document.title).toBe("Settings — Gatehouse");

    fireEvent.keyDown(window, { key: "7", metaKey: true });
    await waitFor(() => expect(current()).toBe("Audit log"));
    expect(document.activeElement?.tagName).toBe("MAIN");

    fireEvent.keyDown(window, { key: "2", ctrlKey: true });
    expect(await screen.findByTestId("users-table")).toBeTruthy();
  });

  it("gives every screen a heading of its own name", async () => {
    renderApp();
    await screen.findByTestId("users-table");
    for (const [i, s] of SCREENS.entries()) {
      fireEvent.keyDown(window, { key: String(i + 1), ctrlKey: true });
      expect(await screen.findByRole("heading", { level: 1, name: s.label })).toBeTruthy();
      expect(document.body.textContent).not.toMatch(/TODO/i);
    }
  });

  it("keeps the shell up while a profile that has synced before opens", async () => {
    const status = readyStatus({ phase: "starting", me: null, profile: mockProfile("acme", "Acme").summary });
    renderApp(createMockBackend({ status }));
    expect((await screen.findByTestId("sync-status")).textContent).toBe("Connecting…");
    expect(screen.getByTestId("profile-name").textContent).toBe("Acme");
  });
});

describe("signed out", () => {
  const acme = () => mockProfile("acme", "Acme prod", { signed_in: false });
  const signedOut = (overrides = {}) =>
    readyStatus({ phase: "signed_out", me: null, profile: acme().summary, synced_at: "2025-05-30T08:15:00Z", ...overrides });

  it("says so, keeps the cached users browsable, and signs in again with a password", async () => {
    const backend = createMockBackend({ profiles: [acme()], status: signedOut() });
    renderApp(backend);
    const banner = await screen.findByTestId("signed-out-banner");
    expect(banner.textContent).toContain("Signed out of Acme prod.");
    expect(banner.textContent).toContain(`data as of ${formatDateTime("2025-05-30T08:15:00Z")}`);
    expect(await screen.findByText("64 users")).toBeTruthy();

    const form = within(banner).getByRole("form", { name: "Sign in to Acme prod" });
    fireEvent.change(within(form).getByLabelText("E-mail"), { target: { value: "avery.quinn@northwind.example" } });
    const password = within(form).getByLabelText<HTMLInputElement>("Password");
    expect(password.type).toBe("password");
    fireEvent.change(password, { target: { value: MOCK_PASSWORD } });
    fireEvent.submit(form);
    expect(password.value).toBe("");
    await waitFor(() => expect(screen.queryByTestId("signed-out-banner")).toBeNull());
    expect(backend.status.phase).toBe("ready");
  });

  it("shows the gateway's reason and a refused password, and stays signed out", async () => {
    const reason = "The access token was revoked.";
    const backend = createMockBackend({
      profiles: [acme()],
      status: signedOut({ error: { code: "unauthorized", message: reason } }),
    });
    renderApp(backend);
    const banner = await screen.findByTestId("signed-out-banner");
    expect(banner.textContent).toContain(reason);
    fireEvent.click(within(banner).getByLabelText("Token"));
    const token = within(banner).getByLabelText<HTMLInputElement>("Token", { selector: "input[type=password]" });
    fireEvent.change(token, { target: { value: "gw_wrong" } });
    fireEvent.submit(within(banner).getByRole("form"));
    expect((await within(banner).findByRole("alert")).textContent).toBe("The token is not valid.");
    expect(token.value).toBe("");
    expect(backend.status.phase).toBe("signed_out");
  });

  it("points to Settings when no profile is open", async () => {
    const backend = createMockBackend({ status: readyStatus({ phase: "signed_out", me: null, profile: null }) });
    renderApp(backend);
    const banner = await screen.findByTestId("signed-out-banner");
    expect(banner.textContent).toContain("No profile is open.");
    fireEvent.click(within(banner).getByRole("link", { name: "Choose or add one in Settings" }));
    expect(await screen.findByRole("heading", { name: "Settings" })).toBeTruthy();
  });

  it("appears when the gateway signs the admin out, and not before", async () => {
    const backend = createMockBackend({ profiles: [mockProfile("acme", "Acme prod")], status: readyStatus({ profile: mockProfile("acme", "Acme prod").summary }) });
    renderApp(backend);
    await screen.findByText("64 users");
    expect(screen.queryByTestId("signed-out-banner")).toBeNull();
    act(() => backend.emitStatus(signedOut()));
    expect(await screen.findByTestId("signed-out-banner")).toBeTruthy();
  });
});

describe("sync now", () => {
  it("shows why a sync it started failed, until a later sync succeeds", async () => {
    const backend = createMockBackend();
    const succeed = backend.syncNow;
    backend.syncNow = async () => {
      throw { code: "unreachable", message: "The gateway at http://127.0.0.1:9 is unreachable." };
    };
    renderApp(backend);
    fireEvent.click(await screen.findByTestId("sync-now"));
    expect((await screen.findByRole("alert")).textContent).toBe("The gateway at http://127.0.0.1:9 is unreachable.");
    // The gateway is back: a background sync lands.
    await act(async () => {
      await succeed();
    });
    await waitFor(() => expect(screen.queryByText("The gateway at http://127.0.0.1:9 is unreachable.")).toBeNull());
  });
});
