// A stacked bar chart in plain SVG: one bar per day (or any step), one colour per series from
// a small palette of CSS variables (so it follows the light or dark theme), the last colour
// kept for "Other". The bars are a picture; the numbers are in the screen's table.

export interface StackedSeries {
  label: string;
  /** The catch-all series ("Other"): drawn in its own neutral colour. */
  other: boolean;
}

export interface StackedBar {
  key: string;
  /** What the bar is, e.g. its day, for its tooltip. */
  label: string;
  /** One value per series, in the order of `series`. */
  values: number[];
}

const PALETTE = 8;
const WIDTH = 720;
const HEIGHT = 220;
const GAP = 0.2;

/** The fill of series `index` (or the "Other" one). */
export function seriesColor(index: number, other: boolean): string {
  return other ? "var(--series-other)" : `var(--series-${(index % PALETTE) + 1})`;
}

export function StackedBars(props: {
  series: StackedSeries[];
  bars: StackedBar[];
  /** How a value reads: "$12.50", "1,204". */
  format: (value: number) => string;
  /** What the chart shows, for the summary read out in place of the picture. */
  title: string;
}) {
  const { series, bars, format, title } = props;
  const totals = bars.map((b) => b.values.reduce((a, v) => a + v, 0));
  const max = Math.max(0, ...totals);
  const step = bars.length === 0 ? WIDTH : WIDTH / bars.length;
  const barWidth = step * (1 - GAP);
  const scale = max === 0 ? 0 : HEIGHT / max;
  const seriesTotals = series.map((_, i) => bars.reduce((a, b) => a + (b.values[i] ?? 0), 0));
  const grand = totals.reduce((a, v) => a + v, 0);
  const summary =
    `${title}: ${format(grand)} over ${bars.length} ${bars.length === 1 ? "day" : "days"}` +
    (series.length === 0 ? "" : `; ${series.map((s, i) => `${s.label} ${format(seriesTotals[i]!)}`).join(", ")}`);

  return (
    <figure className="stacked-bars">
      <svg
        role="img"
        aria-label={summary}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        width="100%"
        height={HEIGHT}
        data-testid="stacked-bars"
      >
        <line className="axis" x1={0} x2={WIDTH} y1={HEIGHT - 0.5} y2={HEIGHT - 0.5} />
        {bars.map((bar, b) => {
          let y = HEIGHT;
          return (
            <g key={bar.key} data-testid="bar" data-total={totals[b]}>
              <title>{`${bar.label}: ${format(totals[b]!)}`}</title>
              {bar.values.map((v, i) => {
                const h = v * scale;
                y -= h;
                if (h <= 0) return null;
                return (
                  <rect key={i} x={b * step + (step - barWidth) / 2} y={y} width={barWidth} height={h} fill={seriesColor(i, series[i]?.other ?? false)} />
                );
              })}
            </g>
          );
        })}
      </svg>
      {bars.length > 0 && (
        <div className="bar-axis muted" aria-hidden="true">
          <span>{bars[0]!.label}</span>
          <span>{bars[bars.length - 1]!.label}</span>
        </div>
      )}
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
