//! Console sign-in through the identity provider, as the desktop app does it (RFC 8252): the
//! app's loopback redirect, its state and PKCE, the provider's flow through the local issuer
//! (`support/oidc_issuer.rs`), the one-time code exchanged for a session. Invite-only and
//! just-in-time joining, the role mapping, binding to the provider's stable subject (never an
//! e-mail alone), and requiring SSO with a break-glass admin.

use crate::{common, oidc_issuer};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{TestGateway, backends, problem, user_with_role};
use gatehouse_api::{Group, IdentitySettings, LoginResponse, Me, Role, Secret, User, UserStatus};
use gatehouse_gateway::GatewayOptions;
use gatehouse_gateway::oidc::{OidcConfig, ProviderConfig};
use oidc_issuer::{CLIENT_ID, CLIENT_SECRET, TestIssuer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const TENANT: &str = "4f2b1c9e-8a7d-4e3f-9b6a-1c2d3e4f5a6b";
const OTHER_TENANT: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/// The app's listener: never called here, as the test reads where the browser is sent.
const APP: &str = "http://127.0.0.1:47011/callback";

fn provider(issuer: &str) -> ProviderConfig {
    ProviderConfig {
        issuer: issuer.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Secret::new(CLIENT_SECRET),
    }
}

async fn with_providers(gw: TestGateway, issuer: &TestIssuer) -> TestGateway {
    gw.with_options(GatewayOptions {
        oidc: OidcConfig {
            google: Some(provider(&issuer.url)),
            microsoft: Some(provider(&issuer.microsoft_issuer())),
            generic: Some(provider(&issuer.url)),
            generic_name: Some("Okta".into()),
        },
        ..Default::default()
    })
    .await
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response) -> url::Url {
    url::Url::parse(r.headers()[reqwest::header::LOCATION].to_str().unwrap()).unwrap()
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The app's PKCE pair.
fn pkce() -> (String, String) {
    let verifier = format!("verifier-{}", uuid::Uuid::now_v7().simple());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// What the app's loopback listener receives.
#[derive(Debug)]
enum Back {
    Code { code: String, verifier: String },
    Error { error: String, description: String },
}

/// The whole browser leg of a console sign-in with `provider`, as whoever the issuer is told
/// to sign in as.
async fn sso(gw: &TestGateway, issuer: &TestIssuer, provider: &str) -> Back {
    let (verifier, challenge) = pkce();
    let browser = browser();
    let mut start = url::Url::parse(&gw.url(&format!("/sso/{provider}/start"))).unwrap();
    start
        .query_pairs_mut()
        .append_pair("redirect_uri", APP)
        .append_pair("state", "app-state-1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let to_provider = browser.get(start).send().await.unwrap();
    assert_eq!(
        to_provider.status(),
        StatusCode::SEE_OTHER,
        "{}",
        to_provider.text().await.unwrap()
    );
    let at = location(&to_provider);
    assert!(at.as_str().starts_with(&issuer.url), "{at}");
    // The provider never sees the app's state or challenge.
    assert_ne!(param(&at, "state").as_deref(), Some("app-state-1"));
    assert_ne!(param(&at, "code_challenge"), Some(challenge.clone()));
    let back = browser.get(at).send().await.unwrap();
    let callback = location(&back);
    assert!(callback.as_str().starts_with(&gw.url("/oidc/callback?")));
    let to_app = browser.get(callback).send().await.unwrap();
    assert_eq!(to_app.status(), StatusCode::SEE_OTHER);
    let app = location(&to_app);
    assert!(app.as_str().starts_with(APP), "{app}");
    assert_eq!(param(&app, "state").as_deref(), Some("app-state-1"));
    match param(&app, "code") {
        Some(code) => Back::Code { code, verifier },
        None => Back::Error {
            error: param(&app, "error").unwrap(),
            description: param(&app, "error_description").unwrap_or_default(),
        },
    }
}

async fn exchange(gw: &TestGateway, code: &str, verifier: &str) -> reqwest::Response {
    gw.http
        .post(gw.url("/admin/v1/auth/sso/token"))
        .json(&json!({ "code": code, "code_verifier": verifier }))
        .send()
        .await
        .unwrap()
}

/// Signs in through `provider` and exchanges the code; returns the session.
async fn signed_in(gw: &TestGateway, issuer: &TestIssuer, provider: &str) -> LoginResponse {
    match sso(gw, issuer, provider).await {
        Back::Code { code, verifier } => {
            common::ok(exchange(gw, &code, &verifier).await, "exchange").await
        }
        Back::Error { error, description } => {
            panic!("{}: refused: {error}: {description}", gw.name)
        }
    }
}

fn refused_with(back: Back, want: &str) -> String {
    match back {
        Back::Error { error, description } => {
            assert_eq!(error, want, "{description}");
            description
        }
        Back::Code { .. } => panic!("signed in where {want} was expected"),
    }
}

async fn user_by_email(gw: &TestGateway, admin: &Secret, email: &str) -> Option<User> {
    let page: gatehouse_api::Page<User> = gw
        .get_ok(&format!("/admin/v1/users?query={email}"), admin)
        .await;
    page.items.into_iter().find(|u| u.email == email)
}

/// Whether `user` is a member of `group`.
async fn in_group(gw: &TestGateway, group: &str, user: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group)
        .bind(user)
        .fetch_one(&gw.db().pool)
        .await
        .unwrap()
}

async fn set_identity(gw: &TestGateway, admin: &Secret, settings: Value) -> reqwest::Response {
    let mut body = json!({ "join_mode": "invite_only", "jit_role": "member",
                           "require_sso": false, "groups_claim": "groups" });
    for (k, v) in settings.as_object().unwrap() {
        body[k] = v.clone();
    }
    gw.send(Method::PUT, "/admin/v1/identity", admin, Some(&body))
        .await
}

#[tokio::test]
async fn accounts_sign_in_by_sso_with_a_code_only_the_app_can_use() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = with_providers(gw, &issuer).await;
        let admin = gw.init(20).await;
        let (ann_id, _) = user_with_role(&gw, "ann@acme.example", Role::Member).await;

        issuer.sign_in_as(json!({ "email": "Ann@acme.example", "email_verified": true }));
        let Back::Code { code, verifier } = sso(&gw, &issuer, "google").await else {
            panic!("{}: refused", gw.name);
        };
        // The wrong verifier, then the right one too late: a code is tried once.
        let wrong = exchange(
            &gw,
            &code,
            "another verifier of the right length, not the one",
        )
        .await;
        problem(wrong, StatusCode::UNAUTHORIZED).await;
        problem(
            exchange(&gw, &code, &verifier).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;

        let session = signed_in(&gw, &issuer, "google").await;
        assert_eq!(session.user.id, ann_id, "{}", gw.name);
        let me: Me = gw
            .get_ok("/admin/v1/me", &Secret::new(session.token.clone()))
            .await;
        assert_eq!(me.user.email, "ann@acme.example");
        // Bound to the provider's account now.
        let ann = user_by_email(&gw, &admin, "ann@acme.example")
            .await
            .unwrap();
        assert_eq!(ann.identity_issuer.as_deref(), Some(issuer.url.as_str()));

        // Nobody else gets in on an invite-only org, nor with an address the provider does
        // not vouch for.
        issuer.sign_in_as(json!({ "email": "eve@acme.example", "email_verified": true }));
        let why = refused_with(sso(&gw, &issuer, "google").await, "forbidden");
        assert!(why.contains("no account"), "{why}");
        assert!(
            user_by_email(&gw, &admin, "eve@acme.example")
                .await
                .is_none()
        );
        let (_, _) = user_with_role(&gw, "bo@acme.example", Role::Member).await;
        issuer.sign_in_as(json!({ "email": "bo@acme.example", "email_verified": false }));
        refused_with(sso(&gw, &issuer, "google").await, "forbidden");

        // A pending invitation is accepted by the sign-in.
        let _: gatehouse_api::Invitation = gw
            .json_ok(
                Method::POST,
                "/admin/v1/invitations",
                &admin,
                &json!({ "email": "cy@acme.example", "role": "auditor", "workspace_ids": [] }),
            )
            .await;
        issuer.sign_in_as(
            json!({ "email": "cy@acme.example", "email_verified": true, "given_name": "Cy" }),
        );
        let cy = signed_in(&gw, &issuer, "google").await;
        assert_eq!(cy.user.role, Role::Auditor, "{}", gw.name);
        // The org's own provider (set up with --oidc-issuer) signs in the same way.
        let again = signed_in(&gw, &issuer, "oidc").await;
        assert_eq!(again.user.id, cy.user.id);

        // A suspended account cannot come back this way.
        let path = format!("/admin/v1/users/{ann_id}/suspend");
        assert!(
            gw.send(Method::POST, &path, &admin, None::<&Value>)
                .await
                .status()
                .is_success()
        );
        issuer.sign_in_as(json!({ "email": "ann@acme.example", "email_verified": true }));
        refused_with(sso(&gw, &issuer, "google").await, "account_suspended");
        // Nor a deleted one: its binding went with it, and invite-only keeps it out.
        let path = format!("/admin/v1/users/{ann_id}");
        assert!(
            gw.send(Method::DELETE, &path, &admin, None::<&Value>)
                .await
                .status()
                .is_success()
        );
        refused_with(sso(&gw, &issuer, "google").await, "forbidden");

        // The app's side of the start is checked before anyone is sent anywhere.
        let (_, challenge) = pkce();
        for (redirect, method, challenge) in [
            ("http://evil.example:80/cb", "S256", challenge.as_str()),
            ("http://localhost:47011/cb", "S256", challenge.as_str()),
            ("http://127.0.0.1/cb", "S256", challenge.as_str()),
            (APP, "plain", challenge.as_str()),
            (APP, "S256", "short"),
        ] {
            let mut start = url::Url::parse(&gw.url("/sso/google/start")).unwrap();
            start
                .query_pairs_mut()
                .append_pair("redirect_uri", redirect)
                .append_pair("state", "s")
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", method);
            let r = browser().get(start).send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::BAD_REQUEST,
                "{redirect} {method} {challenge}"
            );
        }
    }
}

#[tokio::test]
async fn just_in_time_accounts_take_a_seat_and_the_role_mapping_applies_at_each_sign_in() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = with_providers(gw, &issuer).await;
        let admin = gw.init(3).await;
        let group: Group = gw
            .json_ok(
                Method::POST,
                "/admin/v1/groups",
                &admin,
                &json!({ "name": "Eng" }),
            )
            .await;
        // Just in time needs domains; role mapping entries need a role or a group.
        let bad = set_identity(&gw, &admin, json!({ "join_mode": "just_in_time" })).await;
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
        let bad = set_identity(
            &gw,
            &admin,
            json!({ "role_mapping": [{ "claim_value": "x" }] }),
        )
        .await;
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
        let set = set_identity(
            &gw,
            &admin,
            json!({
                "join_mode": "just_in_time", "jit_domains": ["@Acme.example"], "jit_role": "member",
                "groups_claim": "groups",
                "role_mapping": [
                    { "claim_value": "gw-operators", "role": "operator" },
                    { "claim_value": "eng", "group_id": group.id },
                ],
            }),
        )
        .await;
        let settings: IdentitySettings = common::ok(set, "identity").await;
        assert_eq!(settings.jit_domains, ["acme.example"]);
        let names: Vec<&str> = settings.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Okta", "Google", "Microsoft"]);
        // The sign-in form asks which, before anyone is signed in.
        let public: Vec<gatehouse_api::SsoProvider> = common::ok(
            gw.get("/admin/v1/auth/sso/providers").send().await.unwrap(),
            "providers",
        )
        .await;
        assert_eq!(public, settings.providers);

        issuer.sign_in_as(json!({ "email": "new@acme.example", "email_verified": true,
                                  "groups": ["gw-operators", "eng"] }));
        let first = signed_in(&gw, &issuer, "google").await;
        assert_eq!(first.user.role, Role::Operator, "{}", gw.name);
        let members = in_group(&gw, &group.id, &first.user.id).await;
        assert_eq!(members, 1);
        // Out of the group at the provider: out of it here at the next sign-in; no matching
        // role entry leaves the role alone.
        issuer.sign_in_as(
            json!({ "email": "new@acme.example", "email_verified": true, "groups": [] }),
        );
        let again = signed_in(&gw, &issuer, "google").await;
        assert_eq!(again.user.id, first.user.id);
        assert_eq!(again.user.role, Role::Operator);
        let members = in_group(&gw, &group.id, &first.user.id).await;
        assert_eq!(members, 0, "{}", gw.name);

        // The org's only admin signing in with a group mapped to a lower role stays admin.
        issuer.sign_in_as(
            json!({ "email": "root@acme.example", "email_verified": true,
                                  "groups": ["gw-operators"] }),
        );
        let root = signed_in(&gw, &issuer, "google").await;
        assert_eq!(root.user.role, Role::Admin, "{}", gw.name);

        // Another domain stays out; a full org refuses with the seat limit.
        issuer.sign_in_as(json!({ "email": "x@other.example", "email_verified": true }));
        refused_with(sso(&gw, &issuer, "google").await, "forbidden");
        issuer.sign_in_as(json!({ "email": "two@acme.example", "email_verified": true }));
        signed_in(&gw, &issuer, "google").await;
        issuer.sign_in_as(json!({ "email": "three@acme.example", "email_verified": true }));
        refused_with(sso(&gw, &issuer, "google").await, "seat_limit_reached");
        assert!(
            user_by_email(&gw, &admin, "three@acme.example")
                .await
                .is_none()
        );
    }
}

/// The "nOAuth" class: an e-mail claim alone never takes over an account. The org names its
/// Microsoft tenant; an account of another tenant with the same address is refused, and once
/// bound, the account is its tenant's object id, not the address.
#[tokio::test]
async fn microsoft_sign_in_binds_the_tenant_and_object_id_not_the_email() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = with_providers(gw, &issuer).await;
        let admin = gw.init(20).await;
        let (lin, _) = user_with_role(&gw, "lin@contoso.example", Role::Member).await;
        let set = set_identity(
            &gw,
            &admin,
            json!({ "microsoft_tenant": TENANT.to_uppercase() }),
        )
        .await;
        let settings: IdentitySettings = common::ok(set, "identity").await;
        assert_eq!(settings.microsoft_tenant.as_deref(), Some(TENANT));

        issuer.sign_in_as(json!({ "email": "lin@contoso.example", "tid": OTHER_TENANT,
                                  "oid": "11111111-1111-4111-8111-111111111111" }));
        refused_with(sso(&gw, &issuer, "microsoft").await, "forbidden");

        issuer.sign_in_as(json!({ "email": "lin@contoso.example", "tid": TENANT,
                                  "oid": "22222222-2222-4222-8222-222222222222" }));
        let session = signed_in(&gw, &issuer, "microsoft").await;
        assert_eq!(session.user.id, lin, "{}", gw.name);
        assert_eq!(session.user.identity_tenant.as_deref(), Some(TENANT));

        // Another account of the tenant that now claims Lin's address is not Lin.
        issuer.sign_in_as(json!({ "email": "lin@contoso.example", "tid": TENANT,
                                  "oid": "33333333-3333-4333-8333-333333333333" }));
        let why = refused_with(sso(&gw, &issuer, "microsoft").await, "forbidden");
        assert!(why.contains("another"), "{why}");
        // While Lin's own account, whatever address it shows now, is still Lin.
        issuer.sign_in_as(json!({ "email": "renamed@contoso.example", "tid": TENANT,
                                  "oid": "22222222-2222-4222-8222-222222222222" }));
        assert_eq!(signed_in(&gw, &issuer, "microsoft").await.user.id, lin);
    }
}

#[tokio::test]
async fn requiring_sso_refuses_passwords_but_the_break_glass_admins() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = with_providers(gw, &issuer).await;
        let admin = gw.init(20).await;
        let password = "a long enough password";
        let hash = gatehouse_gateway::password::hash(password.to_owned())
            .await
            .unwrap();
        let mut ids = Vec::new();
        for (email, role) in [
            ("root2@acme.example", Role::Admin),
            ("mo@acme.example", Role::Member),
        ] {
            let (id, _) = user_with_role(&gw, email, role).await;
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(&hash)
                .bind(&id)
                .execute(&gw.db().pool)
                .await
                .unwrap();
            ids.push(id);
        }
        let login = |email: &'static str| {
            let gw = &gw;
            async move {
                gw.http
                    .post(gw.url("/admin/v1/auth/login"))
                    .json(&json!({ "email": email, "password": password }))
                    .send()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(login("mo@acme.example").await.status(), StatusCode::OK);

        // No break-glass admin, or one who is not an admin: refused, nothing changes.
        let bad = set_identity(&gw, &admin, json!({ "require_sso": true })).await;
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
        let bad = set_identity(
            &gw,
            &admin,
            json!({ "require_sso": true, "break_glass_user_id": ids[1] }),
        )
        .await;
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
        // An operator or auditor may not change any of it.
        let (_, auditor) = user_with_role(&gw, "aud@acme.example", Role::Auditor).await;
        let _: IdentitySettings = gw.get_ok("/admin/v1/identity", &auditor).await;
        problem(
            set_identity(&gw, &auditor, json!({})).await,
            StatusCode::FORBIDDEN,
        )
        .await;

        let set = set_identity(
            &gw,
            &admin,
            json!({ "require_sso": true, "break_glass_user_id": ids[0] }),
        )
        .await;
        let _: IdentitySettings = common::ok(set, "identity").await;
        let refused = problem(login("mo@acme.example").await, StatusCode::FORBIDDEN).await;
        assert!(
            refused.detail.contains("single sign-on"),
            "{}",
            refused.detail
        );
        assert_eq!(
            login("root2@acme.example").await.status(),
            StatusCode::OK,
            "{}",
            gw.name
        );
        // A wrong password stays a wrong password, for anyone.
        let wrong = gw
            .http
            .post(gw.url("/admin/v1/auth/login"))
            .json(&json!({ "email": "mo@acme.example", "password": "not the password at all" }))
            .send()
            .await
            .unwrap();
        problem(wrong, StatusCode::UNAUTHORIZED).await;
        // No reset mail for those who sign in with SSO.
        let reset = gw
            .send(
                Method::POST,
                &format!("/admin/v1/users/{}/password-reset", ids[1]),
                &admin,
                None::<&Value>,
            )
            .await;
        problem(reset, StatusCode::CONFLICT).await;
        // SSO still lets them in.
        issuer.sign_in_as(json!({ "email": "mo@acme.example", "email_verified": true }));
        let session = signed_in(&gw, &issuer, "google").await;
        assert_eq!(session.user.status, UserStatus::Active);
    }
}

#[tokio::test]
async fn a_just_in_time_account_starts_from_the_default_access_profile() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = with_providers(gw, &issuer).await;
        let admin = gw.init(5).await;
        common::model(&gw, "m1").await;
        let profile: gatehouse_api::AccessProfile = gw
            .json_ok(
                Method::POST,
                "/admin/v1/profiles",
                &admin,
                &json!({ "name": "Newcomers", "grants": ["m1"] }),
            )
            .await;
        let _: gatehouse_api::Org = gw
            .json_ok(
                Method::PATCH,
                "/admin/v1/org",
                &admin,
                &json!({ "default_profile_id": profile.id }),
            )
            .await;
        let set = set_identity(
            &gw,
            &admin,
            json!({ "join_mode": "just_in_time", "jit_domains": ["acme.example"], "jit_role": "member" }),
        )
        .await;
        let _: IdentitySettings = common::ok(set, "identity").await;
        issuer.sign_in_as(json!({ "email": "jit@acme.example", "email_verified": true }));
        let joined = signed_in(&gw, &issuer, "google").await;
        assert_eq!(
            joined.user.profile_name.as_deref(),
            Some("Newcomers"),
            "{}",
            gw.name
        );
        let effective: gatehouse_api::EffectivePolicy = gw
            .get_ok(
                &format!("/admin/v1/users/{}/effective", joined.user.id),
                &admin,
            )
            .await;
        assert_eq!(effective.grants[0].model_id, "m1");
        assert_eq!(effective.grants[0].sources, ["user"]);
    }
}
