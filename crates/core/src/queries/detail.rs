//! One user's detail: memberships, own and effective policy, API keys and audit trail.

use chrono::Utc;
use gatehouse_api::effective::{
    KeyPolicy, SubjectPolicy, USER_SOURCE, effective, effective_for_key,
};
use gatehouse_api::{ApiKey, AuditEntry, Budget, Grant, Limits, Role, SubjectKind, User};
use sqlx::Row;

use super::{group_role, month_of, parse, parse_time, usd};
use crate::cache::Cache;
use crate::error::{CoreError, CoreResult};
use crate::ipc::{UserDetail, UserGroup, UserWorkspace};

impl Cache {
    /// Everything the user detail screen shows; [`CoreError::Invalid`] for an unknown user.
    pub async fn user_detail(&self, user_id: &str) -> CoreResult<UserDetail> {
        let data: Option<String> = sqlx::query_scalar("SELECT data FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        let Some(data) = data else {
            return Err(CoreError::Invalid(format!(
                "there is no user \"{user_id}\" in the cache"
            )));
        };
        let user: User = parse("user", &data)?;

        let workspaces = sqlx::query(
            "SELECT w.id, w.name, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
             WHERE m.user_id = $1 ORDER BY w.name COLLATE NOCASE, w.id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(|r| UserWorkspace {
            id: r.get(0),
            name: r.get(1),
            role: Role::parse(r.get(2)).unwrap_or(Role::Member),
        })
        .collect();
        let groups: Vec<UserGroup> = sqlx::query(
            "SELECT g.id, g.name, gm.role FROM group_members gm JOIN groups g ON g.id = gm.group_id \
             WHERE gm.user_id = $1 ORDER BY g.id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(|r| UserGroup {
            id: r.get(0),
            name: r.get(1),
            role: group_role(r.get(2)),
        })
        .collect();

        let own = self.subject_policy(SubjectKind::User, user_id).await?;
        let grants = self.grants_of(SubjectKind::User, user_id).await?;
        let group_ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        let policies = self.user_policies(user_id, &group_ids).await?;

        let api_keys =
            sqlx::query_scalar::<_, String>("SELECT data FROM api_keys WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|d| parse::<ApiKey>("API key", d))
                .collect::<CoreResult<Vec<_>>>()?;
        let mut api_keys = api_keys;
        api_keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));

        // Done by the user, or to the user, their grants, limits and budget (`user:<id>…`).
        let audit = sqlx::query_scalar::<_, String>(
            "SELECT data FROM audit WHERE actor_id = $1 OR target_id = $1 OR target_id = 'user:' || $1 \
             OR (target_id >= 'user:' || $1 || ':' AND target_id < 'user:' || $1 || ';') \
             ORDER BY at DESC, id DESC LIMIT 100",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|d| parse::<AuditEntry>("audit entry", d))
        .collect::<CoreResult<Vec<_>>>()?;

        let (first, next) = month_of(self.today(Utc::now()).await?);
        let spend: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(cost_micros), 0) FROM usage_daily \
             WHERE user_id = $1 AND day >= $2 AND day < $3",
        )
        .bind(user_id)
        .bind(first.to_string())
        .bind(next.to_string())
        .fetch_one(self.pool())
        .await?;

        // Each key one level down, by the rule the gateway enforces.
        let key_effective = api_keys
            .iter()
            .map(|k| {
                let key = KeyPolicy {
                    model_ids: k.model_ids.clone(),
                    limits: k.limits.clone(),
                    budget: k.budget.clone(),
                };
                (
                    k.id.clone(),
                    effective_for_key(user_id, &k.id, &policies, &key),
                )
            })
            .collect();
        let key_spend: Vec<(String, i64)> = sqlx::query_as(
            "SELECT key_id, SUM(cost_micros) FROM usage_daily \
             WHERE user_id = $1 AND key_id <> '' AND day >= $2 AND day < $3 GROUP BY key_id",
        )
        .bind(user_id)
        .bind(first.to_string())
        .bind(next.to_string())
        .fetch_all(self.pool())
        .await?;

        Ok(UserDetail {
            key_effective,
            key_spend_mtd_usd: key_spend.into_iter().map(|(k, c)| (k, usd(c))).collect(),
            effective: effective(user_id, &policies),
            user,
            workspaces,
            groups,
            grants,
            limits: own.limits,
            budget: own.budget,
            api_keys,
            audit_names: self.audit_names(&audit).await?,
            audit,
            spend_mtd_usd: usd(spend),
        })
    }

    /// A subject's grants, by model id.
    pub(crate) async fn grants_of(&self, kind: SubjectKind, id: &str) -> CoreResult<Vec<Grant>> {
        let rows = sqlx::query(
            "SELECT model_id, created_at, revision FROM grants WHERE subject_kind = $1 AND subject_id = $2 \
             ORDER BY model_id",
        )
        .bind(kind.as_str())
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Grant {
                subject_kind: kind,
                subject_id: id.to_owned(),
                model_id: r.get(0),
                created_at: parse_time(r.get(1)),
                revision: r.get(2),
            })
            .collect())
    }

    /// A subject's own grants, limits and budget (defaults when it has none), with no source.
    pub(crate) async fn subject_policy(
        &self,
        kind: SubjectKind,
        id: &str,
    ) -> CoreResult<SubjectPolicy> {
        let grants = self
            .grants_of(kind, id)
            .await?
            .into_iter()
            .map(|g| g.model_id)
            .collect();
        let limits: Option<String> = sqlx::query_scalar(
            "SELECT data FROM limits WHERE subject_kind = $1 AND subject_id = $2",
        )
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(SubjectPolicy {
            source: String::new(),
            grants,
            limits: limits
                .map(|d| parse::<Limits>("limits", &d))
                .transpose()?
                .unwrap_or_default(),
            budget: self.budget_of(kind, id).await?,
        })
    }

    /// The user's own policy, then each group's in group id order (`group_ids`, sorted), as the
    /// gateway reads them for the effective rule.
    pub(crate) async fn user_policies(
        &self,
        user_id: &str,
        group_ids: &[String],
    ) -> CoreResult<Vec<SubjectPolicy>> {
        let mut policies = vec![SubjectPolicy {
            source: USER_SOURCE.to_owned(),
            ..self.subject_policy(SubjectKind::User, user_id).await?
        }];
        for id in group_ids {
            policies.push(SubjectPolicy {
                source: id.clone(),
                ..self.subject_policy(SubjectKind::Group, id).await?
            });
        }
        Ok(policies)
    }

    /// A subject's own budget, or the default (no caps) when it has none.
    pub(crate) async fn budget_of(&self, kind: SubjectKind, id: &str) -> CoreResult<Budget> {
        let budget: Option<String> = sqlx::query_scalar(
            "SELECT data FROM budgets WHERE subject_kind = $1 AND subject_id = $2",
        )
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(budget
            .map(|d| parse::<Budget>("budget", &d))
            .transpose()?
            .unwrap_or_default())
    }
}
