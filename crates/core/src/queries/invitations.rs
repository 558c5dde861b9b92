//! Invitations by status, as the gateway decides it. A link carries the invitee's token, so lists
//! only say whether there is one; [`Cache::invite_link`] unseals it for the clipboard.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use gatehouse_api::{Invitation, InvitationStatus, Secret};
use sqlx::Row;

use super::{page, parse, stamp};
use crate::cache::Cache;
use crate::error::{CoreError, CoreResult};
use crate::ipc::{
    BulkPreviewItem, BulkPreviewKind, InvitationFilter, InvitationRow, InvitationRows,
};

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

    /// What a bulk invitation of `text` would do with each entry, by the gateway's reading of
    /// the text and the members and pending invitations the cache holds as of now.
    pub async fn bulk_preview(&self, text: &str) -> CoreResult<Vec<BulkPreviewItem>> {
        self.bulk_preview_at(text, Utc::now()).await
    }

    /// [`Cache::bulk_preview`] as of `now`.
    pub async fn bulk_preview_at(
        &self,
        text: &str,
        now: DateTime<Utc>,
    ) -> CoreResult<Vec<BulkPreviewItem>> {
        let invitees = gatehouse_api::extract_invitees(text);
        let addresses: Vec<&str> = invitees.iter().filter_map(|i| i.email.as_deref()).collect();
        let addresses = serde_json::to_string(&addresses).expect("strings serialize");
        let members: HashSet<String> = sqlx::query_scalar(
            "SELECT email FROM users WHERE email IN (SELECT value FROM json_each($1))",
        )
        .bind(&addresses)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .collect();
        let pending: HashSet<String> = sqlx::query_scalar(&format!(
            "SELECT email FROM invitations WHERE email IN (SELECT value FROM json_each($2)) AND {}",
            condition(Some(InvitationStatus::Pending))
        ))
        .bind(stamp(now))
        .bind(&addresses)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .collect();
        // The gateway's order of checks (invitations.rs `bulk`): address, repeat, member, pending.
        Ok(invitees
            .into_iter()
            .map(|i| {
                let kind = match &i.email {
                    None => BulkPreviewKind::Invalid,
                    Some(_) if i.repeat => BulkPreviewKind::Duplicate,
                    Some(e) if members.contains(e) => BulkPreviewKind::AlreadyMember,
                    Some(e) if pending.contains(e) => BulkPreviewKind::AlreadyInvited,
                    Some(_) => BulkPreviewKind::ToInvite,
                };
                BulkPreviewItem {
                    text: i.email.unwrap_or(i.text),
                    first_name: i.first_name,
                    last_name: i.last_name,
                    kind,
                }
            })
            .collect())
    }

    /// The links of invitations `ids`, one `address<TAB>link` line each (a spreadsheet's two
    /// columns when pasted), for "Copy all links" after a bulk invitation. Invitations without a
    /// link in the cache are left out; none at all is an error.
    pub async fn invite_links(&self, ids: &[String]) -> CoreResult<Secret> {
        let mut lines = String::new();
        for id in ids {
            let email: Option<String> =
                sqlx::query_scalar("SELECT email FROM invitations WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?;
            let (Some(email), Ok(link)) = (email, self.invite_link(id).await) else {
                continue;
            };
            lines.push_str(&format!("{email}\t{}\n", link.expose()));
        }
        if lines.is_empty() {
            return Err(CoreError::Invalid(
                "none of these invitations has a link in the cache".into(),
            ));
        }
        Ok(Secret::new(lines))
    }
}
