//! Model grants, rate limits and budgets of users and groups, and the effective policy of a user:
//! for each limit and budget period the strictest of the user's own value and every group's.
//!
//! Who may change them: `policy.write` (admins, operators) for anyone. A group's managers act
//! on the group's plain members (never on themselves or a co-manager), and only so far as
//! leaves nobody with more than the group gives or less than an admin chose for them to keep:
//! - a grant only of a model the group grants, recorded as given through the group, so that it
//!   goes when the member leaves the group; never a grant someone holds on their own;
//! - limits and budgets within the group's own caps, and never looser than the member's own
//!   values as they stand: a manager tightens, an admin or operator loosens. Where the group
//!   sets no cap, that means the manager may not loosen anything, not that anything goes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::effective::{SubjectPolicy, USER_SOURCE};
use gatehouse_api::{
    Budget, EffectivePolicy, Grant, Limits, SubjectBudget, SubjectKind, SubjectLimits, SyncChange,
    SyncKind,
};
use serde_json::json;

use crate::auth::Caller;
use crate::db::{self, Tx, next_revision};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::permissions::Permission;
use crate::{AppState, audit, groups};

async fn subject_exists(tx: &mut Tx, kind: SubjectKind, id: &str) -> ApiResult<()> {
    let sql = match kind {
        SubjectKind::User => "SELECT COUNT(*) FROM users WHERE id = $1",
        SubjectKind::Group => "SELECT COUNT(*) FROM groups WHERE id = $1",
    };
    let n: i64 = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    if n == 0 {
        return Err(ApiError::not_found(kind.as_str()));
    }
    Ok(())
}

/// Reading a subject's policy: anyone who may read users/groups or write policy, the user
/// themselves, and the managers of the groups concerned (of a plain member's, as for writing).
async fn require_read(
    state: &AppState,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
) -> ApiResult<()> {
    let by_role = match kind {
        SubjectKind::User => caller.allows(Permission::UsersRead) || caller.user_id == id,
        SubjectKind::Group => caller.allows(Permission::GroupsRead),
    };
    if by_role || caller.allows(Permission::PolicyWrite) {
        return Ok(());
    }
    let manager = match kind {
        SubjectKind::User => !groups::managed_over(&state.db.pool, &caller.user_id, id)
            .await?
            .is_empty(),
        SubjectKind::Group => groups::manages(&state.db.pool, &caller.user_id, id).await?,
    };
    if manager {
        Ok(())
    } else {
        Err(ApiError::forbidden("read this policy"))
    }
}

/// The groups through which a manager (without `policy.write`) may change a user's policy;
/// `None` when the caller has `policy.write`.
async fn manager_scope(
    tx: &mut Tx,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
) -> ApiResult<Option<Vec<String>>> {
    if caller.allows(Permission::PolicyWrite) {
        return Ok(None);
    }
    if kind == SubjectKind::User {
        if id == caller.user_id {
            return Err(ApiError::forbidden(
                "change your own grants, limits or budget",
            ));
        }
        let managed = groups::managed_over(&mut **tx, &caller.user_id, id).await?;
        if !managed.is_empty() {
            return Ok(Some(managed));
        }
    }
    Err(ApiError::forbidden("change this policy"))
}

fn looser_than_own(part: &str) -> ApiError {
    ApiError::forbidden(&format!(
        "set {part} looser than this person's own; an admin or operator can"
    ))
}

/// Removes the grants given through `group` (to `user`, or to anyone), with their tombstones;
/// returns their sync ids. Called when someone leaves the group or the group goes.
pub async fn revoke_given_through(
    tx: &mut Tx,
    group: &str,
    user: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    let given =
        "SELECT subject_id, model_id FROM grants WHERE subject_kind = 'user' AND via_group = $1";
    let rows: Vec<(String, String)> = match user {
        Some(user) => {
            sqlx::query_as(&format!("{given} AND subject_id = $2 ORDER BY model_id"))
                .bind(group)
                .bind(user)
                .fetch_all(&mut **tx)
                .await?
        }
        None => {
            sqlx::query_as(&format!("{given} ORDER BY subject_id, model_id"))
                .bind(group)
                .fetch_all(&mut **tx)
                .await?
        }
    };
    let mut revoked = Vec::with_capacity(rows.len());
    for (holder, model) in rows {
        sqlx::query(
            "DELETE FROM grants WHERE subject_kind = 'user' AND subject_id = $1 AND model_id = $2",
        )
        .bind(&holder)
        .bind(&model)
        .execute(&mut **tx)
        .await?;
        let sync_id = grant_id(SubjectKind::User, &holder, &model);
        audit::tombstone(tx, SyncKind::Grant, &sync_id).await?;
        revoked.push(sync_id);
    }
    Ok(revoked)
}

fn beyond_group(part: &str) -> ApiError {
    ApiError::forbidden(&format!("set {part} beyond what your group allows"))
}

async fn model_exists(tx: &mut Tx, model_id: &str) -> ApiResult<()> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM models WHERE id = $1")
        .bind(model_id)
        .fetch_one(&mut **tx)
        .await?;
    if n == 0 {
        return Err(ApiError::not_found("model"));
    }
    Ok(())
}

fn grant_id(kind: SubjectKind, id: &str, model: &str) -> String {
    format!("{}:{id}:{model}", kind.as_str())
}

async fn put_grant(
    state: &AppState,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
    model_id: &str,
) -> ApiResult<Grant> {
    let mut tx = state.db.begin_write().await?;
    // The group a manager gives the grant through; `None` for policy.write.
    let mut via = None;
    if let Some(scope) = manager_scope(&mut tx, caller, kind, id).await? {
        for group in &scope {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM grants WHERE subject_kind = 'group' AND subject_id = $1 AND model_id = $2",
            )
            .bind(group)
            .bind(model_id)
            .fetch_one(&mut *tx)
            .await?;
            if n > 0 {
                via = Some(group.clone());
                break;
            }
        }
        if via.is_none() {
            return Err(beyond_group("a grant"));
        }
    }
    subject_exists(&mut tx, kind, id).await?;
    model_exists(&mut tx, model_id).await?;
    let revision = next_revision(&mut tx).await?;
    let now = db::now();
    // Granting again keeps a grant the holder has on their own as it is; policy.write granting
    // what a manager gave makes it the holder's own.
    sqlx::query(
        "INSERT INTO grants (subject_kind, subject_id, model_id, created_at, revision, via_group) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (subject_kind, subject_id, model_id) DO UPDATE SET revision = excluded.revision, \
         via_group = CASE WHEN excluded.via_group IS NULL THEN NULL ELSE grants.via_group END",
    )
    .bind(kind.as_str())
    .bind(id)
    .bind(model_id)
    .bind(&now)
    .bind(revision)
    .bind(via.as_deref())
    .execute(&mut *tx)
    .await?;
    let created: String = sqlx::query_scalar(
        "SELECT created_at FROM grants WHERE subject_kind = $1 AND subject_id = $2 AND model_id = $3",
    )
    .bind(kind.as_str())
    .bind(id)
    .bind(model_id)
    .fetch_one(&mut *tx)
    .await?;
    let grant = Grant {
        subject_kind: kind,
        subject_id: id.to_owned(),
        model_id: model_id.to_owned(),
        created_at: db::parse_timestamp(&created),
        revision,
    };
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "grant.set",
        "grant",
        &grant_id(kind, id, model_id),
        json!({ "after": grant }),
    )
    .await?;
    tx.commit().await?;
    Ok(grant)
}

async fn delete_grant(
    state: &AppState,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
    model_id: &str,
) -> ApiResult<()> {
    let mut tx = state.db.begin_write().await?;
    let scope = manager_scope(&mut tx, caller, kind, id).await?;
    let via: Option<Option<String>> = sqlx::query_scalar(
        "SELECT via_group FROM grants WHERE subject_kind = $1 AND subject_id = $2 AND model_id = $3",
    )
    .bind(kind.as_str())
    .bind(id)
    .bind(model_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(via) = via else {
        return Err(ApiError::not_found("grant"));
    };
    if let Some(scope) = scope
        && !via.is_some_and(|g| scope.contains(&g))
    {
        return Err(ApiError::forbidden(
            "take away a grant your group did not give",
        ));
    }
    sqlx::query("DELETE FROM grants WHERE subject_kind = $1 AND subject_id = $2 AND model_id = $3")
        .bind(kind.as_str())
        .bind(id)
        .bind(model_id)
        .execute(&mut *tx)
        .await?;
    let sync_id = grant_id(kind, id, model_id);
    audit::tombstone(&mut tx, SyncKind::Grant, &sync_id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "grant.revoked",
        "grant",
        &sync_id,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

type LimitsRow = (Option<i64>, Option<i64>, Option<i64>, Option<i64>, i64);

pub async fn limits_of<'e, E>(
    exec: E,
    kind: SubjectKind,
    id: &str,
) -> Result<(Limits, i64), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<LimitsRow> = sqlx::query_as(
        "SELECT requests_per_min, input_tokens_per_min, output_tokens_per_min, max_concurrent, revision \
         FROM limits WHERE subject_kind = $1 AND subject_id = $2",
    )
    .bind(kind.as_str())
    .bind(id)
    .fetch_optional(exec)
    .await?;
    Ok(row.map_or((Limits::default(), 0), |(a, b, c, d, rev)| {
        (
            Limits {
                requests_per_min: a,
                input_tokens_per_min: b,
                output_tokens_per_min: c,
                max_concurrent: d,
            },
            rev,
        )
    }))
}

/// USD as stored: whole micro-dollars.
pub fn micros(usd: f64) -> i64 {
    (usd * 1e6).round() as i64
}

pub fn usd(micros: i64) -> f64 {
    micros as f64 / 1e6
}

type BudgetRow = (Option<i64>, Option<i64>, Option<i64>, String, i64);

pub async fn budget_of<'e, E>(
    exec: E,
    kind: SubjectKind,
    id: &str,
) -> Result<(Budget, i64), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<BudgetRow> = sqlx::query_as(
        "SELECT daily_micros, weekly_micros, monthly_micros, alert_thresholds, revision \
         FROM budgets WHERE subject_kind = $1 AND subject_id = $2",
    )
    .bind(kind.as_str())
    .bind(id)
    .fetch_optional(exec)
    .await?;
    Ok(row.map_or((Budget::default(), 0), |(d, w, m, t, rev)| {
        let alert_thresholds =
            serde_json::from_str(&t).unwrap_or_else(|_| Budget::default().alert_thresholds);
        (
            Budget {
                daily_usd: d.map(usd),
                weekly_usd: w.map(usd),
                monthly_usd: m.map(usd),
                alert_thresholds,
            },
            rev,
        )
    }))
}

fn limit_fields(l: &Limits) -> [(&'static str, Option<i64>); 4] {
    [
        ("requests_per_min", l.requests_per_min),
        ("input_tokens_per_min", l.input_tokens_per_min),
        ("output_tokens_per_min", l.output_tokens_per_min),
        ("max_concurrent", l.max_concurrent),
    ]
}

fn budget_fields(b: &Budget) -> [(&'static str, Option<f64>); 3] {
    [
        ("daily_usd", b.daily_usd),
        ("weekly_usd", b.weekly_usd),
        ("monthly_usd", b.monthly_usd),
    ]
}

/// Whether `new` stays within `group` for every field the group sets.
fn within<T: PartialOrd + Copy>(new: &[(&str, Option<T>)], group: &[(&str, Option<T>)]) -> bool {
    new.iter().zip(group).all(|((_, n), (_, g))| match (n, g) {
        (_, None) => true,
        (Some(n), Some(g)) => n <= g,
        (None, Some(_)) => false,
    })
}

fn validate_limits(l: &Limits) -> ApiResult<()> {
    for (field, value) in limit_fields(l) {
        if let Some(v) = value
            && !(0..=1_000_000_000_000).contains(&v)
        {
            return Err(ApiError::invalid(
                field,
                "must be between 0 and 10^12, or null for unlimited",
            ));
        }
    }
    Ok(())
}

fn validate_budget(b: &mut Budget) -> ApiResult<()> {
    for (field, value) in budget_fields(b) {
        if let Some(v) = value
            && !(v.is_finite() && (0.0..=1e9).contains(&v))
        {
            return Err(ApiError::invalid(
                field,
                "must be between 0 and 1e9 USD, or null for none",
            ));
        }
    }
    if b.alert_thresholds.len() > 10 || b.alert_thresholds.iter().any(|t| !(1..=1000).contains(t)) {
        return Err(ApiError::invalid(
            "alert_thresholds",
            "must be at most 10 percents between 1 and 1000",
        ));
    }
    b.alert_thresholds.sort_unstable();
    b.alert_thresholds.dedup();
    Ok(())
}

async fn put_limits(
    state: &AppState,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
    limits: Limits,
) -> ApiResult<Limits> {
    validate_limits(&limits)?;
    let mut tx = state.db.begin_write().await?;
    if let Some(scope) = manager_scope(&mut tx, caller, kind, id).await? {
        let mut ok = false;
        for group in &scope {
            let (g, _) = limits_of(&mut *tx, SubjectKind::Group, group).await?;
            ok |= within(&limit_fields(&limits), &limit_fields(&g));
        }
        if !ok {
            return Err(beyond_group("limits"));
        }
        let (own, _) = limits_of(&mut *tx, kind, id).await?;
        if !within(&limit_fields(&limits), &limit_fields(&own)) {
            return Err(looser_than_own("limits"));
        }
    }
    subject_exists(&mut tx, kind, id).await?;
    let (before, _) = limits_of(&mut *tx, kind, id).await?;
    let revision = next_revision(&mut tx).await?;
    sqlx::query(
        "INSERT INTO limits (subject_kind, subject_id, requests_per_min, input_tokens_per_min, output_tokens_per_min, \
         max_concurrent, revision) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (subject_kind, subject_id) DO UPDATE SET requests_per_min = excluded.requests_per_min, \
         input_tokens_per_min = excluded.input_tokens_per_min, output_tokens_per_min = excluded.output_tokens_per_min, \
         max_concurrent = excluded.max_concurrent, revision = excluded.revision",
    )
    .bind(kind.as_str())
    .bind(id)
    .bind(limits.requests_per_min)
    .bind(limits.input_tokens_per_min)
    .bind(limits.output_tokens_per_min)
    .bind(limits.max_concurrent)
    .bind(revision)
    .execute(&mut *tx)
    .await?;
    let target = format!("{}:{id}", kind.as_str());
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "limits.set",
        "limit",
        &target,
        json!({ "before": before, "after": limits }),
    )
    .await?;
    tx.commit().await?;
    Ok(limits)
}

async fn put_budget(
    state: &AppState,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
    mut budget: Budget,
) -> ApiResult<Budget> {
    validate_budget(&mut budget)?;
    let mut tx = state.db.begin_write().await?;
    if let Some(scope) = manager_scope(&mut tx, caller, kind, id).await? {
        let mut ok = false;
        for group in &scope {
            let (g, _) = budget_of(&mut *tx, SubjectKind::Group, group).await?;
            ok |= within(&budget_fields(&budget), &budget_fields(&g));
        }
        if !ok {
            return Err(beyond_group("a budget"));
        }
        let (own, _) = budget_of(&mut *tx, kind, id).await?;
        if !within(&budget_fields(&budget), &budget_fields(&own)) {
            return Err(looser_than_own("a budget"));
        }
    }
    subject_exists(&mut tx, kind, id).await?;
    let (before, _) = budget_of(&mut *tx, kind, id).await?;
    let revision = next_revision(&mut tx).await?;
    sqlx::query(
        "INSERT INTO budgets (subject_kind, subject_id, daily_micros, weekly_micros, monthly_micros, alert_thresholds, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (subject_kind, subject_id) DO UPDATE SET daily_micros = excluded.daily_micros, \
         weekly_micros = excluded.weekly_micros, monthly_micros = excluded.monthly_micros, \
         alert_thresholds = excluded.alert_thresholds, revision = excluded.revision",
    )
    .bind(kind.as_str())
    .bind(id)
    .bind(budget.daily_usd.map(micros))
    .bind(budget.weekly_usd.map(micros))
    .bind(budget.monthly_usd.map(micros))
    .bind(serde_json::to_string(&budget.alert_thresholds).expect("numbers serialize"))
    .bind(revision)
    .execute(&mut *tx)
    .await?;
    let target = format!("{}:{id}", kind.as_str());
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "budget.set",
        "budget",
        &target,
        json!({ "before": before, "after": budget }),
    )
    .await?;
    let (stored, _) = budget_of(&mut *tx, kind, id).await?;
    tx.commit().await?;
    Ok(stored)
}

/// The effective policy of `user_id`: the rule is [`gatehouse_api::effective::effective`], fed
/// with the user's own policy and then each group's, in group id order.
pub async fn effective(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
) -> Result<EffectivePolicy, sqlx::Error> {
    let groups: Vec<String> = sqlx::query_scalar(
        "SELECT group_id FROM group_members WHERE user_id = $1 ORDER BY group_id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut subjects = vec![(
        SubjectKind::User,
        user_id.to_owned(),
        USER_SOURCE.to_owned(),
    )];
    subjects.extend(
        groups
            .iter()
            .map(|g| (SubjectKind::Group, g.clone(), g.clone())),
    );
    let mut policies = Vec::with_capacity(subjects.len());
    for (kind, id, source) in subjects {
        let grants: Vec<String> = sqlx::query_scalar(
            "SELECT model_id FROM grants WHERE subject_kind = $1 AND subject_id = $2 ORDER BY model_id",
        )
        .bind(kind.as_str())
        .bind(&id)
        .fetch_all(&mut *conn)
        .await?;
        policies.push(SubjectPolicy {
            source,
            grants,
            limits: limits_of(&mut *conn, kind, &id).await?.0,
            budget: budget_of(&mut *conn, kind, &id).await?.0,
        });
    }
    Ok(gatehouse_api::effective::effective(user_id, &policies))
}

fn subject_kind_of(kind: &str) -> SubjectKind {
    if kind == "group" {
        SubjectKind::Group
    } else {
        SubjectKind::User
    }
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let mut out = Vec::new();
    let grants: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT subject_kind, subject_id, model_id, created_at, revision FROM grants WHERE revision > $1 \
         ORDER BY revision LIMIT $2",
    )
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut **tx)
    .await?;
    for (kind, id, model, created, revision) in grants {
        let grant = Grant {
            subject_kind: subject_kind_of(&kind),
            subject_id: id.clone(),
            model_id: model.clone(),
            created_at: db::parse_timestamp(&created),
            revision,
        };
        out.push(SyncChange::upsert(
            SyncKind::Grant,
            format!("{kind}:{id}:{model}"),
            revision,
            &grant,
        ));
    }
    let limits: Vec<(String, String)> = gatehouse_store::feed::rows_since(
        tx,
        "SELECT subject_kind, subject_id FROM limits",
        "revision",
        since,
        fetch,
    )
    .await?;
    for (kind, id) in limits {
        let subject_kind = subject_kind_of(&kind);
        let (limits, revision) = limits_of(&mut **tx, subject_kind, &id).await?;
        let data = SubjectLimits {
            subject_kind,
            subject_id: id.clone(),
            limits,
            revision,
        };
        out.push(SyncChange::upsert(
            SyncKind::Limit,
            format!("{kind}:{id}"),
            revision,
            &data,
        ));
    }
    let budgets: Vec<(String, String)> = gatehouse_store::feed::rows_since(
        tx,
        "SELECT subject_kind, subject_id FROM budgets",
        "revision",
        since,
        fetch,
    )
    .await?;
    for (kind, id) in budgets {
        let subject_kind = subject_kind_of(&kind);
        let (budget, revision) = budget_of(&mut **tx, subject_kind, &id).await?;
        let data = SubjectBudget {
            subject_kind,
            subject_id: id.clone(),
            budget,
            revision,
        };
        out.push(SyncChange::upsert(
            SyncKind::Budget,
            format!("{kind}:{id}"),
            revision,
            &data,
        ));
    }
    Ok(out)
}

macro_rules! policy_handlers {
    ($kind:expr, $tag:literal, $noun:literal,
     $grant_put:ident, $grant_delete:ident, $grant_path:literal,
     $limits_get:ident, $limits_put:ident, $limits_path:literal,
     $budget_get:ident, $budget_put:ident, $budget_path:literal) => {
        #[doc = concat!("Grant a model to a ", $noun)]
        #[utoipa::path(
            put, path = $grant_path, tag = $tag,
            params(("id" = String, Path), ("model_id" = String, Path)),
            request_body(content = Option<Object>, description = "Empty, or `{}`"),
            responses(
                (status = 200, description = "The grant", body = Grant),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such subject or model", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $grant_put(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath((id, model_id)): ApiPath<(String, String)>,
        ) -> ApiResult<Json<Grant>> {
            Ok(Json(put_grant(&state, &caller, $kind, &id, &model_id).await?))
        }

        #[doc = concat!("Revoke a ", $noun, "'s grant of a model")]
        #[utoipa::path(
            delete, path = $grant_path, tag = $tag,
            params(("id" = String, Path), ("model_id" = String, Path)),
            responses(
                (status = 204, description = "Revoked"),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such grant", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $grant_delete(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath((id, model_id)): ApiPath<(String, String)>,
        ) -> ApiResult<StatusCode> {
            delete_grant(&state, &caller, $kind, &id, &model_id).await?;
            Ok(StatusCode::NO_CONTENT)
        }

        #[doc = concat!("A ", $noun, "'s own rate limits")]
        #[utoipa::path(
            get, path = $limits_path, tag = $tag,
            params(("id" = String, Path)),
            responses(
                (status = 200, description = "The limits; null is unlimited", body = Limits),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not found", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $limits_get(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<String>,
        ) -> ApiResult<Json<Limits>> {
            require_read(&state, &caller, $kind, &id).await?;
            let mut tx = state.db.begin_read().await?;
            subject_exists(&mut tx, $kind, &id).await?;
            let (limits, _) = limits_of(&mut *tx, $kind, &id).await?;
            tx.commit().await?;
            Ok(Json(limits))
        }

        #[doc = concat!("Set a ", $noun, "'s rate limits")]
        #[utoipa::path(
            put, path = $limits_path, tag = $tag,
            params(("id" = String, Path)),
            request_body = Limits,
            responses(
                (status = 200, description = "The limits", body = Limits),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden, or beyond the manager's group", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not found", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 422, description = "Invalid values", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $limits_put(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<String>,
            ApiJson(limits): ApiJson<Limits>,
        ) -> ApiResult<Json<Limits>> {
            Ok(Json(put_limits(&state, &caller, $kind, &id, limits).await?))
        }

        #[doc = concat!("A ", $noun, "'s own budget")]
        #[utoipa::path(
            get, path = $budget_path, tag = $tag,
            params(("id" = String, Path)),
            responses(
                (status = 200, description = "The budget; null caps are none", body = Budget),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not found", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $budget_get(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<String>,
        ) -> ApiResult<Json<Budget>> {
            require_read(&state, &caller, $kind, &id).await?;
            let mut tx = state.db.begin_read().await?;
            subject_exists(&mut tx, $kind, &id).await?;
            let (budget, _) = budget_of(&mut *tx, $kind, &id).await?;
            tx.commit().await?;
            Ok(Json(budget))
        }

        #[doc = concat!("Set a ", $noun, "'s budget")]
        #[utoipa::path(
            put, path = $budget_path, tag = $tag,
            params(("id" = String, Path)),
            request_body = Budget,
            responses(
                (status = 200, description = "The budget", body = Budget),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden, or beyond the manager's group", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not found", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 422, description = "Invalid values", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $budget_put(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<String>,
            ApiJson(budget): ApiJson<Budget>,
        ) -> ApiResult<Json<Budget>> {
            Ok(Json(put_budget(&state, &caller, $kind, &id, budget).await?))
        }
    };
}

policy_handlers!(
    SubjectKind::User,
    "users",
    "user",
    user_grant_put,
    user_grant_delete,
    "/admin/v1/users/{id}/grants/{model_id}",
    user_limits_get,
    user_limits_put,
    "/admin/v1/users/{id}/limits",
    user_budget_get,
    user_budget_put,
    "/admin/v1/users/{id}/budget"
);

policy_handlers!(
    SubjectKind::Group,
    "groups",
    "group",
    group_grant_put,
    group_grant_delete,
    "/admin/v1/groups/{id}/grants/{model_id}",
    group_limits_get,
    group_limits_put,
    "/admin/v1/groups/{id}/limits",
    group_budget_get,
    group_budget_put,
    "/admin/v1/groups/{id}/budget"
);

/// A user's effective grants, limits and budgets, each with its source
#[utoipa::path(
    get, path = "/admin/v1/users/{id}/effective", tag = "users",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The strictest of the user's own values and every group's", body = EffectivePolicy),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn user_effective(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<EffectivePolicy>> {
    require_read(&state, &caller, SubjectKind::User, &id).await?;
    let mut tx = state.db.begin_read().await?;
    subject_exists(&mut tx, SubjectKind::User, &id).await?;
    let policy = effective(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(Json(policy))
}
