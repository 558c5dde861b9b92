// One user: their profile and role, lifecycle, memberships, models, limits, budget, usage by
// model, API keys and audit trail. Only what the admin's role may do is offered.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { Change } from "../bindings/Change";
import type { Role } from "../bindings/Role";
import type { User } from "../bindings/User";
import type { UserDetail } from "../bindings/UserDetail";
import { BudgetChart } from "../charts/lazy";
import { formatDateTime, formatResetsIn, formatUsd } from "../format";
import { fieldMessages, Field, FormError, TextField } from "../shared/forms";
import { actorText, targetText } from "../audit/names";
import { useChange } from "../shared/changes";
import { GROUP_ROLE_LABEL, ROLE_LABEL, ROLES, RoleOptions } from "../shared/roles";
import { useCan } from "../shell/permissions";
import { SpendTrend, TREND_DAYS } from "../usage/SpendTrend";
import { STATUS_LABEL } from "./columns";
import { ApiKeys } from "./ApiKeys";
import { UserPolicy } from "./UserPolicy";
import { ForecastPanel, resetsOf } from "../shared/budgets";
import { useNow } from "../shell/useNow";
import type { BudgetPeriod } from "../bindings/BudgetPeriod";
import type { Forecast } from "../bindings/Forecast";
import { dialogKeys } from "../shared/dialog";
import { SuspendConfirm } from "../shared/SuspendConfirm";

function resetsText(forecast: Forecast, period: BudgetPeriod, now: number): string | undefined {
  const at = resetsOf(forecast)[period];
  return at ? formatResetsIn(at, now) : undefined;
}


export function UserDetailScreen({ id }: { id: string }) {
  const backend = useBackend();
  const detail = useQuery({ queryKey: ["user", id], queryFn: () => backend.userDetail(id) });
  return (
    <section className="screen user-detail" aria-labelledby="user-title">
      <a href="#users" className="back-link">
        ← All users
      </a>
      {detail.error ? (
        <p className="form-error" role="alert">
          {toIpcError(detail.error).message}
        </p>
      ) : detail.data ? (
        <Loaded detail={detail.data} />
      ) : (
        <p className="muted">Loading…</p>
      )}
    </section>
  );
}

function fullName(user: User): string {
  return `${user.first_name} ${user.last_name}`.trim() || user.email;
}

function Loaded({ detail }: { detail: UserDetail }) {
  const { user } = detail;
  const can = useCan();
  return (
    <>
      <header className="user-head">
        <h1 id="user-title">{fullName(user)}</h1>
        <span className="muted">{user.email}</span>
        <span className="badge">{ROLE_LABEL[user.role]}</span>
        <span className={`pill pill-${user.status}`}>{STATUS_LABEL[user.status]}</span>
        <span className="muted">Spent {formatUsd(detail.spend_mtd_usd)} this month</span>
        {user.scim_managed && (
          <span className="badge" data-testid="scim-managed">
            {SCIM_MANAGED}
          </span>
        )}
        <span className="muted" data-testid="sign-in">
          {signInText(user)}
        </span>
        {user.profile_name !== null && (
          <span className="muted" data-testid="started-from">
            Started from profile {user.profile_name}
          </span>
        )}
      </header>
      {can("users.write") && <ProfileForm key={user.revision} user={user} />}
      {can("users.lifecycle") && <Lifecycle user={user} />}
      <Memberships detail={detail} />
      <UserPolicy key={`policy-${user.revision}`} detail={detail} />
      <BudgetSection detail={detail} />
      {can("usage.read") && <UsageTrend id={user.id} />}
      <ApiKeys detail={detail} />
      {can("audit.read") && <AuditTrail detail={detail} />}
    </>
  );
}

export const SCIM_MANAGED = "Managed by your identity provider (SCIM)";

// The provider an account is bound to, by the issuer the gateway recorded; another issuer is the
// organisation's own provider, named by its host.
function providerName(issuer: string): string {
  let host = issuer;
  try {
    host = new URL(issuer).host;
  } catch {
    // Not a URL: shown as recorded.
  }
  if (host === "accounts.google.com") return "Google";
  if (host === "login.microsoftonline.com") return "Microsoft";
  return host;
}

// How the person signs in, in plain words.
export function signInText(user: User): string {
  const provider = user.identity_issuer ? providerName(user.identity_issuer) : null;
  if (provider && user.has_password) return `Signs in with ${provider} or a password`;
  if (provider) return `Signs in with ${provider}`;
  if (user.has_password) return "Signs in with a password";
  return "No password and no identity provider account (tokens only)";
}
export const SCIM_MANAGED_REASON = "Your identity provider manages this account; change it there.";

const PROFILE_FIELDS = ["first_name", "last_name", "role"] as const;

function ProfileForm({ user }: { user: User }) {
  const runner = useChange();
  const [first, setFirst] = useState(user.first_name);
  const [last, setLast] = useState(user.last_name);
  const [role, setRole] = useState<Role>(user.role);
  const messages = fieldMessages(runner.error, PROFILE_FIELDS);
  const patch = {
    ...(first.trim() !== user.first_name && { first_name: first.trim() }),
    ...(last.trim() !== user.last_name && { last_name: last.trim() }),
    ...(role !== user.role && { role }),
  };
  const changed = Object.keys(patch).length > 0;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (changed) runner.run({ op: "patch_user", id: user.id, patch });
  }

  return (
    <form className="detail-section" aria-labelledby="profile-title" onSubmit={submit}>
      <h2 id="profile-title">Profile</h2>
      {user.scim_managed && (
        // The role stays the console's: SCIM carries who someone is, not what they may do here.
        <p className="muted" data-testid="scim-managed-reason">
          {SCIM_MANAGED_REASON}
        </p>
      )}
      <div className="form-row">
        <TextField label="First name" value={first} disabled={runner.pending || user.scim_managed} error={messages.first_name} onChange={(e) => setFirst(e.target.value)} />
        <TextField label="Last name" value={last} disabled={runner.pending || user.scim_managed} error={messages.last_name} onChange={(e) => setLast(e.target.value)} />
        <Field label="Role" error={messages.role}>
          {(p) => (
            <select {...p} value={role} disabled={runner.pending} onChange={(e) => setRole(ROLES.find((r) => r === e.target.value) ?? user.role)}>
              <RoleOptions />
            </select>
          )}
        </Field>
        <button type="submit" className="button primary" disabled={runner.pending || !changed}>
          {runner.pending ? "Saving…" : "Save profile"}
        </button>
      </div>
      <FormError error={runner.error} shown={PROFILE_FIELDS} />
    </form>
  );
}

/** The lifecycle changes that apply to a user in each status. */
type LifecycleOp = "suspend_user" | "reactivate_user" | "approve_user" | "decline_user" | "send_password_reset";
const ACTIONS: Record<User["status"], { label: string; op: LifecycleOp; done: string }[]> = {
  active: [
    { label: "Suspend…", op: "suspend_user", done: "Suspended." },
    { label: "Send password reset", op: "send_password_reset", done: "A password reset e-mail is on its way." },
  ],
  suspended: [{ label: "Reactivate", op: "reactivate_user", done: "Reactivated." }],
  pending: [
    { label: "Approve", op: "approve_user", done: "Approved." },
    { label: "Decline", op: "decline_user", done: "Declined." },
  ],
};

/** Whether an account is active is the identity provider's to say, for an account it manages. */
const PROVIDER_OPS: ReadonlySet<LifecycleOp> = new Set(["suspend_user", "reactivate_user"]);

function Lifecycle({ user }: { user: User }) {
  const runner = useChange();
  const [confirming, setConfirming] = useState(false);
  const [suspending, setSuspending] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const name = fullName(user);
  const deleteKeys = dialogKeys(() => setConfirming(false));
  const run = (change: Change, message: string, after?: () => void) => {
    setDone(null);
    runner.run(change, () => {
      setDone(message);
      after?.();
    });
  };

  return (
    <section className="detail-section" aria-labelledby="lifecycle-title">
      <h2 id="lifecycle-title">Account</h2>
      <div className="form-actions">
        {ACTIONS[user.status].map((a) => (
          <button
            key={a.op}
            type="button"
            className="button"
            disabled={runner.pending || (user.scim_managed && PROVIDER_OPS.has(a.op))}
            onClick={() => (a.op === "suspend_user" ? setSuspending(true) : run({ op: a.op, id: user.id }, a.done))}
          >
            {a.label}
          </button>
        ))}
        <button type="button" className="button danger" disabled={runner.pending} onClick={() => setConfirming(true)}>
          Delete…
        </button>
      </div>
      {user.scim_managed && (
        <p className="muted" data-testid="scim-managed-reason">
          {SCIM_MANAGED_REASON}
        </p>
      )}
      {suspending && (
        <SuspendConfirm
          who={name}
          pending={runner.pending}
          onCancel={() => setSuspending(false)}
          onConfirm={(reason) => run({ op: "suspend_user", id: user.id, ...(reason !== undefined && { reason }) }, "Suspended.", () => setSuspending(false))}
        />
      )}
      {confirming && (
        <div className="confirm" role="alertdialog" aria-labelledby="delete-title" aria-describedby="delete-text" {...deleteKeys}>
          <strong id="delete-title">Delete {name}?</strong>
          <p id="delete-text" data-testid="delete-confirmation">
            {name} ({user.email}) is deleted with their API keys, model grants, and workspace and group memberships. Their usage and
            audit history stay.
          </p>
          <div className="form-actions">
            <button
              type="button"
              className="button danger primary"
              disabled={runner.pending}
              onClick={() => run({ op: "delete_user", id: user.id }, `${name} was deleted.`, () => (window.location.hash = "#users"))}
            >
              Delete {name}
            </button>
            <button type="button" className="button" disabled={runner.pending} onClick={() => setConfirming(false)} autoFocus>
              Cancel
            </button>
          </div>
        </div>
      )}
      {done && (
        <p className="muted" role="status">
          {done}
        </p>
      )}
      <FormError error={runner.error} />
    </section>
  );
}

function Memberships({ detail }: { detail: UserDetail }) {
  return (
    <section className="detail-section memberships" aria-label="Workspaces and groups">
      <div>
        <h2>Workspaces</h2>
        <NamedRoles items={detail.workspaces.map((w) => ({ id: w.id, name: w.name, role: ROLE_LABEL[w.role] }))} none="In no workspace." />
      </div>
      <div>
        <h2>Groups</h2>
        <NamedRoles items={detail.groups.map((g) => ({ id: g.id, name: g.name, role: GROUP_ROLE_LABEL[g.role] }))} none="In no group." />
      </div>
    </section>
  );
}

function NamedRoles({ items, none }: { items: { id: string; name: string; role: string }[]; none: string }) {
  if (items.length === 0) return <p className="muted">{none}</p>;
  return (
    <ul className="plain-list">
      {items.map((i) => (
        <li key={i.id}>
          {i.name} <span className="muted">({i.role})</span>
        </li>
      ))}
    </ul>
  );
}

function BudgetSection({ detail }: { detail: UserDetail }) {
  const backend = useBackend();
  const id = detail.user.id;
  const status = useQuery({ queryKey: ["budget", "user", id], queryFn: () => backend.budgetStatus({ kind: "user", id }) });
  const now = useNow(60_000);
  return (
    <section className="detail-section" aria-labelledby="spend-title">
      <h2 id="spend-title">Spend this month</h2>
      {status.error ? (
        <p className="form-error" role="alert">
          {toIpcError(status.error).message}
        </p>
      ) : status.data ? (
        <>
          <BudgetChart
            month={status.data.month}
            daily_cap_usd={status.data.daily_cap_usd}
            monthly_cap_usd={status.data.monthly_cap_usd}
            daily_cap_group={status.data.daily_cap_group}
            monthly_cap_group={status.data.monthly_cap_group}
            thresholds={detail.budget.alert_thresholds}
            dailyResets={resetsText(status.data.forecast, "daily", now)}
            monthlyResets={resetsText(status.data.forecast, "monthly", now)}
            forecast={status.data.forecast}
          />
          <ForecastPanel forecast={status.data.forecast} />
        </>
      ) : null}
    </section>
  );
}

/** What the user spent on each model, day by day, over the last 30 days. */
function UsageTrend({ id }: { id: string }) {
  return (
    <section className="detail-section" aria-labelledby="trend-title">
      <h2 id="trend-title">Usage by model, last {TREND_DAYS} days</h2>
      <SpendTrend title="Cost by model" userId={id} withTable />
    </section>
  );
}

function AuditTrail({ detail }: { detail: UserDetail }) {
  return (
    <section className="detail-section" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit trail</h2>
      {detail.audit.length === 0 ? (
        <p className="muted">Nothing recorded.</p>
      ) : (
        <ol className="plain-list audit-trail">
          {detail.audit.map((e) => (
            <li key={e.id} data-testid="audit-entry">
              <time dateTime={e.at}>{formatDateTime(e.at)}</time> <code>{e.action}</code>{" "}
              <span className="muted">
                {e.actor_id === detail.user.id ? "by this user" : `by ${actorText(e, detail.audit_names)}`}
                {e.target_id === detail.user.id ? "" : ` on ${targetText(e, detail.audit_names)}`}
              </span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
