//! `/admin/v1/me`: the caller.

use axum::Json;
use axum::extract::State;
use gatehouse_api::{Me, Role, WorkspaceRole};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::{org, permissions, users};

/// The caller: user, role per workspace, permissions and the org summary
#[utoipa::path(
    get, path = "/admin/v1/me", tag = "me",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is suspended", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Me>> {
    let pool = &state.db.pool;
    let user = users::get(pool, &caller.user_id).await?;
    let roles = gatehouse_store::workspaces::roles_of(pool, &caller.user_id).await?;
    let workspace_roles = roles
        .into_iter()
        .map(|(workspace_id, role)| WorkspaceRole {
            workspace_id,
            // What belongs to a workspace follows the higher of the org role and the role there.
            role: Role::parse(&role).unwrap_or(Role::Member).max(caller.role),
        })
        .collect();
    let org = org::get(pool)
        .await?
        .ok_or_else(|| ApiError::Internal("no org".into()))?;
    Ok(Json(Me {
        user,
        workspace_roles,
        permissions: permissions::permissions_of(caller.role),
        org,
    }))
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}
