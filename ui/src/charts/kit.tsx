// What every chart shares: its size, its axes' formats, and a tooltip with exact values. The
// charts are Recharts (SVG, so the theme's CSS colours apply and axe can read them); its
// accessibility layer moves the tooltip with the arrow keys once a chart has focus.
import { createContext, useContext, type CSSProperties } from "react";
import { formatDay, formatShortDay } from "../format";

/**
 * A fixed chart width, for tests: the DOM they run in lays nothing out, so a chart that sizes
 * itself to its container would be 0 wide there. The app leaves it unset.
 */
export const FixedChartWidth = createContext<number | undefined>(undefined);

/** The size props of a chart `height` pixels tall: as wide as its container, or the fixed width. */
export function useChartSize(height: number): { width?: number; height?: number; responsive?: boolean; style?: CSSProperties } {
  const fixed = useContext(FixedChartWidth);
  return fixed === undefined ? { responsive: true, style: { width: "100%", height } } : { width: fixed, height };
}

/** The space around a chart's plot, for its axes' labels. */
export const CHART_MARGIN = { top: 8, right: 8, bottom: 0, left: 4 };

/** The props of an x axis of `YYYY-MM-DD` days. */
export const DAY_AXIS = {
  dataKey: "day",
  tickFormatter: (day: string) => formatShortDay(day),
  minTickGap: 16,
  tick: { className: "chart-tick" },
  tickLine: false,
} as const;

/** The props of a y axis of values formatted with `format` and labelled with `unit`. */
export function valueAxis(format: (n: number) => string, unit: string, width = 64) {
  return {
    tickFormatter: format,
    // Steps of 1, 2 or 5 times a power of ten: ticks that read as round amounts.
    niceTicks: "snap125" as const,
    width,
    tick: { className: "chart-tick" },
    tickLine: false,
    axisLine: false,
    label: { value: unit, angle: -90, position: "insideLeft" as const, className: "chart-unit", offset: 4 },
  };
}

export interface TooltipRow {
  name: string;
  value: number;
  color: string;
}

/** The tooltip's content: the day, then each series with its exact value, then their total. */
export function ValuesTooltip({
  active,
  label,
  rows,
  format,
  total,
}: {
  active: boolean | undefined;
  label: string | number | undefined;
  rows: TooltipRow[];
  format: (n: number) => string;
  total?: boolean;
}) {
  if (!active || label === undefined) return null;
  const shown = rows.filter((r) => r.value !== 0);
  return (
    <div className="chart-tooltip" data-testid="chart-tooltip">
      <p className="chart-tooltip-day">{formatDay(String(label))}</p>
      {shown.length === 0 ? (
        <p className="muted">Nothing</p>
      ) : (
        <table>
          <tbody>
            {shown.map((r) => (
              <tr key={r.name}>
                <th scope="row">
                  <span className="swatch" style={{ background: r.color }} aria-hidden="true" />
                  {r.name}
                </th>
                <td className="num">{format(r.value)}</td>
              </tr>
            ))}
            {total && shown.length > 1 && (
              <tr className="chart-tooltip-total">
                <th scope="row">Total</th>
                <td className="num">{format(shown.reduce((a, r) => a + r.value, 0))}</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}
