import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { useBackend } from "../backend/backend";
import type { Alert } from "../bindings/Alert";
import type { BudgetPeriod } from "../bindings/BudgetPeriod";
import type { PeriodSpend } from "../bindings/PeriodSpend";
import { SpendTrend, TREND_DAYS } from "../usage/SpendTrend";
import { formatDate, formatNumber, formatUsd } from "../format";
import { QueryError } from "../shared/notices";
import { ScreenHead } from "../shared/ScreenHead";
import { ForecastPanel, ResetsIn } from "../shared/budgets";

const PERIOD_LABEL: Record<BudgetPeriod, string> = { daily: "Today", weekly: "This week", monthly: "This month" };
const ORG = { kind: null, id: null } as const;

export function OverviewScreen() {
  const backend = useBackend();
  const overview = useQuery({ queryKey: ["overview"], queryFn: () => backend.overview() });
  const budget = useQuery({ queryKey: ["budgetStatus", ORG], queryFn: () => backend.budgetStatus(ORG) });
  const o = overview.data;

  return (
    <section className="screen insights" aria-labelledby="overview-title">
      <ScreenHead id="overview-title" showsDataAge title={o ? `Overview — ${o.org_name}` : "Overview"} />
      <QueryError error={overview.error ?? budget.error} />
      {o && (
        <div className="stat-grid">
          <Stat label="Seats used" testId="stat-seats">
            <span className="stat-value">
              {formatNumber(o.seats_used)} / {formatNumber(o.seat_limit)}
            </span>
            <meter className="seat-meter" min={0} max={Math.max(o.seat_limit, 1)} high={o.seat_limit * 0.9} value={o.seats_used} aria-label="Seats used of the limit" />
          </Stat>
          <Stat label="Total users" testId="stat-users">
            <span className="stat-value">{formatNumber(o.total_users)}</span>
          </Stat>
          <Stat label="Active now" testId="stat-active">
            <span className="stat-value">{formatNumber(o.active_now)}</span>
          </Stat>
          <Stat label="Pending invitations" testId="stat-invitations">
            <a className="stat-value stat-link" href="#invitations">
              {formatNumber(o.pending_invitations)}
            </a>
          </Stat>
          <Stat label="Spend this month" testId="stat-spend">
            <span className="stat-value">{formatUsd(o.spend_mtd_usd)}</span>
          </Stat>
        </div>
      )}
      <section className="panel" aria-labelledby="trend-title">
        <h2 id="trend-title">Spend by model, last {TREND_DAYS} days</h2>
        <SpendTrend title="Spend by model" />
      </section>
      {budget.data && <Budgets periods={budget.data.periods} />}
      {budget.data && (
        <section className="panel" aria-label="Forecast">
          <ForecastPanel forecast={budget.data.forecast} title="Forecast for the organisation" />
        </section>
      )}
      {o && <Alerts alerts={o.recent_alerts} />}
    </section>
  );
}

function Stat({ label, testId, children }: { label: string; testId: string; children: ReactNode }) {
  return (
    <div className="stat-card" data-testid={testId}>
      <span className="stat-label muted">{label}</span>
      {children}
    </div>
  );
}

/** A titled part of the screen, or what it says when it has nothing to show. */
function Panel({ id, title, emptyText, children }: { id: string; title: string; emptyText: string | null; children: ReactNode }) {
  return (
    <section className="panel" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {emptyText === null ? children : <p className="muted">{emptyText}</p>}
    </section>
  );
}

function Budgets({ periods }: { periods: PeriodSpend[] }) {
  return (
    <Panel id="budgets-title" title="Spend against budgets" emptyText={periods.length === 0 ? "No budget periods in the cache yet." : null}>
      <table className="data-table" data-testid="budget-periods">
        <thead>
          <tr>
            <th scope="col">Period</th>
            <th scope="col" className="num">Spent</th>
            <th scope="col" className="num">Cap</th>
            <th scope="col" className="num">Used</th>
            <th scope="col">Resets</th>
          </tr>
        </thead>
        <tbody>
          {periods.map((p) => (
            <tr key={p.period}>
              <th scope="row">
                {PERIOD_LABEL[p.period]} <span className="muted">from {formatDate(p.start)}</span>
              </th>
              <td className="num">{formatUsd(p.spent_usd)}</td>
              <td className="num">{p.cap_usd === null ? "No cap" : formatUsd(p.cap_usd)}</td>
              <td className="num">
                {p.percent === null ? (
                  "—"
                ) : (
                  <span className={p.crossed.length > 0 ? "over" : undefined}>{formatPercent(p.percent)}</span>
                )}
              </td>
              <td>
                <ResetsIn at={p.resets_at} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Panel>
  );
}

const SUBJECT_NAME: Record<Alert["subject_kind"], string> = { user: "User", group: "Group", key: "API key" };

function Alerts({ alerts }: { alerts: Alert[] }) {
  return (
    <Panel id="alerts-title" title="Recent budget alerts" emptyText={alerts.length === 0 ? "No budget alerts." : null}>
      <ul className="alert-list" data-testid="alerts">
        {alerts.map((a) => (
          <li key={a.id} data-testid="alert">
            <strong>
              {SUBJECT_NAME[a.subject_kind]} {a.subject_id}
            </strong>{" "}
            reached {a.threshold}% of its{" "}
            {a.period} budget from {formatDate(a.period_start)}: {formatUsd(a.spent_usd)} of {formatUsd(a.cap_usd)}
            <span className="muted"> · {formatDate(a.created_at)}</span>
          </li>
        ))}
      </ul>
    </Panel>
  );
}

function formatPercent(percent: number): string {
  return `${Math.round(percent)}%`;
}
