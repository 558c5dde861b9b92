import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { createMockBackend, mockProfile, readyStatus } from "../backend/mock";
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
