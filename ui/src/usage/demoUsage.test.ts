import { describe, expect, it } from "vitest";
import { sumTotals, usageChartOf } from "../backend/mockReads";
import type { UsageFilter } from "../bindings/UsageFilter";

const FILTER: UsageFilter = { from: "2026-11-01", to: "2026-11-10", group_by: "user", top: 3, user_id: null, group_id: null, model_id: null, workspace_id: null };
const SUBJECTS = [...["a", "b", "c"].map((k) => ({ key: k, label: k.toUpperCase() })), { key: null, label: "Other" }];

describe("the mock's demo usage", () => {
  it("has every day of the range and each subject in the order given, and adds up across days and series", () => {
    const chart = usageChartOf(FILTER, SUBJECTS);
    expect(chart.days.map((d) => d.day)).toHaveLength(10);
    expect(chart.series.map((s) => s.label)).toEqual(["A", "B", "C", "Other"]);
    chart.series.forEach((s, i) => expect(sumTotals(chart.days.map((d) => d.values[i]!))).toEqual(s.total));
    expect(sumTotals(chart.series.map((s) => s.total))).toEqual(chart.total);
    expect(chart.total.requests).toBeGreaterThan(0);
  });

  it("answers the same every time, and nothing without subjects", () => {
    expect(usageChartOf(FILTER, SUBJECTS)).toEqual(usageChartOf(FILTER, SUBJECTS));
    const empty = usageChartOf(FILTER);
    expect(empty.series).toEqual([]);
    expect(empty.days).toHaveLength(10);
  });
});
