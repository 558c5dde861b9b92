// "Resets in …" on every budget and the forecast, on Overview, User detail and Groups.
import { screen, waitFor, within, fireEvent } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { createMockBackend, type MockBackend } from "../backend/mock";
import { quietForecast } from "../backend/mockReads";
import type { BudgetStatus } from "../bindings/BudgetStatus";
import type { Forecast } from "../bindings/Forecast";
import type { SpendSubject } from "../bindings/SpendSubject";
import { renderApp } from "../test/render";

const HOUR = 3_600_000;
// Half a minute short of the hour: "resets in" rounds up to whole minutes.
const inHours = (h: number) => new Date(Date.now() + h * HOUR - 30_000).toISOString();

/** A forecast whose daily cap runs out on 2026-11-20 and whose monthly cap does not. */
function busyForecast(): Forecast {
  const base = quietForecast();
  return {
    ...base,
    pace_usd_per_day: 12.5,
    pace_days: 7,
    month_to_date_usd: 200,
    month_end_usd: 312.5,
    periods: [
      { period: "daily", cap_usd: 10, spent_usd: 4, resets_at: inHours(5), runs_out_on: "2026-11-20" },
      { period: "weekly", cap_usd: null, spent_usd: 40, resets_at: inHours(76), runs_out_on: null },
      { period: "monthly", cap_usd: 1000, spent_usd: 200, resets_at: inHours(3 * 24 + 4), runs_out_on: null },
    ],
  };
}

function statusOf(subject: SpendSubject, forecast: Forecast): BudgetStatus {
  return {
    subject,
    time_zone: "UTC",
    periods: [
      {
        period: "daily",
        start: inHours(-19),
        end: forecast.periods[0]!.resets_at,
        resets_at: forecast.periods[0]!.resets_at,
        spent_usd: 4,
        cap_usd: 10,
        percent: 40,
        thresholds: [50],
        crossed: [],
      },
    ],
    daily_cap_usd: 10,
    daily_cap_group: null,
    monthly_cap_group: null,
    monthly_cap_usd: 1000,
    month: [{ day: "2026-11-01", spent_usd: 4, cumulative_usd: 4 }],
    forecast,
  };
}

function open(hash: string, backend: MockBackend) {
  window.location.hash = hash;
  renderApp(backend);
}

describe("budgets say when they reset, and where spend is heading", () => {
  it("on the overview: each period's reset and the org's month-end forecast", async () => {
    const backend = createMockBackend();
    const forecast = busyForecast();
    backend.reads.orgPeriods = statusOf({ kind: null, id: null }, forecast).periods;
    backend.budgetStatus = async (subject) => ({ ...statusOf(subject, forecast), periods: backend.reads.orgPeriods });
    open("#overview", backend);
    const table = await screen.findByTestId("budget-periods");
    expect(within(table).getByTestId("resets-in").textContent).toBe("resets in 5 h 0 min");
    const panel = await screen.findByTestId("forecast");
    expect(within(panel).getByTestId("forecast-month-end").textContent).toContain("$312.50");
    expect(within(panel).getByTestId("forecast-month-end").textContent).toContain("$12.50 a day over the last 7 days");
    expect(within(panel).getByTestId("forecast-daily").textContent).toMatch(/runs out .*20/);
    expect(within(panel).getByTestId("forecast-monthly").textContent).toContain("does not run out at this pace");
    expect(within(panel).getByTestId("forecast-monthly").textContent).toContain("resets in 3 d 4 h");
    expect(within(panel).queryByTestId("forecast-weekly")).toBeNull();
  });

  it("on a user: the started-from profile, each cap's reset, the chart's labels and the forecast", async () => {
    const backend = createMockBackend();
    const base = backend.userDetail.bind(backend);
    backend.userDetail = async (id) => {
      const d = await base(id);
      return { ...d, user: { ...d.user, profile_id: "apr_gone", profile_name: "Engineers" } };
    };
    backend.reads.budgets["user:usr_00000"] = statusOf({ kind: "user", id: "usr_00000" }, busyForecast());
    open("#users/usr_00000", backend);
    expect((await screen.findByTestId("started-from")).textContent).toBe("Started from profile Engineers");
    const daily = await screen.findByTestId("policy-daily_usd");
    await waitFor(() => expect(within(daily).getByTestId("resets-in").textContent).toBe("resets in 5 h 0 min"));
    expect(within(screen.getByTestId("policy-monthly_usd")).getByTestId("resets-in").textContent).toBe("resets in 3 d 4 h");
    const chart = await screen.findByTestId("budget-chart");
    expect(chart.textContent).toContain("cap $10.00, resets in 5 h 0 min");
    expect(chart.textContent).toContain("cap $1,000.00, resets in 3 d 4 h");
    expect(within(screen.getByTestId("forecast")).getByTestId("forecast-month-end").textContent).toContain("$312.50");
  });

  it("on a group: its budget with each reset, and its forecast", async () => {
    const backend = createMockBackend();
    backend.reads.groups = [
      { id: "grp_ml", name: "ML team", description: "", member_count: 0, managers: [], created_at: "2026-11-01T00:00:00Z", scim_managed: false },
    ];
    backend.reads.budgets["group:grp_ml"] = statusOf({ kind: "group", id: "grp_ml" }, busyForecast());
    open("#groups", backend);
    fireEvent.click(await screen.findByRole("button", { name: "ML team" }));
    const panel = await screen.findByTestId("group-budget");
    expect(within(panel).getByTestId("group-budget-daily").textContent).toContain("$4.00 of $10.00");
    expect(within(panel).getByTestId("group-budget-daily").textContent).toContain("resets in 5 h 0 min");
    expect(within(panel).getByTestId("forecast-month-end").textContent).toContain("$312.50");
  });

  it("says a group without a budget has none, and a quiet forecast spends nothing more", async () => {
    const backend = createMockBackend();
    backend.reads.groups = [
      { id: "grp_ops", name: "Ops", description: "", member_count: 0, managers: [], created_at: "2026-11-01T00:00:00Z", scim_managed: false },
    ];
    open("#groups", backend);
    fireEvent.click(await screen.findByRole("button", { name: "Ops" }));
    const panel = await screen.findByTestId("group-budget");
    expect(panel.textContent).toContain("No budget");
    expect(within(panel).getByTestId("forecast-month-end").textContent).toContain("$0.00 today so far");
  });
});
