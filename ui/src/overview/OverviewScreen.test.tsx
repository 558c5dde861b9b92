import { screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { createMockBackend, readyStatus } from "../backend/mock";
import { formatDay } from "../format";
import { walkChart } from "../test/charts";
import { renderApp } from "../test/render";
import { localDay } from "../usage/UsageScreen";

function open(backend = createMockBackend()) {
  window.location.hash = "#overview";
  return renderApp(backend);
}

describe("overview", () => {
  it("shows seats against the limit, users, active and pending invitations", async () => {
    const backend = createMockBackend({ users: 64 });
    // The cache counts them (crates/core/tests/queries.rs): 64 users and 2 pending invitations hold seats.
    backend.reads.overview = { ...backend.reads.overview, seats_used: 66, seat_limit: 100, total_users: 64, active_now: 7, pending_invitations: 2 };
    open(backend);
    const seats = await screen.findByTestId("stat-seats");
    expect(seats.textContent).toContain("66 / 100");
    expect(within(seats).getByRole("meter").getAttribute("value")).toBe("66");
    expect(screen.getByTestId("stat-users").textContent).toContain("64");
    expect(screen.getByTestId("stat-active").textContent).toContain("7");
    const pending = within(screen.getByTestId("stat-invitations")).getByRole("link");
    expect(pending.textContent).toBe("2");
    expect(pending.getAttribute("href")).toBe("#invitations");
  });

  it("shows the org's spend over the last 30 days, stacked by model, with exact values on the keyboard", async () => {
    const backend = createMockBackend();
    const asked = vi.spyOn(backend, "usageChart");
    open(backend);
    const chart = await screen.findByTestId("stacked-bars");
    expect(asked.mock.calls[0]![0]).toMatchObject({ from: localDay(29), to: localDay(), group_by: "model", user_id: null });
    const days = walkChart(chart);
    expect(days).toHaveLength(30);
    expect(days[29]!.day).toBe(formatDay(localDay()));
    expect(Object.values(days[29]!.values).every((v) => /^\$[\d,]+\.\d\d$/.test(v))).toBe(true);
    expect(chart.querySelector("figcaption")!.textContent).toMatch(/^Spend by model: \$[\d,.]+ over 30 days; /);
    expect(within(chart).getByRole("list", { name: "Legend" }).children.length).toBeGreaterThan(0);
  });

  it("shows the org's budget periods and recent alerts", async () => {
    const backend = createMockBackend();
    backend.reads.orgPeriods = [
      { period: "monthly", start: "2026-11-01T00:00:00Z", end: "2026-12-01T00:00:00Z", spent_usd: 450, cap_usd: 1000, percent: 45, thresholds: [50], crossed: [], resets_at: "2026-12-01T00:00:00Z" },
      { period: "daily", start: "2026-11-22T00:00:00Z", end: "2026-11-23T00:00:00Z", spent_usd: 12.5, cap_usd: null, percent: null, thresholds: [], crossed: [], resets_at: "2026-11-23T00:00:00Z" },
    ];
    backend.reads.overview.recent_alerts = [
      { id: "al_1", subject_kind: "user", subject_id: "usr_00003", period: "weekly", period_start: "2026-11-16T00:00:00Z", threshold: 80, spent_usd: 80, cap_usd: 100, created_at: "2026-11-20T10:00:00Z", revision: 1 },
      { id: "al_2", subject_kind: "key", subject_id: "key_7", period: "daily", period_start: "2026-11-20T00:00:00Z", threshold: 50, spent_usd: 1, cap_usd: 2, created_at: "2026-11-20T11:00:00Z", revision: 2 },
    ];
    open(backend);
    const table = await screen.findByTestId("budget-periods");
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.textContent).toMatch(/This month.*\$450\.00.*\$1,000\.00.*45%/);
    expect(rows[1]!.textContent).toContain("No cap");
    const [alert, keyAlert] = screen.getAllByTestId("alert");
    expect(alert!.textContent).toMatch(/^User usr_00003.*80%.*weekly.*\$80\.00 of \$100\.00/);
    expect(keyAlert!.textContent).toMatch(/^API key key_7 reached 50% of its daily budget/);
  });

  it("says how old the data is when offline", async () => {
    const syncedAt = "2026-11-20T09:30:00Z";
    open(createMockBackend({ status: readyStatus({ offline: true, synced_at: syncedAt }) }));
    expect((await screen.findByTestId("as-of")).textContent).toMatch(/^Data as of /);
  });

  it("says nothing of age when online", async () => {
    open();
    await screen.findByTestId("stat-seats");
    expect(screen.queryByTestId("as-of")).toBeNull();
  });
});
