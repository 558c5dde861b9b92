//! Invitations: single and bulk, the copyable link, TTL from the org, resend, revoke, and the
//! invitee's acceptance. Every pending, unexpired invitation holds a seat.
//!
//! A link is looked up by its token's hash; the token itself is kept only sealed under the
//! gateway's invitation key (`invite_key`), to show the link again to those allowed to invite.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use gatehouse_api::{
    AcceptInvitation, BulkInvite, BulkInviteItem, BulkInviteResult, BulkOutcome, ErrorCode,
    IdentityProvider, Invitation, InvitationCreate, InvitationListQuery, InvitationStatus, Page,
    Role, Secret, SyncChange, SyncKind, User, UserStatus,
};
use serde_json::json;
use sqlx::FromRow;

use crate::auth::{Caller, hash_secret, new_secret};
use crate::db::{self, Tx, next_revision};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::invite_key::InviteKey;
use crate::permissions::Permission;
use crate::sql::SqlText;
use crate::{AppState, audit, cursor, org, users, validate, workspaces};

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
}

const COLUMNS: &str = "id, email, first_name, last_name, role, workspace_ids, identity_provider, tenant_id, \
     notification_email, token_sealed, status, invited_by, created_at, sent_at, expires_at, accepted_at, revision";

fn provider(s: &str) -> IdentityProvider {
    match s {
        "google" => IdentityProvider::Google,
        "microsoft" => IdentityProvider::Microsoft,
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

    /// The wire form; `link` only for callers allowed to invite, and only when this gateway's
    /// key opens the token.
    pub fn into_api(self, links: Option<Links<'_>>) -> Invitation {
        Invitation {
            status: self.status(),
            link: links.and_then(|l| l.of(&self)),
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
        }
    }
}

pub fn link(public_url: &str, token: &str) -> String {
    format!("{}/invite/{token}", public_url.trim_end_matches('/'))
}

/// What showing links takes: the public URL and the key the tokens are sealed under.
#[derive(Clone, Copy)]
pub struct Links<'a> {
    public_url: &'a str,
    key: &'a InviteKey,
}

impl<'a> Links<'a> {
    /// For callers allowed to invite, who are the ones shown links.
    pub fn for_caller(state: &'a AppState, caller: &Caller) -> Option<Self> {
        caller.allows(Permission::InvitationsWrite).then_some(Self {
            public_url: &state.public_url,
            key: &state.invite_key,
        })
    }

    fn token(&self, row: &InvitationRow) -> Option<Secret> {
        let token = row.token_sealed.as_deref().and_then(|t| self.key.open(t));
        if token.is_none() && row.status() == InvitationStatus::Pending {
            tracing::warn!(
                invitation = %row.id,
                "the link of a pending invitation cannot be shown: its token was cleared or \
                 sealed under another invitation key"
            );
        }
        token
    }

    fn of(&self, row: &InvitationRow) -> Option<String> {
        self.token(row).map(|t| link(self.public_url, t.expose()))
    }
}

async fn get_in(tx: &mut Tx, id: &str) -> ApiResult<InvitationRow> {
    let row: Option<InvitationRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM invitations WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    row.ok_or_else(|| ApiError::not_found("invitation"))
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
    links: Option<Links<'_>>,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<InvitationRow> = gatehouse_store::feed::rows_since(
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
            let inv = r.into_api(links);
            SyncChange::upsert(SyncKind::Invitation, inv.id.clone(), inv.revision, &inv)
        })
        .collect())
}

/// A validated invitation request.
struct Invite {
    email: String,
    first_name: String,
    last_name: String,
    role: Role,
    workspace_ids: Vec<String>,
    identity_provider: IdentityProvider,
    tenant_id: Option<String>,
    notification_email: Option<String>,
}

fn validate_create(input: &InvitationCreate) -> ApiResult<Invite> {
    let identity_provider = input.identity_provider.unwrap_or(IdentityProvider::Any);
    let tenant_id = match input
        .tenant_id
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(_) if identity_provider != IdentityProvider::Microsoft => {
            return Err(ApiError::invalid(
                "tenant_id",
                "applies only to the microsoft identity provider",
            ));
        }
        Some(t) => Some(validate::text("tenant_id", t, 1, 100)?),
        None => None,
    };
    Ok(Invite {
        email: validate::email("email", &input.email)?,
        first_name: validate::name("first_name", input.first_name.as_deref().unwrap_or(""))?,
        last_name: validate::name("last_name", input.last_name.as_deref().unwrap_or(""))?,
        role: input.role,
        workspace_ids: input.workspace_ids.clone(),
        identity_provider,
        tenant_id,
        notification_email: input
            .notification_email
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .map(|e| validate::email("notification_email", e))
            .transpose()?,
    })
}

/// Nobody invites to a role above their own.
fn require_invite(caller: &Caller, role: Role) -> ApiResult<()> {
    caller.require(Permission::InvitationsWrite, "invite people")?;
    if role > caller.role {
        return Err(ApiError::forbidden("invite to a role above your own"));
    }
    Ok(())
}

async fn user_id_by_email(tx: &mut Tx, email: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(&mut **tx)
        .await
}

async fn pending_for(tx: &mut Tx, email: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invitations WHERE email = $1 AND status = 'pending' AND expires_at > $2")
        .bind(email)
        .bind(db::now())
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// Adds an existing account to the invitation's workspaces, with the invited role there.
async fn add_existing(
    tx: &mut Tx,
    caller: &Caller,
    user_id: &str,
    invite: &Invite,
) -> ApiResult<User> {
    for ws in &invite.workspace_ids {
        workspaces::put_member(tx, ws, user_id, invite.role).await?;
    }
    audit::record(
        tx,
        Some(&caller.user_id),
        "invitation.existing_added",
        "user",
        user_id,
        json!({ "workspace_ids": invite.workspace_ids }),
    )
    .await?;
    let row: users::UserRow = sqlx::query_as(&format!(
        "SELECT {} FROM users WHERE id = $1",
        users::USER_COLUMNS
    ))
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(users::attach_workspaces(&mut **tx, vec![row])
        .await?
        .remove(0))
}

/// Inserts a pending invitation holding a seat.
async fn insert(
    tx: &mut Tx,
    key: &InviteKey,
    caller: &Caller,
    invite: &Invite,
) -> ApiResult<(InvitationRow, Secret)> {
    org::check_seats(tx, 1).await?;
    let ttl = org::get_in(tx).await?.invite_ttl_days;
    let (token, hash) = new_secret("");
    let id = crate::new_id("inv");
    let now = Utc::now();
    let revision = next_revision(tx).await?;
    sqlx::query(
        "INSERT INTO invitations (id, email, first_name, last_name, role, workspace_ids, identity_provider, tenant_id, \
         notification_email, token_sealed, token_hash, status, invited_by, created_at, sent_at, expires_at, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $13, $13, $14, $15)",
    )
    .bind(&id)
    .bind(&invite.email)
    .bind(&invite.first_name)
    .bind(&invite.last_name)
    .bind(invite.role.as_str())
    .bind(serde_json::to_string(&invite.workspace_ids).expect("ids serialize"))
    .bind(invite.identity_provider.as_str())
    .bind(invite.tenant_id.clone())
    .bind(invite.notification_email.clone())
    .bind(key.seal(&token))
    .bind(hash)
    .bind(&caller.user_id)
    .bind(db::timestamp(now))
    .bind(db::timestamp(now + Duration::days(ttl)))
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    let row = get_in(tx, &id).await?;
    audit::record(
        tx,
        Some(&caller.user_id),
        "invitation.created",
        "invitation",
        &id,
        json!({ "email": invite.email, "role": invite.role, "workspace_ids": invite.workspace_ids,
                "identity_provider": invite.identity_provider, "expires_at": row.expires_at }),
    )
    .await?;
    Ok((row, token))
}

/// Invite someone; an e-mail that already has an account is added to the workspaces instead
#[utoipa::path(
    post, path = "/admin/v1/invitations", tag = "invitations",
    request_body = InvitationCreate,
    responses(
        (status = 201, description = "The invitation, with its link", body = Invitation),
        (status = 200, description = "The e-mail has an account: it was added to the workspaces", body = User),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already invited, or no seat free (`seat_limit_reached`)", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<InvitationCreate>,
) -> ApiResult<Response> {
    let invite = validate_create(&input)?;
    require_invite(&caller, invite.role)?;
    let mut tx = state.db.begin_write().await?;
    workspaces::ensure_exist(&mut tx, &invite.workspace_ids).await?;
    if let Some(user_id) = user_id_by_email(&mut tx, &invite.email).await? {
        let user = add_existing(&mut tx, &caller, &user_id, &invite).await?;
        tx.commit().await?;
        return Ok((StatusCode::OK, Json(user)).into_response());
    }
    if pending_for(&mut tx, &invite.email).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "{} has a pending invitation; resend it instead.",
                invite.email
            ),
        ));
    }
    let (row, token) = insert(&mut tx, &state.invite_key, &caller, &invite).await?;
    tx.commit().await?;
    let org = org::get(&state.db.pool)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    crate::invite_mail::send(&state, &org, &row, &token);
    Ok((
        StatusCode::CREATED,
        Json(row.into_api(Links::for_caller(&state, &caller))),
    )
        .into_response())
}

/// Every address-like word of `text`, in order: split at spaces and punctuation that never
/// occurs in an address, with a `mailto:` and trailing dots removed.
pub fn extract_addresses(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || ",;<>()[]{}\"'|".contains(c))
        .map(|w| w.trim_start_matches("mailto:").trim_end_matches(['.', ':']))
        .filter(|w| w.contains('@'))
        .map(str::to_owned)
        .collect()
}

/// Invite many addresses at once, extracted from any pasted text
#[utoipa::path(
    post, path = "/admin/v1/invitations/bulk", tag = "invitations",
    request_body = BulkInvite,
    responses(
        (status = 200, description = "What happened to each address", body = BulkInviteResult),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No addresses, too many, or invalid workspaces", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<BulkInvite>,
) -> ApiResult<Json<BulkInviteResult>> {
    require_invite(&caller, input.role)?;
    let mut candidates = input
        .text
        .as_deref()
        .map(extract_addresses)
        .unwrap_or_default();
    candidates.extend(input.emails.iter().flatten().map(|e| e.trim().to_owned()));
    if candidates.is_empty() {
        return Err(ApiError::invalid("text", "contains no e-mail address"));
    }
    if candidates.len() > 1000 {
        return Err(ApiError::invalid(
            "text",
            "has more than 1000 addresses; split it",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    workspaces::ensure_exist(&mut tx, &input.workspace_ids).await?;
    let mut seen = std::collections::HashSet::new();
    let mut results = Vec::new();
    let mut sent = Vec::new();
    for candidate in candidates {
        let item = |outcome, message: Option<&str>| BulkInviteItem {
            email: candidate.clone(),
            outcome,
            invitation: None,
            message: message.map(str::to_owned),
        };
        let Ok(email) = validate::email("email", &candidate) else {
            results.push(item(BulkOutcome::Invalid, Some("not an e-mail address")));
            continue;
        };
        if !seen.insert(email.clone()) {
            results.push(item(
                BulkOutcome::Duplicate,
                Some("appears earlier in the list"),
            ));
            continue;
        }
        if user_id_by_email(&mut tx, &email).await?.is_some() {
            results.push(item(BulkOutcome::AlreadyMember, None));
            continue;
        }
        if pending_for(&mut tx, &email).await? {
            results.push(item(
                BulkOutcome::Duplicate,
                Some("already has a pending invitation"),
            ));
            continue;
        }
        let invite = Invite {
            email,
            first_name: String::new(),
            last_name: String::new(),
            role: input.role,
            workspace_ids: input.workspace_ids.clone(),
            identity_provider: IdentityProvider::Any,
            tenant_id: None,
            notification_email: None,
        };
        match insert(&mut tx, &state.invite_key, &caller, &invite).await {
            Ok((row, token)) => {
                let mut it = item(BulkOutcome::Invited, None);
                it.invitation = Some(row.clone().into_api(Links::for_caller(&state, &caller)));
                results.push(it);
                sent.push((row, token));
            }
            Err(ApiError::Problem(p)) if p.code == ErrorCode::SeatLimitReached => {
                results.push(item(BulkOutcome::SeatLimitReached, Some(&p.detail)));
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    let org = org::get(&state.db.pool)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    for (row, token) in &sent {
        crate::invite_mail::send(&state, &org, row, token);
    }
    Ok(Json(BulkInviteResult { results }))
}

/// Invitations, newest first
#[utoipa::path(
    get, path = "/admin/v1/invitations", tag = "invitations",
    params(InvitationListQuery),
    responses(
        (status = 200, description = "One page of invitations; links only for callers allowed to invite", body = Page<Invitation>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<InvitationListQuery>,
) -> ApiResult<Json<Page<Invitation>>> {
    if !caller.allows(Permission::InvitationsRead) {
        caller.require(Permission::InvitationsWrite, "read invitations")?;
    }
    let limit = users::page_limit(query.limit)?;
    let now = db::now();
    let mut q = SqlText::new(&format!("SELECT {COLUMNS} FROM invitations WHERE 1 = 1"));
    match query.status {
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
    if let Some(c) = query.cursor.as_deref() {
        q.push(" AND id < ").bind(cursor::decode(c)?);
    }
    q.push(" ORDER BY id DESC LIMIT ").bind(limit + 1);
    let rows: Vec<InvitationRow> = sqlx::query_as_with(&q.sql, q.args)
        .fetch_all(&state.db.pool)
        .await?;
    let page = cursor::paginate(rows, limit, |r| r.id.clone());
    let base = Links::for_caller(&state, &caller);
    Ok(Json(Page {
        items: page.items.into_iter().map(|r| r.into_api(base)).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One invitation; the link only for callers allowed to invite
#[utoipa::path(
    get, path = "/admin/v1/invitations/{id}", tag = "invitations",
    params(("id" = String, Path, description = "Invitation id")),
    responses(
        (status = 200, description = "The invitation", body = Invitation),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invitation", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A pending invitation whose link this gateway cannot show (its token was sealed under another invitation key, or cleared on upgrade): resend it for a new link", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Invitation>> {
    if !caller.allows(Permission::InvitationsRead) {
        caller.require(Permission::InvitationsWrite, "read invitations")?;
    }
    let mut tx = state.db.begin_read().await?;
    let row = get_in(&mut tx, &id).await?;
    tx.commit().await?;
    let links = Links::for_caller(&state, &caller);
    if let Some(l) = links
        && row.status() == InvitationStatus::Pending
        && l.token(&row).is_none()
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "This invitation's link cannot be shown: its token was sealed under another \
             invitation key than this gateway's, or kept by an older version and cleared on \
             upgrade. The link itself still works; resend the invitation to get a new link.",
        ));
    }
    Ok(Json(row.into_api(links)))
}

/// Mail the invitation again and restart its time to live
#[utoipa::path(
    post, path = "/admin/v1/invitations/{id}/resend", tag = "invitations",
    params(("id" = String, Path, description = "Invitation id")),
    responses(
        (status = 200, description = "The invitation with its new expiry", body = Invitation),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invitation", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Accepted or revoked, or no seat free for an expired one", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Invitation>> {
    caller.require(Permission::InvitationsWrite, "resend invitations")?;
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx, &id).await?;
    match before.status() {
        InvitationStatus::Pending => {}
        // An expired invitation takes a seat again.
        InvitationStatus::Expired => org::check_seats(&mut tx, 1).await?,
        other => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "The invitation is {}; invite again instead.",
                    other.as_str()
                ),
            ));
        }
    }
    let ttl = org::get_in(&mut tx).await?.invite_ttl_days;
    let now = Utc::now();
    let revision = next_revision(&mut tx).await?;
    // A token this gateway cannot open cannot be mailed: a new one replaces it, and the old
    // link stops working.
    let opened = before
        .token_sealed
        .as_deref()
        .and_then(|t| state.invite_key.open(t));
    let (token, renewed) = match opened {
        Some(token) => (token, false),
        None => {
            let (token, hash) = new_secret("");
            sqlx::query("UPDATE invitations SET token_sealed = $1, token_hash = $2 WHERE id = $3")
                .bind(state.invite_key.seal(&token))
                .bind(hash)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            (token, true)
        }
    };
    sqlx::query(
        "UPDATE invitations SET sent_at = $1, expires_at = $2, revision = $3 WHERE id = $4",
    )
    .bind(db::timestamp(now))
    .bind(db::timestamp(now + Duration::days(ttl)))
    .bind(revision)
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    let after = get_in(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "invitation.resent",
        "invitation",
        &id,
        json!({ "before": { "expires_at": before.expires_at }, "after": { "expires_at": after.expires_at },
                "new_link": renewed }),
    )
    .await?;
    tx.commit().await?;
    let org = org::get(&state.db.pool)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    crate::invite_mail::send(&state, &org, &after, &token);
    Ok(Json(after.into_api(Links::for_caller(&state, &caller))))
}

/// Revoke an invitation: its link stops working at once
#[utoipa::path(
    post, path = "/admin/v1/invitations/{id}/revoke", tag = "invitations",
    params(("id" = String, Path, description = "Invitation id")),
    responses(
        (status = 200, description = "The revoked invitation", body = Invitation),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invitation", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already accepted or revoked", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Invitation>> {
    caller.require(Permission::InvitationsWrite, "revoke invitations")?;
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx, &id).await?;
    if !matches!(
        before.status(),
        InvitationStatus::Pending | InvitationStatus::Expired
    ) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("The invitation is already {}.", before.status().as_str()),
        ));
    }
    let revision = next_revision(&mut tx).await?;
    sqlx::query("UPDATE invitations SET status = 'revoked', revision = $1 WHERE id = $2")
        .bind(revision)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "invitation.revoked",
        "invitation",
        &id,
        json!({ "email": before.email }),
    )
    .await?;
    let after = get_in(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(Json(after.into_api(Links::for_caller(&state, &caller))))
}

/// The invitation behind a link, if it can still be accepted.
pub async fn open(tx: &mut Tx, token: &str) -> ApiResult<InvitationRow> {
    let row: Option<InvitationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"
    ))
    .bind(hash_secret(token))
    .fetch_optional(&mut **tx)
    .await?;
    acceptable(row.ok_or_else(|| ApiError::not_found("invitation"))?)
}

/// The invitation with `id`, if it can still be accepted: for a sign-in that comes back from an
/// identity provider, which knows the invitation by id rather than by its link.
pub async fn open_by_id(tx: &mut Tx, id: &str) -> ApiResult<InvitationRow> {
    acceptable(get_in(tx, id).await?)
}

/// `row` if it can still be accepted, else the problem that says why not.
fn acceptable(row: InvitationRow) -> ApiResult<InvitationRow> {
    match row.status() {
        InvitationStatus::Pending => Ok(row),
        InvitationStatus::Expired => Err(ApiError::new(
            ErrorCode::InviteExpired,
            "This invitation has expired. Ask for a new one.",
        )),
        InvitationStatus::Revoked => Err(ApiError::new(
            ErrorCode::InviteRevoked,
            "This invitation was revoked.",
        )),
        InvitationStatus::Accepted => Err(ApiError::new(
            ErrorCode::InviteUsed,
            "This invitation has been used already. Sign in instead.",
        )),
    }
}

/// The invitation behind `token`, if it can still be accepted with a password.
async fn open_for_password(tx: &mut Tx, token: &str) -> ApiResult<InvitationRow> {
    let row = open(tx, token).await?;
    if provider(&row.identity_provider) != IdentityProvider::Any {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "This invitation must be accepted by signing in with {}.",
                row.identity_provider
            ),
        ));
    }
    Ok(row)
}

/// Accepts the invitation behind `token` with a password: the invitee becomes a user (pending
/// where the org requires approval). Changes nothing unless it succeeds.
pub async fn accept(state: &AppState, token: &str, input: &AcceptInvitation) -> ApiResult<User> {
    // The link first: a bogus or dead one must not cost an argon2 hash (anyone can post one).
    let mut tx = state.db.begin_read().await?;
    open_for_password(&mut tx, token).await?;
    tx.commit().await?;
    let password = input.password.as_deref().unwrap_or("");
    crate::password::validate("password", password)?;
    // Hashed outside the write transaction, which must not wait for argon2; the link is checked
    // again inside it, as it may have been used or revoked meanwhile.
    let password_hash = crate::password::hash(password.to_owned()).await?;
    let mut tx = state.db.begin_write().await?;
    let row = open_for_password(&mut tx, token).await?;
    let first_name = match input.first_name.as_deref() {
        Some(n) => validate::name("first_name", n)?,
        None => row.first_name.clone(),
    };
    let last_name = match input.last_name.as_deref() {
        Some(n) => validate::name("last_name", n)?,
        None => row.last_name.clone(),
    };
    let user = redeem(
        &mut tx,
        &row,
        first_name,
        last_name,
        Some(password_hash),
        "password",
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Turns an invitation that `open` or `open_by_id` returned into an account (or adds the
/// existing account with its e-mail to the invited workspaces) and marks it accepted, inside
/// `tx`. The one place where an invitee joins, whichever way they proved who they are
/// (`method`: `password`, `google`, `microsoft`); the caller commits.
pub async fn redeem(
    tx: &mut Tx,
    row: &InvitationRow,
    first_name: String,
    last_name: String,
    password_hash: Option<String>,
    method: &str,
) -> ApiResult<User> {
    let workspace_ids: Vec<String> = serde_json::from_str(&row.workspace_ids).unwrap_or_default();
    let role = Role::parse(&row.role).unwrap_or(Role::Member);
    let org = org::get_in(tx).await?;
    // Workspaces deleted since the invitation was made are skipped.
    let mut existing = Vec::new();
    for ws in workspace_ids {
        if workspaces::ensure_exist(tx, std::slice::from_ref(&ws))
            .await
            .is_ok()
        {
            existing.push(ws);
        }
    }
    let user_id = match user_id_by_email(tx, &row.email).await? {
        Some(id) => {
            for ws in &existing {
                workspaces::put_member(tx, ws, &id, role).await?;
            }
            id
        }
        None => {
            users::insert(
                tx,
                &users::NewUser {
                    email: row.email.clone(),
                    first_name,
                    last_name,
                    role,
                    status: if org.require_approval {
                        UserStatus::Pending
                    } else {
                        UserStatus::Active
                    },
                    workspace_ids: existing,
                    password_hash,
                    created_at: db::now(),
                    last_active_at: Some(db::now()),
                },
            )
            .await?
        }
    };
    let revision = next_revision(tx).await?;
    // Only a still-pending invitation turns into an account: of two acceptances that raced
    // past `open`, the second finds it accepted and changes nothing.
    let claimed = sqlx::query(
        "UPDATE invitations SET status = 'accepted', accepted_at = $1, accepted_user_id = $2, revision = $3 \
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(db::now())
    .bind(&user_id)
    .bind(revision)
    .bind(&row.id)
    .execute(&mut **tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Err(ApiError::new(
            ErrorCode::InviteUsed,
            "This invitation has been used already. Sign in instead.",
        ));
    }
    audit::record(
        tx,
        Some(&user_id),
        "invitation.accepted",
        "invitation",
        &row.id,
        json!({ "user_id": user_id, "method": method }),
    )
    .await?;
    let user_row: users::UserRow = sqlx::query_as(&format!(
        "SELECT {} FROM users WHERE id = $1",
        users::USER_COLUMNS
    ))
    .bind(&user_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(users::attach_workspaces(&mut **tx, vec![user_row])
        .await?
        .remove(0))
}
