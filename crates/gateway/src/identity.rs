//! `/admin/v1/identity`: how people enter the org through single sign-on: invite-only or
//! just-in-time (with the domains and role), SSO required (with the break-glass admin who may
//! still use a password), Microsoft's tenant and the role mapping from a groups claim. The
//! providers themselves are the gateway's configuration (`serve` flags or environment; their
//! client secrets never pass through the API or the database); this shows which are set up.

use axum::Json;
use axum::extract::State;
use gatehouse_api::{
    ErrorCode, IdentityProvider, IdentitySettings, IdentitySettingsInput, JoinMode, Role,
    SsoProvider, UserStatus,
};
use gatehouse_store::identity as store;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::permissions::Permission;

const MAX_DOMAINS: usize = 50;
const MAX_MAPPINGS: usize = 100;

/// The providers this gateway's configuration sets up, in a fixed order.
pub fn providers(state: &AppState) -> Vec<SsoProvider> {
    let own = state
        .oidc
        .generic_name
        .clone()
        .unwrap_or_else(|| "Single sign-on".to_owned());
    [
        (IdentityProvider::Oidc, own),
        (IdentityProvider::Google, "Google".to_owned()),
        (IdentityProvider::Microsoft, "Microsoft".to_owned()),
    ]
    .into_iter()
    .filter(|(p, _)| state.oidc.configured(*p))
    .map(|(id, name)| SsoProvider { id, name })
    .collect()
}

fn settings(state: &AppState, identity: store::Identity) -> IdentitySettings {
    let i = identity.input;
    IdentitySettings {
        providers: providers(state),
        join_mode: i.join_mode,
        jit_domains: i.jit_domains,
        jit_role: i.jit_role,
        microsoft_tenant: i.microsoft_tenant,
        require_sso: i.require_sso,
        break_glass_user_id: i.break_glass_user_id,
        groups_claim: i.groups_claim,
        role_mapping: i.role_mapping,
        revision: identity.revision,
    }
}

/// The org's single sign-on settings and the providers set up
#[utoipa::path(
    get, path = "/admin/v1/identity", tag = "identity",
    responses(
        (status = 200, description = "The settings", body = IdentitySettings),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not see how people sign in", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<IdentitySettings>> {
    caller.require(Permission::IdentityRead, "see how people sign in")?;
    let identity = store::get(&state.db.pool).await?;
    Ok(Json(settings(&state, identity)))
}

/// A domain as written in an address after the `@`: letters, digits, dashes and dots.
fn domain(value: &str) -> ApiResult<String> {
    let d = value.trim().trim_start_matches('@').to_lowercase();
    let ok = d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(d)
    } else {
        Err(ApiError::invalid(
            "jit_domains",
            format!("{value:?} is not a domain such as acme.example"),
        ))
    }
}

async fn validated(
    tx: &mut Tx,
    state: &AppState,
    input: IdentitySettingsInput,
) -> ApiResult<IdentitySettingsInput> {
    let mut domains = Vec::new();
    for d in &input.jit_domains {
        let d = domain(d)?;
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    if domains.len() > MAX_DOMAINS {
        return Err(ApiError::invalid(
            "jit_domains",
            format!("at most {MAX_DOMAINS}"),
        ));
    }
    if input.join_mode == JoinMode::JustInTime && domains.is_empty() {
        return Err(ApiError::invalid(
            "jit_domains",
            "just-in-time accounts need at least one domain whose addresses may join",
        ));
    }
    let microsoft_tenant = match input.microsoft_tenant.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(crate::oidc::tenant_guid(t).ok_or_else(|| {
            ApiError::invalid(
                "microsoft_tenant",
                "must be the tenant's ID, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47",
            )
        })?),
    };
    let groups_claim = input.groups_claim.trim().to_owned();
    if groups_claim.is_empty()
        || groups_claim.len() > 64
        || !groups_claim
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b))
    {
        return Err(ApiError::invalid(
            "groups_claim",
            "must be a claim name of 1 to 64 letters, digits and _-.:/",
        ));
    }
    if input.role_mapping.len() > MAX_MAPPINGS {
        return Err(ApiError::invalid(
            "role_mapping",
            format!("at most {MAX_MAPPINGS} entries"),
        ));
    }
    let mut role_mapping = Vec::new();
    for m in input.role_mapping {
        let claim_value =
            crate::validate::text("role_mapping.claim_value", &m.claim_value, 1, 256)?;
        if m.role.is_none() && m.group_id.is_none() {
            return Err(ApiError::invalid(
                "role_mapping",
                format!("the entry for {claim_value:?} gives neither a role nor a group"),
            ));
        }
        if let Some(g) = &m.group_id
            && gatehouse_store::groups::get_in(tx, g).await?.is_none()
        {
            return Err(ApiError::invalid(
                "role_mapping.group_id",
                format!("no group has the id {g}"),
            ));
        }
        role_mapping.push(gatehouse_api::RoleMapping { claim_value, ..m });
    }
    let break_glass = match input.break_glass_user_id.as_deref() {
        None | Some("") => None,
        Some(id) => {
            let user = gatehouse_store::users::get_in(tx, id)
                .await?
                .filter(|u| u.role == Role::Admin && u.status == UserStatus::Active)
                .ok_or_else(|| {
                    ApiError::invalid("break_glass_user_id", "must be an active admin")
                })?;
            Some(user.id)
        }
    };
    if input.require_sso {
        if providers(state).is_empty() {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "No identity provider is set up on this gateway: requiring single sign-on would \
                 let nobody in.",
            ));
        }
        if break_glass.is_none() {
            return Err(ApiError::invalid(
                "break_glass_user_id",
                "requiring single sign-on needs a break-glass admin who may still sign in with a \
                 password, should the provider fail",
            ));
        }
    }
    Ok(IdentitySettingsInput {
        join_mode: input.join_mode,
        jit_domains: domains,
        jit_role: input.jit_role,
        microsoft_tenant,
        require_sso: input.require_sso,
        break_glass_user_id: break_glass,
        groups_claim,
        role_mapping,
    })
}

/// Change the org's single sign-on settings
#[utoipa::path(
    put, path = "/admin/v1/identity", tag = "identity",
    request_body = IdentitySettingsInput,
    responses(
        (status = 200, description = "The settings now", body = IdentitySettings),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not change how people sign in", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "SSO required with no provider set up", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<IdentitySettingsInput>,
) -> ApiResult<Json<IdentitySettings>> {
    caller.require(Permission::IdentityWrite, "change how people sign in")?;
    let mut tx = state.db.begin_write().await?;
    let before = store::get(&mut *tx).await?;
    let input = validated(&mut tx, &state, input).await?;
    store::set(&mut tx, &input).await?;
    let after = store::get(&mut *tx).await?;
    crate::audit::record(
        &mut tx,
        Some(&caller.user_id),
        "identity.updated",
        "org",
        "identity",
        json!({ "before": before.input, "after": after.input }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(settings(&state, after)))
}

/// Whether single sign-on is required of `user_id`: it is, for everyone but the break-glass
/// admin, when the org requires it.
pub async fn sso_required_of<'e, E>(exec: E, user_id: &str) -> ApiResult<bool>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let identity = store::get(exec).await?.input;
    Ok(identity.require_sso && identity.break_glass_user_id.as_deref() != Some(user_id))
}

/// The refusal of a password where single sign-on is required.
pub fn sso_required() -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        "This organisation signs in with single sign-on: use \"Sign in with SSO\".",
    )
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, update))
}
