import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { createMockBackend, type MockBackend } from "../backend/mock";
import { formatDay, formatNumber } from "../format";
import { walkChart } from "../test/charts";
import { renderApp } from "../test/render";
import { localDay } from "./UsageScreen";

function open(backend: MockBackend = createMockBackend()) {
  window.location.hash = "#usage";
  const usageChart = vi.spyOn(backend, "usageChart");
  return { ...renderApp(backend), usageChart };
}

/** The chart's days as its tooltip reads them out, with the sum of each day's values. */
function chartDays(): { day: string; total: number }[] {
  return walkChart(screen.getByTestId("stacked-bars")).map(({ day, values }) => ({
    day,
    total: Object.entries(values)
      .filter(([name]) => name !== "Total")
      .reduce((a, [, v]) => a + Number(v.replace(/[^\d.]/g, "")), 0),
  }));
}

/** What the chart says it shows, in words. */
function summary(): string {
  return screen.getByTestId("stacked-bars").querySelector("figcaption")!.textContent!;
}

function footerCells(): string[] {
  const foot = screen.getByTestId("usage-table").querySelector("tfoot tr")!;
  return [...foot.children].map((c) => c.textContent ?? "");
}

describe("usage", () => {
  it("draws one bar per day of the last 30 days, stacked by user, with a legend", async () => {
    const { usageChart } = open();
    await screen.findByTestId("usage-table");
    await screen.findByTestId("stacked-bars");
    const days = chartDays();
    expect(days.map((d) => d.day)).toHaveLength(30);
    expect(days[0]!.day).toBe(formatDay(localDay(29)));
    expect(days[29]!.day).toBe(formatDay(localDay()));
    expect(usageChart.mock.calls[0]![0]).toMatchObject({ from: localDay(29), to: localDay(), group_by: "user" });
    // The mock's answer: 8 users then "Other".
    const legend = within(screen.getByRole("list", { name: "Legend" })).getAllByRole("listitem");
    expect(legend).toHaveLength(9);
    expect(legend[8]!.textContent).toBe("Other");
    expect(summary()).toMatch(/^Cost by user: \$[\d,.]+ over 30 days; /);
  });

  it("totals in the table equal the chart's", async () => {
    open();
    await screen.findByTestId("usage-table");
    await screen.findByTestId("stacked-bars");
    fireEvent.click(screen.getByRole("button", { name: "Requests" }));
    // Each day's exact values, as the tooltip says them, add up to the table's total.
    const requests = chartDays().reduce((sum, d) => sum + d.total, 0);
    expect(requests).toBeGreaterThan(0);
    expect(footerCells()[1]).toBe(formatNumber(requests));
    expect(summary()).toContain(`Requests by user: ${formatNumber(requests)} over 30 days`);
    fireEvent.click(screen.getByRole("button", { name: "Cost" }));
    expect(summary()).toContain(`Cost by user: ${footerCells()[4]} over 30 days`);
    // Every series row adds up to the total too.
    const rows = within(screen.getByTestId("usage-table").querySelector("tbody")!).getAllByRole("row");
    const byRows = rows.reduce((sum, r) => sum + Number(r.children[1]!.textContent!.replace(/\D/g, "")), 0);
    expect(byRows).toBe(requests);
  });

  it("asks again with the new grouping and range", async () => {
    const { usageChart } = open();
    await screen.findByTestId("usage-table");
    await screen.findByTestId("stacked-bars");
    fireEvent.change(screen.getByTestId("usage-group-by"), { target: { value: "model" } });
    await waitFor(() => expect(usageChart.mock.lastCall![0].group_by).toBe("model"));
    await waitFor(() => expect(within(screen.getByTestId("usage-table")).getByRole("rowheader", { name: "Echo" })).toBeTruthy());
    fireEvent.click(screen.getByRole("button", { name: "7 days" }));
    await waitFor(() => expect(summary()).toMatch(/ over 7 days/));
    expect(chartDays()).toHaveLength(7);
    expect(usageChart.mock.lastCall![0]).toMatchObject({ from: localDay(6), to: localDay(), group_by: "model" });
    expect(screen.getByRole("button", { name: "7 days" }).getAttribute("aria-pressed")).toBe("true");
  });

  it("stacks by API key and narrows to one key", async () => {
    const { usageChart } = open();
    await screen.findByTestId("usage-table");
    await screen.findByTestId("stacked-bars");
    fireEvent.change(screen.getByTestId("usage-group-by"), { target: { value: "key" } });
    await waitFor(() => expect(usageChart.mock.lastCall![0].group_by).toBe("key"));
    expect(await screen.findByRole("columnheader", { name: "API key" })).toBeTruthy();
    fireEvent.change(screen.getByLabelText("API key id"), { target: { value: " key_mock " } });
    await waitFor(() => expect(usageChart.mock.lastCall![0]).toMatchObject({ group_by: "key", key_id: "key_mock" }));
    // Every key's usage was asked for before one was named.
    expect(usageChart.mock.calls.some(([f]) => f.group_by === "key" && f.key_id === undefined)).toBe(true);
  });

  it("shows the backend's message for a range that ends before it starts", async () => {
    const backend = createMockBackend();
    const chart = backend.usageChart;
    // The core's refusal (crates/core checks the range).
    backend.usageChart = (filter) =>
      filter.to < filter.from ? Promise.reject({ code: "invalid", message: `The range ends (${filter.to}) before it starts (${filter.from}).` }) : chart(filter);
    open(backend);
    await screen.findByTestId("usage-table");
    await screen.findByTestId("stacked-bars");
    fireEvent.change(screen.getByTestId("usage-to"), { target: { value: "2020-01-01" } });
    expect((await screen.findByRole("alert")).textContent).toMatch(/^The range ends \(2020-01-01\) before it starts/);
    expect(screen.queryByTestId("usage-table")).toBeNull();
  });

  it("exports the current filter and says how many rows were saved", async () => {
    const backend = createMockBackend();
    const exportCsv = vi.spyOn(backend, "exportUsageCsv");
    backend.exportAnswer = 42;
    open(backend);
    await screen.findByTestId("usage-table");
    await screen.findByTestId("stacked-bars");
    fireEvent.change(screen.getByTestId("usage-group-by"), { target: { value: "workspace" } });
    fireEvent.click(screen.getByRole("button", { name: "Export CSV" }));
    expect((await screen.findByTestId("export-result")).textContent).toBe("Saved 42 rows");
    expect(exportCsv.mock.lastCall![0]).toMatchObject({ group_by: "workspace", from: localDay(29), to: localDay() });
  });

  it("says nothing when the save dialog is cancelled", async () => {
    const backend = createMockBackend();
    const exportCsv = vi.spyOn(backend, "exportUsageCsv");
    backend.exportAnswer = null;
    open(backend);
    await screen.findByTestId("usage-table");
    await screen.findByTestId("stacked-bars");
    fireEvent.click(screen.getByRole("button", { name: "Export CSV" }));
    await waitFor(() => expect(exportCsv).toHaveBeenCalledTimes(1));
    await waitFor(() => expect(screen.getByRole("button", { name: "Export CSV" }).hasAttribute("disabled")).toBe(false));
    expect(screen.queryByTestId("export-result")).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("token counts", () => {
  it("are compact from 100,000 on, with the exact count on hover", async () => {
    const { render } = await import("@testing-library/react");
    const { TokenCount } = await import("./UsageScreen");
    const { container } = render(
      <p>
        <TokenCount n={23_310_706} /> <TokenCount n={99_999} />
      </p>,
    );
    const compact = container.querySelector("[data-testid=token-count]")!;
    expect(compact.textContent).toBe("23.3M");
    expect(compact.getAttribute("title")).toBe("23,310,706");
    expect(container.textContent).toBe("23.3M 99,999");
  });
});
