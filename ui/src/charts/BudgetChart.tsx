// A month of spend against its caps, in plain SVG: daily bars against the daily cap above, the
// cumulative line against the monthly cap below, each with its alert thresholds marked.
import type { BudgetStatus } from "../bindings/BudgetStatus";
import { formatUsd } from "./usd";

const WIDTH = 640;
const PANEL = 120;
const GAP = 28;
const LEFT = 8;
const RIGHT = 8;
const TOP = 16;
const HEIGHT = TOP + PANEL + GAP + PANEL + 8;

type Props = Pick<BudgetStatus, "month" | "daily_cap_usd" | "monthly_cap_usd"> &
  Partial<Pick<BudgetStatus, "daily_cap_group" | "monthly_cap_group">> & {
  /** Alert thresholds, in percent of each cap. */
  thresholds: readonly number[];
  /** Said next to each cap: when its period resets ("resets in 5 h 12 min"). */
  dailyResets?: string | undefined;
  monthlyResets?: string | undefined;
};

/** The days of the month the data starts in (the x axis covers the whole month). */
function daysInMonth(day: string | undefined): number {
  if (!day) return 30;
  const [y, m] = day.split("-").map(Number);
  return new Date(Date.UTC(y!, m!, 0)).getUTCDate();
}

/** What the chart shows, in words: for screen readers, and as its tooltip. */
/** " (group Engineering's)" when a cap is a group's rather than the subject's own. */
function whose(group: string | null | undefined): string {
  return group ? ` (group ${group}'s)` : "";
}

export function budgetSummary({ month, daily_cap_usd, monthly_cap_usd, daily_cap_group, monthly_cap_group }: Props): string {
  if (month.length === 0) return "No spend this month.";
  const total = month.at(-1)!.cumulative_usd;
  const peak = Math.max(...month.map((d) => d.spent_usd));
  const parts = [
    `Spent ${formatUsd(total)} this month${monthly_cap_usd === null ? "" : ` of a ${formatUsd(monthly_cap_usd)} monthly cap${whose(monthly_cap_group)}`}`,
    `highest day ${formatUsd(peak)}${daily_cap_usd === null ? "" : ` against a ${formatUsd(daily_cap_usd)} daily cap${whose(daily_cap_group)}`}`,
  ];
  if (daily_cap_usd !== null) {
    const over = month.filter((d) => d.spent_usd > daily_cap_usd).length;
    parts.push(`${over} ${over === 1 ? "day" : "days"} over the daily cap`);
  }
  return `${parts.join("; ")}.`;
}

export function BudgetChart(props: Props) {
  const { month, daily_cap_usd: dailyCap, monthly_cap_usd: monthlyCap, thresholds } = props;
  const days = daysInMonth(month[0]?.day);
  const slot = (WIDTH - LEFT - RIGHT) / days;
  const x = (i: number) => LEFT + i * slot;

  const dailyMax = Math.max(dailyCap ?? 0, ...month.map((d) => d.spent_usd)) || 1;
  const dailyY = (v: number) => TOP + PANEL - (v / dailyMax) * PANEL;
  const cumTop = TOP + PANEL + GAP;
  const cumMax = Math.max(monthlyCap ?? 0, month.at(-1)?.cumulative_usd ?? 0) || 1;
  const cumY = (v: number) => cumTop + PANEL - (v / cumMax) * PANEL;
  const line = month.map((d, i) => `${i === 0 ? "M" : "L"}${x(i) + slot / 2},${cumY(d.cumulative_usd)}`).join(" ");

  return (
    <svg
      className="budget-chart"
      role="img"
      aria-label={budgetSummary(props)}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      width="100%"
      data-testid="budget-chart"
    >
      <text x={LEFT} y={TOP - 4} className="chart-label">
        Daily spend{dailyCap === null ? "" : ` (cap ${formatUsd(dailyCap)}${groupOf(props.daily_cap_group)}${props.dailyResets ? `, ${props.dailyResets}` : ""})`}
      </text>
      {month.map((d, i) => {
        const h = (d.spent_usd / dailyMax) * PANEL;
        const over = dailyCap !== null && d.spent_usd > dailyCap;
        return (
          <rect
            key={d.day}
            data-testid="spend-bar"
            className={over ? "bar over" : "bar"}
            x={x(i) + slot * 0.15}
            y={TOP + PANEL - h}
            width={slot * 0.7}
            height={h}
          >
            <title>{`${d.day}: ${formatUsd(d.spent_usd)}`}</title>
          </rect>
        );
      })}
      {dailyCap !== null && (
        <CapLine testId="daily-cap" y={dailyY(dailyCap)} marks={thresholds.map((t) => dailyY((dailyCap * t) / 100))} />
      )}

      <text x={LEFT} y={cumTop - 4} className="chart-label">
        Month to date{monthlyCap === null ? "" : ` (cap ${formatUsd(monthlyCap)}${groupOf(props.monthly_cap_group)}${props.monthlyResets ? `, ${props.monthlyResets}` : ""})`}
      </text>
      {month.length > 0 && <path d={line} className="cumulative" data-testid="cumulative-line" />}
      {monthlyCap !== null && (
        <CapLine testId="monthly-cap" y={cumY(monthlyCap)} marks={thresholds.map((t) => cumY((monthlyCap * t) / 100))} />
      )}
    </svg>
  );
}

/** ", from group Engineering" in a cap's label when it is a group's. */
function groupOf(group: string | null | undefined): string {
  return group ? ` from group ${group}` : "";
}

/** A cap across the panel, and a tick at each alert threshold below it. */
function CapLine({ testId, y, marks }: { testId: string; y: number; marks: number[] }) {
  return (
    <g>
      <line data-testid={testId} className="cap" x1={LEFT} x2={WIDTH - RIGHT} y1={y} y2={y} />
      {marks.map((my, i) => (
        <line key={i} data-testid="threshold-mark" className="threshold" x1={WIDTH - RIGHT - 10} x2={WIDTH - RIGHT} y1={my} y2={my} />
      ))}
    </g>
  );
}
