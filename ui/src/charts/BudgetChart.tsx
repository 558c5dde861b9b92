// A month of spend against its caps, over the whole month (30 or 31 slots, the days to come
// empty): daily bars against the daily cap above; the month-to-date line against the monthly cap
// below, with the forecast at the current pace to the month's end. Each cap and each of its
// alert thresholds is a labelled line.
import { Bar, BarChart, CartesianGrid, Cell, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from "recharts";
import type { BudgetStatus } from "../bindings/BudgetStatus";
import type { DaySpend } from "../bindings/DaySpend";
import type { Forecast } from "../bindings/Forecast";
import { formatCompactUsd, formatUsd } from "../format";
import { CHART_MARGIN, DAY_AXIS, useChartSize, valueAxis, ValuesTooltip } from "./kit";

const PANEL = 180;

type Props = Pick<BudgetStatus, "month" | "daily_cap_usd" | "monthly_cap_usd"> &
  Partial<Pick<BudgetStatus, "daily_cap_group" | "monthly_cap_group">> & {
    /** Alert thresholds, in percent of each cap. */
    thresholds: readonly number[];
    /** Said next to each cap: when its period resets ("resets in 5 h 12 min"). */
    dailyResets?: string | undefined;
    monthlyResets?: string | undefined;
    /** The pace to the month's end, drawn after today when there is one. */
    forecast?: Forecast | undefined;
  };

/** Every day (`YYYY-MM-DD`) of the month `day` is in; this month's without a day. */
export function monthDays(day: string | undefined): string[] {
  const now = new Date();
  const [y, m] = day ? day.split("-").map(Number) : [now.getFullYear(), now.getMonth() + 1];
  const count = new Date(Date.UTC(y!, m!, 0)).getUTCDate();
  const pad = (n: number) => String(n).padStart(2, "0");
  return Array.from({ length: count }, (_, i) => `${y}-${pad(m!)}-${pad(i + 1)}`);
}

/** " (group Engineering's)" when a cap is a group's rather than the subject's own. */
function whose(group: string | null | undefined): string {
  return group ? ` (group ${group}'s)` : "";
}

/** What the chart shows, in words: for screen readers, and as its caption. */
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

/** ", from group Engineering" in a cap's label when it is a group's. */
function groupOf(group: string | null | undefined): string {
  return group ? ` from group ${group}` : "";
}

interface Row {
  day: string;
  spent: number | null;
  cumulative: number | null;
  forecast: number | null;
}

/** The month's rows: spend up to today, the forecast from today on at the forecast's pace. */
export function budgetRows(month: DaySpend[], forecast: Forecast | undefined): Row[] {
  const byDay = new Map(month.map((d) => [d.day, d]));
  const last = month.at(-1);
  const pace = forecast && forecast.pace_usd_per_day > 0 ? forecast.pace_usd_per_day : null;
  let ahead = 0;
  return monthDays(month[0]?.day).map((day) => {
    const d = byDay.get(day);
    const past = last !== undefined && day <= last.day;
    // The forecast starts where the spend so far ends, so the two lines meet.
    let projected: number | null = null;
    if (pace !== null && last !== undefined && day >= last.day) {
      projected = last.cumulative_usd + pace * ahead;
      ahead += 1;
    }
    return {
      day,
      spent: d ? d.spent_usd : past ? 0 : null,
      cumulative: d ? d.cumulative_usd : null,
      forecast: projected,
    };
  });
}

/** A cap line and a dashed line at each alert threshold under it, each labelled. */
function capLines(cap: number | null, name: string, testId: string, thresholds: readonly number[]) {
  if (cap === null) return null;
  return [
    <ReferenceLine
      key="cap"
      y={cap}
      className="chart-cap"
      ifOverflow="extendDomain"
      label={{ value: `${name} ${formatUsd(cap)}`, position: "insideTopRight", className: "chart-cap-label", "data-testid": testId } as object}
    />,
    // The cap's own line is its 100 % mark.
    ...thresholds.filter((t) => t !== 100).map((t) => (
      <ReferenceLine
        key={`t${t}`}
        y={(cap * t) / 100}
        className="chart-threshold"
        strokeDasharray="4 4"
        label={{ value: `${t} % alert`, position: "insideBottomLeft", className: "chart-threshold-label", "data-testid": "threshold-mark" } as object}
      />
    )),
  ];
}

export function BudgetChart(props: Props) {
  const { month, daily_cap_usd: dailyCap, monthly_cap_usd: monthlyCap, thresholds, forecast } = props;
  const size = useChartSize(PANEL);
  const rows = budgetRows(month, forecast);
  const hasForecast = rows.some((r) => r.forecast !== null);
  const summary = budgetSummary(props);
  const monthEnd = hasForecast && forecast ? ` Forecast ${formatUsd(forecast.month_end_usd)} by the month's end at ${formatUsd(forecast.pace_usd_per_day)} a day.` : "";

  return (
    <figure className="budget-chart chart" data-testid="budget-chart">
      <figcaption className="visually-hidden">
        {summary}
        {monthEnd}
      </figcaption>
      <p className="chart-label">
        Daily spend{dailyCap === null ? "" : ` (cap ${formatUsd(dailyCap)}${groupOf(props.daily_cap_group)}${props.dailyResets ? `, ${props.dailyResets}` : ""})`}
      </p>
      <BarChart {...size} data={rows} title={`Daily spend. ${summary}`} margin={CHART_MARGIN} barCategoryGap="15%">
        <CartesianGrid vertical={false} className="chart-grid" />
        <XAxis {...DAY_AXIS} />
        <YAxis {...valueAxis(formatCompactUsd, "USD")} />
        <Tooltip
          cursor={{ className: "chart-cursor" }}
          isAnimationActive={false}
          content={({ active, label }) => {
            const row = rows.find((r) => r.day === label);
            return (
              <ValuesTooltip active={active} label={label} rows={[{ name: "Spent", value: row?.spent ?? 0, color: "var(--series-1)" }]} format={formatUsd} />
            );
          }}
        />
        <Bar dataKey="spent" name="Spent" isAnimationActive={false} fill="var(--series-1)">
          {rows.map((r) => (
            <Cell key={r.day} className={dailyCap !== null && (r.spent ?? 0) > dailyCap ? "bar over" : "bar"} data-testid="spend-bar" />
          ))}
        </Bar>
        {capLines(dailyCap, "Daily cap", "daily-cap", thresholds)}
      </BarChart>

      <p className="chart-label">
        Month to date{monthlyCap === null ? "" : ` (cap ${formatUsd(monthlyCap)}${groupOf(props.monthly_cap_group)}${props.monthlyResets ? `, ${props.monthlyResets}` : ""})`}
      </p>
      <LineChart {...size} data={rows} title={`Month to date. ${summary}${monthEnd}`} margin={CHART_MARGIN}>
        <CartesianGrid vertical={false} className="chart-grid" />
        <XAxis {...DAY_AXIS} />
        <YAxis {...valueAxis(formatCompactUsd, "USD")} />
        <Tooltip
          cursor={{ className: "chart-cursor" }}
          isAnimationActive={false}
          content={({ active, label }) => {
            const row = rows.find((r) => r.day === label);
            const shown = [];
            if (row?.cumulative != null) shown.push({ name: "Month to date", value: row.cumulative, color: "var(--series-1)" });
            if (row?.forecast != null && row.cumulative == null) shown.push({ name: "Forecast", value: row.forecast, color: "var(--series-2)" });
            return <ValuesTooltip active={active} label={label} rows={shown} format={formatUsd} />;
          }}
        />
        <Line dataKey="cumulative" name="Month to date" stroke="var(--series-1)" strokeWidth={2} dot={false} isAnimationActive={false} className="cumulative" />
        {hasForecast && (
          <Line dataKey="forecast" name="Forecast" stroke="var(--series-2)" strokeWidth={2} strokeDasharray="6 4" dot={false} isAnimationActive={false} className="forecast" />
        )}
        {capLines(monthlyCap, "Monthly cap", "monthly-cap", thresholds)}
      </LineChart>
      <ul className="legend" aria-label="Legend">
        <li>
          <span className="swatch" style={{ background: "var(--series-1)" }} aria-hidden="true" />
          Spend
        </li>
        {dailyCap !== null && (
          <li>
            <span className="swatch swatch-over" aria-hidden="true" />
            Over the daily cap
          </li>
        )}
        {hasForecast && (
          <li>
            <span className="swatch swatch-dashed" aria-hidden="true" />
            Forecast at the current pace{forecast ? `: ${formatUsd(forecast.month_end_usd)} by the month's end` : ""}
          </li>
        )}
        {(dailyCap !== null || monthlyCap !== null) && (
          <li>
            <span className="swatch swatch-cap" aria-hidden="true" />
            Cap, and its alert thresholds dashed
          </li>
        )}
      </ul>
    </figure>
  );
}
