import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { createMockBackend, mockUpdate } from "../backend/mock";
import { renderApp } from "../test/render";

async function renderUsers() {
  window.location.hash = "#users";
  const { backend } = renderApp(createMockBackend());
  await screen.findByRole("heading", { name: /^Users/ });
  return backend;
}

describe("the update banner", () => {
  it("appears when the check at start finds a version after the UI is up, and leads to Settings", async () => {
    const backend = await renderUsers();
    expect(screen.queryByTestId("update-banner")).toBeNull();
    act(() => backend.emitUpdateFound(mockUpdate("0.2.0")));
    const banner = await screen.findByTestId("update-banner");
    expect(banner.textContent).toContain("Gatehouse 0.2.0 is available. You have 0.1.0.");

    fireEvent.click(within(banner).getByRole("link", { name: "Update in Settings" }));
    await screen.findByRole("heading", { name: "Settings" });
    expect(screen.queryByTestId("update-banner")).toBeNull();
    const updates = screen.getByRole("region", { name: "Updates" });
    await waitFor(() =>
      expect(within(updates).getByTestId("update-status").textContent).toBe("Version 0.2.0 is available (this is 0.1.0)."),
    );
    expect(backend.updateSteps).toEqual([]);
  });

  it("shows what an earlier check found, goes away on Later, and stays away for that version", async () => {
    const backend = createMockBackend();
    backend.updateFound = mockUpdate("0.3.0");
    window.location.hash = "#users";
    renderApp(backend);
    const banner = await screen.findByTestId("update-banner");
    fireEvent.click(within(banner).getByRole("button", { name: "Later" }));
    expect(screen.queryByTestId("update-banner")).toBeNull();
    act(() => backend.emitUpdateFound(mockUpdate("0.3.0")));
    expect(screen.queryByTestId("update-banner")).toBeNull();
    act(() => backend.emitUpdateFound(mockUpdate("0.3.1")));
    expect((await screen.findByTestId("update-banner")).textContent).toContain("Gatehouse 0.3.1 is available.");
  });
});
