//! Invitations by status, as the gateway decides it. A link carries the invitee's token, so lists
//! only say whether there is one; [`Cache::invite_link`] unseals it for the clipboard.

use chrono::{DateTime, Utc};
use gatehouse_api::{Invitation, InvitationStatus, Secret};
use sqlx::Row;

use super::{page, parse, stamp};
use crate::cache::Cache;
use crate::error::{CoreError, CoreResult};
use crate::ipc::{InvitationFilter, InvitationRow, InvitationRows};

/// The status as of `now`, as the gateway decides it (invitations.rs `InvitationRow::status`):
/// accepted and revoked stay so; otherwise expired from `expires_at` on, else pending.
pub fn status_at(
    stored: InvitationStatus,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> InvitationStatus {
    match stored {
        InvitationStatus::Accepted | InvitationStatus::Revoked => stored,
        _ if expires_at <= now => InvitationStatus::Expired,
        _ => InvitationStatus::Pending,
    }
}

/// The SQL condition of a status as of `$1` (the cache keeps the status as of its sync).
fn condition(status: Option<InvitationStatus>) -> &'static str {
    match status {
        None => "1 = 1",
        Some(InvitationStatus::Pending) => {
            "status IN ('pending', 'expired') AND julianday(expires_at) > julianday($1)"
        }
        Some(InvitationStatus::Expired) => {
            "status IN ('pending', 'expired') AND julianday(expires_at) <= julianday($1)"
        }
        Some(InvitationStatus::Accepted) => "status = 'accepted'",
        Some(InvitationStatus::Revoked) => "status = 'revoked'",
    }
}

impl Cache {
    /// The link of invitation `id`, unsealed; works offline. Not found: no such invitation,
    /// or no link cached for it (the gateway sends links only to those who may invite).
    pub async fn invite_link(&self, id: &str) -> CoreResult<Secret> {
        let sealed: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT link_sealed FROM invitations WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        let sealed = sealed
            .flatten()
            .ok_or_else(|| CoreError::Invalid("this invitation has no link in the cache".into()))?;
        self.seal().open(&sealed).map(Secret::new).ok_or_else(|| {
            CoreError::Invalid(
                "this invitation's link cannot be read with this profile's key; sync again".into(),
            )
        })
    }

    /// Invitations with `filter`'s status as of now, newest first.
    pub async fn invitations(&self, filter: &InvitationFilter) -> CoreResult<InvitationRows> {
        self.invitations_at(filter, Utc::now()).await
    }

    /// [`Cache::invitations`] as of `now`.
    pub async fn invitations_at(
        &self,
        filter: &InvitationFilter,
        now: DateTime<Utc>,
    ) -> CoreResult<InvitationRows> {
        let (limit, offset) = page(filter.limit, filter.offset)?;
        let condition = condition(filter.status);
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE $1 = $1 AND {condition}"
        ))
        .bind(stamp(now))
        .fetch_one(self.pool())
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT data, link_sealed FROM invitations WHERE {condition} \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(stamp(now))
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        let rows = rows
            .into_iter()
            .map(|r| {
                let mut invitation: Invitation = parse("invitation", r.get(0))?;
                let sealed: Option<Vec<u8>> = r.get(1);
                let has_link = sealed.is_some();
                invitation.status = status_at(invitation.status, invitation.expires_at, now);
                let seconds_left = (invitation.status == InvitationStatus::Pending)
                    .then(|| (invitation.expires_at - now).num_seconds());
                Ok(InvitationRow {
                    invitation,
                    has_link,
                    seconds_left,
                })
            })
            .collect::<CoreResult<Vec<_>>>()?;
        Ok(InvitationRows {
            total: total as u64,
            rows,
        })
    }
}
