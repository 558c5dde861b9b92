import { cleanup, act, fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { createMockBackend, mockUsers, readyStatus } from "./backend/mock";
import { formatDateTime } from "./format";
import { renderApp } from "./test/render";

describe("app shell", () => {
  it("shows a calm loading state while starting, then the users", async () => {
    const backend = createMockBackend({ status: readyStatus({ phase: "starting", me: null, synced_at: null }) });
    renderApp(backend);
    expect(await screen.findByText("Starting the demo gateway and syncing…")).toBeTruthy();
    expect(screen.queryByTestId("users-table")).toBeNull();

    act(() => backend.emitStatus(readyStatus()));
    expect(await screen.findByTestId("users-table")).toBeTruthy();
    expect(screen.queryByText("Starting the demo gateway and syncing…")).toBeNull();
  });

  it("names the gateway it connects to when that is not the demo", async () => {
    const profile = { ...readyStatus().profile!, id: "acme", name: "Acme prod", embedded: false };
    renderApp(createMockBackend({ status: readyStatus({ phase: "starting", me: null, synced_at: null, profile }) }));
    // Until the backend's status arrives the shell cannot know the profile: wait for it.
    await waitFor(() => expect(screen.getByTestId("app-starting").textContent).toBe("Connecting to Acme prod and syncing…"), { timeout: 5000 });
  });

  it("shows why start-up failed, and only the message", async () => {
    const message = "The demo gateway could not listen on 127.0.0.1: address in use";
    renderApp(
      createMockBackend({
        status: readyStatus({ phase: "failed", me: null, error: { code: "internal", message } }),
      }),
    );
    const alert = await screen.findByTestId("app-failed");
    expect(alert.textContent).toContain("Gatehouse could not start");
    expect(alert.textContent).toContain(message);
    expect(alert.textContent).not.toMatch(/\bat \w+ \(|Error:/);
    expect(screen.queryByTestId("users-table")).toBeNull();
  });

  it("shows the error when the backend cannot be asked at all", async () => {
    const backend = createMockBackend();
    backend.appStatus = () => Promise.reject("command app_status not found");
    renderApp(backend);
    expect((await screen.findByTestId("app-failed")).textContent).toContain("command app_status not found");
  });

  it("shows the org, the profile and when it last synced", async () => {
    renderApp();
    expect((await screen.findByTestId("org-name")).textContent).toBe("Northwind Labs");
    expect(screen.getByTestId("profile-name").textContent).toBe("Demo organisation (on this computer)");
    expect(screen.getByTestId("sync-status").textContent).toMatch(/^Synced .*2.*min/);
    expect(screen.getByRole("link", { name: "Users" }).getAttribute("aria-current")).toBe("page");
    expect(screen.queryByTestId("offline-banner")).toBeNull();
  });

  it("shows sync progress while syncing", async () => {
    renderApp(createMockBackend({ status: readyStatus({ syncing: { applied: 42, start: 0, revision: 7, head: 14 } }) }));
    expect((await screen.findByTestId("sync-status")).textContent).toBe("Syncing… 42 changes");
    expect(screen.getByRole("progressbar", { name: "Syncing" })).toBeTruthy();
    expect(screen.getByTestId<HTMLButtonElement>("sync-now").disabled).toBe(true);
  });

  it("warns when offline, with the time the data is from", async () => {
    const syncedAt = "2025-05-30T08:15:00Z";
    renderApp(createMockBackend({ status: readyStatus({ offline: true, synced_at: syncedAt }) }));
    const banner = await screen.findByTestId("offline-banner");
    expect(banner.textContent).toContain(`Offline — data as of ${formatDateTime(syncedAt)}`);
    // The cached users stay usable.
    expect(await screen.findByText("64 users")).toBeTruthy();
  });

  it("says what the core has to say about the cache, and nothing when it has nothing", async () => {
    const notice = "This computer's key to the local cache was missing or did not fit, so the cache was started afresh; it fills again from the gateway.";
    renderApp(createMockBackend({ status: readyStatus({ notice }) }));
    expect((await screen.findByTestId("cache-notice")).textContent).toBe(notice);
    cleanup();
    renderApp(createMockBackend({ status: readyStatus() }));
    await screen.findByText("64 users");
    expect(screen.queryByTestId("cache-notice")).toBeNull();
  });

  it("refreshes the users when a sync lands, and only then", async () => {
    const backend = createMockBackend({ users: 64 });
    renderApp(backend);
    await screen.findByText("64 users");
    const calls = backend.listUsersCalls.length;

    backend.users = mockUsers(70);
    act(() => backend.emitStatus({ ...backend.status, syncing: { applied: 6, start: 0, revision: 9, head: 18 } }));
    await screen.findByText("Syncing… 6 changes");
    expect(backend.listUsersCalls.length).toBe(calls);
    expect(screen.getByText("64 users")).toBeTruthy();

    act(() => backend.emitStatus({ ...backend.status, syncing: null, synced_at: new Date().toISOString() }));
    expect(await screen.findByText("70 users")).toBeTruthy();
    expect(screen.getByTestId("sync-status").textContent).toBe("Synced just now");
  });

  it("syncs on request, and shows why a sync failed", async () => {
    const backend = createMockBackend();
    let syncs = 0;
    backend.syncNow = () => {
      syncs += 1;
      return Promise.reject({ code: "offline", message: "The gateway at http://127.0.0.1:4100 did not answer." });
    };
    renderApp(backend);
    fireEvent.click(await screen.findByRole("button", { name: "Sync now" }));
    await waitFor(() => expect(syncs).toBe(1));
    expect((await screen.findByRole("alert")).textContent).toBe("The gateway at http://127.0.0.1:4100 did not answer.");
  });
});
