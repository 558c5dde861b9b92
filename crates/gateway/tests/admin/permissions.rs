//! Every endpoint × every role against the permission table: a role the table allows is never
//! refused with 403, a role it does not allow always is.

use crate::common;
use common::{TestGateway, backends, model, user_with_role};
use gatehouse_api::{ApiKeyCreated, ErrorCode, Group, Invitation, Problem, Role, Workspace};
use gatehouse_gateway::permissions::{Permission, allows};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use Permission::*;

/// Ids the endpoints act on, made by an admin before each role's round.
struct Targets {
    user: String,
    workspace: String,
    group: String,
    key: String,
    invitation: String,
    channel: String,
}

/// (method, path, body, permissions of which any one allows the call; empty = any signed-in user)
fn endpoints(t: &Targets) -> Vec<(Method, String, Option<Value>, Vec<Permission>)> {
    let u = &t.user;
    let w = &t.workspace;
    let g = &t.group;
    let limits = json!({ "requests_per_min": 10 });
    let budget = json!({ "daily_usd": 1.0 });
    vec![
        (Method::GET, "/admin/v1/me".into(), None, vec![]),
        (Method::GET, "/admin/v1/roles".into(), None, vec![]),
        (Method::GET, "/admin/v1/org".into(), None, vec![OrgRead]),
        (
            Method::PATCH,
            "/admin/v1/org".into(),
            Some(json!({ "name": "Acme" })),
            vec![OrgWrite],
        ),
        (Method::GET, "/admin/v1/users".into(), None, vec![UsersRead]),
        (
            Method::POST,
            "/admin/v1/users".into(),
            Some(
                json!({ "email": "new@acme.example", "first_name": "N", "last_name": "U", "role": "member" }),
            ),
            vec![UsersWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/users/{u}"),
            None,
            vec![UsersRead],
        ),
        (
            Method::PATCH,
            format!("/admin/v1/users/{u}"),
            Some(json!({ "first_name": "T" })),
            vec![UsersWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/users/{u}/effective"),
            None,
            vec![UsersRead, PolicyWrite],
        ),
        (
            Method::PUT,
            format!("/admin/v1/users/{u}/grants/m1"),
            Some(json!({})),
            vec![PolicyWrite],
        ),
        (
            Method::DELETE,
            format!("/admin/v1/users/{u}/grants/m1"),
            None,
            vec![PolicyWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/users/{u}/limits"),
            None,
            vec![UsersRead, PolicyWrite],
        ),
        (
            Method::PUT,
            format!("/admin/v1/users/{u}/limits"),
            Some(limits.clone()),
            vec![PolicyWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/users/{u}/budget"),
            None,
            vec![UsersRead, PolicyWrite],
        ),
        (
            Method::PUT,
            format!("/admin/v1/users/{u}/budget"),
            Some(budget.clone()),
            vec![PolicyWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/users/{u}/keys"),
            None,
            vec![KeysRead],
        ),
        (
            Method::POST,
            format!("/admin/v1/users/{u}/keys"),
            Some(json!({ "name": "k" })),
            vec![KeysWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/keys/{}", t.key),
            None,
            vec![KeysRead],
        ),
        (
            Method::GET,
            format!("/admin/v1/keys/{}/effective", t.key),
            None,
            vec![KeysRead],
        ),
        (
            Method::PATCH,
            format!("/admin/v1/keys/{}", t.key),
            Some(json!({ "name": "renamed", "limits": { "requests_per_min": 5 } })),
            vec![KeysWrite],
        ),
        (
            Method::POST,
            format!("/admin/v1/keys/{}/rotate", t.key),
            Some(json!({ "grace_hours": 1 })),
            vec![KeysWrite],
        ),
        (
            Method::DELETE,
            format!("/admin/v1/keys/{}", t.key),
            None,
            vec![KeysWrite],
        ),
        (
            Method::GET,
            "/admin/v1/workspaces".into(),
            None,
            vec![WorkspacesRead],
        ),
        (
            Method::POST,
            "/admin/v1/workspaces".into(),
            Some(json!({ "name": "New" })),
            vec![WorkspacesWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/workspaces/{w}"),
            None,
            vec![WorkspacesRead],
        ),
        (
            Method::PATCH,
            format!("/admin/v1/workspaces/{w}"),
            Some(json!({ "name": "Renamed" })),
            vec![WorkspacesWrite],
        ),
        (
            Method::PUT,
            format!("/admin/v1/workspaces/{w}/members/{u}"),
            Some(json!({ "role": "member" })),
            vec![WorkspacesWrite],
        ),
        (
            Method::DELETE,
            format!("/admin/v1/workspaces/{w}/members/{u}"),
            None,
            vec![WorkspacesWrite],
        ),
        (
            Method::GET,
            "/admin/v1/groups".into(),
            None,
            vec![GroupsRead],
        ),
        (
            Method::POST,
            "/admin/v1/groups".into(),
            Some(json!({ "name": "New group" })),
            vec![GroupsWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/groups/{g}"),
            None,
            vec![GroupsRead],
        ),
        (
            Method::PATCH,
            format!("/admin/v1/groups/{g}"),
            Some(json!({ "description": "d" })),
            vec![GroupsWrite],
        ),
        (
            Method::PUT,
            format!("/admin/v1/groups/{g}/members/{u}"),
            Some(json!({ "role": "member" })),
            vec![GroupsWrite],
        ),
        (
            Method::DELETE,
            format!("/admin/v1/groups/{g}/members/{u}"),
            None,
            vec![GroupsWrite],
        ),
        (
            Method::PUT,
            format!("/admin/v1/groups/{g}/grants/m1"),
            Some(json!({})),
            vec![PolicyWrite],
        ),
        (
            Method::DELETE,
            format!("/admin/v1/groups/{g}/grants/m1"),
            None,
            vec![PolicyWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/groups/{g}/limits"),
            None,
            vec![GroupsRead, PolicyWrite],
        ),
        (
            Method::PUT,
            format!("/admin/v1/groups/{g}/limits"),
            Some(limits),
            vec![PolicyWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/groups/{g}/budget"),
            None,
            vec![GroupsRead, PolicyWrite],
        ),
        (
            Method::PUT,
            format!("/admin/v1/groups/{g}/budget"),
            Some(budget),
            vec![PolicyWrite],
        ),
        (
            Method::GET,
            "/admin/v1/invitations".into(),
            None,
            vec![InvitationsRead, InvitationsWrite],
        ),
        (
            Method::POST,
            "/admin/v1/invitations".into(),
            Some(json!({ "email": "invitee@acme.example", "role": "member" })),
            vec![InvitationsWrite],
        ),
        (
            Method::POST,
            "/admin/v1/invitations/bulk".into(),
            Some(json!({ "text": "bulk@acme.example", "role": "member" })),
            vec![InvitationsWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/invitations/{}", t.invitation),
            None,
            vec![InvitationsRead, InvitationsWrite],
        ),
        (
            Method::POST,
            format!("/admin/v1/invitations/{}/resend", t.invitation),
            None,
            vec![InvitationsWrite],
        ),
        (
            Method::POST,
            format!("/admin/v1/invitations/{}/revoke", t.invitation),
            None,
            vec![InvitationsWrite],
        ),
        (Method::GET, "/admin/v1/audit".into(), None, vec![AuditRead]),
        (
            Method::GET,
            "/admin/v1/audit/export?format=csv".into(),
            None,
            vec![AuditRead],
        ),
        (
            Method::GET,
            "/admin/v1/models".into(),
            None,
            vec![ModelsRead],
        ),
        (
            Method::GET,
            "/admin/v1/models/m1".into(),
            None,
            vec![ModelsRead],
        ),
        (
            Method::POST,
            "/admin/v1/models".into(),
            Some(
                json!({ "id": "m2", "display_name": "M2", "provider": "echo",
                         "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 1.0 }),
            ),
            vec![ModelsWrite],
        ),
        (
            Method::PATCH,
            "/admin/v1/models/m1".into(),
            Some(json!({ "display_name": "M" })),
            vec![ModelsWrite],
        ),
        // Members read their own usage only (usage.rs tests that).
        (Method::GET, "/admin/v1/usage/daily".into(), None, vec![]),
        // Members read their own usage only (usage.rs tests that).
        (
            Method::GET,
            "/admin/v1/usage/export.csv".into(),
            None,
            vec![],
        ),
        (
            Method::GET,
            "/admin/v1/alerts".into(),
            None,
            vec![UsageRead],
        ),
        (Method::GET, "/admin/v1/me/tokens".into(), None, vec![]),
        (
            Method::POST,
            "/admin/v1/me/tokens".into(),
            Some(json!({ "name": "script" })),
            vec![],
        ),
        (
            Method::POST,
            format!("/admin/v1/users/{u}/password-reset"),
            None,
            vec![UsersLifecycle],
        ),
        (Method::GET, "/admin/v1/sync".into(), None, vec![SyncRead]),
        (
            Method::GET,
            "/admin/v1/identity".into(),
            None,
            vec![IdentityRead],
        ),
        (
            Method::PUT,
            "/admin/v1/identity".into(),
            Some(json!({ "join_mode": "invite_only", "jit_role": "member",
                         "require_sso": false, "groups_claim": "groups" })),
            vec![IdentityWrite],
        ),
        (
            Method::GET,
            "/admin/v1/scim/tokens".into(),
            None,
            vec![IdentityRead],
        ),
        (
            Method::POST,
            "/admin/v1/scim/tokens".into(),
            Some(json!({ "name": "Okta" })),
            vec![IdentityWrite],
        ),
        (
            Method::DELETE,
            "/admin/v1/scim/tokens/stk_none".into(),
            None,
            vec![IdentityWrite],
        ),
        (
            Method::POST,
            format!("/admin/v1/users/{u}/suspend"),
            None,
            vec![UsersLifecycle],
        ),
        (
            Method::POST,
            format!("/admin/v1/users/{u}/reactivate"),
            None,
            vec![UsersLifecycle],
        ),
        (
            Method::POST,
            format!("/admin/v1/users/{u}/approve"),
            None,
            vec![UsersLifecycle],
        ),
        (
            Method::POST,
            format!("/admin/v1/users/{u}/decline"),
            None,
            vec![UsersLifecycle],
        ),
        (
            Method::GET,
            "/admin/v1/channels".into(),
            None,
            vec![NotificationsRead],
        ),
        (
            Method::POST,
            "/admin/v1/channels".into(),
            Some(
                json!({ "name": "Hook", "url": "https://hooks.example.invalid/x",
                         "events": ["seats.full"] }),
            ),
            vec![NotificationsWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/channels/{}", t.channel),
            None,
            vec![NotificationsRead],
        ),
        (
            Method::PATCH,
            format!("/admin/v1/channels/{}", t.channel),
            Some(json!({ "name": "Hook 2" })),
            vec![NotificationsWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/channels/{}/deliveries", t.channel),
            None,
            vec![NotificationsRead],
        ),
        (
            Method::POST,
            format!("/admin/v1/channels/{}/rotate-secret", t.channel),
            None,
            vec![NotificationsWrite],
        ),
        (
            Method::POST,
            format!("/admin/v1/channels/{}/test", t.channel),
            None,
            vec![NotificationsWrite],
        ),
        // Destructive calls last, so that the targets live through the round.
        (
            Method::DELETE,
            format!("/admin/v1/channels/{}", t.channel),
            None,
            vec![NotificationsWrite],
        ),
        (
            Method::DELETE,
            "/admin/v1/models/m2".into(),
            None,
            vec![ModelsWrite],
        ),
        (
            Method::DELETE,
            format!("/admin/v1/groups/{g}"),
            None,
            vec![GroupsWrite],
        ),
        (
            Method::DELETE,
            format!("/admin/v1/workspaces/{w}"),
            None,
            vec![WorkspacesWrite],
        ),
        (
            Method::DELETE,
            format!("/admin/v1/users/{u}"),
            None,
            vec![UsersLifecycle],
        ),
        (
            Method::GET,
            "/admin/v1/profiles".into(),
            None,
            vec![UsersRead, PolicyWrite],
        ),
        (
            Method::POST,
            "/admin/v1/profiles".into(),
            Some(json!({ "name": "Matrix" })),
            vec![PolicyWrite],
        ),
        (
            Method::GET,
            "/admin/v1/profiles/apr_none".into(),
            None,
            vec![UsersRead, PolicyWrite],
        ),
        (
            Method::PATCH,
            "/admin/v1/profiles/apr_none".into(),
            Some(json!({ "name": "Matrix 2" })),
            vec![PolicyWrite],
        ),
        (
            Method::DELETE,
            "/admin/v1/profiles/apr_none".into(),
            None,
            vec![PolicyWrite],
        ),
        (
            Method::GET,
            format!("/admin/v1/users/{u}/forecast"),
            None,
            vec![UsageRead],
        ),
        (
            Method::GET,
            format!("/admin/v1/groups/{g}/forecast"),
            None,
            vec![UsageRead],
        ),
        (
            Method::GET,
            "/admin/v1/org/forecast".into(),
            None,
            vec![UsageRead],
        ),
    ]
}

async fn targets(gw: &TestGateway, admin: &gatehouse_api::Secret, round: usize) -> Targets {
    let (user, _) = user_with_role(gw, &format!("target{round}@acme.example"), Role::Member).await;
    let ws: Workspace = gw
        .json_ok(
            Method::POST,
            "/admin/v1/workspaces",
            admin,
            &json!({ "name": format!("W{round}") }),
        )
        .await;
    let group: Group = gw
        .json_ok(
            Method::POST,
            "/admin/v1/groups",
            admin,
            &json!({ "name": format!("G{round}") }),
        )
        .await;
    let key: ApiKeyCreated = gw
        .json_ok(
            Method::POST,
            &format!("/admin/v1/users/{user}/keys"),
            admin,
            &json!({ "name": "k" }),
        )
        .await;
    let inv: Invitation = gw
        .json_ok(
            Method::POST,
            "/admin/v1/invitations",
            admin,
            &json!({ "email": format!("inv{round}@acme.example"), "role": "member" }),
        )
        .await;
    let channel: gatehouse_api::ChannelCreated = gw
        .json_ok(
            Method::POST,
            "/admin/v1/channels",
            admin,
            &json!({ "name": format!("C{round}"), "url": "https://hooks.example.invalid/x",
                     "events": ["seats.full"] }),
        )
        .await;
    Targets {
        user,
        workspace: ws.id,
        group: group.id,
        key: key.key.id,
        invitation: inv.id,
        channel: channel.channel.id,
    }
}

#[tokio::test]
async fn every_endpoint_allows_and_denies_every_role_as_the_table_says() {
    for gw in backends().await {
        let admin = gw.init(1000).await;
        model(&gw, "m1").await;
        let mut checked = 0;
        for (round, role) in Role::ALL.into_iter().enumerate() {
            let (_, token) =
                user_with_role(&gw, &format!("{}@acme.example", role.as_str()), role).await;
            let t = targets(&gw, &admin, round).await;
            for (method, path, body, needs) in endpoints(&t) {
                let allowed = needs.is_empty() || needs.iter().any(|p| allows(role, *p));
                let mut request = gw.request(method.clone(), &path, Some(&token));
                if let Some(body) = &body {
                    request = request.json(body);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                assert!(
                    !status.is_server_error(),
                    "{method} {path} as {role:?} on {}: {status}",
                    gw.name
                );
                if allowed {
                    assert_ne!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{method} {path} refused {role:?} on {}",
                        gw.name
                    );
                } else {
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{method} {path} let {role:?} through on {}",
                        gw.name
                    );
                    let p: Problem = response.json().await.unwrap();
                    assert_eq!(p.code, ErrorCode::Forbidden);
                }
                checked += 1;
            }
        }
        assert!(checked >= 4 * 50, "only {checked} calls");
    }
}
