// The mock backend's answers to the screens' reads: plain data the tests may replace. A read
// with a filter answers a prepared answer for that filter, or the plain data whatever it asks;
// the mock never filters, searches or sorts like the cache.
import type { BulkPreviewItem } from "../bindings/BulkPreviewItem";
import type { AccessProfile } from "../bindings/AccessProfile";
import type { BudgetPeriod } from "../bindings/BudgetPeriod";
import type { Forecast } from "../bindings/Forecast";
import type { PeriodForecast } from "../bindings/PeriodForecast";
import type { AuditEntry } from "../bindings/AuditEntry";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { AuditRows } from "../bindings/AuditRows";
import type { BudgetStatus } from "../bindings/BudgetStatus";
import type { GroupMemberRow } from "../bindings/GroupMemberRow";
import type { GroupPolicy } from "../bindings/GroupPolicy";
import type { GroupRow } from "../bindings/GroupRow";
import type { InvitationFilter } from "../bindings/InvitationFilter";
import type { InvitationRow } from "../bindings/InvitationRow";
import type { InvitationRows } from "../bindings/InvitationRows";
import type { IpcError } from "../bindings/IpcError";
import type { Model } from "../bindings/Model";
import type { Overview } from "../bindings/Overview";
import type { PeriodSpend } from "../bindings/PeriodSpend";
import type { SpendSubject } from "../bindings/SpendSubject";
import type { UsageChart } from "../bindings/UsageChart";
import type { UsageFilter } from "../bindings/UsageFilter";
import type { UsageTotals } from "../bindings/UsageTotals";
import type { UserDetail } from "../bindings/UserDetail";
import type { UserRow } from "../bindings/UserRow";
import type { WorkspaceRow } from "../bindings/WorkspaceRow";

/** A prepared answer: every filter with the values in `when` gets `rows`. */
export interface Answer<F, R> {
  when: Partial<F>;
  rows: R[];
}

/** The rows of the first of `answers` that `filter` has the values of, else `otherwise`. */
export function answerFor<F extends object, R>(answers: readonly Answer<F, R>[], filter: F, otherwise: R[]): R[] {
  const found = answers.find((a) => Object.entries(a.when).every(([key, value]) => filter[key as keyof F] === value));
  return found?.rows ?? otherwise;
}

/** The page `window` takes of `rows`, with their count. */
export function pageOf<R>(rows: readonly R[], window: { offset: number; limit: number }): { total: number; rows: R[] } {
  return { total: rows.length, rows: rows.slice(window.offset, window.offset + window.limit) };
}

export interface MockReads {
  /** What `listInvitations` answers a filter no `invitationAnswers` entry takes. */
  invitations: InvitationRow[];
  invitationAnswers: Answer<InvitationFilter, InvitationRow>[];
  workspaces: WorkspaceRow[];
  groups: GroupRow[];
  groupMembers: Record<string, GroupMemberRow[]>;
  /** What `groupPolicy` answers, by group id; others set nothing. */
  groupPolicies: Record<string, GroupPolicy>;
  models: Model[];
  /** What `listAudit` answers a filter no `auditAnswers` entry takes, in its order (newest first). */
  audit: AuditEntry[];
  auditAnswers: Answer<AuditFilter, AuditEntry>[];
  /** What `auditCategories` answers. */
  auditCategories: string[];
  /** What the audit's actors and targets are called, by id, as the cache answers them. */
  names: Record<string, string>;
  /** What `overview` answers. */
  overview: Overview;
  /** The org's budget periods, as `budgetStatus` answers them for the org. */
  orgPeriods: PeriodSpend[];
  /** Ids whose link `copyInviteLink` or `copyInviteLinks` put on the clipboard, oldest first. */
  readonly copiedLinks: string[];
  /** What `bulkPreview` answers, by the exact text; any other text previews as nothing. */
  bulkPreviews: Record<string, BulkPreviewItem[]>;
  /** What `listAccessProfiles` answers: the profiles and the org's default. */
  accessProfiles: AccessProfile[];
  defaultProfileId: string | null;
  /** What `budgetStatus` answers a user or group, by `kind:id`; others get an empty status. */
  budgets: Record<string, BudgetStatus>;
}

export function mockReads(): MockReads {
  const at = new Date(Date.UTC(2026, 10, 1)).toISOString();
  return {
    invitations: [],
    invitationAnswers: [],
    workspaces: [
      { id: "ws_research", name: "Research", slug: "research", member_count: 20, created_at: at },
      { id: "ws_support", name: "Support", slug: "support", member_count: 12, created_at: at },
    ],
    groups: [],
    groupMembers: {},
    groupPolicies: {},
    models: [
      {
        id: "echo",
        display_name: "Echo",
        provider: "echo",
        upstream_base_url: null,
        input_usd_per_mtok: 0.5,
        output_usd_per_mtok: 1.5,
        created_at: at,
        revision: 1,
      },
    ],
    audit: [],
    auditAnswers: [],
    auditCategories: ["group", "user", "workspace"],
    names: {},
    overview: {
      org_name: "Northwind Labs",
      seats_used: 64,
      seat_limit: 100,
      total_users: 64,
      active_now: 0,
      pending_invitations: 0,
      spend_mtd_usd: 0,
      recent_alerts: [],
    },
    orgPeriods: [],
    copiedLinks: [],
    bulkPreviews: {},
    accessProfiles: [],
    defaultProfileId: null,
    budgets: {},
  };
}

const ZERO: UsageTotals = { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };

function notFound(what: string): IpcError {
  return { code: "not_found", message: `No such ${what} in the cache.` };
}

export function userDetailOf(users: readonly UserRow[], id: string): UserDetail {
  const row = users.find((u) => u.id === id);
  if (!row) throw notFound("user");
  const [first_name = "", ...rest] = row.name.split(" ");
  const none = { value: null, source: null };
  return {
    user: {
      id: row.id,
      email: row.email,
      first_name,
      last_name: rest.join(" "),
      role: row.role,
      status: row.status,
      scim_managed: row.scim_managed,
      identity_issuer: null,
      identity_tenant: null,
      has_password: true,
      workspace_ids: [],
      created_at: row.created_at,
      updated_at: row.created_at,
      last_active_at: row.last_active_at,
      revision: 1,
      profile_id: null,
      profile_name: null,
    },
    workspaces: [],
    groups: [],
    grants: [],
    limits: { requests_per_min: null, input_tokens_per_min: null, output_tokens_per_min: null, max_concurrent: null },
    budget: { daily_usd: null, weekly_usd: null, monthly_usd: null, alert_thresholds: [50, 80, 100] },
    effective: {
      user_id: row.id,
      grants: [],
      limits: { requests_per_min: none, input_tokens_per_min: none, output_tokens_per_min: none, max_concurrent: none },
      budget: { daily_usd: none, weekly_usd: none, monthly_usd: none },
    },
    api_keys: [],
    audit: [],
    audit_names: {},
    spend_mtd_usd: row.spend_mtd_usd,
    key_effective: {},
    key_spend_mtd_usd: {},
  };
}

export function invitationsOf(reads: MockReads, filter: InvitationFilter): InvitationRows {
  return pageOf(answerFor(reads.invitationAnswers, filter, reads.invitations), filter);
}

/** A series of a usage chart: a user, model or workspace, or (key null) the cache's "Other". */
export interface UsageSubject {
  key: string | null;
  label: string;
}

/**
 * Every day of the filter's range, each of `subjects` with a made-up but deterministic amount a
 * day, in the order given: which series the cache keeps and how it orders them is its own
 * (crates/core/tests/queries.rs), not the fixture's.
 */
export function usageChartOf(filter: UsageFilter, subjects: readonly UsageSubject[] = []): UsageChart {
  const dayKeys: string[] = [];
  for (let d = new Date(`${filter.from}T00:00:00Z`); d.toISOString().slice(0, 10) <= filter.to; d.setUTCDate(d.getUTCDate() + 1)) {
    dayKeys.push(d.toISOString().slice(0, 10));
  }
  const used = subjects.map((s) => dayKeys.map((day) => demoUsage(s.key ?? "other", day)));
  const series = subjects.map((s, i) => ({ key: s.key, label: s.label, total: sumTotals(used[i]!) }));
  const days = dayKeys.map((day, d) => {
    const values = used.map((u) => u[d]!);
    return { day, values, total: sumTotals(values) };
  });
  return { series, days, total: sumTotals(days.map((d) => d.total)) };
}

/** One subject's usage on one day: a small hash of both, so every run agrees. */
function demoUsage(key: string, day: string): UsageTotals {
  let h = 2166136261;
  for (const c of `${key}|${day}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  const requests = h % 40;
  const input_tokens = requests * (200 + (h % 300));
  const output_tokens = requests * (50 + ((h >>> 8) % 150));
  // Whole cents, so sums stay exact in tests.
  const cost_usd = Math.round(input_tokens / 2000 + output_tokens / 700) / 100;
  return { requests, input_tokens, output_tokens, cost_usd };
}

export function sumTotals(all: readonly UsageTotals[]): UsageTotals {
  return all.reduce(
    (t, v) => ({
      requests: t.requests + v.requests,
      input_tokens: t.input_tokens + v.input_tokens,
      output_tokens: t.output_tokens + v.output_tokens,
      cost_usd: Math.round((t.cost_usd + v.cost_usd) * 100) / 100,
    }),
    ZERO,
  );
}

const HOUR_MS = 3_600_000;

/**
 * A forecast with nothing spent. Its reset instants are fixed offsets from `now`, not the period
 * rule (which only the Rust side computes): a fixture, for screens to show.
 */
export function quietForecast(now: number = Date.now()): Forecast {
  const at = (hours: number) => new Date(now + hours * HOUR_MS).toISOString();
  const period = (p: BudgetPeriod, hours: number): PeriodForecast => ({
    period: p,
    cap_usd: null,
    spent_usd: 0,
    resets_at: at(hours),
    runs_out_on: null,
  });
  return {
    as_of: at(0),
    time_zone: "UTC",
    pace_usd_per_day: 0,
    pace_days: 0,
    month_to_date_usd: 0,
    month_end_usd: 0,
    periods: [period("daily", 5), period("weekly", 76), period("monthly", 20 * 24)],
  };
}

export function budgetStatusOf(subject: SpendSubject): BudgetStatus {
  return {
    subject,
    time_zone: "UTC",
    periods: [],
    daily_cap_usd: null,
    daily_cap_group: null,
    monthly_cap_group: null,
    monthly_cap_usd: null,
    month: [],
    forecast: quietForecast(),
  };
}

/** The org's status: its periods from `reads`; a user's or group's from `reads.budgets`. */
export function orgBudgetStatusOf(reads: MockReads, subject: SpendSubject): BudgetStatus {
  const set = subject.kind === null ? undefined : reads.budgets[`${subject.kind}:${subject.id}`];
  if (set) return set;
  const status = budgetStatusOf(subject);
  return subject.kind === null ? { ...status, periods: reads.orgPeriods } : status;
}

export function auditOf(reads: MockReads, filter: AuditFilter): AuditRows {
  return { ...pageOf(answerFor(reads.auditAnswers, filter, reads.audit), filter), names: reads.names };
}

export function copyLink(reads: MockReads, id: string): void {
  const row = reads.invitations.find((r) => r.invitation.id === id);
  if (!row) throw notFound("invitation");
  if (!row.has_link) throw { code: "invalid", message: "This invitation has no link in the cache." };
  reads.copiedLinks.push(id);
}
