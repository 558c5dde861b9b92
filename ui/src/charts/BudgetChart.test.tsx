import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { BudgetChart } from "./BudgetChart";

const MONTH = [
  { day: "2026-11-01", spent_usd: 4, cumulative_usd: 4 },
  { day: "2026-11-02", spent_usd: 12, cumulative_usd: 16 },
  { day: "2026-11-03", spent_usd: 6, cumulative_usd: 22 },
];

describe("BudgetChart", () => {
  it("draws a bar a day, both caps and a mark per threshold and cap, and says what it shows", () => {
    render(<BudgetChart month={MONTH} daily_cap_usd={10} monthly_cap_usd={200} thresholds={[50, 80]} />);
    const chart = screen.getByRole("img");
    const bars = screen.getAllByTestId("spend-bar");
    expect(bars).toHaveLength(3);
    // Heights follow spend: the 12-dollar day is three times the 4-dollar one.
    const heights = bars.map((b) => Number(b.getAttribute("height")));
    expect(heights[1]! / heights[0]!).toBeCloseTo(3);
    expect(bars.map((b) => b.getAttribute("class"))).toEqual(["bar", "bar over", "bar"]);
    expect(screen.getByTestId("daily-cap")).toBeTruthy();
    expect(screen.getByTestId("monthly-cap")).toBeTruthy();
    expect(screen.getByTestId("cumulative-line").getAttribute("d")?.split("L")).toHaveLength(3);
    expect(screen.getAllByTestId("threshold-mark")).toHaveLength(4);
    // The daily cap sits below the 12-dollar bar's top (smaller y is higher).
    const capY = Number(screen.getByTestId("daily-cap").getAttribute("y1"));
    expect(capY).toBeGreaterThan(Number(bars[1]!.getAttribute("y")));
    expect(chart.getAttribute("aria-label")).toBe(
      "Spent $22.00 this month of a $200.00 monthly cap; highest day $12.00 against a $10.00 daily cap; 1 day over the daily cap.",
    );
  });

  it("names the group a cap comes from when it is not the subject's own", () => {
    render(<BudgetChart month={MONTH} daily_cap_usd={10} monthly_cap_usd={150} monthly_cap_group="Engineering" daily_cap_group={null} thresholds={[]} />);
    expect(screen.getByRole("img").getAttribute("aria-label")).toBe(
      "Spent $22.00 this month of a $150.00 monthly cap (group Engineering's); highest day $12.00 against a $10.00 daily cap; 1 day over the daily cap.",
    );
    expect(screen.getByText(/^Month to date \(cap \$150\.00 from group Engineering\)$/)).toBeTruthy();
    expect(screen.getByText(/^Daily spend \(cap \$10\.00\)$/)).toBeTruthy();
  });

  it("draws no cap lines without caps", () => {
    render(<BudgetChart month={MONTH} daily_cap_usd={null} monthly_cap_usd={null} thresholds={[50]} />);
    expect(screen.getAllByTestId("spend-bar")).toHaveLength(3);
    expect(screen.queryByTestId("daily-cap")).toBeNull();
    expect(screen.queryByTestId("monthly-cap")).toBeNull();
    expect(screen.queryAllByTestId("threshold-mark")).toHaveLength(0);
    expect(screen.getByRole("img").getAttribute("aria-label")).toBe("Spent $22.00 this month; highest day $12.00.");
  });

  it("says there is no spend for an empty month", () => {
    render(<BudgetChart month={[]} daily_cap_usd={5} monthly_cap_usd={null} thresholds={[]} />);
    expect(screen.queryAllByTestId("spend-bar")).toHaveLength(0);
    expect(screen.getByRole("img").getAttribute("aria-label")).toBe("No spend this month.");
  });
});
