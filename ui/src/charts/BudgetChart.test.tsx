import { render, screen, within } from "@testing-library/react";
import type { ReactElement } from "react";
import { describe, expect, it } from "vitest";
import type { Forecast } from "../bindings/Forecast";
import { formatDay } from "../format";
import { walkChart } from "../test/charts";
import { BudgetChart, budgetRows } from "./BudgetChart";
import { FixedChartWidth } from "./kit";

const MONTH = [
  { day: "2026-11-01", spent_usd: 4, cumulative_usd: 4 },
  { day: "2026-11-02", spent_usd: 12, cumulative_usd: 16 },
  { day: "2026-11-03", spent_usd: 6, cumulative_usd: 22 },
];

const FORECAST: Forecast = {
  as_of: "2026-11-03T12:00:00Z",
  time_zone: "UTC",
  pace_usd_per_day: 7,
  pace_days: 2,
  month_to_date_usd: 22,
  month_end_usd: 22 + 7 * 27,
  periods: [],
};

function draw(chart: ReactElement) {
  return render(<FixedChartWidth.Provider value={720}>{chart}</FixedChartWidth.Provider>);
}

const caption = () => screen.getByTestId("budget-chart").querySelector("figcaption")!.textContent;

describe("BudgetChart", () => {
  it("spans the whole month, draws both caps with a labelled line per threshold, and says what it shows", () => {
    draw(<BudgetChart month={MONTH} daily_cap_usd={10} monthly_cap_usd={200} thresholds={[50, 80]} />);
    const [daily] = screen.getByTestId("budget-chart").querySelectorAll("svg[tabindex='0']");
    const days = walkChart(screen.getByTestId("budget-chart"), daily);
    // November has 30 slots; the days to come are empty.
    expect(days).toHaveLength(30);
    expect(days[0]).toEqual({ day: formatDay("2026-11-01"), values: { Spent: "$4.00" } });
    expect(days[1]!.values).toEqual({ Spent: "$12.00" });
    expect(days[29]!.values).toEqual({});
    // Bars follow spend, and the day over the daily cap is marked.
    const bars = screen.getAllByTestId("spend-bar");
    expect(bars.filter((b) => b.getAttribute("class")?.includes("over"))).toHaveLength(1);
    const heights = bars.slice(0, 2).map((b) => Number(b.getAttribute("height")));
    expect(heights[1]! / heights[0]!).toBeCloseTo(3);
    expect(screen.getByTestId("daily-cap").textContent).toBe("Daily cap $10.00");
    expect(screen.getByTestId("monthly-cap").textContent).toBe("Monthly cap $200.00");
    expect(screen.getAllByTestId("threshold-mark").map((t) => t.textContent)).toEqual(["50 % alert", "80 % alert", "50 % alert", "80 % alert"]);
    expect(caption()).toBe(
      "Spent $22.00 this month of a $200.00 monthly cap; highest day $12.00 against a $10.00 daily cap; 1 day over the daily cap.",
    );
  });

  it("draws the forecast from today to the month's end at the pace", () => {
    draw(<BudgetChart month={MONTH} daily_cap_usd={null} monthly_cap_usd={200} thresholds={[]} forecast={FORECAST} />);
    const [, cumulative] = screen.getByTestId("budget-chart").querySelectorAll("svg[tabindex='0']");
    const days = walkChart(screen.getByTestId("budget-chart"), cumulative);
    expect(days).toHaveLength(30);
    expect(days[2]!.values).toEqual({ "Month to date": "$22.00" });
    expect(days[3]!.values).toEqual({ Forecast: "$29.00" });
    expect(days[29]!.values).toEqual({ Forecast: "$211.00" });
    expect(caption()).toContain("Forecast $211.00 by the month's end at $7.00 a day.");
    expect(within(screen.getByRole("list", { name: "Legend" })).getByText(/Forecast at the current pace: \$211\.00/)).toBeTruthy();
  });

  it("names the group a cap comes from when it is not the subject's own", () => {
    draw(<BudgetChart month={MONTH} daily_cap_usd={10} monthly_cap_usd={150} monthly_cap_group="Engineering" daily_cap_group={null} thresholds={[]} />);
    expect(caption()).toBe(
      "Spent $22.00 this month of a $150.00 monthly cap (group Engineering's); highest day $12.00 against a $10.00 daily cap; 1 day over the daily cap.",
    );
    expect(screen.getByText(/^Month to date \(cap \$150\.00 from group Engineering\)$/)).toBeTruthy();
    expect(screen.getByText(/^Daily spend \(cap \$10\.00\)$/)).toBeTruthy();
  });

  it("draws no cap lines without caps", () => {
    draw(<BudgetChart month={MONTH} daily_cap_usd={null} monthly_cap_usd={null} thresholds={[50]} />);
    expect(screen.queryByTestId("daily-cap")).toBeNull();
    expect(screen.queryByTestId("monthly-cap")).toBeNull();
    expect(screen.queryAllByTestId("threshold-mark")).toHaveLength(0);
    expect(caption()).toBe("Spent $22.00 this month; highest day $12.00.");
  });

  it("says there is no spend for an empty month", () => {
    draw(<BudgetChart month={[]} daily_cap_usd={5} monthly_cap_usd={null} thresholds={[]} />);
    expect(caption()).toBe("No spend this month.");
  });

  it("has no forecast without a pace", () => {
    expect(budgetRows(MONTH, { ...FORECAST, pace_usd_per_day: 0 }).every((r) => r.forecast === null)).toBe(true);
  });
});
