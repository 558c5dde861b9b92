//! `/admin/v1/channels`: notification channels (outgoing webhooks). Admins make, edit, delete
//! them and rotate their secrets (`notifications.write`); auditors read them and their delivery
//! logs (`notifications.read`). A channel's signing secret is made by the gateway, shown once
//! (when made or rotated) and kept sealed under the gateway's key, which delivery opens it with.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{
    Channel, ChannelCreate, ChannelCreated, ChannelFormat, ChannelPatch, DeliveryAttempt,
    ErrorCode, EventPayload, EventType, TestData,
};
use gatehouse_store::Tx;
use gatehouse_store::webhooks::{self as store, ChannelFields, ChannelRow};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::permissions::Permission;

/// Most channels an org holds.
const MAX_CHANNELS: i64 = 50;
const MAX_NAME_CHARS: usize = 100;
const MAX_URL_CHARS: usize = 2000;

fn checked(state: &AppState, fields: ChannelFields) -> ApiResult<ChannelFields> {
    let name = crate::validate::text("name", &fields.name, 1, MAX_NAME_CHARS)?;
    if fields.url.chars().count() > MAX_URL_CHARS {
        return Err(ApiError::invalid(
            "url",
            format!("must be at most {MAX_URL_CHARS} characters"),
        ));
    }
    let url = crate::webhooks::check_url(&state.webhooks.allowed_nets, &fields.url)
        .map_err(|why| ApiError::invalid("url", why))?;
    if fields.events.is_empty() {
        return Err(ApiError::invalid("events", "must name at least one event"));
    }
    if fields.events.contains(&EventType::ChannelTest) {
        return Err(ApiError::invalid(
            "events",
            "channel.test is sent on request, not subscribed to",
        ));
    }
    let mut events = Vec::new();
    for e in EventType::SUBSCRIBABLE {
        if fields.events.contains(&e) {
            events.push(e);
        }
    }
    Ok(ChannelFields {
        name,
        url: url.to_string(),
        events,
        ..fields
    })
}

async fn row(state: &AppState, id: &str) -> ApiResult<ChannelRow> {
    store::get_channel(&state.db.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))
}

/// The channel `id` as `tx` sees it, or not found.
async fn channel_in(tx: &mut Tx, id: &str) -> ApiResult<Channel> {
    Ok(store::get_channel(&mut **tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))?
        .into_api())
}

/// What the audit log keeps of a channel: never its secret, and of its URL only the origin, since
/// a URL may carry a token (Slack's do) and the audit log reaches the change feed and streams.
fn audited(channel: &Channel) -> serde_json::Value {
    let mut v = json!(channel);
    let origin = url::Url::parse(&channel.url)
        .map(|u| format!("{}/…", u.origin().ascii_serialization()))
        .unwrap_or_default();
    v["url"] = json!(origin);
    v
}

/// Every notification channel, oldest first (never their secrets)
#[utoipa::path(
    get, path = "/admin/v1/channels", tag = "notifications",
    responses(
        (status = 200, description = "The channels", body = Vec<Channel>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not see notification channels", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Channel>>> {
    caller.require(Permission::NotificationsRead, "see notification channels")?;
    let rows = store::list_channels(&state.db.pool).await?;
    Ok(Json(rows.into_iter().map(ChannelRow::into_api).collect()))
}

/// Make a notification channel; its signing secret is in this answer and never again
#[utoipa::path(
    post, path = "/admin/v1/channels", tag = "notifications",
    request_body = ChannelCreate,
    responses(
        (status = 201, description = "The channel, with its signing secret, shown once", body = ChannelCreated),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not make channels", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The org already holds the most channels allowed (50)", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad name, URL (not https, or an address the gateway does not call) or event list", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ChannelCreate>,
) -> ApiResult<(StatusCode, Json<ChannelCreated>)> {
    caller.require(Permission::NotificationsWrite, "make notification channels")?;
    let fields = checked(
        &state,
        ChannelFields {
            name: body.name,
            url: body.url,
            format: body.format.unwrap_or(ChannelFormat::Json),
            events: body.events,
            enabled: body.enabled.unwrap_or(true),
        },
    )?;
    let mut tx = state.db.begin_write().await?;
    if store::count_channels(&mut tx).await? >= MAX_CHANNELS {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("The organisation already holds {MAX_CHANNELS} channels; delete one first."),
        ));
    }
    let secret = crate::webhooks::new_secret();
    let id = crate::new_id("chn");
    store::insert_channel(&mut tx, &id, &fields, &state.invite_key.seal(&secret)).await?;
    let channel = channel_in(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "channel.created",
        "channel",
        &id,
        json!({ "after": audited(&channel) }),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(ChannelCreated {
            channel,
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// One notification channel (never its secret)
#[utoipa::path(
    get, path = "/admin/v1/channels/{id}", tag = "notifications",
    params(("id" = String, Path, description = "The channel's id")),
    responses(
        (status = 200, description = "The channel", body = Channel),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not see notification channels", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No channel with this id", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Channel>> {
    caller.require(Permission::NotificationsRead, "see notification channels")?;
    Ok(Json(row(&state, &id).await?.into_api()))
}

/// Edit a notification channel: its name, URL, format, events or whether it is on
#[utoipa::path(
    patch, path = "/admin/v1/channels/{id}", tag = "notifications",
    params(("id" = String, Path, description = "The channel's id")),
    request_body = ChannelPatch,
    responses(
        (status = 200, description = "The changed channel", body = Channel),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not edit channels", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No channel with this id", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad name, URL or event list", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ChannelPatch>,
) -> ApiResult<Json<Channel>> {
    caller.require(Permission::NotificationsWrite, "edit notification channels")?;
    let mut tx = state.db.begin_write().await?;
    let before = channel_in(&mut tx, &id).await?;
    let fields = checked(
        &state,
        ChannelFields {
            name: body.name.unwrap_or_else(|| before.name.clone()),
            url: body.url.unwrap_or_else(|| before.url.clone()),
            format: body.format.unwrap_or(before.format),
            events: body.events.unwrap_or_else(|| before.events.clone()),
            enabled: body.enabled.unwrap_or(before.enabled),
        },
    )?;
    store::update_channel(&mut tx, &id, &fields).await?;
    let after = channel_in(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "channel.updated",
        "channel",
        &id,
        json!({ "before": audited(&before), "after": audited(&after) }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Delete a notification channel, with its undelivered events and delivery log
#[utoipa::path(
    delete, path = "/admin/v1/channels/{id}", tag = "notifications",
    params(("id" = String, Path, description = "The channel's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not delete channels", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No channel with this id", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require(
        Permission::NotificationsWrite,
        "delete notification channels",
    )?;
    let mut tx = state.db.begin_write().await?;
    let before = channel_in(&mut tx, &id).await?;
    store::delete_channel(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "channel.deleted",
        "channel",
        &id,
        json!({ "before": audited(&before) }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give a channel a new signing secret, shown in this answer and never again; the old one signs
/// nothing from now on
#[utoipa::path(
    post, path = "/admin/v1/channels/{id}/rotate-secret", tag = "notifications",
    params(("id" = String, Path, description = "The channel's id")),
    responses(
        (status = 200, description = "The channel and its new secret, shown once", body = ChannelCreated),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not rotate secrets", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No channel with this id", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ChannelCreated>> {
    caller.require(Permission::NotificationsWrite, "rotate channel secrets")?;
    let mut tx = state.db.begin_write().await?;
    channel_in(&mut tx, &id).await?;
    let secret = crate::webhooks::new_secret();
    store::set_secret(&mut tx, &id, &state.invite_key.seal(&secret)).await?;
    let channel = channel_in(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "channel.secret_rotated",
        "channel",
        &id,
        json!({ "after": audited(&channel) }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(ChannelCreated {
        channel,
        secret: secret.expose().to_owned(),
    }))
}

/// Queue a `channel.test` event for a channel, whatever it subscribes to; its attempts show in
/// the delivery log
#[utoipa::path(
    post, path = "/admin/v1/channels/{id}/test", tag = "notifications",
    params(("id" = String, Path, description = "The channel's id")),
    responses(
        (status = 202, description = "Queued; the worker sends it within a second or so"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not send test events", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No channel with this id", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::NotificationsWrite, "send test events")?;
    let mut tx = state.db.begin_write().await?;
    channel_in(&mut tx, &id).await?;
    let event = store::new_event(EventPayload::ChannelTest(TestData {
        channel_id: id.clone(),
        message: "A test event from Gatehouse: this channel works.".into(),
    }));
    store::enqueue(&mut tx, &id, &event).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "channel.tested",
        "channel",
        &id,
        json!({ "event_id": event.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::ACCEPTED)
}

/// A channel's delivery log: its last 1,000 attempts, newest first
#[utoipa::path(
    get, path = "/admin/v1/channels/{id}/deliveries", tag = "notifications",
    params(("id" = String, Path, description = "The channel's id")),
    responses(
        (status = 200, description = "The attempts, newest first", body = Vec<DeliveryAttempt>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not see notification channels", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No channel with this id", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<DeliveryAttempt>>> {
    caller.require(Permission::NotificationsRead, "see delivery logs")?;
    row(&state, &id).await?;
    let rows = store::attempts(&state.db.pool, &id).await?;
    Ok(Json(
        rows.into_iter().map(store::AttemptRow::into_api).collect(),
    ))
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, patch, delete))
        .routes(routes!(rotate_secret))
        .routes(routes!(test))
        .routes(routes!(deliveries))
}
