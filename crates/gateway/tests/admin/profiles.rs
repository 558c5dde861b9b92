//! Access profiles over real HTTP on both databases: copied as the user's own at account
//! creation (direct add, invitation acceptance), audited, untouched by later edits, the org's
//! default, bad ids refused; and the spend forecast from seeded usage.

use crate::common;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use gatehouse_api::{
    AccessProfile, AuditEntry, Budget, BudgetPeriod, BulkInviteResult, EffectivePolicy, ErrorCode,
    Forecast, Group, Invitation, Limits, Org, Page, Role, Secret, SyncKind, SyncPage, User,
};
use gatehouse_gateway::usage::{self, UsageEvent};
use reqwest::{Method, StatusCode};
use serde_json::json;

use common::{TestGateway, backends, model, problem, user_with_role};

async fn create_user(gw: &TestGateway, admin: &Secret, email: &str, profile: Option<&str>) -> User {
    let mut body = json!({ "email": email, "first_name": "New", "last_name": "Person",
                           "role": "member", "password": "a long enough password" });
    if let Some(p) = profile {
        body["profile_id"] = json!(p);
    }
    gw.json_ok(Method::POST, "/admin/v1/users", admin, &body)
        .await
}

async fn own_policy(gw: &TestGateway, admin: &Secret, user: &str) -> (Vec<String>, Limits, Budget) {
    let effective: EffectivePolicy = gw
        .get_ok(&format!("/admin/v1/users/{user}/effective"), admin)
        .await;
    let grants = effective
        .grants
        .iter()
        .filter(|g| g.sources.iter().any(|s| s == "user"))
        .map(|g| g.model_id.clone())
        .collect();
    let limits: Limits = gw
        .get_ok(&format!("/admin/v1/users/{user}/limits"), admin)
        .await;
    let budget: Budget = gw
        .get_ok(&format!("/admin/v1/users/{user}/budget"), admin)
        .await;
    (grants, limits, budget)
}

#[tokio::test]
async fn a_profile_is_copied_at_account_creation_and_later_edits_change_nobody() {
    for gw in backends().await {
        let admin = gw.init(50).await;
        model(&gw, "m1").await;
        model(&gw, "m2").await;

        let bad = gw
            .send(
                Method::POST,
                "/admin/v1/profiles",
                &admin,
                Some(&json!({ "name": "Nope", "grants": ["not-in-catalog"] })),
            )
            .await;
        let p = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(p.errors.unwrap()[0].field, "grants");

        let profile: AccessProfile = gw
            .json_ok(
                Method::POST,
                "/admin/v1/profiles",
                &admin,
                &json!({ "name": "Engineers", "description": "Most people",
                         "grants": ["m2", "m1", "m1"],
                         "limits": { "requests_per_min": 30, "input_tokens_per_min": null,
                                     "output_tokens_per_min": null, "max_concurrent": null },
                         "budget": { "daily_usd": 5.0, "weekly_usd": null, "monthly_usd": 100.0 } }),
            )
            .await;
        assert_eq!(profile.grants, vec!["m1", "m2"], "sorted, each once");
        let taken = gw
            .send(
                Method::POST,
                "/admin/v1/profiles",
                &admin,
                Some(&json!({ "name": "Engineers" })),
            )
            .await;
        assert_eq!(taken.status(), StatusCode::CONFLICT);

        // A direct add with the profile: its values become the user's own, audited.
        let ann = create_user(&gw, &admin, "ann@acme.example", Some(&profile.id)).await;
        assert_eq!(ann.profile_id.as_deref(), Some(profile.id.as_str()));
        assert_eq!(ann.profile_name.as_deref(), Some("Engineers"));
        let (grants, limits, budget) = own_policy(&gw, &admin, &ann.id).await;
        assert_eq!(grants, vec!["m1", "m2"]);
        assert_eq!(limits.requests_per_min, Some(30));
        assert_eq!(
            (budget.daily_usd, budget.monthly_usd),
            (Some(5.0), Some(100.0))
        );
        let audit: Page<AuditEntry> = gw
            .get_ok(
                &format!(
                    "/admin/v1/audit?action=user.profile_applied&target_id={}",
                    ann.id
                ),
                &admin,
            )
            .await;
        assert_eq!(audit.items.len(), 1);
        assert_eq!(audit.items[0].summary["profile_name"], "Engineers");

        // Editing the profile changes nobody who started from it.
        let edited: AccessProfile = gw
            .json_ok(
                Method::PATCH,
                &format!("/admin/v1/profiles/{}", profile.id),
                &admin,
                &json!({ "grants": ["m1"], "limits": { "requests_per_min": 60, "input_tokens_per_min": null,
                         "output_tokens_per_min": null, "max_concurrent": null } }),
            )
            .await;
        assert_eq!(edited.grants, vec!["m1"]);
        assert!(edited.revision > profile.revision);
        let (grants, limits, _) = own_policy(&gw, &admin, &ann.id).await;
        assert_eq!(grants, vec!["m1", "m2"]);
        assert_eq!(limits.requests_per_min, Some(30));

        // A bad profile id is refused and creates nobody.
        let bad = gw
            .send(
                Method::POST,
                "/admin/v1/users",
                &admin,
                Some(
                    &json!({ "email": "bad@acme.example", "first_name": "B", "last_name": "P",
                              "role": "member", "profile_id": "apr_none" }),
                ),
            )
            .await;
        let p = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(p.errors.unwrap()[0].field, "profile_id");
        let found: Page<User> = gw.get_ok("/admin/v1/users?query=bad%40acme", &admin).await;
        assert!(found.items.is_empty());
        let bad = gw
            .send(
                Method::PATCH,
                "/admin/v1/org",
                &admin,
                Some(&json!({ "default_profile_id": "apr_none" })),
            )
            .await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // Without a default and without a choice, nothing is copied.
        let bob = create_user(&gw, &admin, "bob@acme.example", None).await;
        assert_eq!(bob.profile_id, None);
        assert!(own_policy(&gw, &admin, &bob.id).await.0.is_empty());

        // The org's default applies when none is picked; "" picks none.
        let org: Org = gw
            .json_ok(
                Method::PATCH,
                "/admin/v1/org",
                &admin,
                &json!({ "default_profile_id": profile.id }),
            )
            .await;
        assert_eq!(org.default_profile_id.as_deref(), Some(profile.id.as_str()));
        let cy = create_user(&gw, &admin, "cy@acme.example", None).await;
        assert_eq!(cy.profile_name.as_deref(), Some("Engineers"));
        let (grants, limits, _) = own_policy(&gw, &admin, &cy.id).await;
        assert_eq!(
            (grants, limits.requests_per_min),
            (vec!["m1".to_owned()], Some(60))
        );
        let dee = create_user(&gw, &admin, "dee@acme.example", Some("")).await;
        assert_eq!(dee.profile_id, None);

        // An invitation carries the default; accepting copies it then.
        let inv: Invitation = gw
            .json_ok(
                Method::POST,
                "/admin/v1/invitations",
                &admin,
                &json!({ "email": "eve@acme.example", "role": "member" }),
            )
            .await;
        assert_eq!(inv.profile_id.as_deref(), Some(profile.id.as_str()));
        let token = inv.link.unwrap().rsplit('/').next().unwrap().to_owned();
        let eve: User = common::ok(
            gw.request(Method::POST, &format!("/invite/{token}"), None)
                .json(&json!({ "password": "a long enough password" }))
                .send()
                .await
                .unwrap(),
            "accept",
        )
        .await;
        assert_eq!(eve.profile_name.as_deref(), Some("Engineers"));
        assert_eq!(own_policy(&gw, &admin, &eve.id).await.0, vec!["m1"]);

        // A bulk invitation picks another profile; a bad one is refused.
        let other: AccessProfile = gw
            .json_ok(
                Method::POST,
                "/admin/v1/profiles",
                &admin,
                &json!({ "name": "Contractors", "grants": ["m2"] }),
            )
            .await;
        let bulk: BulkInviteResult = gw
            .json_ok(
                Method::POST,
                "/admin/v1/invitations/bulk",
                &admin,
                &json!({ "text": "fay@acme.example", "role": "member", "profile_id": other.id }),
            )
            .await;
        let fay = bulk.results[0].invitation.as_ref().unwrap();
        assert_eq!(fay.profile_id.as_deref(), Some(other.id.as_str()));
        let bad = gw
            .send(
                Method::POST,
                "/admin/v1/invitations/bulk",
                &admin,
                Some(
                    &json!({ "text": "gus@acme.example", "role": "member", "profile_id": "apr_x" }),
                ),
            )
            .await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // A model leaving the catalog leaves the profiles; deleting a profile keeps its name on
        // the people who started from it and clears the default.
        let gone = gw
            .send(Method::DELETE, "/admin/v1/models/m1", &admin, None::<&()>)
            .await;
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        let now: AccessProfile = gw
            .get_ok(&format!("/admin/v1/profiles/{}", profile.id), &admin)
            .await;
        assert!(now.grants.is_empty());
        let gone = gw
            .send(
                Method::DELETE,
                &format!("/admin/v1/profiles/{}", profile.id),
                &admin,
                None::<&()>,
            )
            .await;
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        let org: Org = gw.get_ok("/admin/v1/org", &admin).await;
        assert_eq!(org.default_profile_id, None);
        let ann: User = gw
            .get_ok(&format!("/admin/v1/users/{}", ann.id), &admin)
            .await;
        assert_eq!(ann.profile_name.as_deref(), Some("Engineers"));
        let list: Vec<AccessProfile> = gw.get_ok("/admin/v1/profiles", &admin).await;
        assert_eq!(list.len(), 1);

        // Sync carries profiles and their deletion.
        let page: SyncPage = gw.get_ok("/admin/v1/sync?since=0&limit=5000", &admin).await;
        assert!(
            page.changes
                .iter()
                .any(|c| c.kind == SyncKind::AccessProfile && c.id == other.id && !c.deleted)
        );
        assert!(
            page.changes
                .iter()
                .any(|c| c.kind == SyncKind::AccessProfile && c.id == profile.id && c.deleted)
        );
    }
}

#[tokio::test]
async fn picking_a_profile_takes_policy_write_and_reading_takes_users_read() {
    for gw in backends().await {
        let admin = gw.init(50).await;
        let (_, operator) = user_with_role(&gw, "op@acme.example", Role::Operator).await;
        let (_, auditor) = user_with_role(&gw, "au@acme.example", Role::Auditor).await;
        let (_, member) = user_with_role(&gw, "me@acme.example", Role::Member).await;
        let made: AccessProfile = gw
            .json_ok(
                Method::POST,
                "/admin/v1/profiles",
                &operator,
                &json!({ "name": "By operator" }),
            )
            .await;
        let list: Vec<AccessProfile> = gw.get_ok("/admin/v1/profiles", &auditor).await;
        assert_eq!(list.len(), 1);
        for (token, status) in [
            (&member, StatusCode::FORBIDDEN),
            (&auditor, StatusCode::FORBIDDEN),
        ] {
            let r = gw
                .send(
                    Method::PATCH,
                    &format!("/admin/v1/profiles/{}", made.id),
                    token,
                    Some(&json!({ "name": "Mine" })),
                )
                .await;
            assert_eq!(r.status(), status);
        }
        let r = gw
            .send(Method::GET, "/admin/v1/profiles", &member, None::<&()>)
            .await;
        assert_eq!(
            problem(r, StatusCode::FORBIDDEN).await.code,
            ErrorCode::Forbidden
        );
        // Operators may not add users at all, with or without a profile.
        let r = gw
            .send(
                Method::POST,
                "/admin/v1/users",
                &operator,
                Some(
                    &json!({ "email": "x@acme.example", "first_name": "X", "last_name": "Y",
                              "role": "member", "profile_id": made.id }),
                ),
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let ok: User = gw
            .json_ok(
                Method::POST,
                "/admin/v1/users",
                &admin,
                &json!({ "email": "x@acme.example", "first_name": "X", "last_name": "Y",
                         "role": "member", "profile_id": made.id }),
            )
            .await;
        assert_eq!(ok.profile_id.as_deref(), Some(made.id.as_str()));
    }
}

fn spend(gw_user: &str, day: NaiveDate, usd: f64) -> UsageEvent {
    UsageEvent {
        id: gatehouse_gateway::new_id("uev"),
        at: day.and_hms_opt(12, 0, 0).unwrap().and_utc(),
        user_id: gw_user.to_owned(),
        key_id: None,
        model_id: "m1".to_owned(),
        workspace_id: None,
        input_tokens: 10,
        output_tokens: 10,
        cost_micros: (usd * 1e6) as i64,
        status: 200,
    }
}

#[tokio::test]
async fn forecasts_follow_the_pace_of_recent_days() {
    for gw in backends().await {
        let admin = gw.init(50).await;
        model(&gw, "m1").await;
        let (ann, ann_token) = user_with_role(&gw, "ann@acme.example", Role::Member).await;
        let (bob, _) = user_with_role(&gw, "bob@acme.example", Role::Member).await;
        let today = Utc::now().date_naive();
        // Ann: $2 on each of the 3 days before today (her first usage), $0.5 today.
        let mut tx = gw.db().begin_write().await.unwrap();
        for n in 1..=3 {
            usage::record(&mut tx, &spend(&ann, today - Duration::days(n), 2.0))
                .await
                .unwrap();
        }
        usage::record(&mut tx, &spend(&ann, today, 0.5))
            .await
            .unwrap();
        usage::record(&mut tx, &spend(&bob, today - Duration::days(1), 7.0))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let _: Budget = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/users/{ann}/budget"),
                &admin,
                &json!({ "daily_usd": 1.0, "weekly_usd": null, "monthly_usd": 1000.0 }),
            )
            .await;

        let f: Forecast = gw
            .get_ok(&format!("/admin/v1/users/{ann}/forecast"), &ann_token)
            .await;
        assert_eq!(f.pace_days, 3);
        assert!((f.pace_usd_per_day - 2.0).abs() < 1e-9);
        let first = today.with_day(1).unwrap();
        let next_month = (first + Duration::days(32)).with_day(1).unwrap();
        let in_month: f64 = (1..=3)
            .map(|n| today - Duration::days(n))
            .filter(|d| *d >= first)
            .map(|_| 2.0)
            .sum();
        assert!((f.month_to_date_usd - (in_month + 0.5)).abs() < 1e-6);
        let days_after_today = (next_month - today).num_days() - 1;
        assert!(
            (f.month_end_usd - (in_month + 2.0 + 2.0 * days_after_today as f64)).abs() < 1e-6,
            "{f:?}"
        );
        let daily = f
            .periods
            .iter()
            .find(|p| p.period == BudgetPeriod::Daily)
            .unwrap();
        assert_eq!(daily.cap_usd, Some(1.0));
        assert_eq!(
            daily.runs_out_on,
            Some(today),
            "today is expected to reach the pace"
        );
        assert_eq!(
            daily.resets_at,
            (today + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
        );
        let monthly = f
            .periods
            .iter()
            .find(|p| p.period == BudgetPeriod::Monthly)
            .unwrap();
        assert_eq!(monthly.runs_out_on, None, "$1000 is far off");
        assert_eq!(
            monthly.resets_at,
            next_month.and_hms_opt(0, 0, 0).unwrap().and_utc()
        );

        // A member reads only their own.
        let r = gw
            .send(
                Method::GET,
                &format!("/admin/v1/users/{bob}/forecast"),
                &ann_token,
                None::<&()>,
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // The org adds everyone; a group its members.
        let org: Forecast = gw.get_ok("/admin/v1/org/forecast", &admin).await;
        assert!(org.month_end_usd >= f.month_end_usd);
        assert!(
            org.periods
                .iter()
                .all(|p| p.cap_usd.is_none() && p.runs_out_on.is_none())
        );
        let group: Group = gw
            .json_ok(
                Method::POST,
                "/admin/v1/groups",
                &admin,
                &json!({ "name": "Team" }),
            )
            .await;
        let _: serde_json::Value = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/groups/{}/members/{bob}", group.id),
                &admin,
                &json!({ "role": "member" }),
            )
            .await;
        let g: Forecast = gw
            .get_ok(&format!("/admin/v1/groups/{}/forecast", group.id), &admin)
            .await;
        assert_eq!(g.pace_days, 1, "Bob's first usage was yesterday");
        assert!((g.pace_usd_per_day - 7.0).abs() < 1e-9);
        let missing = gw
            .send(
                Method::GET,
                "/admin/v1/groups/grp_none/forecast",
                &admin,
                None::<&()>,
            )
            .await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn an_account_a_provider_creates_over_scim_starts_from_the_default() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, "m1").await;
        let profile: AccessProfile = gw
            .json_ok(
                Method::POST,
                "/admin/v1/profiles",
                &admin,
                &json!({ "name": "Provisioned", "grants": ["m1"],
                         "budget": { "daily_usd": 2.0, "weekly_usd": null, "monthly_usd": null } }),
            )
            .await;
        let _: Org = gw
            .json_ok(
                Method::PATCH,
                "/admin/v1/org",
                &admin,
                &json!({ "default_profile_id": profile.id }),
            )
            .await;
        let made: gatehouse_api::ScimTokenCreated = gw
            .json_ok(
                Method::POST,
                "/admin/v1/scim/tokens",
                &admin,
                &json!({ "name": "IdP" }),
            )
            .await;
        let res = gw
            .http
            .post(gw.url("/scim/v2/Users"))
            .bearer_auth(&made.secret)
            .header("content-type", "application/scim+json")
            .body(
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "pat@acme.example",
                    "emails": [{ "primary": true, "value": "pat@acme.example" }],
                    "name": { "familyName": "Lee", "givenName": "Pat" },
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: serde_json::Value = res.json().await.unwrap();
        let id = body["id"].as_str().unwrap().to_owned();
        let user: User = gw.get_ok(&format!("/admin/v1/users/{id}"), &admin).await;
        assert_eq!(user.profile_name.as_deref(), Some("Provisioned"));
        let (grants, _, budget) = own_policy(&gw, &admin, &id).await;
        assert_eq!(
            (grants, budget.daily_usd),
            (vec!["m1".to_owned()], Some(2.0))
        );
    }
}
