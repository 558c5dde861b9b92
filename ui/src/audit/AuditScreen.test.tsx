import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { createMockBackend } from "../backend/mock";
import type { AuditEntry } from "../bindings/AuditEntry";
import { renderApp } from "../test/render";
import { AUDIT_PAGE } from "./AuditScreen";

/** `count` entries an hour apart from 1 Nov 2026, alternating actions and actors, oldest first. */
function entries(count: number): AuditEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `aud_${String(i).padStart(4, "0")}`,
    at: new Date(Date.UTC(2026, 10, 1) + i * 3600_000).toISOString(),
    actor_id: i % 2 === 0 ? "usr_00000" : "usr_00001",
    action: i % 3 === 0 ? "user.update" : "workspace.create",
    target_kind: "user",
    target_id: `usr_${String(i % 5).padStart(5, "0")}`,
    summary: { before: { role: "member" }, after: { role: "admin", n: i } },
    revision: i + 1,
  }));
}

/** The newest first, as the cache answers (crates/core/tests/queries.rs). */
function newestFirst(count: number): AuditEntry[] {
  return entries(count).reverse();
}

function open(count = 120) {
  const backend = createMockBackend();
  backend.reads.audit = newestFirst(count);
  const listAudit = vi.spyOn(backend, "listAudit");
  window.location.hash = "#audit";
  return { ...renderApp(backend), listAudit };
}

function shownIds(): string[] {
  return screen.getAllByTestId("audit-entry").map((e) => e.textContent ?? "");
}

describe("audit log", () => {
  it("lists the newest first, a page at a time, and pages with Next and Previous", async () => {
    const { listAudit } = open(120);
    expect((await screen.findByText("120 entries")).getAttribute("data-testid")).toBe("audit-count");
    await waitFor(() => expect(screen.getAllByTestId("audit-entry")).toHaveLength(AUDIT_PAGE));
    // Entry 119 is the newest; its actor is usr_00001 and its action workspace.create.
    expect(shownIds()[0]).toContain("usr_00001");
    expect(screen.getAllByTestId("audit-entry")[0]!.querySelector("time")!.getAttribute("datetime")).toBe(entries(120)[119]!.at);
    expect(screen.getByRole("button", { name: "Previous" }).hasAttribute("disabled")).toBe(true);

    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    await waitFor(() => expect(listAudit.mock.lastCall![0].offset).toBe(AUDIT_PAGE));
    await waitFor(() => expect(screen.getByTestId("audit-range").textContent).toBe("51–100 of 120"));
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    await waitFor(() => expect(screen.getAllByTestId("audit-entry")).toHaveLength(20));
    expect(listAudit.mock.lastCall![0].offset).toBe(2 * AUDIT_PAGE);
    expect(screen.getByRole("button", { name: "Next" }).hasAttribute("disabled")).toBe(true);
    // The page before was read already: it comes from the query cache.
    fireEvent.click(screen.getByRole("button", { name: "Previous" }));
    await waitFor(() => expect(screen.getByTestId("audit-range").textContent).toBe("51–100 of 120"));
  });

  it("has a header per column and says what changed, before and after", async () => {
    open(3);
    await waitFor(() => expect(screen.getAllByTestId("audit-entry")).toHaveLength(3));
    const headers = within(screen.getByTestId("audit-list")).getAllByRole("columnheader").map((h) => h.textContent);
    expect(headers).toEqual(["When", "Who", "Action", "About", "What changed", "Details"]);
    expect(within(screen.getAllByTestId("audit-entry")[0]!).getByTestId("audit-changes").textContent).toBe("role: member → admin; n: — → 2");
  });

  it("says nothing inline of a creation, whose fields are all new", async () => {
    const backend = createMockBackend();
    backend.reads.audit = [{ ...newestFirst(1)[0]!, action: "key.created", summary: { after: { name: "laptop" } } }];
    window.location.hash = "#audit";
    renderApp(backend);
    await waitFor(() => expect(screen.getAllByTestId("audit-entry")).toHaveLength(1));
    expect(screen.getByTestId("audit-changes").textContent).toBe("");
  });

  it("filters by person by name, by category, by exact action and by date, from the first page", async () => {
    const { backend, listAudit } = open(120);
    backend.reads.names = { usr_00000: "Avery Quinn" };
    const matching = newestFirst(120).filter((e) => e.actor_id === "usr_00000" && e.action === "user.update").slice(0, 4);
    backend.reads.auditAnswers = [{ when: { category: "user", actor_id: "usr_00000" }, rows: matching }];
    await screen.findByText("120 entries");
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    await waitFor(() => expect(listAudit.mock.lastCall![0].offset).toBe(AUDIT_PAGE));
    // The person is found by name in the cache, not typed as an id.
    fireEvent.change(screen.getByLabelText("Who"), { target: { value: "avery" } });
    fireEvent.click(await screen.findByRole("button", { name: /^Only Avery Quinn/ }));
    expect(screen.getByTestId("person-filter").textContent).toContain("Avery Quinn");
    // Categories come from the cache, in words.
    const category = screen.getByLabelText("Category") as HTMLSelectElement;
    await waitFor(() => expect([...category.options].map((o) => o.textContent)).toEqual(["Every category", "Groups", "People", "Workspaces"]));
    fireEvent.change(category, { target: { value: "user" } });
    fireEvent.change(screen.getByLabelText("From"), { target: { value: "2026-11-02" } });
    fireEvent.change(screen.getByLabelText("To"), { target: { value: "2026-11-03" } });
    fireEvent.click(screen.getByRole("button", { name: "Filter" }));
    await waitFor(() => expect(listAudit.mock.lastCall![0].category).toBe("user"));
    expect(listAudit.mock.lastCall![0]).toEqual({
      action: null,
      category: "user",
      actor_id: "usr_00000",
      target_id: null,
      from: new Date(2026, 10, 2).toISOString(),
      to: new Date(2026, 10, 4).toISOString(),
      offset: 0,
      limit: AUDIT_PAGE,
    });
    await waitFor(() => expect(screen.getByTestId("audit-count").textContent).toBe("4 entries"));
    expect(shownIds()).toHaveLength(4);
    for (const row of shownIds()) expect(row).toMatch(/Avery Quinn.*user\.update/);
    // The exact action narrows further; letting go of the person widens again.
    fireEvent.change(screen.getByLabelText("Exact action"), { target: { value: " user.update " } });
    fireEvent.click(screen.getByRole("button", { name: "Who: not only Avery Quinn" }));
    fireEvent.click(screen.getByRole("button", { name: "Filter" }));
    await waitFor(() => expect(listAudit.mock.lastCall![0]).toMatchObject({ action: "user.update", actor_id: null, category: "user" }));
  });

  it("shows what changed field by field and the whole summary when expanded", async () => {
    open(3);
    await waitFor(() => expect(screen.getAllByTestId("audit-entry")).toHaveLength(3));
    const toggle = within(screen.getAllByTestId("audit-entry")[0]!).getByRole("button", { name: "Details" });
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(screen.queryByTestId("audit-json")).toBeNull();
    fireEvent.click(toggle);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    const diff = within(screen.getByTestId("audit-diff")).getAllByRole("row").map((r) => [...r.children].map((c) => c.textContent));
    expect(diff).toEqual([
      ["Field", "Before", "After"],
      ["role", "member", "admin"],
      ["n", "—", "2"],
    ]);
    expect(screen.getByTestId("audit-json").textContent).toBe(JSON.stringify({ before: { role: "member" }, after: { role: "admin", n: 2 } }, null, 2));
  });

  it("names the actors and targets the cache knows, and shows the id of one it does not", async () => {
    const backend = createMockBackend();
    backend.reads.audit = newestFirst(2);
    backend.reads.names = { usr_00000: "Avery Quinn", usr_00001: "Blake Adler" };
    window.location.hash = "#audit";
    renderApp(backend);
    await waitFor(() => expect(screen.getAllByTestId("audit-entry")).toHaveLength(2));
    // The newest: Blake Adler acted on usr_00001 (named); the other on usr_00000.
    const [newest, older] = screen.getAllByTestId("audit-entry");
    expect(within(newest!).getAllByRole("cell")[1]!.getAttribute("title")).toBe("usr_00001");
    expect(within(newest!).getAllByRole("cell")[1]!.textContent).toBe("Blake Adler");
    expect(newest!.textContent).toContain("user Blake Adler");
    expect(older!.textContent).toContain("Avery Quinn");
  });

  it("says when nothing matches", async () => {
    open(0);
    expect(await screen.findByTestId("audit-empty")).toBeTruthy();
  });

  it("exports the entries of the applied filters as JSONL or CSV through the gateway", async () => {
    const { backend } = open(10);
    backend.exportAnswer = 2048;
    await screen.findByText("10 entries");
    fireEvent.change(screen.getByLabelText("Exact action"), { target: { value: "user.update" } });
    fireEvent.change(screen.getByLabelText("Category"), { target: { value: "user" } });
    fireEvent.click(screen.getByRole("button", { name: "Filter" }));
    fireEvent.click(screen.getByRole("button", { name: "Export JSONL" }));
    expect((await screen.findByTestId("audit-export-result")).textContent).toBe("Saved 2,048 bytes: every entry these filters show, from the gateway");
    fireEvent.click(screen.getByRole("button", { name: "Export CSV" }));
    await waitFor(() => expect(backend.auditExports).toHaveLength(2));
    expect(backend.auditExports.map((e) => e.format)).toEqual(["jsonl", "csv"]);
    for (const { filter } of backend.auditExports) {
      expect(filter).toMatchObject({ action: "user.update", category: "user", actor_id: null, target_id: null, from: null, to: null, offset: 0 });
    }
  });

  it("says nothing was saved when the admin cancels the export", async () => {
    const { backend } = open(3);
    backend.exportAnswer = null;
    await screen.findByText("3 entries");
    fireEvent.click(screen.getByRole("button", { name: "Export CSV" }));
    await waitFor(() => expect(backend.auditExports).toHaveLength(1));
    expect(screen.queryByTestId("audit-export-result")).toBeNull();
  });
});
