import { fireEvent, within } from "@testing-library/react";

export interface ChartDay {
  /** The day as the tooltip says it. */
  day: string;
  /** The tooltip's rows: series name → exact value as shown. */
  values: Record<string, string>;
}

/**
 * The days of the chart `svg` belongs to, as its tooltip reads them out while the arrow keys
 * walk it from the first day: what a keyboard user hears.
 */
export function walkChart(figure: HTMLElement, svg: Element = figure.querySelector("svg[tabindex='0']")!): ChartDay[] {
  fireEvent.focus(svg);
  const read = (): ChartDay => {
    const tip = within(figure).getByTestId("chart-tooltip");
    const values: Record<string, string> = {};
    for (const row of tip.querySelectorAll("tbody tr")) values[row.querySelector("th")!.textContent!] = row.querySelector("td")!.textContent!;
    return { day: tip.querySelector(".chart-tooltip-day")!.textContent!, values };
  };
  // Focus may resume where the keys left it last time: back to the first day.
  for (let i = 0, last = ""; i < 400 && read().day !== last; i++) {
    last = read().day;
    fireEvent.keyDown(svg, { key: "ArrowLeft" });
  }
  const days: ChartDay[] = [];
  for (let i = 0; i < 400; i++) {
    const now = read();
    if (days.at(-1)?.day === now.day) break;
    days.push(now);
    fireEvent.keyDown(svg, { key: "ArrowRight" });
  }
  fireEvent.blur(svg);
  return days;
}
