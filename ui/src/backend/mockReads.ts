// The mock backend's answers to the screens' reads: plain data the tests may replace, derived
// from the mock's users where the real cache would derive it from its tables.
import type { AuditEntry } from "../bindings/AuditEntry";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { AuditRows } from "../bindings/AuditRows";
import type { BudgetStatus } from "../bindings/BudgetStatus";
import type { GroupMemberRow } from "../bindings/GroupMemberRow";
import type { GroupRow } from "../bindings/GroupRow";
import type { InvitationFilter } from "../bindings/InvitationFilter";
import type { InvitationRow } from "../bindings/InvitationRow";
import type { InvitationRows } from "../bindings/InvitationRows";
import type { IpcError } from "../bindings/IpcError";
import type { Model } from "../bindings/Model";
import type { Overview } from "../bindings/Overview";
import type { SpendSubject } from "../bindings/SpendSubject";
import type { UsageChart } from "../bindings/UsageChart";
import type { UsageFilter } from "../bindings/UsageFilter";
import type { UsageTotals } from "../bindings/UsageTotals";
import type { UserDetail } from "../bindings/UserDetail";
import type { UserRow } from "../bindings/UserRow";
import type { WorkspaceRow } from "../bindings/WorkspaceRow";

export interface MockReads {
  invitations: InvitationRow[];
  workspaces: WorkspaceRow[];
  groups: GroupRow[];
  groupMembers: Record<string, GroupMemberRow[]>;
  models: Model[];
  audit: AuditEntry[];
  /** Ids whose link `copyInviteLink` put on the clipboard, oldest first. */
  readonly copiedLinks: string[];
}

export function mockReads(): MockReads {
  const at = new Date(Date.UTC(2026, 10, 1)).toISOString();
  return {
    invitations: [],
    workspaces: [
      { id: "ws_research", name: "Research", slug: "research", member_count: 20, created_at: at },
      { id: "ws_support", name: "Support", slug: "support", member_count: 12, created_at: at },
    ],
    groups: [],
    groupMembers: {},
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
    copiedLinks: [],
  };
}

const ZERO: UsageTotals = { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };

function notFound(what: string): IpcError {
  return { code: "not_found", message: `No such ${what} in the cache.` };
}

export function overviewOf(users: UserRow[], reads: MockReads, seatLimit: number, org: string): Overview {
  const pending = reads.invitations.filter((r) => r.invitation.status === "pending").length;
  return {
    org_name: org,
    seats_used: users.length + pending,
    seat_limit: seatLimit,
    total_users: users.length,
    active_now: 0,
    pending_invitations: pending,
    spend_mtd_usd: users.reduce((sum, u) => sum + u.spend_mtd_usd, 0),
    recent_alerts: [],
  };
}

export function userDetailOf(users: UserRow[], id: string): UserDetail {
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
      workspace_ids: [],
      created_at: row.created_at,
      updated_at: row.created_at,
      last_active_at: row.last_active_at,
      revision: 1,
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
    spend_mtd_usd: row.spend_mtd_usd,
  };
}

export function invitationsOf(reads: MockReads, filter: InvitationFilter): InvitationRows {
  const rows = reads.invitations.filter((r) => filter.status === null || r.invitation.status === filter.status);
  const limit = filter.limit === 0 ? 100 : filter.limit;
  return { total: rows.length, rows: rows.slice(filter.offset, filter.offset + limit) };
}

/** Every day of the range with nothing used: the mock has no usage unless a test gives some. */
export function usageChartOf(filter: UsageFilter): UsageChart {
  if (filter.to < filter.from) {
    throw { code: "invalid", message: `The range ends (${filter.to}) before it starts (${filter.from}).` };
  }
  const days = [];
  for (let d = new Date(`${filter.from}T00:00:00Z`); d.toISOString().slice(0, 10) <= filter.to; d.setUTCDate(d.getUTCDate() + 1)) {
    days.push({ day: d.toISOString().slice(0, 10), values: [], total: ZERO });
  }
  return { series: [], days, total: ZERO };
}

export function budgetStatusOf(subject: SpendSubject): BudgetStatus {
  return { subject, time_zone: "UTC", periods: [], daily_cap_usd: null, monthly_cap_usd: null, month: [] };
}

export function auditOf(reads: MockReads, filter: AuditFilter): AuditRows {
  const rows = reads.audit.filter(
    (e) =>
      (filter.actor_id === null || e.actor_id === filter.actor_id) &&
      (filter.target_id === null || e.target_id === filter.target_id) &&
      (filter.action === null || e.action === filter.action),
  );
  const limit = filter.limit === 0 ? 100 : filter.limit;
  return { total: rows.length, rows: rows.slice(filter.offset, filter.offset + limit) };
}

export function copyLink(reads: MockReads, id: string): void {
  const row = reads.invitations.find((r) => r.invitation.id === id);
  if (!row) throw notFound("invitation");
  if (!row.has_link) throw { code: "invalid", message: "This invitation has no link in the cache." };
  reads.copiedLinks.push(id);
}
