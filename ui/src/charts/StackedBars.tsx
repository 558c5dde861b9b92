// A stacked bar chart of days: one colour per series from a small palette of CSS variables (so
// it follows the light or dark theme), the last colour kept for "Other"; a y axis in the
// measure's unit, dates along the x axis, a legend, and a tooltip with each series' exact value.
import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis } from "recharts";
import { CHART_MARGIN, DAY_AXIS, useChartSize, valueAxis, ValuesTooltip } from "./kit";

export interface StackedSeries {
  label: string;
  /** The catch-all series ("Other"): drawn in its own neutral colour. */
  other: boolean;
}

export interface StackedBar {
  /** The day, `YYYY-MM-DD`. */
  day: string;
  /** One value per series, in the order of `series`. */
  values: number[];
}

const PALETTE = 8;
const HEIGHT = 240;

/** The fill of series `index` (or the "Other" one). */
export function seriesColor(index: number, other: boolean): string {
  return other ? "var(--series-other)" : `var(--series-${(index % PALETTE) + 1})`;
}

export function StackedBars(props: {
  series: StackedSeries[];
  bars: StackedBar[];
  /** How a value reads exactly: "$12.50", "1,204". */
  format: (value: number) => string;
  /** How a value reads on the axis, where space is short: "$1.2K", "23.3M". */
  compact: (value: number) => string;
  /** The y axis' unit: "USD", "requests". */
  unit: string;
  /** What the chart shows, for the summary read out in place of the picture. */
  title: string;
}) {
  const { series, bars, format, compact, unit, title } = props;
  const size = useChartSize(HEIGHT);
  const totals = bars.map((b) => b.values.reduce((a, v) => a + v, 0));
  const seriesTotals = series.map((_, i) => bars.reduce((a, b) => a + (b.values[i] ?? 0), 0));
  const grand = totals.reduce((a, v) => a + v, 0);
  const summary =
    `${title}: ${format(grand)} over ${bars.length} ${bars.length === 1 ? "day" : "days"}` +
    (series.length === 0 ? "" : `; ${series.map((s, i) => `${s.label} ${format(seriesTotals[i]!)}`).join(", ")}`);
  const data = bars.map((b, d) => ({ day: b.day, total: totals[d], ...Object.fromEntries(b.values.map((v, i) => [`s${i}`, v])) }));

  return (
    <figure className="stacked-bars chart" data-testid="stacked-bars">
      <BarChart {...size} data={data} title={summary} margin={CHART_MARGIN} barCategoryGap="20%">
        <CartesianGrid vertical={false} className="chart-grid" />
        <XAxis {...DAY_AXIS} />
        <YAxis {...valueAxis(compact, unit)} />
        <Tooltip
          cursor={{ className: "chart-cursor" }}
          isAnimationActive={false}
          content={({ active, label }) => {
            const bar = bars.find((b) => b.day === label);
            const rows = series.map((s, i) => ({ name: s.label, value: bar?.values[i] ?? 0, color: seriesColor(i, s.other) }));
            return <ValuesTooltip active={active} label={label} rows={rows} format={format} total />;
          }}
        />
        {series.map((s, i) => (
          <Bar key={i} dataKey={`s${i}`} name={s.label} stackId="stack" fill={seriesColor(i, s.other)} isAnimationActive={false} />
        ))}
      </BarChart>
      <figcaption className="visually-hidden">{summary}</figcaption>
      {series.length > 0 && (
        <ul className="legend" aria-label="Legend">
          {series.map((s, i) => (
            <li key={i}>
              <span className="swatch" style={{ background: seriesColor(i, s.other) }} aria-hidden="true" />
              {s.label}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
