//! Model grants, rate limits and budgets of users and groups as stored, and the effective
//! policy read from them (the rule itself is `gatehouse_api::effective`).

use gatehouse_api::effective::{SubjectPolicy, USER_SOURCE};
use gatehouse_api::{
    Budget, EffectivePolicy, Grant, Limits, SubjectBudget, SubjectKind, SubjectLimits, SyncChange,
    SyncKind,
};

use crate::audit;
use crate::db::{self, Tx};

/// Whether the user or group `id` exists.
pub async fn subject_exists(tx: &mut Tx, kind: SubjectKind, id: &str) -> Result<bool, sqlx::Error> {
    let sql = match kind {
        SubjectKind::User => "SELECT COUNT(*) FROM users WHERE id = $1",
        SubjectKind::Group => "SELECT COUNT(*) FROM groups WHERE id = $1",
        SubjectKind::Key => "SELECT COUNT(*) FROM api_keys WHERE id = $1",
    };
    let n: i64 = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// Whether the model `model_id` is in the catalog.
pub async fn model_exists(tx: &mut Tx, model_id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM models WHERE id = $1")
        .bind(model_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// The sync id and audit target of a grant.
pub fn grant_id(kind: SubjectKind, id: &str, model: &str) -> String {
    format!("{}:{id}:{model}", kind.as_str())
}

/// Whether the group `group` is granted `model_id`.
pub async fn group_grants(tx: &mut Tx, group: &str, model_id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM grants WHERE subject_kind = 'group' AND subject_id = $1 AND model_id = $2",
    )
    .bind(group)
    .bind(model_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// Grants `model_id` to the subject at `revision`, through the group `via` (a manager's) or
/// not (`None`: someone who may grant anyone). Granting again keeps a grant the holder has on
/// their own as it is; granting without a group what a manager gave makes it the holder's own.
pub async fn put_grant(
    tx: &mut Tx,
    kind: SubjectKind,
    id: &str,
    model_id: &str,
    via: Option<&str>,
    revision: i64,
) -> Result<Grant, sqlx::Error> {
    sqlx::query(
        "INSERT INTO grants (subject_kind, subject_id, model_id, created_at, revision, via_group) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (subject_kind, subject_id, model_id) DO UPDATE SET revision = excluded.revision, \
         via_group = CASE WHEN excluded.via_group IS NULL THEN NULL ELSE grants.via_group END",
    )
    .bind(kind.as_str())
    .bind(id)
    .bind(model_id)
    .bind(db::now())
    .bind(revision)
    .bind(via)
    .execute(&mut **tx)
    .await?;
    let created: String = sqlx::query_scalar(
        "SELECT created_at FROM grants WHERE subject_kind = $1 AND subject_id = $2 AND model_id = $3",
    )
    .bind(kind.as_str())
    .bind(id)
    .bind(model_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Grant {
        subject_kind: kind,
        subject_id: id.to_owned(),
        model_id: model_id.to_owned(),
        created_at: db::parse_timestamp(&created),
        revision,
    })
}

/// The group a grant was given through: `None` when there is no such grant, `Some(None)` for
/// the holder's own.
pub async fn grant_via(
    tx: &mut Tx,
    kind: SubjectKind,
    id: &str,
    model_id: &str,
) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT via_group FROM grants WHERE subject_kind = $1 AND subject_id = $2 AND model_id = $3",
    )
    .bind(kind.as_str())
    .bind(id)
    .bind(model_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Removes a grant and writes its tombstone; returns its sync id.
pub async fn delete_grant(
    tx: &mut Tx,
    kind: SubjectKind,
    id: &str,
    model_id: &str,
) -> Result<String, sqlx::Error> {
    sqlx::query("DELETE FROM grants WHERE subject_kind = $1 AND subject_id = $2 AND model_id = $3")
        .bind(kind.as_str())
        .bind(id)
        .bind(model_id)
        .execute(&mut **tx)
        .await?;
    let sync_id = grant_id(kind, id, model_id);
    audit::tombstone(tx, SyncKind::Grant, &sync_id).await?;
    Ok(sync_id)
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
        revoked.push(delete_grant(tx, SubjectKind::User, &holder, &model).await?);
    }
    Ok(revoked)
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
    let row: Option<BudgetRow> =
        match kind {
            // A key keeps its budget on its own row (NULL thresholds: the default ones).
            SubjectKind::Key => {
                sqlx::query_as(
                    "SELECT daily_micros, weekly_micros, monthly_micros, \
                 COALESCE(alert_thresholds, ''), revision FROM api_keys WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(exec)
                .await?
            }
            SubjectKind::User | SubjectKind::Group => sqlx::query_as(
                "SELECT daily_micros, weekly_micros, monthly_micros, alert_thresholds, revision \
                 FROM budgets WHERE subject_kind = $1 AND subject_id = $2",
            )
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(exec)
            .await?,
        };
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

/// Writes the subject's own limits at `revision`.
pub async fn put_limits(
    tx: &mut Tx,
    kind: SubjectKind,
    id: &str,
    limits: &Limits,
    revision: i64,
) -> Result<(), sqlx::Error> {
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes the subject's own budget at `revision`.
pub async fn put_budget(
    tx: &mut Tx,
    kind: SubjectKind,
    id: &str,
    budget: &Budget,
    revision: i64,
) -> Result<(), sqlx::Error> {
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The effective policy of `user_id`: the rule is [`gatehouse_api::effective::effective`], fed
/// with the user's own policy and then each group's, in group id order.
pub async fn effective(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
) -> Result<EffectivePolicy, sqlx::Error> {
    let policies = subject_policies(conn, user_id).await?;
    Ok(gatehouse_api::effective::effective(user_id, &policies))
}

/// The effective policy of the API key `key`: the rule is
/// [`gatehouse_api::effective::effective_for_key`] over its user's subjects and the key's own.
pub async fn key_effective(
    conn: &mut sqlx::AnyConnection,
    key: &gatehouse_api::ApiKey,
) -> Result<EffectivePolicy, sqlx::Error> {
    let policies = subject_policies(conn, &key.user_id).await?;
    Ok(gatehouse_api::effective::effective_for_key(
        &key.user_id,
        &key.id,
        &policies,
        &gatehouse_api::effective::KeyPolicy {
            model_ids: key.model_ids.clone(),
            limits: key.limits.clone(),
            budget: key.budget.clone(),
        },
    ))
}

/// The user's own policy, then each group's in group id order.
async fn subject_policies(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
) -> Result<Vec<SubjectPolicy>, sqlx::Error> {
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
    Ok(policies)
}

fn subject_kind_of(kind: &str) -> SubjectKind {
    SubjectKind::parse(kind).unwrap_or(SubjectKind::User)
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
    let limits: Vec<(String, String)> = crate::feed::rows_since(
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
    let budgets: Vec<(String, String)> = crate::feed::rows_since(
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
