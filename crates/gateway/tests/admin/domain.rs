//! The user-management domain over real HTTP, on every backend.

use crate::common;
use common::{TestGateway, backends, model, problem, user_with_role};
use gatehouse_api::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn sync_all(gw: &TestGateway, token: &Secret) -> Vec<SyncChange> {
    let mut since = 0;
    let mut out = Vec::new();
    loop {
        let page: SyncPage = gw
            .get_ok(&format!("/admin/v1/sync?since={since}&limit=500"), token)
            .await;
        out.extend(page.changes);
        since = page.next_since;
        if !page.has_more {
            return out;
        }
    }
}

#[tokio::test]
async fn user_lifecycle_from_creation_to_deletion() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let ws: Workspace = gw
            .json_ok(
                Method::POST,
                "/admin/v1/workspaces",
                &admin,
                &json!({ "name": "Research Lab" }),
            )
            .await;
        assert_eq!(ws.slug, "research-lab");

        let created: User = gw
            .json_ok(
                Method::POST,
                "/admin/v1/users",
                &admin,
                &json!({ "email": "Maya.Patel@Acme.example", "first_name": "Maya", "last_name": "Patel",
                         "role": "member", "workspace_ids": [ws.id], "password": "correct horse battery" }),
            )
            .await;
        assert_eq!(created.email, "maya.patel@acme.example");
        assert_eq!(created.workspace_ids, vec![ws.id.clone()]);

        let dup = gw
            .send(
                Method::POST,
                "/admin/v1/users",
                &admin,
                Some(&json!({ "email": "maya.patel@acme.example",
                "first_name": "M", "last_name": "P", "role": "member" })),
            )
            .await;
        assert_eq!(
            problem(dup, StatusCode::CONFLICT).await.code,
            ErrorCode::Conflict
        );
        for bad in [
            json!({ "email": "not-an-email", "first_name": "A", "last_name": "B", "role": "member" }),
            json!({ "email": "a@b.example", "first_name": "A", "last_name": "B", "role": "emperor" }),
            json!({ "email": "a@b.example", "first_name": "A", "last_name": "B", "role": "member", "extra": 1 }),
            json!({ "email": "a@b.example", "first_name": "x".repeat(5000), "last_name": "B", "role": "member" }),
            json!({ "email": "a@b.example", "first_name": "A", "last_name": "B", "role": "member", "password": "short" }),
        ] {
            let r = gw
                .send(Method::POST, "/admin/v1/users", &admin, Some(&bad))
                .await;
            assert_eq!(
                problem(r, StatusCode::UNPROCESSABLE_ENTITY).await.code,
                ErrorCode::ValidationFailed,
                "{bad}"
            );
        }

        let patched: User = gw
            .json_ok(
                Method::PATCH,
                &format!("/admin/v1/users/{}", created.id),
                &admin,
                &json!({ "role": "operator" }),
            )
            .await;
        assert_eq!(patched.role, Role::Operator);

        // A token of the user stops working the moment they are suspended.
        let token = {
            let mut tx = gw.db().begin_write().await.unwrap();
            let t = gatehouse_gateway::auth::issue_token(&mut tx, &created.id, "t")
                .await
                .unwrap();
            tx.commit().await.unwrap();
            t
        };
        let _: Me = gw.get_ok("/admin/v1/me", &token).await;
        // A reason too long, or not text, suspends no one.
        for bad in [
            json!({ "reason": "x".repeat(501) }),
            json!({ "reason": 5 }),
            json!({ "why": "x" }),
        ] {
            let r = gw
                .send(
                    Method::POST,
                    &format!("/admin/v1/users/{}/suspend", created.id),
                    &admin,
                    Some(&bad),
                )
                .await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        let still: User = gw
            .get_ok(&format!("/admin/v1/users/{}", created.id), &admin)
            .await;
        assert_eq!(still.status, UserStatus::Active);
        let suspended: User = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/users/{}/suspend", created.id),
                &admin,
                &json!({ "reason": "Contract ended" }),
            )
            .await;
        assert_eq!(suspended.status, UserStatus::Suspended);
        let blocked = gw
            .request(Method::GET, "/admin/v1/me", Some(&token))
            .send()
            .await
            .unwrap();
        assert_eq!(
            problem(blocked, StatusCode::FORBIDDEN).await.code,
            ErrorCode::AccountSuspended
        );
        let again = gw
            .send(
                Method::POST,
                &format!("/admin/v1/users/{}/suspend", created.id),
                &admin,
                None::<&()>,
            )
            .await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        let _: User = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/users/{}/reactivate", created.id),
                &admin,
                &json!({}),
            )
            .await;
        let _: Me = gw.get_ok("/admin/v1/me", &token).await;

        // Deleting removes keys and memberships, keeps the audit trail, and syncs as tombstones.
        let key: ApiKeyCreated = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/users/{}/keys", created.id),
                &admin,
                &json!({ "name": "laptop" }),
            )
            .await;
        let deleted = gw
            .send(
                Method::DELETE,
                &format!("/admin/v1/users/{}", created.id),
                &admin,
                None::<&()>,
            )
            .await;
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let gone = gw
            .request(
                Method::GET,
                &format!("/admin/v1/users/{}", created.id),
                Some(&admin),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        let changes = sync_all(&gw, &admin).await;
        let tomb = |kind: SyncKind, id: &str| {
            changes
                .iter()
                .any(|c| c.kind == kind && c.id == id && c.deleted)
        };
        assert!(
            tomb(SyncKind::User, &created.id),
            "user tombstone on {}",
            gw.name
        );
        assert!(tomb(SyncKind::ApiKey, &key.key.id));
        assert!(tomb(
            SyncKind::Membership,
            &format!("{}:{}", ws.id, created.id)
        ));
        let audit: Page<AuditEntry> = gw
            .get_ok(&format!("/admin/v1/audit?target_id={}", created.id), &admin)
            .await;
        let actions: Vec<_> = audit.items.iter().map(|a| a.action.as_str()).collect();
        let suspension = audit
            .items
            .iter()
            .find(|a| a.action == "user.suspended")
            .unwrap();
        assert_eq!(
            suspension.summary["reason"], "Contract ended",
            "on {}",
            gw.name
        );
        for a in [
            "user.created",
            "user.updated",
            "user.suspended",
            "user.reactivated",
            "user.deleted",
        ] {
            assert!(actions.contains(&a), "{a} missing from {actions:?}");
        }
        // A category is the action's part before its dot, on both databases.
        let by_category: Page<AuditEntry> = gw
            .get_ok(
                &format!("/admin/v1/audit?category=user&target_id={}", created.id),
                &admin,
            )
            .await;
        assert_eq!(
            by_category.items.len(),
            audit
                .items
                .iter()
                .filter(|a| a.action.starts_with("user."))
                .count()
        );
        assert!(!by_category.items.is_empty(), "on {}", gw.name);
        let none: Page<AuditEntry> = gw
            .get_ok(
                &format!("/admin/v1/audit?category=use&target_id={}", created.id),
                &admin,
            )
            .await;
        assert!(
            none.items.is_empty(),
            "a category is not a prefix on {}",
            gw.name
        );
        for bad in ["User", "user.created", "a%25", ""] {
            let r = gw
                .send(
                    Method::GET,
                    &format!("/admin/v1/audit?category={bad}"),
                    &admin,
                    None::<&()>,
                )
                .await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }

        // Nobody changes their own role or status, or deletes themselves: no admin locks the
        // org out by a slip.
        let me: Me = gw.get_ok("/admin/v1/me", &admin).await;
        let own = format!("/admin/v1/users/{}", me.user.id);
        for (method, path, body) in [
            (
                Method::PATCH,
                own.clone(),
                Some(json!({ "role": "member" })),
            ),
            (Method::POST, format!("{own}/suspend"), None),
            (Method::DELETE, own.clone(), None),
        ] {
            let r = gw.send(method.clone(), &path, &admin, body.as_ref()).await;
            assert_eq!(
                problem(r, StatusCode::CONFLICT).await.code,
                ErrorCode::Conflict,
                "{method} {path}"
            );
        }
        let still: Me = gw.get_ok("/admin/v1/me", &admin).await;
        assert_eq!(
            (still.user.role, still.user.status),
            (Role::Admin, UserStatus::Active)
        );
    }
}

#[tokio::test]
async fn seats_limit_users_and_invitations_and_never_oversubscribe() {
    for gw in backends().await {
        let admin = gw.init(3).await;
        let _: User = gw
            .json_ok(
                Method::POST,
                "/admin/v1/users",
                &admin,
                &json!({ "email": "a@acme.example", "first_name": "A",
                "last_name": "A", "role": "member", "password": "a long enough password" }),
            )
            .await;
        // Two seats used, one free: 20 invitations race for it.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let http = gw.http.clone();
            let url = gw.url("/admin/v1/invitations");
            let token = admin.expose().to_owned();
            tasks.push(tokio::spawn(async move {
                http.post(url)
                    .bearer_auth(token)
                    .json(&json!({ "email": format!("racer{i}@acme.example"), "role": "member" }))
                    .send()
                    .await
                    .unwrap()
            }));
        }
        let mut created = 0;
        let mut full = 0;
        for t in tasks {
            let r = t.await.unwrap();
            match r.status() {
                StatusCode::CREATED => created += 1,
                StatusCode::CONFLICT => {
                    let p = problem(r, StatusCode::CONFLICT).await;
                    assert_eq!(p.code, ErrorCode::SeatLimitReached);
                    assert_eq!(p.detail, "3 of 3 seats used.");
                    full += 1;
                }
                other => panic!("unexpected {other} on {}", gw.name),
            }
        }
        assert_eq!((created, full), (1, 19), "on {}", gw.name);
        let org: Org = gw.get_ok("/admin/v1/org", &admin).await;
        assert_eq!((org.seats_used, org.seat_limit), (3, 3));
    }
}

#[tokio::test]
async fn invitations_links_resend_revoke_accept_and_bulk() {
    for gw in backends().await {
        let admin = gw.init(50).await;
        let (_, auditor) = user_with_role(&gw, "audit@acme.example", Role::Auditor).await;
        let ws: Workspace = gw
            .json_ok(
                Method::POST,
                "/admin/v1/workspaces",
                &admin,
                &json!({ "name": "Ops" }),
            )
            .await;
        let inv: Invitation = gw
            .json_ok(
                Method::POST,
                "/admin/v1/invitations",
                &admin,
                &json!({ "email": "new.person@acme.example", "first_name": "New", "last_name": "Person",
                         "role": "member", "workspace_ids": [ws.id] }),
            )
            .await;
        let link = inv.link.clone().expect("the link comes back on create");
        assert!(link.starts_with(&gw.gateway.url()) && link.contains("/invite/"));
        assert_eq!(inv.status, InvitationStatus::Pending);
        let days = (inv.expires_at - inv.created_at).num_hours();
        assert_eq!(days, 7 * 24, "org default TTL");

        let seen_by_admin: Invitation = gw
            .get_ok(&format!("/admin/v1/invitations/{}", inv.id), &admin)
            .await;
        assert_eq!(seen_by_admin.link.as_deref(), Some(link.as_str()));
        let seen_by_auditor: Invitation = gw
            .get_ok(&format!("/admin/v1/invitations/{}", inv.id), &auditor)
            .await;
        assert_eq!(
            seen_by_auditor.link, None,
            "auditors may not invite, so they get no link"
        );

        let dup = gw
            .send(
                Method::POST,
                "/admin/v1/invitations",
                &admin,
                Some(&json!({ "email": "new.person@acme.example", "role": "member" })),
            )
            .await;
        assert_eq!(dup.status(), StatusCode::CONFLICT);

        let resent: Invitation = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/invitations/{}/resend", inv.id),
                &admin,
                &json!({}),
            )
            .await;
        assert!(resent.expires_at >= inv.expires_at);
        assert_eq!(resent.link, inv.link, "resend keeps the link");

        // Accepting makes the invitee a user in the invited workspaces; the link is then used.
        let token = link.rsplit('/').next().unwrap().to_owned();
        let user = gatehouse_gateway::invitations::accept(
            &gw.gateway.state,
            &token,
            &AcceptInvitation {
                password: Some("a long enough password".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            (user.email.as_str(), user.status),
            ("new.person@acme.example", UserStatus::Active)
        );
        assert_eq!(user.workspace_ids, vec![ws.id.clone()]);
        let again = gatehouse_gateway::invitations::accept(
            &gw.gateway.state,
            &token,
            &AcceptInvitation {
                password: Some("a long enough password".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(again.problem().code, ErrorCode::InviteUsed);
        let accepted: Page<Invitation> = gw
            .get_ok("/admin/v1/invitations?status=accepted", &admin)
            .await;
        assert!(accepted.items.iter().any(|i| i.id == inv.id));

        // Revoked links stop working.
        let other: Invitation = gw
            .json_ok(
                Method::POST,
                "/admin/v1/invitations",
                &admin,
                &json!({ "email": "other@acme.example", "role": "member" }),
            )
            .await;
        let _: Invitation = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/invitations/{}/revoke", other.id),
                &admin,
                &json!({}),
            )
            .await;
        let other_token = other.link.unwrap().rsplit('/').next().unwrap().to_owned();
        let revoked = gatehouse_gateway::invitations::accept(
            &gw.gateway.state,
            &other_token,
            &AcceptInvitation {
                password: Some("a long enough password".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(revoked.problem().code, ErrorCode::InviteRevoked);

        // Inviting an existing account adds it to the workspaces instead.
        let ws2: Workspace = gw
            .json_ok(
                Method::POST,
                "/admin/v1/workspaces",
                &admin,
                &json!({ "name": "Sales" }),
            )
            .await;
        let r = gw
            .send(
                Method::POST,
                "/admin/v1/invitations",
                &admin,
                Some(&json!({ "email": "NEW.person@acme.example",
                "role": "member", "workspace_ids": [ws2.id] })),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let existing: User = r.json().await.unwrap();
        assert!(existing.workspace_ids.contains(&ws2.id));

        // Bulk: any pasted text, a result per entry, names kept.
        let text = "To: Jo Park <jo@acme.example>, sam@acme.example; sam@ACME.example\n\
                    broken@\n\
                    not-an-address\n\
                    new.person@acme.example\n\
                    Kim, Lee, mailto:kim@acme.example.";
        let result: BulkInviteResult = gw
            .json_ok(
                Method::POST,
                "/admin/v1/invitations/bulk",
                &admin,
                &json!({ "text": text, "role": "member" }),
            )
            .await;
        let outcomes: Vec<(String, BulkOutcome)> = result
            .results
            .iter()
            .map(|r| (r.email.to_lowercase(), r.outcome))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                ("jo@acme.example".into(), BulkOutcome::Invited),
                ("sam@acme.example".into(), BulkOutcome::Invited),
                ("sam@acme.example".into(), BulkOutcome::Duplicate),
                ("broken@".into(), BulkOutcome::Invalid),
                ("not-an-address".into(), BulkOutcome::Invalid),
                ("new.person@acme.example".into(), BulkOutcome::AlreadyMember),
                ("kim@acme.example".into(), BulkOutcome::Invited),
            ],
            "on {}",
            gw.name
        );
        let names = |i: usize| {
            let inv = result.results[i].invitation.as_ref().unwrap();
            (inv.first_name.clone(), inv.last_name.clone())
        };
        assert_eq!(names(0), ("Jo".into(), "Park".into()));
        assert_eq!(names(1), (String::new(), String::new()));
        assert_eq!(names(6), ("Kim".into(), "Lee".into()));
        assert!(
            result.results[0]
                .invitation
                .as_ref()
                .unwrap()
                .link
                .is_some()
        );

        // A pending invitation is told apart from a repeat in the list.
        let again: BulkInviteResult = gw
            .json_ok(
                Method::POST,
                "/admin/v1/invitations/bulk",
                &admin,
                &json!({ "emails": ["JO@acme.example"], "role": "member" }),
            )
            .await;
        assert_eq!(again.results[0].outcome, BulkOutcome::AlreadyInvited);

        // Nothing that is an address: refused, nothing sent.
        let r = gw
            .send(
                Method::POST,
                "/admin/v1/invitations/bulk",
                &admin,
                Some(&json!({ "text": "x@y\nhello", "role": "member" })),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn effective_policy_is_the_strictest_with_its_source() {
    for gw in backends().await {
        let admin = gw.init(20).await;
        model(&gw, "gpt-4o-mini").await;
        model(&gw, "claude-haiku").await;
        let (user_id, user_token) = user_with_role(&gw, "u@acme.example", Role::Member).await;
        let (manager_id, manager) = user_with_role(&gw, "m@acme.example", Role::Member).await;
        let group: Group = gw
            .json_ok(
                Method::POST,
                "/admin/v1/groups",
                &admin,
                &json!({ "name": "Interns" }),
            )
            .await;
        let _: GroupMember = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/groups/{}/members/{user_id}", group.id),
                &admin,
                &json!({ "role": "member" }),
            )
            .await;
        let _: GroupMember = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/groups/{}/members/{manager_id}", group.id),
                &admin,
                &json!({ "role": "manager" }),
            )
            .await;
        let _: Limits = gw
            .json_ok(Method::PUT, &format!("/admin/v1/users/{user_id}/limits"), &admin,
                &json!({ "requests_per_min": 100, "input_tokens_per_min": 1000, "output_tokens_per_min": null, "max_concurrent": 4 }))
            .await;
        let _: Limits = gw
            .json_ok(Method::PUT, &format!("/admin/v1/groups/{}/limits", group.id), &admin,
                &json!({ "requests_per_min": 30, "input_tokens_per_min": 5000, "output_tokens_per_min": 800, "max_concurrent": null }))
            .await;
        let _: Budget = gw
            .json_ok(Method::PUT, &format!("/admin/v1/groups/{}/budget", group.id), &admin,
                &json!({ "daily_usd": 5.0, "weekly_usd": null, "monthly_usd": 50.0, "alert_thresholds": [80, 50, 100, 80] }))
            .await;
        let _: Budget = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/budget"),
                &admin,
                &json!({ "daily_usd": 10.0, "weekly_usd": 20.0, "monthly_usd": 40.0 }),
            )
            .await;
        let _: Grant = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/groups/{}/grants/gpt-4o-mini", group.id),
                &admin,
                &json!({}),
            )
            .await;
        let _: Grant = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/grants/gpt-4o-mini"),
                &admin,
                &json!({}),
            )
            .await;

        let eff: EffectivePolicy = gw
            .get_ok(&format!("/admin/v1/users/{user_id}/effective"), &user_token)
            .await;
        let g = Some(group.id.clone());
        let u = Some("user".to_owned());
        assert_eq!(
            (
                eff.limits.requests_per_min.value,
                &eff.limits.requests_per_min.source
            ),
            (Some(30), &g)
        );
        assert_eq!(
            (
                eff.limits.input_tokens_per_min.value,
                &eff.limits.input_tokens_per_min.source
            ),
            (Some(1000), &u)
        );
        assert_eq!(
            (
                eff.limits.output_tokens_per_min.value,
                &eff.limits.output_tokens_per_min.source
            ),
            (Some(800), &g)
        );
        assert_eq!(
            (
                eff.limits.max_concurrent.value,
                &eff.limits.max_concurrent.source
            ),
            (Some(4), &u)
        );
        assert_eq!(
            (eff.budget.daily_usd.value, &eff.budget.daily_usd.source),
            (Some(5.0), &g)
        );
        assert_eq!(
            (eff.budget.weekly_usd.value, &eff.budget.weekly_usd.source),
            (Some(20.0), &u)
        );
        assert_eq!(
            (eff.budget.monthly_usd.value, &eff.budget.monthly_usd.source),
            (Some(40.0), &u)
        );
        assert_eq!(eff.grants.len(), 1);
        assert_eq!(
            eff.grants[0].sources,
            vec!["user".to_owned(), group.id.clone()]
        );
        let budget: Budget = gw
            .get_ok(&format!("/admin/v1/groups/{}/budget", group.id), &admin)
            .await;
        assert_eq!(budget.alert_thresholds, vec![50, 80, 100]);

        // The group's manager works within the group's own policy only.
        let within = gw
            .send(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/grants/gpt-4o-mini"),
                &manager,
                None::<&()>,
            )
            .await;
        assert_eq!(within.status(), StatusCode::OK);
        let beyond = gw
            .send(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/grants/claude-haiku"),
                &manager,
                None::<&()>,
            )
            .await;
        assert_eq!(beyond.status(), StatusCode::FORBIDDEN);
        let loose = gw
            .send(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/limits"),
                &manager,
                Some(&json!({ "requests_per_min": 31,
                "input_tokens_per_min": 10, "output_tokens_per_min": 10 })),
            )
            .await;
        assert_eq!(loose.status(), StatusCode::FORBIDDEN);
        let tight = gw
            .send(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/limits"),
                &manager,
                // max_concurrent stays as the admin set it: a manager never loosens.
                Some(&json!({ "requests_per_min": 10,
                "input_tokens_per_min": 10, "output_tokens_per_min": 10, "max_concurrent": 4 })),
            )
            .await;
        assert_eq!(tight.status(), StatusCode::OK);
        let own_group = gw
            .send(
                Method::PUT,
                &format!("/admin/v1/groups/{}/limits", group.id),
                &manager,
                Some(&json!({ "requests_per_min": 1000 })),
            )
            .await;
        assert_eq!(own_group.status(), StatusCode::FORBIDDEN);
        let make_manager = gw
            .send(
                Method::PUT,
                &format!("/admin/v1/groups/{}/members/{user_id}", group.id),
                &manager,
                Some(&json!({ "role": "manager" })),
            )
            .await;
        assert_eq!(make_manager.status(), StatusCode::FORBIDDEN);

        for bad in [
            json!({ "requests_per_min": -1 }),
            json!({ "requests_per_min": "many" }),
        ] {
            let r = gw
                .send(
                    Method::PUT,
                    &format!("/admin/v1/users/{user_id}/limits"),
                    &admin,
                    Some(&bad),
                )
                .await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        let nan = gw
            .send(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/budget"),
                &admin,
                Some(&json!({ "daily_usd": -5 })),
            )
            .await;
        assert_eq!(nan.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let missing = gw
            .send(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/grants/no-such-model"),
                &admin,
                None::<&()>,
            )
            .await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);

        // Deleting the group takes its policy with it.
        let del = gw
            .send(
                Method::DELETE,
                &format!("/admin/v1/groups/{}", group.id),
                &admin,
                None::<&()>,
            )
            .await;
        assert_eq!(del.status(), StatusCode::NO_CONTENT);
        let eff: EffectivePolicy = gw
            .get_ok(&format!("/admin/v1/users/{user_id}/effective"), &admin)
            .await;
        assert_eq!(eff.limits.requests_per_min.value, Some(10));
        assert_eq!(eff.budget.daily_usd.value, Some(10.0));
    }
}

#[tokio::test]
async fn api_keys_show_their_secret_once() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let (member_id, member) = user_with_role(&gw, "k@acme.example", Role::Member).await;
        let created: ApiKeyCreated = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/users/{member_id}/keys"),
                &member,
                &json!({ "name": "cli" }),
            )
            .await;
        assert!(
            created.secret.starts_with("gk_") && created.secret.starts_with(&created.key.prefix)
        );
        let listed: Vec<ApiKey> = gw
            .get_ok(&format!("/admin/v1/users/{member_id}/keys"), &admin)
            .await;
        assert_eq!(listed.len(), 1);
        let text = serde_json::to_string(&listed).unwrap();
        assert!(
            !text.contains(&created.secret),
            "the list never shows the secret"
        );
        let (_, other) = user_with_role(&gw, "other@acme.example", Role::Member).await;
        let r = gw
            .send(
                Method::DELETE,
                &format!("/admin/v1/keys/{}", created.key.id),
                &other,
                None::<&()>,
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = gw
            .send(
                Method::DELETE,
                &format!("/admin/v1/keys/{}", created.key.id),
                &member,
                None::<&()>,
            )
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let listed: Vec<ApiKey> = gw
            .get_ok(&format!("/admin/v1/users/{member_id}/keys"), &member)
            .await;
        assert!(listed[0].revoked_at.is_some());
        let audit: Page<AuditEntry> = gw
            .get_ok("/admin/v1/audit?action=key.created", &admin)
            .await;
        assert_eq!(audit.items.len(), 1);
        assert!(!audit.items[0].summary.to_string().contains(&created.secret));
    }
}

#[tokio::test]
async fn org_settings_are_validated_and_audited() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let org: Org = gw
            .json_ok(
                Method::PATCH,
                "/admin/v1/org",
                &admin,
                &json!({ "invite_ttl_days": 14, "time_zone": "Europe/Berlin" }),
            )
            .await;
        assert_eq!(
            (org.invite_ttl_days, org.time_zone.as_str()),
            (14, "Europe/Berlin")
        );
        for bad in [
            json!({ "invite_ttl_days": 31 }),
            json!({ "time_zone": "Mars/Olympus" }),
            json!({ "seat_limit": 0 }),
        ] {
            let r = gw
                .send(Method::PATCH, "/admin/v1/org", &admin, Some(&bad))
                .await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        let after: Org = gw.get_ok("/admin/v1/org", &admin).await;
        assert_eq!(
            after.invite_ttl_days, 14,
            "a rejected change changes nothing"
        );
        let roles: Vec<RoleInfo> = gw.get_ok("/admin/v1/roles", &admin).await;
        assert_eq!(roles.len(), 4);
        let huge = gw
            .request(Method::PATCH, "/admin/v1/org", Some(&admin))
            .header("content-type", "application/json")
            .body(format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024)))
            .send()
            .await
            .unwrap();
        assert_eq!(
            problem(huge, StatusCode::PAYLOAD_TOO_LARGE).await.code,
            ErrorCode::PayloadTooLarge
        );
        let malformed = gw
            .request(Method::PATCH, "/admin/v1/org", Some(&admin))
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(
            problem(malformed, StatusCode::UNPROCESSABLE_ENTITY)
                .await
                .code,
            ErrorCode::ValidationFailed
        );
    }
}

#[tokio::test]
async fn using_a_token_records_last_active_and_last_used() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let (id, token) = user_with_role(&gw, "busy@acme.example", Role::Member).await;
        let before: User = gw.get_ok(&format!("/admin/v1/users/{id}"), &admin).await;
        assert_eq!(before.last_active_at, None);
        let _: Me = gw.get_ok("/admin/v1/me", &token).await;
        let mut seen = None;
        for _ in 0..100 {
            let user: User = gw.get_ok(&format!("/admin/v1/users/{id}"), &admin).await;
            if user.last_active_at.is_some() {
                seen = Some(user);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let after = seen.expect("last_active_at was recorded");
        assert!(
            after.revision > before.revision,
            "the change reaches the sync feed"
        );
        let tokens: serde_json::Value = gw.get_ok("/admin/v1/me/tokens", &token).await;
        assert!(
            tokens.to_string().contains("last_used_at\":\"20"),
            "{tokens}"
        );
    }
}

#[tokio::test]
async fn the_demo_org_has_groups_policies_and_invitations_in_every_state() {
    for gw in backends().await {
        let admin = gw.demo().await;
        let groups: Page<Group> = gw.get_ok("/admin/v1/groups", &admin).await;
        assert_eq!(groups.items.len(), 3);
        let interns = groups.items.iter().find(|g| g.name == "Interns").unwrap();
        assert_eq!(interns.member_count, 8);
        let members: Page<User> = gw
            .get_ok(&format!("/admin/v1/users?group_id={}", interns.id), &admin)
            .await;
        let eff: EffectivePolicy = gw
            .get_ok(
                &format!("/admin/v1/users/{}/effective", members.items[0].id),
                &admin,
            )
            .await;
        assert_eq!(eff.limits.max_concurrent.value, Some(2));
        assert_eq!(
            eff.limits.max_concurrent.source.as_deref(),
            Some(interns.id.as_str())
        );
        assert!(eff.grants.iter().any(|g| g.model_id == "gpt-4o-mini"));
        let mut states = Vec::new();
        for status in ["pending", "expired", "revoked"] {
            let page: Page<Invitation> = gw
                .get_ok(&format!("/admin/v1/invitations?status={status}"), &admin)
                .await;
            states.push(page.items.len());
        }
        assert_eq!(states, vec![4, 1, 1], "on {}", gw.name);
    }
}

/// Issue 12, item 10: a name can not spoof what the console shows next to it, and a price can not
/// make every sum of costs infinite.
#[tokio::test]
async fn names_refuse_direction_characters_and_prices_stay_sensible() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let spoof = "Invoice \u{202E}fdp.exe";
        let attempts = [
            (
                Method::POST,
                "/admin/v1/users".to_owned(),
                json!({ "email": "a@acme.example", "first_name": spoof, "last_name": "X", "role": "member" }),
                "first_name",
            ),
            (
                Method::POST,
                "/admin/v1/invitations".to_owned(),
                json!({ "email": "b@acme.example", "last_name": spoof, "role": "member" }),
                "last_name",
            ),
            (
                Method::POST,
                "/admin/v1/groups".to_owned(),
                json!({ "name": spoof }),
                "name",
            ),
            (
                Method::POST,
                "/admin/v1/workspaces".to_owned(),
                json!({ "name": spoof }),
                "name",
            ),
            (
                Method::PATCH,
                "/admin/v1/org".to_owned(),
                json!({ "name": spoof }),
                "name",
            ),
            (
                Method::POST,
                "/admin/v1/me/tokens".to_owned(),
                json!({ "name": spoof }),
                "name",
            ),
            (
                Method::POST,
                "/admin/v1/models".to_owned(),
                json!({ "id": "m1", "display_name": spoof, "provider": "echo",
                     "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 1.0 }),
                "display_name",
            ),
        ];
        for (method, path, body, field) in attempts {
            let p = problem(
                gw.send(method.clone(), &path, &admin, Some(&body)).await,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
            let errors = p.errors.unwrap_or_default();
            assert!(
                errors.iter().any(|e| e.field == field
                    && e.message.contains("change the direction of text")),
                "{} {path}: {errors:?}",
                gw.name
            );
        }
        let org: Org = gw.get_ok("/admin/v1/org", &admin).await;
        assert!(!org.name.contains('\u{202E}'));
        let users: Page<User> = gw.get_ok("/admin/v1/users", &admin).await;
        assert_eq!(users.items.len(), 1, "{}: only the admin", gw.name);

        for price in [1e308, 10_000.01, -1.0] {
            let p = problem(
                gw.send(
                    Method::POST,
                    "/admin/v1/models",
                    &admin,
                    Some(
                        &json!({ "id": "dear", "display_name": "Dear", "provider": "echo",
                                  "input_usd_per_mtok": price, "output_usd_per_mtok": 1.0 }),
                    ),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
            let errors = p.errors.unwrap_or_default();
            assert!(
                errors.iter().any(|e| e.field == "input_usd_per_mtok"),
                "{price}: {errors:?}"
            );
        }
        let _: Model = gw
            .json_ok(
                Method::POST,
                "/admin/v1/models",
                &admin,
                &json!({ "id": "dear", "display_name": "Dear", "provider": "echo",
                         "input_usd_per_mtok": 10_000.0, "output_usd_per_mtok": 0.0 }),
            )
            .await;
        let patch = gw
            .send(
                Method::PATCH,
                "/admin/v1/models/dear",
                &admin,
                Some(&json!({ "output_usd_per_mtok": 1e308 })),
            )
            .await;
        problem(patch, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
}

/// Issue 12, items 1 and 5: a group's manager acts only on the plain members an admin put in the
/// group, only through what the group gives, never loosening what is set, never on themselves;
/// leaving the group takes away what was given through it and nothing else.
#[tokio::test]
async fn a_group_manager_reaches_only_the_groups_members_and_only_tightens() {
    for gw in backends().await {
        let admin = gw.init(20).await;
        model(&gw, "team-model").await;
        model(&gw, "own-model").await;
        let (manager_id, manager) = user_with_role(&gw, "m@acme.example", Role::Member).await;
        let (co_id, _) = user_with_role(&gw, "co@acme.example", Role::Member).await;
        let (user_id, _) = user_with_role(&gw, "u@acme.example", Role::Member).await;
        let (boss_id, _) = user_with_role(&gw, "boss@acme.example", Role::Admin).await;
        let group: Group = gw
            .json_ok(
                Method::POST,
                "/admin/v1/groups",
                &admin,
                &json!({ "name": "Team" }),
            )
            .await;
        let g = group.id.clone();
        for (who, role) in [
            (&manager_id, "manager"),
            (&co_id, "manager"),
            (&user_id, "member"),
        ] {
            let _: GroupMember = gw
                .json_ok(
                    Method::PUT,
                    &format!("/admin/v1/groups/{g}/members/{who}"),
                    &admin,
                    &json!({ "role": role }),
                )
                .await;
        }
        let _: Grant = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/groups/{g}/grants/team-model"),
                &admin,
                &json!({}),
            )
            .await;
        let _: Limits = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/groups/{g}/limits"),
                &admin,
                &json!({ "requests_per_min": 100 }),
            )
            .await;
        // What an admin set for the member and for the manager.
        let _: Grant = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/grants/own-model"),
                &admin,
                &json!({}),
            )
            .await;
        let _: Limits = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/limits"),
                &admin,
                &json!({ "requests_per_min": 50, "max_concurrent": 4 }),
            )
            .await;
        let _: Budget = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/budget"),
                &admin,
                &json!({ "daily_usd": 10.0 }),
            )
            .await;
        let _: Limits = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/users/{manager_id}/limits"),
                &admin,
                &json!({ "requests_per_min": 5 }),
            )
            .await;
        let _: Budget = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/users/{manager_id}/budget"),
                &admin,
                &json!({ "daily_usd": 1.0 }),
            )
            .await;

        let forbidden = |r: reqwest::Response, what: &'static str| async move {
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{what}");
        };
        let send = |method: Method, path: String, body: Option<serde_json::Value>| {
            let gw = &gw;
            let manager = &manager;
            async move { gw.send(method, &path, manager, body.as_ref()).await }
        };

        // Nobody outside the group comes within the manager's reach.
        forbidden(
            send(
                Method::PUT,
                format!("/admin/v1/groups/{g}/members/{boss_id}"),
                Some(json!({ "role": "member" })),
            )
            .await,
            "adding an admin to the group",
        )
        .await;
        let team: Group = gw.get_ok(&format!("/admin/v1/groups/{g}"), &admin).await;
        assert_eq!(team.member_count, 3, "{}", gw.name);
        forbidden(
            send(
                Method::PUT,
                format!("/admin/v1/users/{boss_id}/limits"),
                Some(json!({ "requests_per_min": 0 })),
            )
            .await,
            "limits of someone outside the group",
        )
        .await;

        // Never on themselves: the admin's caps on the manager stay.
        forbidden(
            send(
                Method::PUT,
                format!("/admin/v1/users/{manager_id}/limits"),
                Some(json!({})),
            )
            .await,
            "clearing their own limits",
        )
        .await;
        forbidden(
            send(
                Method::PUT,
                format!("/admin/v1/users/{manager_id}/budget"),
                Some(json!({})),
            )
            .await,
            "clearing their own budget",
        )
        .await;
        let own: Limits = gw
            .get_ok(&format!("/admin/v1/users/{manager_id}/limits"), &admin)
            .await;
        assert_eq!(own.requests_per_min, Some(5));

        // Never on a co-manager: no demotion, no removal, no policy (item 5).
        forbidden(
            send(
                Method::PUT,
                format!("/admin/v1/groups/{g}/members/{co_id}"),
                Some(json!({ "role": "member" })),
            )
            .await,
            "demoting a co-manager",
        )
        .await;
        forbidden(
            send(
                Method::DELETE,
                format!("/admin/v1/groups/{g}/members/{co_id}"),
                None,
            )
            .await,
            "removing a co-manager",
        )
        .await;
        forbidden(
            send(
                Method::PUT,
                format!("/admin/v1/users/{co_id}/limits"),
                Some(json!({ "requests_per_min": 1 })),
            )
            .await,
            "a co-manager's limits",
        )
        .await;
        let members: Vec<SyncChange> = sync_all(&gw, &admin).await;
        assert!(members.iter().any(|c| {
            c.kind == SyncKind::GroupMember
                && c.id == format!("{g}:{co_id}")
                && c.data
                    .as_ref()
                    .is_some_and(|d| d.get().contains("\"manager\""))
        }));

        // Never looser than what is set, even where the group sets no cap.
        forbidden(
            send(
                Method::PUT,
                format!("/admin/v1/users/{user_id}/limits"),
                Some(json!({})),
            )
            .await,
            "clearing a member's limits",
        )
        .await;
        forbidden(
            send(
                Method::PUT,
                format!("/admin/v1/users/{user_id}/limits"),
                Some(json!({ "requests_per_min": 60, "max_concurrent": 4 })),
            )
            .await,
            "loosening a member's limit within the group's cap",
        )
        .await;
        forbidden(
            send(
                Method::PUT,
                format!("/admin/v1/users/{user_id}/budget"),
                Some(json!({ "daily_usd": null })),
            )
            .await,
            "clearing a member's budget",
        )
        .await;
        let tight = send(
            Method::PUT,
            format!("/admin/v1/users/{user_id}/limits"),
            Some(json!({ "requests_per_min": 20, "max_concurrent": 2 })),
        )
        .await;
        assert_eq!(tight.status(), StatusCode::OK, "{}", gw.name);
        let tight = send(
            Method::PUT,
            format!("/admin/v1/users/{user_id}/budget"),
            Some(json!({ "daily_usd": 5.0 })),
        )
        .await;
        assert_eq!(tight.status(), StatusCode::OK, "{}", gw.name);

        // Grants: only what the group gives, never the member's own.
        forbidden(
            send(
                Method::DELETE,
                format!("/admin/v1/users/{user_id}/grants/own-model"),
                None,
            )
            .await,
            "taking away a member's own grant",
        )
        .await;
        let given = send(
            Method::PUT,
            format!("/admin/v1/users/{user_id}/grants/team-model"),
            None,
        )
        .await;
        assert_eq!(given.status(), StatusCode::OK, "{}", gw.name);
        let taken = send(
            Method::DELETE,
            format!("/admin/v1/users/{user_id}/grants/team-model"),
            None,
        )
        .await;
        assert_eq!(taken.status(), StatusCode::NO_CONTENT, "{}", gw.name);
        let given = send(
            Method::PUT,
            format!("/admin/v1/users/{user_id}/grants/team-model"),
            None,
        )
        .await;
        assert_eq!(given.status(), StatusCode::OK, "{}", gw.name);

        // Leaving the group takes what was given through it, and only that.
        let removed = send(
            Method::DELETE,
            format!("/admin/v1/groups/{g}/members/{user_id}"),
            None,
        )
        .await;
        assert_eq!(removed.status(), StatusCode::NO_CONTENT, "{}", gw.name);
        let eff: EffectivePolicy = gw
            .get_ok(&format!("/admin/v1/users/{user_id}/effective"), &admin)
            .await;
        let models: Vec<_> = eff.grants.iter().map(|g| g.model_id.as_str()).collect();
        assert_eq!(models, ["own-model"], "{}", gw.name);
        let sync = sync_all(&gw, &admin).await;
        assert!(
            sync.iter().any(|c| c.kind == SyncKind::Grant
                && c.id == format!("user:{user_id}:team-model")
                && c.data.is_none()),
            "{}: the grant's tombstone",
            gw.name
        );
        // Out of the group, out of reach.
        forbidden(
            send(
                Method::PUT,
                format!("/admin/v1/users/{user_id}/limits"),
                Some(json!({ "requests_per_min": 1 })),
            )
            .await,
            "limits of someone who left the group",
        )
        .await;
    }
}

/// Issue 12, item 4: a demotion reaches the workspaces. Memberships made at creation carry the
/// org role of that day, and the higher of the two roles counts in a workspace.
#[tokio::test]
async fn a_demoted_admin_is_no_admin_in_their_workspaces() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let ws: Workspace = gw
            .json_ok(
                Method::POST,
                "/admin/v1/workspaces",
                &admin,
                &json!({ "name": "Lab" }),
            )
            .await;
        let other: Workspace = gw
            .json_ok(
                Method::POST,
                "/admin/v1/workspaces",
                &admin,
                &json!({ "name": "Ops" }),
            )
            .await;
        let created: User = gw
            .json_ok(
                Method::POST,
                "/admin/v1/users",
                &admin,
                &json!({ "email": "ex@acme.example", "first_name": "Ex", "last_name": "Admin",
                         "role": "admin", "workspace_ids": [ws.id], "password": "correct horse battery" }),
            )
            .await;
        let mut tx = gw.db().begin_write().await.unwrap();
        let ex = gatehouse_gateway::auth::issue_token(&mut tx, &created.id, "test")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let _: User = gw
            .json_ok(
                Method::PATCH,
                &format!("/admin/v1/users/{}", created.id),
                &admin,
                &json!({ "role": "member" }),
            )
            .await;
        for workspace in [&ws, &other] {
            let rename = gw
                .send(
                    Method::PATCH,
                    &format!("/admin/v1/workspaces/{}", workspace.id),
                    &ex,
                    Some(&json!({ "name": "Mine now" })),
                )
                .await;
            assert_eq!(
                rename.status(),
                StatusCode::FORBIDDEN,
                "{} {}",
                gw.name,
                workspace.name
            );
        }
        let sync = sync_all(&gw, &admin).await;
        let membership = sync
            .iter()
            .rev()
            .find(|c| c.kind == SyncKind::Membership && c.id == format!("{}:{}", ws.id, created.id))
            .unwrap();
        let data = membership.data.as_ref().unwrap().get();
        assert!(data.contains("\"role\":\"member\""), "{}: {data}", gw.name);
        let entries: Page<AuditEntry> = gw.get_ok("/admin/v1/audit", &admin).await;
        let demotion = entries
            .items
            .iter()
            .find(|e| e.action == "user.updated" && e.target_id == created.id)
            .unwrap();
        assert_eq!(demotion.summary["workspace_roles_lowered"], json!([ws.id]));
    }
}
