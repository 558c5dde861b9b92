//! The `invitations` table. A link is looked up by its token's hash; the token itself is kept
//! only sealed (under the gateway's invitation key, which this layer never sees).

use gatehouse_api::{IdentityProvider, Invitation, InvitationStatus, Role, SyncChange, SyncKind};
use sqlx::{AnyPool, FromRow};

use crate::db::{self, Tx, next_revision};
use crate::sql::SqlText;

#[derive(Debug, Clone, FromRow)]
pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub workspace_ids: String,
    pub identity_provider: String,
    pub tenant_id: Option<String>,
    pub notification_email: Option<String>,
    /// The token sealed under the invitation key; `None` for invitations whose token a gateway
    /// before sealing kept in clear, which the upgrade cleared.
    pub token_sealed: Option<String>,
    pub status: String,
    pub invited_by: Option<String>,
    pub created_at: String,
    pub sent_at: String,
    pub expires_at: String,
    pub accepted_at: Option<String>,
    pub revision: i64,
    pub profile_id: Option<String>,
}

const COLUMNS: &str = "id, email, first_name, last_name, role, workspace_ids, identity_provider, tenant_id, \
     notification_email, token_sealed, status, invited_by, created_at, sent_at, expires_at, accepted_at, revision, profile_id";

fn provider(s: &str) -> IdentityProvider {
    match s {
        "google" => IdentityProvider::Google,
        "microsoft" => IdentityProvider::Microsoft,
        "oidc" => IdentityProvider::Oidc,
        _ => IdentityProvider::Any,
    }
}

impl InvitationRow {
    /// The identity provider the invitee must sign in with (`Any`: a password will do).
    pub fn identity_provider(&self) -> IdentityProvider {
        provider(&self.identity_provider)
    }

    /// The status as of now: a pending invitation past its expiry is expired.
    pub fn status(&self) -> InvitationStatus {
        match self.status.as_str() {
            "accepted" => InvitationStatus::Accepted,
            "revoked" => InvitationStatus::Revoked,
            _ if self.expires_at <= db::now() => InvitationStatus::Expired,
            _ => InvitationStatus::Pending,
        }
    }

    /// The wire form, with `link` where the caller may see it.
    pub fn into_api(self, link: Option<String>) -> Invitation {
        Invitation {
            status: self.status(),
            link,
            role: Role::parse(&self.role).unwrap_or(Role::Member),
            workspace_ids: serde_json::from_str(&self.workspace_ids).unwrap_or_default(),
            identity_provider: provider(&self.identity_provider),
            created_at: db::parse_timestamp(&self.created_at),
            sent_at: db::parse_timestamp(&self.sent_at),
            expires_at: db::parse_timestamp(&self.expires_at),
            accepted_at: self.accepted_at.as_deref().map(db::parse_timestamp),
            id: self.id,
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            tenant_id: self.tenant_id,
            notification_email: self.notification_email,
            invited_by: self.invited_by,
            revision: self.revision,
            profile_id: self.profile_id,
        }
    }
}

/// The invitation `id`, if there is one.
pub async fn get_in(tx: &mut Tx, id: &str) -> Result<Option<InvitationRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM invitations WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// The invitation whose token hashes to `token_hash`, if there is one.
pub async fn by_token_hash(
    tx: &mut Tx,
    token_hash: &str,
) -> Result<Option<InvitationRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(&mut **tx)
    .await
}

/// The invitations changed after `since`; `link` gives each its link where the reader may see
/// it.
pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
    link: impl Fn(&InvitationRow) -> Option<String>,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<InvitationRow> = crate::feed::rows_since(
        tx,
        &format!("SELECT {COLUMNS} FROM invitations"),
        "revision",
        since,
        fetch,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let link = link(&r);
            let inv = r.into_api(link);
            SyncChange::upsert(SyncKind::Invitation, inv.id.clone(), inv.revision, &inv)
        })
        .collect())
}

/// The pending, unexpired invitations of `email`, oldest first.
pub async fn pending_of(tx: &mut Tx, email: &str) -> Result<Vec<InvitationRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE email = $1 AND status = 'pending' \
         AND expires_at > $2 ORDER BY id"
    ))
    .bind(email)
    .bind(db::now())
    .fetch_all(&mut **tx)
    .await
}

/// Whether `email` has a pending, unexpired invitation.
pub async fn pending_for(tx: &mut Tx, email: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invitations WHERE email = $1 AND status = 'pending' AND expires_at > $2")
        .bind(email)
        .bind(db::now())
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// A pending invitation to insert.
#[derive(Debug)]
pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub role: Role,
    pub workspace_ids: &'a [String],
    pub identity_provider: IdentityProvider,
    pub tenant_id: Option<String>,
    pub notification_email: Option<String>,
    pub token_sealed: String,
    pub token_hash: String,
    pub invited_by: &'a str,
    pub sent_at: String,
    pub expires_at: String,
    /// The access profile the account will start from.
    pub profile_id: Option<String>,
}

/// Inserts a pending invitation; returns its id.
pub async fn insert(tx: &mut Tx, new: NewInvitation<'_>) -> Result<String, sqlx::Error> {
    let id = crate::new_id("inv");
    let revision = next_revision(tx).await?;
    sqlx::query(
        "INSERT INTO invitations (id, email, first_name, last_name, role, workspace_ids, identity_provider, tenant_id, \
         notification_email, token_sealed, token_hash, status, invited_by, created_at, sent_at, expires_at, revision, profile_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $13, $13, $14, $15, $16)",
    )
    .bind(&id)
    .bind(new.email)
    .bind(new.first_name)
    .bind(new.last_name)
    .bind(new.role.as_str())
    .bind(serde_json::to_string(new.workspace_ids).expect("ids serialize"))
    .bind(new.identity_provider.as_str())
    .bind(new.tenant_id)
    .bind(new.notification_email)
    .bind(new.token_sealed)
    .bind(new.token_hash)
    .bind(new.invited_by)
    .bind(new.sent_at)
    .bind(new.expires_at)
    .bind(revision)
    .bind(new.profile_id)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Which invitations a page of the list holds, newest first.
#[derive(Debug)]
pub struct Filter {
    pub status: Option<InvitationStatus>,
    /// Only ids before this one (the page's cursor).
    pub before: Option<String>,
    /// Rows to fetch.
    pub limit: i64,
}

pub async fn list(pool: &AnyPool, filter: Filter) -> Result<Vec<InvitationRow>, sqlx::Error> {
    let now = db::now();
    let mut q = SqlText::new(&format!("SELECT {COLUMNS} FROM invitations WHERE 1 = 1"));
    match filter.status {
        Some(InvitationStatus::Pending) => {
            q.push(" AND status = 'pending' AND expires_at > ")
                .bind(now);
        }
        Some(InvitationStatus::Expired) => {
            q.push(" AND status = 'pending' AND expires_at <= ")
                .bind(now);
        }
        Some(s) => {
            q.push(" AND status = ").bind(s.as_str().to_owned());
        }
        None => {}
    }
    if let Some(before) = filter.before {
        q.push(" AND id < ").bind(before);
    }
    q.push(" ORDER BY id DESC LIMIT ").bind(filter.limit);
    sqlx::query_as_with(&q.sql, q.args).fetch_all(pool).await
}

/// Replaces invitation `id`'s token (the old link stops working).
pub async fn replace_token(
    tx: &mut Tx,
    id: &str,
    token_sealed: String,
    token_hash: String,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invitations SET token_sealed = $1, token_hash = $2 WHERE id = $3")
        .bind(token_sealed)
        .bind(token_hash)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks invitation `id` sent again at `sent_at`, valid until `expires_at`.
pub async fn renew(
    tx: &mut Tx,
    id: &str,
    sent_at: String,
    expires_at: String,
) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query(
        "UPDATE invitations SET sent_at = $1, expires_at = $2, revision = $3 WHERE id = $4",
    )
    .bind(sent_at)
    .bind(expires_at)
    .bind(revision)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn revoke(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query("UPDATE invitations SET status = 'revoked', revision = $1 WHERE id = $2")
        .bind(revision)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks invitation `id` accepted by `user_id`, if it is still pending; false when it is not
/// (of two acceptances that raced, the second).
pub async fn claim(tx: &mut Tx, id: &str, user_id: &str) -> Result<bool, sqlx::Error> {
    let revision = next_revision(tx).await?;
    let claimed = sqlx::query(
        "UPDATE invitations SET status = 'accepted', accepted_at = $1, accepted_user_id = $2, revision = $3 \
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(db::now())
    .bind(user_id)
    .bind(revision)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(claimed.rows_affected() == 1)
}
