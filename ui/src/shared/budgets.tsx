// What every budget on the console says besides its cap: when it resets ("resets in 3 d 4 h") and
// where spend is heading (the forecast). The instants and the forecast come from the Rust side,
// computed in the org's time zone by the gateway's own rules; this only shows them.
import type { BudgetPeriod } from "../bindings/BudgetPeriod";
import type { Forecast } from "../bindings/Forecast";
import { formatDay, formatResetsIn, formatUsd } from "../format";
import { useNow } from "../shell/useNow";

export const PERIOD_NAME: Record<BudgetPeriod, string> = { daily: "Daily", weekly: "Weekly", monthly: "Monthly" };

/** When each budget period resets, from a forecast (which carries all three). */
export function resetsOf(forecast: Forecast): Partial<Record<BudgetPeriod, string>> {
  return Object.fromEntries(forecast.periods.map((p) => [p.period, p.resets_at]));
}

/** "resets in 3 d 4 h", kept current while the screen is open. */
export function ResetsIn({ at }: { at: string | undefined }) {
  const now = useNow(60_000);
  if (!at) return null;
  return (
    <span className="muted resets-in" data-testid="resets-in" title={new Date(at).toLocaleString()}>
      {formatResetsIn(at, now)}
    </span>
  );
}

/** Month-end spend at the current pace, and the day each capped budget runs out at it. */
export function ForecastPanel({ forecast, title = "Forecast" }: { forecast: Forecast; title?: string }) {
  const capped = forecast.periods.filter((p) => p.cap_usd !== null);
  const basis =
    forecast.pace_days > 0
      ? `${formatUsd(forecast.pace_usd_per_day)} a day over the last ${forecast.pace_days} ${forecast.pace_days === 1 ? "day" : "days"}`
      : `${formatUsd(forecast.pace_usd_per_day)} today so far`;
  return (
    <div className="forecast" data-testid="forecast">
      <h3>{title}</h3>
      <p data-testid="forecast-month-end">
        Month-end spend: <strong>{formatUsd(forecast.month_end_usd)}</strong>{" "}
        <span className="muted">
          ({formatUsd(forecast.month_to_date_usd)} so far; at {basis})
        </span>
      </p>
      {capped.length > 0 && (
        <ul className="plain-list" data-testid="forecast-periods">
          {capped.map((p) => (
            <li key={p.period} data-testid={`forecast-${p.period}`}>
              {PERIOD_NAME[p.period]} budget {formatUsd(p.cap_usd!)}: {formatUsd(p.spent_usd)} spent,{" "}
              {p.runs_out_on === null ? "does not run out at this pace" : <strong>runs out {formatDay(p.runs_out_on)}</strong>}{" "}
              · <ResetsIn at={p.resets_at} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
