// An in-memory backend for component tests. It answers from fixtures the tests set: it does not
// search, filter or sort like the cache, nor check profiles like the console (the Rust tests in
// crates/core/tests do); a test prepares the answer its filter or input gets.
import type { AuditExportFormat } from "../bindings/AuditExportFormat";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { AppStatus } from "../bindings/AppStatus";
import type { Change } from "../bindings/Change";
import type { Channel } from "../bindings/Channel";
import type { DeliveryAttempt } from "../bindings/DeliveryAttempt";
import type { GroupPolicy } from "../bindings/GroupPolicy";
import type { IdentitySettings } from "../bindings/IdentitySettings";
import type { IpcError } from "../bindings/IpcError";
import type { LogInfo } from "../bindings/LogInfo";
import type { ProfileInput } from "../bindings/ProfileInput";
import type { ProfileSummary } from "../bindings/ProfileSummary";
import type { Settings } from "../bindings/Settings";
import type { Role } from "../bindings/Role";
import type { ScimToken } from "../bindings/ScimToken";
import type { SsoProvider } from "../bindings/SsoProvider";
import type { SyncReport } from "../bindings/SyncReport";
import type { UpdateInfo } from "../bindings/UpdateInfo";
import type { UpdateProgress } from "../bindings/UpdateProgress";
import type { UsageGroupBy } from "../bindings/UsageGroupBy";
import type { UserFilter } from "../bindings/UserFilter";
import type { UserRow } from "../bindings/UserRow";
import type { UserStatus } from "../bindings/UserStatus";
import type { Backend } from "./backend";
import type { Permission } from "../shell/permissions";
import {
  answerFor,
  type Answer,
  auditOf,
  orgBudgetStatusOf,
  copyLink,
  invitationsOf,
  mockReads,
  pageOf,
  usageChartOf,
  type UsageSubject,
  userDetailOf,
  type MockReads,
} from "./mockReads";

/** A group that sets nothing, as the cache answers one without grants, limits or a budget. */
const NO_POLICY: GroupPolicy = {
  grants: [],
  limits: { requests_per_min: null, input_tokens_per_min: null, output_tokens_per_min: null, max_concurrent: null },
  budget: { daily_usd: null, weekly_usd: null, monthly_usd: null, alert_thresholds: [50, 80, 100] },
};

const FIRST = [
  "Avery", "Blake", "Casey", "Dana", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jo", "Kiran", "Lena",
  "Milo", "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tess", "Uma", "Vik", "Wren", "Yara",
];
const LAST = [
  "Quinn", "Adler", "Brooks", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
  "Jensen", "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Rossi", "Silva", "Tanaka",
  "Ueda", "Varga", "Weber", "Zhou",
];
const WORKSPACES = ["Platform", "Research", "Sales", "Support"];
const CREATED_BASE = Date.parse("2024-01-15T09:00:00Z");
const ACTIVE_BASE = Date.parse("2025-06-01T12:00:00Z");
const HOUR = 3_600_000;

function role(i: number): Role {
  const r = i % 12;
  if (r === 0) return "admin";
  if (r <= 2) return "operator";
  if (r <= 4) return "auditor";
  return "member";
}

function status(i: number): UserStatus {
  if (i % 9 === 4) return "pending";
  if (i % 13 === 7) return "suspended";
  return "active";
}

/** `count` users, the same ones every time, in the order of their ids; user 0 is Avery Quinn, an admin. */
export function mockUsers(count: number): UserRow[] {
  return Array.from({ length: count }, (_, i) => {
    const first = FIRST[i % FIRST.length]!;
    const last = LAST[Math.floor(i / FIRST.length) % LAST.length]!;
    // Names repeat after FIRST × LAST users; the e-mail stays unique.
    const suffix = i < FIRST.length * LAST.length ? "" : String(i);
    const bits = (i * 5 + 3) % 16;
    const st = status(i);
    return {
      id: `usr_${String(i).padStart(5, "0")}`,
      name: `${first} ${last}`,
      email: `${first}.${last}${suffix}@northwind.example`.toLowerCase(),
      role: role(i),
      status: st,
      workspaces: WORKSPACES.filter((_, w) => bits & (1 << w)),
      groups: [],
      created_at: new Date(CREATED_BASE + i * 37 * HOUR).toISOString(),
      last_active_at:
        st === "pending" || i % 7 === 3 ? null : new Date(ACTIVE_BASE - ((i * 53) % 2000) * HOUR).toISOString(),
      spend_mtd_usd: 0,
      scim_managed: i % 9 === 4,
    };
  });
}

export function readyStatus(overrides: Partial<AppStatus> = {}): AppStatus {
  return {
    phase: "ready",
    profile: { id: "demo", name: "Demo organisation (on this computer)", url: "http://127.0.0.1:4100", embedded: true, custom_ca: false, signed_in: true, insecure_http: false },
    me: {
      user: {
        id: "usr_00000",
        email: "avery.quinn@northwind.example",
        first_name: "Avery",
        last_name: "Quinn",
        role: "admin",
        status: "active",
        workspace_ids: [],
        created_at: new Date(CREATED_BASE).toISOString(),
        updated_at: new Date(CREATED_BASE).toISOString(),
        last_active_at: null,
        scim_managed: false,
        identity_issuer: null,
        identity_tenant: null,
        has_password: true,
        revision: 1,
        profile_id: null,
        profile_name: null,
      },
      workspace_roles: [],
      permissions: ADMIN_PERMISSIONS,
      org: {
        id: "org_1",
        name: "Northwind Labs",
        seat_limit: 100,
        seats_used: 64,
        invite_ttl_days: 7,
        time_zone: "UTC",
        require_approval: false,
        revision: 1,
        default_profile_id: null,
      },
    },
    offline: false,
    synced_at: new Date(Date.now() - 2 * 60_000).toISOString(),
    syncing: null,
    error: null,
    notice: null,
    ...overrides,
  };
}

/** Every permission: what the gateway gives an admin. */
export const ADMIN_PERMISSIONS: Permission[] = [
  "org.read",
  "org.write",
  "users.read",
  "users.write",
  "users.lifecycle",
  "invitations.read",
  "invitations.write",
  "workspaces.read",
  "workspaces.write",
  "groups.read",
  "groups.write",
  "models.read",
  "models.write",
  "policy.write",
  "keys.read",
  "keys.write",
  "usage.read",
  "audit.read",
  "identity.read",
  "identity.write",
  "notifications.read",
  "notifications.write",
];

/** What the gateway gives an auditor: read everything, change nothing. */
export const AUDITOR_PERMISSIONS: Permission[] = ADMIN_PERMISSIONS.filter((p) => p.endsWith(".read"));

/** The password the mock gateway accepts for any e-mail, and the token it accepts. */
export const MOCK_PASSWORD = "correct horse";
export const MOCK_TOKEN = "gw_mock_token";

/** A profile as the mock keeps it: what the UI sees, and the CA the UI never gets back. */
export interface MockProfile {
  summary: ProfileSummary;
  ca_pem: string | null;
}

function invalid(message: string): IpcError {
  return { code: "invalid", message };
}

export interface MockBackend extends Backend {
  /**
   * What `listUsers` answers a filter no `userAnswers` entry takes, whatever it asks for (paged
   * by its offset and limit); tests may replace it, then emit a new `synced_at`.
   */
  users: UserRow[];
  /** Prepared answers of `listUsers`, tried in order; the first whose `when` the filter has answers. */
  userAnswers: Answer<UserFilter, UserRow>[];
  status: AppStatus;
  /** Every filter `listUsers` was called with, oldest first. */
  readonly listUsersCalls: UserFilter[];
  /** When set, `listUsers` rejects with it. */
  listUsersError: IpcError | null;
  /** Replaces the status and tells the listeners, like the backend's `status` event. */
  emitStatus(status: AppStatus): void;
  /** The profiles, in the order `listProfiles` answers; the demo comes first. */
  profiles: MockProfile[];
  /**
   * What the core answers the next `addProfile` and `editProfile` calls, oldest first: the
   * profile as it keeps it, or its refusal. With none left, a profile is kept as entered.
   */
  profileAnswers: (MockProfile | IpcError)[];
  settings: Settings;
  /** The size `cacheInfo` reports; `clearCache` sets it to what a fresh sync takes. */
  cacheBytes: number;
  /** Every settings `setSettings` was called with, oldest first. */
  readonly setSettingsCalls: Settings[];
  /** Every change `applyChange` ran, oldest first. */
  readonly changes: Change[];
  version: string;
  /** What the screens' reads answer from. */
  reads: MockReads;
  /** What the export commands answer: rows written, or null (the admin cancelled the dialog). */
  exportAnswer: number | null;
  /** What the update server offers to `checkUpdate`: a newer version, or null. */
  updateOffer: UpdateInfo | null;
  /** What the last check found (`availableUpdate`); set it to play a check at start. */
  updateFound: UpdateInfo | null;
  /** The size of the offered download, reported in four progress steps. */
  updateSize: number;
  /** When set, `downloadUpdate` waits for it halfway through. */
  updateHalfway: Promise<void> | null;
  /** When set, `downloadUpdate` reports its progress, then refuses with this (a bad signature). */
  updateRefusal: IpcError | null;
  /** Plays a check (the one at start) finding `update`, as the backend's `update-found` event. */
  emitUpdateFound(update: UpdateInfo | null): void;
  /** The update steps run, oldest first: "check", "download", "install", "restart". */
  readonly updateSteps: string[];
  /** What `listScimTokens` answers (offline it refuses, as the gateway is not there to ask). */
  scimTokens: ScimToken[];
  /** What `listChannels` answers (offline it refuses, as the gateway is not there to ask). */
  channels: Channel[];
  /** What `listChannelDeliveries` answers, by channel id. */
  deliveries: Record<string, DeliveryAttempt[]>;
  /** Every `exportAudit` call, oldest first; each answers `exportAnswer`. */
  readonly auditExports: { filter: AuditFilter; format: AuditExportFormat }[];
  /** What `getIdentitySettings` answers (offline it refuses, like the SCIM tokens). */
  identitySettings: IdentitySettings;
  logs: LogInfo;
  /** How many times the log folder was opened. */
  logFolderOpened: number;
  /**
   * How the browser leg of `signInSso` ends: `"signed_in"`, or the core's refusal. Unset, it
   * waits until `cancelSso` (or until a test sets `finishSso`).
   */
  ssoOutcome: "signed_in" | IpcError | null;
  /** Ends a `signInSso` that is waiting, as the browser coming back would. */
  finishSso: ((outcome: "signed_in" | IpcError) => void) | null;
  /** The providers `signInSso` was called with, oldest first. */
  readonly ssoCalls: string[];
  /** What `listSsoProviders` answers for any profile. */
  ssoProviders: SsoProvider[];
}

/** Two SCIM tokens: one a provider uses, one never used. */
export function mockScimTokens(): ScimToken[] {
  return [
    { id: "stk_entra", name: "Entra ID production", created_by: "usr_00000", created_at: "2026-10-01T09:00:00Z", last_used_at: "2026-12-04T08:30:00Z" },
    { id: "stk_okta", name: "Okta staging", created_by: null, created_at: "2026-11-20T15:00:00Z", last_used_at: null },
  ];
}

/** One channel posting budget alerts to a chat tool, with a delivery that failed once. */
export function mockChannels(): Channel[] {
  return [
    {
      id: "chn_ops",
      name: "Ops alerts",
      url: "https://hooks.slack.example/services/T000/B000",
      format: "slack",
      events: ["budget.threshold_crossed", "budget.exhausted"],
      enabled: true,
      created_at: "2026-11-02T10:00:00Z",
      updated_at: "2026-11-02T10:00:00Z",
      revision: 900,
    },
  ];
}

export function mockDeliveries(): Record<string, DeliveryAttempt[]> {
  const base = { delivery_id: "dlv_1", event_id: "evt_1", event_type: "budget.threshold_crossed" as const, duration_ms: 42 };
  return {
    chn_ops: [
      { ...base, id: "att_2", attempt: 2, at: "2026-12-04T09:00:31Z", outcome: "delivered", status_code: 200, error: null, next_attempt_at: null },
      { ...base, id: "att_1", attempt: 1, at: "2026-12-04T09:00:00Z", outcome: "retrying", status_code: 500, error: "The receiver answered HTTP 500.", next_attempt_at: "2026-12-04T09:00:30Z" },
    ],
  };
}

/** Invite-only sign-in with Google set up, nothing required and nothing mapped yet. */
export function mockIdentitySettings(): IdentitySettings {
  return {
    providers: [{ id: "google", name: "Google" }],
    join_mode: "invite_only",
    jit_domains: [],
    jit_role: "member",
    microsoft_tenant: null,
    require_sso: false,
    break_glass_user_id: null,
    groups_claim: "groups",
    role_mapping: [],
    revision: 1,
  };
}

/** A newer version for the mock's update server to offer. */
export function mockUpdate(version = "0.2.0"): UpdateInfo {
  return { version, current_version: "0.1.0", notes: "Faster sync and a clearer audit log.", date: "2026-11-30T12:00:00Z" };
}

export function createMockBackend(
  options: { users?: number | UserRow[]; status?: AppStatus; profiles?: MockProfile[] } = {},
): MockBackend {
  const listeners = new Set<(s: AppStatus) => void>();
  const progressListeners = new Set<(p: UpdateProgress) => void>();
  const foundListeners = new Set<(u: UpdateInfo | null) => void>();
  const users = options.users ?? 64;
  const demo = readyStatus().profile!;
  const mock: MockBackend = {
    users: typeof users === "number" ? mockUsers(users) : users,
    userAnswers: [],
    status: options.status ?? readyStatus(),
    listUsersCalls: [],
    listUsersError: null,
    emitStatus(status) {
      mock.status = status;
      for (const cb of listeners) cb(status);
    },
    async appStatus() {
      return mock.status;
    },
    async listUsers(filter) {
      mock.listUsersCalls.push(filter);
      if (mock.listUsersError) throw mock.listUsersError;
      return pageOf(answerFor(mock.userAnswers, filter, mock.users), filter);
    },
    async syncNow(): Promise<SyncReport> {
      mock.emitStatus({ ...mock.status, syncing: { applied: 0, start: 0, revision: 0, head: 0 } });
      await Promise.resolve();
      const report = { applied: 0, revision: 1, synced_at: new Date().toISOString() };
      mock.emitStatus({ ...mock.status, syncing: null, offline: false, synced_at: report.synced_at });
      return report;
    },
    async onStatus(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },

    profiles: options.profiles ?? [{ summary: demo, ca_pem: null }],
    profileAnswers: [],
    settings: { sync_interval_secs: 300, check_updates_at_start: true, log_level: "info", theme: "system" },
    cacheBytes: 48 * 1024 * 1024,
    setSettingsCalls: [],
    changes: [],
    version: "0.1.0",

    async listProfiles() {
      return mock.profiles.map((p) => ({ ...p.summary }));
    },
    async addProfile(input) {
      const profile = answer(asEntered(`prf_${String(nextId++).padStart(4, "0")}`, input, null));
      mock.profiles.push(profile);
      return { ...profile.summary };
    },
    async editProfile(id, input) {
      const existing = find(id);
      const profile = answer(asEntered(id, input, existing));
      mock.profiles[mock.profiles.indexOf(existing)] = profile;
      if (isActive(id)) publish({ profile: activeSummary(profile) });
      return { ...profile.summary };
    },
    async removeProfile(id) {
      const removed = find(id);
      mock.profiles = mock.profiles.filter((p) => p !== removed);
      if (isActive(id)) publish({ phase: "signed_out", profile: null, me: null, offline: false, synced_at: null });
    },
    async activateProfile(id) {
      const profile = find(id);
      const signedIn = profile.summary.signed_in;
      publish({
        phase: signedIn ? "ready" : "signed_out",
        profile: activeSummary(profile),
        me: signedIn ? readyStatus().me : null,
        offline: false,
        syncing: null,
        error: null,
        notice: null,
        synced_at: profile.summary.embedded ? readyStatus().synced_at : null,
      });
    },
    async signIn(id, how) {
      const profile = find(id);
      if (how.method === "token") {
        if (how.token.trim() === "") throw invalid("Paste a token to sign in.");
        if (how.token.trim() !== MOCK_TOKEN) throw { code: "unauthorized", message: "The token is not valid." };
      } else if (how.password !== MOCK_PASSWORD) {
        throw { code: "unauthorized", message: "Wrong e-mail or password." } satisfies IpcError;
      }
      profile.summary.signed_in = true;
      await mock.activateProfile(id);
      return mock.status;
    },
    async signInSso(id, provider) {
      const profile = find(id);
      mock.ssoCalls.push(provider);
      const outcome =
        mock.ssoOutcome ??
        (await new Promise<"signed_in" | IpcError>((resolve) => {
          mock.finishSso = resolve;
        }));
      mock.finishSso = null;
      if (outcome !== "signed_in") throw outcome;
      profile.summary.signed_in = true;
      await mock.activateProfile(id);
      return mock.status;
    },
    async listSsoProviders(id) {
      find(id);
      return mock.ssoProviders;
    },
    async cancelSso() {
      mock.finishSso?.({ code: "cancelled", message: "The sign-in was cancelled." });
    },
    async signOut(id) {
      const profile = find(id);
      profile.summary.signed_in = false;
      if (isActive(id)) publish({ phase: "signed_out", profile: activeSummary(profile), me: null });
    },

    async getSettings() {
      return { ...mock.settings };
    },
    async setSettings(settings) {
      mock.setSettingsCalls.push(settings);
      mock.settings = { ...settings };
      return { ...mock.settings };
    },

    async cacheInfo() {
      const profile = mock.status.profile;
      if (!profile) throw { code: "no_profile", message: "No profile is open." } satisfies IpcError;
      return { profile_name: profile.name, bytes: mock.cacheBytes, synced_at: mock.status.synced_at };
    },
    async clearCache() {
      if (mock.status.phase === "signed_out") throw { code: "signed_out", message: "Not signed in to this profile." };
      if (mock.status.offline) throw { code: "offline", message: "The gateway is unreachable." };
      mock.cacheBytes = 4 * 1024 * 1024;
      await mock.syncNow();
      return mock.cacheInfo();
    },

    async applyChange(change) {
      if (mock.status.phase !== "ready") throw { code: "signed_out", message: "Not signed in to this profile." };
      if (mock.status.offline) throw { code: "offline", message: "The gateway is unreachable." };
      mock.changes.push(change);
      if (change.op === "set_identity_settings") {
        const { providers, revision } = mock.identitySettings;
        mock.identitySettings = { ...structuredClone(change.settings), providers, revision: revision + 1 };
        return { kind: "identity_settings", value: structuredClone(mock.identitySettings) };
      }
      return { kind: "done" };
    },

    async appVersion() {
      return mock.version;
    },

    updateOffer: null,
    updateFound: null,
    updateSize: 8 * 1024 * 1024,
    updateHalfway: null,
    updateRefusal: null,
    updateSteps: [],
    async checkUpdate() {
      mock.updateSteps.push("check");
      mock.emitUpdateFound(mock.updateOffer);
      return mock.updateFound;
    },
    async availableUpdate() {
      return mock.updateFound;
    },
    emitUpdateFound(update) {
      mock.updateFound = update;
      for (const cb of foundListeners) cb(update);
    },
    async onUpdateFound(cb) {
      foundListeners.add(cb);
      return () => foundListeners.delete(cb);
    },
    async downloadUpdate() {
      mock.updateSteps.push("download");
      const update = mock.updateFound;
      if (!update) throw { code: "no_update", message: "No update to download: check for updates first." } satisfies IpcError;
      for (let step = 1; step <= 4; step++) {
        await Promise.resolve();
        for (const cb of progressListeners) cb({ phase: "downloading", received: (mock.updateSize * step) / 4, total: mock.updateSize });
        if (step === 2 && mock.updateHalfway) await mock.updateHalfway;
      }
      if (mock.updateRefusal) throw mock.updateRefusal;
      for (const cb of progressListeners) cb({ phase: "verified" });
      return update;
    },
    async onUpdateProgress(cb) {
      progressListeners.add(cb);
      return () => progressListeners.delete(cb);
    },
    async installUpdate() {
      mock.updateSteps.push("install");
    },
    async restartApp() {
      mock.updateSteps.push("restart");
    },
    logs: { dir: "/home/avery/.local/share/dev.gatehouse.console/logs", level_from_env: false },
    logFolderOpened: 0,
    ssoOutcome: null,
    finishSso: null,
    ssoCalls: [],
    ssoProviders: [
      { id: "oidc", name: "Northwind SSO" },
      { id: "microsoft", name: "Microsoft" },
    ],
    async logInfo() {
      return { ...mock.logs };
    },
    async openLogFolder() {
      mock.logFolderOpened += 1;
    },
    reads: mockReads(),
    exportAnswer: 0,
    async overview() {
      return mock.reads.overview;
    },
    async userDetail(id) {
      return userDetailOf(mock.users, id);
    },
    async listInvitations(filter) {
      return invitationsOf(mock.reads, filter);
    },
    async copyInviteLink(id) {
      copyLink(mock.reads, id);
    },
    async copyInviteLinks(ids) {
      mock.reads.copiedLinks.push(...ids);
    },
    async bulkPreview(text) {
      return mock.reads.bulkPreviews[text] ?? [];
    },
    async usageChart(filter) {
      return usageChartOf(filter, usageSubjects(mock, filter.group_by));
    },
    async budgetStatus(subject) {
      return orgBudgetStatusOf(mock.reads, subject);
    },
    async listAudit(filter) {
      return auditOf(mock.reads, filter);
    },
    async auditCategories() {
      return mock.reads.auditCategories;
    },
    async listWorkspaces() {
      return mock.reads.workspaces;
    },
    async listGroups() {
      return mock.reads.groups;
    },
    async listGroupMembers(groupId) {
      return mock.reads.groupMembers[groupId] ?? [];
    },
    async groupPolicy(groupId) {
      return structuredClone(mock.reads.groupPolicies[groupId] ?? NO_POLICY);
    },
    async listModels() {
      return mock.reads.models;
    },
    scimTokens: mockScimTokens(),
    async listScimTokens() {
      if (mock.status.offline) throw { code: "offline", message: "The gateway is unreachable." } satisfies IpcError;
      return mock.scimTokens.map((t) => ({ ...t }));
    },
    channels: mockChannels(),
    deliveries: mockDeliveries(),
    auditExports: [],
    async listChannels() {
      if (mock.status.offline) throw { code: "offline", message: "The gateway is unreachable." } satisfies IpcError;
      return structuredClone(mock.channels);
    },
    async listChannelDeliveries(id) {
      if (mock.status.offline) throw { code: "offline", message: "The gateway is unreachable." } satisfies IpcError;
      return structuredClone(mock.deliveries[id] ?? []);
    },
    async exportAudit(filter, format) {
      mock.auditExports.push({ filter, format });
      return mock.exportAnswer;
    },
    identitySettings: mockIdentitySettings(),
    async getIdentitySettings() {
      if (mock.status.offline) throw { code: "offline", message: "The gateway is unreachable." } satisfies IpcError;
      return structuredClone(mock.identitySettings);
    },
    async exportUsersCsv() {
      return mock.exportAnswer;
    },
    async exportUsageCsv() {
      return mock.exportAnswer;
    },
    async listAccessProfiles() {
      return { profiles: mock.reads.accessProfiles, default_profile_id: mock.reads.defaultProfileId };
    },
  };

  let nextId = 1;
  function find(id: string): MockProfile {
    const profile = mock.profiles.find((p) => p.summary.id === id);
    if (!profile) throw { code: "no_profile", message: "No such profile." } satisfies IpcError;
    return profile;
  }
  /** The core's next prepared answer to a profile entered, or `entered` when there is none. */
  function answer(entered: MockProfile): MockProfile {
    const next = mock.profileAnswers.shift();
    if (!next) return entered;
    if ("code" in next) throw next;
    return { summary: { ...next.summary, id: entered.summary.id }, ca_pem: next.ca_pem };
  }
  function isActive(id: string): boolean {
    return mock.status.profile?.id === id;
  }
  function publish(changes: Partial<AppStatus>) {
    mock.emitStatus({ ...mock.status, ...changes });
  }
  return mock;
}

/** A profile kept as the admin entered it: a CA given replaces the one kept, `""` removes it. */
function asEntered(id: string, input: ProfileInput, existing: MockProfile | null): MockProfile {
  const ca_pem = input.ca_pem === null ? (existing?.ca_pem ?? null) : input.ca_pem || null;
  const summary = { id, name: input.name, url: input.url, embedded: false, custom_ca: ca_pem !== null, signed_in: existing?.summary.signed_in ?? false, insecure_http: input.insecure_http };
  return { summary, ca_pem };
}

/** A copy of the profile's summary, so what the UI holds does not change under it. */
function activeSummary(profile: MockProfile): ProfileSummary {
  return { ...profile.summary };
}

/** What usage is grouped by: the first 8 users and "Other", the models or the workspaces. */
function usageSubjects(mock: MockBackend, groupBy: UsageGroupBy): UsageSubject[] {
  switch (groupBy) {
    case "user":
      return [...mock.users.slice(0, 8).map((u) => ({ key: u.id, label: u.name })), { key: null, label: "Other" }];
    case "model":
      return mock.reads.models.map((m) => ({ key: m.id, label: m.display_name }));
    case "workspace":
      return mock.reads.workspaces.map((w) => ({ key: w.id, label: w.name }));
    case "key":
      return [{ key: "key_mock", label: "laptop" }];
  }
}

/** A gateway profile (not the demo) for tests, signed in unless told otherwise. */
export function mockProfile(id: string, name: string, overrides: Partial<ProfileSummary> = {}): MockProfile {
  const summary = { id, name, url: `https://${id}.gateway.example/`, embedded: false, custom_ca: false, signed_in: true, insecure_http: false };
  return { summary: { ...summary, ...overrides }, ca_pem: null };
}
