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
    Role, Secret, SyncChange, User, UserStatus,
};
use gatehouse_store::invitations as store;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, hash_secret, new_secret};
use crate::db::{self, Tx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::invite_key::InviteKey;
use crate::permissions::Permission;
use crate::{AppState, audit, cursor, org, users, validate, workspaces};

pub use gatehouse_store::invitations::InvitationRow;

/// The wire form of `row`; `link` only for callers allowed to invite, and only when this
/// gateway's key opens the token.
fn to_api(row: InvitationRow, links: Option<Links<'_>>) -> Invitation {
    let link = links.and_then(|l| l.of(&row));
    row.into_api(link)
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
    store::get_in(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("invitation"))
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
    links: Option<Links<'_>>,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    store::changed_since(tx, since, fetch, |row| links.and_then(|l| l.of(row))).await
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
    /// The access profile the account will start from, resolved when the invitation is made.
    profile_id: Option<String>,
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
        profile_id: None,
    })
}

/// The id of the access profile an invitation's request picks (its `profile_id`, else the org's
/// default), checked; recorded on the invitation and copied when it is accepted.
async fn profile_of(
    tx: &mut Tx,
    caller: &Caller,
    chosen: Option<&str>,
) -> ApiResult<Option<String>> {
    let profile = crate::profiles::resolve(
        tx,
        Some(caller),
        crate::profiles::Choice(chosen),
        "profile_id",
    )
    .await?;
    Ok(profile.map(|p| p.id))
}

/// Nobody invites to a role above their own.
fn require_invite(caller: &Caller, role: Role) -> ApiResult<()> {
    caller.require(Permission::InvitationsWrite, "invite people")?;
    if role > caller.role {
        return Err(ApiError::forbidden("invite to a role above your own"));
    }
    Ok(())
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
    users::get_in(tx, user_id).await
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
    let now = Utc::now();
    let id = store::insert(
        tx,
        store::NewInvitation {
            email: &invite.email,
            first_name: &invite.first_name,
            last_name: &invite.last_name,
            role: invite.role,
            workspace_ids: &invite.workspace_ids,
            identity_provider: invite.identity_provider,
            tenant_id: invite.tenant_id.clone(),
            notification_email: invite.notification_email.clone(),
            token_sealed: key.seal(&token),
            token_hash: hash,
            invited_by: &caller.user_id,
            sent_at: db::timestamp(now),
            expires_at: db::timestamp(now + Duration::days(ttl)),
            profile_id: invite.profile_id.clone(),
        },
    )
    .await?;
    let row = get_in(tx, &id).await?;
    audit::record(
        tx,
        Some(&caller.user_id),
        "invitation.created",
        "invitation",
        &id,
        json!({ "email": invite.email, "role": invite.role, "workspace_ids": invite.workspace_ids,
                "identity_provider": invite.identity_provider, "expires_at": row.expires_at,
                "profile_id": invite.profile_id }),
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
    let mut invite = validate_create(&input)?;
    require_invite(&caller, invite.role)?;
    let mut tx = state.db.begin_write().await?;
    workspaces::ensure_exist(&mut tx, &invite.workspace_ids).await?;
    invite.profile_id = profile_of(&mut tx, &caller, input.profile_id.as_deref()).await?;
    if let Some(user_id) = users::id_by_email(&mut *tx, &invite.email).await? {
        let user = add_existing(&mut tx, &caller, &user_id, &invite).await?;
        tx.commit().await?;
        return Ok((StatusCode::OK, Json(user)).into_response());
    }
    if store::pending_for(&mut tx, &invite.email).await? {
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
        Json(to_api(row, Links::for_caller(&state, &caller))),
    )
        .into_response())
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
    // One list, so an address repeated between `text` and `emails` counts as a repeat too.
    let mut pasted = input.text.clone().unwrap_or_default();
    for email in input.emails.iter().flatten() {
        pasted.push('\n');
        pasted.push_str(email);
    }
    let candidates = gatehouse_api::extract_invitees(&pasted);
    if !candidates.iter().any(|c| c.email.is_some()) {
        return Err(ApiError::invalid("text", "contains no e-mail address"));
    }
    if candidates.len() > 1000 {
        return Err(ApiError::invalid(
            "text",
            "has more than 1000 entries; split it",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    workspaces::ensure_exist(&mut tx, &input.workspace_ids).await?;
    let profile_id = profile_of(&mut tx, &caller, input.profile_id.as_deref()).await?;
    let mut results = Vec::new();
    let mut sent = Vec::new();
    for candidate in candidates {
        let item = |outcome, message: Option<&str>| BulkInviteItem {
            email: candidate
                .email
                .clone()
                .unwrap_or_else(|| candidate.text.clone()),
            outcome,
            invitation: None,
            message: message.map(str::to_owned),
        };
        let Some(email) = candidate.email.clone() else {
            results.push(item(BulkOutcome::Invalid, Some("not an e-mail address")));
            continue;
        };
        if candidate.repeat {
            results.push(item(
                BulkOutcome::Duplicate,
                Some("appears earlier in the list"),
            ));
            continue;
        }
        if users::id_by_email(&mut *tx, &email).await?.is_some() {
            results.push(item(BulkOutcome::AlreadyMember, None));
            continue;
        }
        if store::pending_for(&mut tx, &email).await? {
            results.push(item(
                BulkOutcome::AlreadyInvited,
                Some("already has a pending invitation"),
            ));
            continue;
        }
        // A name that is not fit to show is left out rather than refusing the address.
        let name = |n: &str| validate::name("name", n).unwrap_or_default();
        let invite = Invite {
            email,
            first_name: name(&candidate.first_name),
            last_name: name(&candidate.last_name),
            role: input.role,
            workspace_ids: input.workspace_ids.clone(),
            identity_provider: IdentityProvider::Any,
            tenant_id: None,
            notification_email: None,
            profile_id: profile_id.clone(),
        };
        match insert(&mut tx, &state.invite_key, &caller, &invite).await {
            Ok((row, token)) => {
                let mut it = item(BulkOutcome::Invited, None);
                it.invitation = Some(to_api(row.clone(), Links::for_caller(&state, &caller)));
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
    let limit = gatehouse_api::page_limit(query.limit)?;
    let before = query.cursor.as_deref().map(cursor::decode).transpose()?;
    let rows = store::list(
        &state.db.pool,
        store::Filter {
            status: query.status,
            before,
            limit: limit + 1,
        },
    )
    .await?;
    let page = cursor::paginate(rows, limit, |r| r.id.clone());
    let base = Links::for_caller(&state, &caller);
    Ok(Json(Page {
        items: page.items.into_iter().map(|r| to_api(r, base)).collect(),
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
    Ok(Json(to_api(row, links)))
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
            store::replace_token(&mut tx, &id, state.invite_key.seal(&token), hash).await?;
            (token, true)
        }
    };
    store::renew(
        &mut tx,
        &id,
        db::timestamp(now),
        db::timestamp(now + Duration::days(ttl)),
    )
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
    Ok(Json(to_api(after, Links::for_caller(&state, &caller))))
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
    store::revoke(&mut tx, &id).await?;
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
    Ok(Json(to_api(after, Links::for_caller(&state, &caller))))
}

/// The invitation behind a link, if it can still be accepted.
pub async fn open(tx: &mut Tx, token: &str) -> ApiResult<InvitationRow> {
    let row = store::by_token_hash(tx, &hash_secret(token)).await?;
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
    if row.identity_provider() != IdentityProvider::Any {
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
    let user_id = match users::id_by_email(&mut **tx, &row.email).await? {
        Some(id) => {
            for ws in &existing {
                workspaces::put_member(tx, ws, &id, role).await?;
            }
            id
        }
        None => {
            let id = users::insert(
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
            .await?;
            // A profile deleted since the invitation was made gives nothing.
            let profile = match row.profile_id.as_deref() {
                Some(p) => gatehouse_store::profiles::get(&mut **tx, p).await?,
                None => None,
            };
            crate::profiles::start_from(tx, row.invited_by.as_deref(), &id, profile.as_ref())
                .await?;
            id
        }
    };
    // Only a still-pending invitation turns into an account: of two acceptances that raced
    // past `open`, the second finds it accepted and changes nothing.
    let claimed = store::claim(tx, &row.id, &user_id).await?;
    if !claimed {
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
    users::get_in(tx, &user_id).await
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(bulk))
        .routes(routes!(show))
        .routes(routes!(resend))
        .routes(routes!(revoke))
}
