//! Sign-in, personal access tokens and password reset over real HTTP, with mail delivered to a
//! real SMTP server (aiosmtpd) on 127.0.0.1.

use crate::{common, smtp_sink};
use chrono::{Duration, Utc};
use gatehouse_api::{
    AccessToken, AccessTokenCreated, AuditEntry, ErrorCode, LoginResponse, Me, Page, Role, Secret,
    User, UserStatus,
};
use gatehouse_gateway::throttle::{MAX_CLIENT_FAILURES, MAX_FAILURES, MAX_LINK_FAILURES};
use gatehouse_gateway::{GatewayOptions, auth, db, password, users};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use common::{TestGateway, backends, client_from, problem};
use smtp_sink::SmtpSink;

const OLD_PASSWORD: &str = "old password, long enough";
const NEW_PASSWORD: &str = "a brand new passphrase";
const PUBLIC_URL: &str = "https://gatehouse.example/base";

/// `gw` served again, on its database, with `options` (mail, public URL).
async fn with_options(gw: TestGateway, options: GatewayOptions) -> TestGateway {
    gw.with_options(options).await
}

async fn with_mail(gw: TestGateway, sink: &SmtpSink) -> TestGateway {
    with_options(
        gw,
        GatewayOptions {
            smtp_url: Some(Secret::new(sink.url())),
            mail_from: Some("Gatehouse Test <gatehouse@test.example>".into()),
            public_url: Some(format!("{PUBLIC_URL}/")),
            ..Default::default()
        },
    )
    .await
}

/// An active account with `password`; returns its id.
async fn add_user(gw: &TestGateway, email: &str, role: Role, password: &str) -> String {
    let hash = password::hash(password.to_owned()).await.unwrap();
    let mut tx = gw.db().begin_write().await.unwrap();
    let id = users::insert(
        &mut tx,
        &users::NewUser {
            email: email.into(),
            first_name: "Alice".into(),
            last_name: "Example".into(),
            role,
            status: UserStatus::Active,
            workspace_ids: vec![],
            password_hash: Some(hash),
            created_at: db::now(),
            last_active_at: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn set_status(gw: &TestGateway, user_id: &str, status: UserStatus) {
    sqlx::query("UPDATE users SET status = $1 WHERE id = $2")
        .bind(status.as_str())
        .bind(user_id)
        .execute(&gw.db().pool)
        .await
        .unwrap();
}

async fn password_hash(gw: &TestGateway, user_id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&gw.db().pool)
        .await
        .unwrap()
}

async fn login_from(
    gw: &TestGateway,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(gw.url("/admin/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

async fn login(gw: &TestGateway, email: &str, password: &str) -> reqwest::Response {
    login_from(gw, &gw.http, email, password).await
}

async fn login_ok(gw: &TestGateway, email: &str, password: &str) -> LoginResponse {
    common::ok(login(gw, email, password).await, "login").await
}

async fn audit_text(gw: &TestGateway, admin: &Secret) -> (Vec<AuditEntry>, String) {
    let page: Page<AuditEntry> = gw.get_ok("/admin/v1/audit?limit=1000", admin).await;
    let text = serde_json::to_string(&page.items).unwrap();
    (page.items, text)
}

fn assert_html_page(response: &reqwest::Response, status: StatusCode) {
    assert_eq!(response.status(), status, "{}", response.url());
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
}

/// The path of the (first) reset link in `text`, plain or HTML, which must sit under
/// [`PUBLIC_URL`].
fn reset_path(text: &str) -> String {
    let start = text
        .find(&format!("{PUBLIC_URL}/reset/"))
        .unwrap_or_else(|| panic!("no reset link under {PUBLIC_URL} in {text:?}"));
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<'))
        .collect();
    link.strip_prefix(PUBLIC_URL).unwrap().to_owned()
}

fn form(gw: &TestGateway, path: &str, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
    gw.http.post(gw.url(path)).form(fields)
}

/// How `GET /admin/v1/me` answers `token`.
async fn me_status(gw: &TestGateway, token: &Secret) -> StatusCode {
    gw.request(Method::GET, "/admin/v1/me", Some(token))
        .send()
        .await
        .unwrap()
        .status()
}

/// Signs in as `email` and makes a personal access token: the session and the token.
async fn session_and_pat(gw: &TestGateway, email: &str, password: &str) -> (Secret, Secret) {
    let session = Secret::new(login_ok(gw, email, password).await.token);
    let pat: AccessTokenCreated = gw
        .json_ok(
            Method::POST,
            "/admin/v1/me/tokens",
            &session,
            &json!({ "name": "cli" }),
        )
        .await;
    (session, Secret::new(pat.secret))
}

/// The path of a fresh reset link for `user_id`, stored as the gateway stores one (without a
/// mail server).
async fn reset_link(gw: &TestGateway, user_id: &str) -> String {
    let (token, hash) = auth::new_secret("rst_");
    sqlx::query(
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(hash)
    .bind(user_id)
    .bind(db::now())
    .bind(db::timestamp(Utc::now() + Duration::hours(1)))
    .execute(&gw.db().pool)
    .await
    .unwrap();
    format!("/reset/{}", token.expose())
}

/// Posts the reset page's form as a browser does, with its tokens box ticked or not.
async fn post_reset_page(
    gw: &TestGateway,
    path: &str,
    password: &str,
    revoke_tokens: bool,
) -> reqwest::Response {
    let mut fields = vec![
        ("password", password),
        ("password_confirm", password),
        ("tokens_asked", "yes"),
    ];
    if revoke_tokens {
        fields.push(("revoke_tokens", "yes"));
    }
    form(gw, path, &fields).send().await.unwrap()
}

/// How many sessions and personal access tokens the latest reset revoked, by its audit entry.
async fn last_reset_revoked(gw: &TestGateway, admin: &Secret) -> (u64, u64) {
    let (entries, _) = audit_text(gw, admin).await;
    let last = entries
        .iter()
        .find(|e| e.action == "user.password_reset")
        .expect("the reset is audited");
    let count = |field: &str| last.summary[field].as_u64().expect("a count");
    (count("sessions_revoked"), count("tokens_revoked"))
}

#[tokio::test]
async fn sign_in_gives_a_12_hour_session_and_wrong_passwords_get_401() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let alice = add_user(&gw, "alice@acme.example", Role::Member, OLD_PASSWORD).await;
        let stored = password_hash(&gw, &alice).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$"), "{stored}");

        // The address is matched without regard to case or surrounding blanks.
        let before = Utc::now();
        let session = login_ok(&gw, "  Alice@ACME.example ", OLD_PASSWORD).await;
        assert!(session.token.starts_with("gat_"));
        assert_eq!(session.user.id, alice);
        let after = Utc::now();
        // Stored to the millisecond, hence the second of slack.
        assert!(
            session.expires_at >= before + Duration::hours(12) - Duration::seconds(1)
                && session.expires_at <= after + Duration::hours(12),
            "{}",
            session.expires_at
        );
        let last_active = session.user.last_active_at.expect("last_active_at is set");
        assert!(last_active >= before - Duration::seconds(1));

        let token = Secret::new(session.token.clone());
        let me: Me = gw.get_ok("/admin/v1/me", &token).await;
        assert_eq!(me.user.email, "alice@acme.example");
        let kind: String = sqlx::query_scalar("SELECT kind FROM tokens WHERE user_id = $1")
            .bind(&alice)
            .fetch_one(&gw.db().pool)
            .await
            .unwrap();
        assert_eq!(kind, "session");

        // A wrong password and an unknown address get the same answer.
        let wrong = problem(
            login(&gw, "alice@acme.example", "not the password at all").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        let unknown = problem(
            login(&gw, "nobody@acme.example", "not the password at all").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(wrong.code, ErrorCode::Unauthorized);
        assert_eq!(wrong, unknown);
        assert!(!wrong.detail.contains("alice"));
        // The admin made by `init` has no password: nothing verifies against it.
        problem(
            login(&gw, "root@acme.example", "").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;

        // Not a sign-in request: 422, and nothing about a password in the answer.
        let bad = problem(
            gw.http
                .post(gw.url("/admin/v1/auth/login"))
                .json(&json!({ "email": "alice@acme.example", "pass": "x" }))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(bad.code, ErrorCode::ValidationFailed);

        // Expired sessions are refused.
        sqlx::query("UPDATE tokens SET expires_at = $1 WHERE user_id = $2")
            .bind(db::timestamp(Utc::now() - Duration::minutes(1)))
            .bind(&alice)
            .execute(&gw.db().pool)
            .await
            .unwrap();
        let expired = problem(
            gw.request(Method::GET, "/admin/v1/me", Some(&token))
                .send()
                .await
                .unwrap(),
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(expired.code, ErrorCode::Unauthorized);

        let (entries, text) = audit_text(&gw, &admin).await;
        assert!(
            entries
                .iter()
                .any(|e| e.action == "session.create" && e.target_id == alice)
        );
        assert!(!text.contains(&session.token));
        assert!(!text.contains(OLD_PASSWORD));
    }
}

#[tokio::test]
async fn suspended_and_pending_accounts_cannot_sign_in() {
    for gw in backends().await {
        gw.init(10).await;
        let alice = add_user(&gw, "alice@acme.example", Role::Member, OLD_PASSWORD).await;
        let session = login_ok(&gw, "alice@acme.example", OLD_PASSWORD).await;

        set_status(&gw, &alice, UserStatus::Suspended).await;
        let p = problem(
            login(&gw, "alice@acme.example", OLD_PASSWORD).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(p.code, ErrorCode::AccountSuspended);
        // Without the password, the status is not given away.
        let p = problem(
            login(&gw, "alice@acme.example", "a wrong password here").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(p.code, ErrorCode::Unauthorized);
        // The session made before the suspension stops working too.
        let p = problem(
            gw.request(
                Method::GET,
                "/admin/v1/me",
                Some(&Secret::new(session.token)),
            )
            .send()
            .await
            .unwrap(),
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(p.code, ErrorCode::AccountSuspended);

        set_status(&gw, &alice, UserStatus::Pending).await;
        let p = problem(
            login(&gw, "alice@acme.example", OLD_PASSWORD).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(p.code, ErrorCode::Forbidden);
        assert!(p.detail.contains("approval"), "{}", p.detail);

        set_status(&gw, &alice, UserStatus::Active).await;
        login_ok(&gw, "alice@acme.example", OLD_PASSWORD).await;
    }
}

#[tokio::test]
async fn an_attackers_failures_throttle_the_attacker_and_never_lock_out_the_victim() {
    for gw in backends().await {
        gw.init(10).await;
        add_user(&gw, "bob@acme.example", Role::Member, OLD_PASSWORD).await;
        add_user(&gw, "carol@acme.example", Role::Member, OLD_PASSWORD).await;

        // Five wrong guesses at bob from one client address.
        let attacker = client_from([127, 0, 0, 2]);
        for _ in 0..MAX_FAILURES {
            let r = login_from(&gw, &attacker, "bob@acme.example", "guess guess").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        // That client now waits for bob, even with the right password.
        let r = login_from(&gw, &attacker, "bob@acme.example", OLD_PASSWORD).await;
        let retry_after: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&retry_after), "{retry_after}");
        let p = problem(r, StatusCode::TOO_MANY_REQUESTS).await;
        assert_eq!(p.code, ErrorCode::RateLimited);
        // Bob, from his own client, is not locked out: a typo and then the right password.
        let victim = client_from([127, 0, 0, 3]);
        let r = login_from(&gw, &victim, "bob@acme.example", "a typo of mine").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = login_from(&gw, &victim, "bob@acme.example", OLD_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::OK);
        // The attacker is still throttled at bob after bob signed in elsewhere.
        let r = login_from(&gw, &attacker, "bob@acme.example", OLD_PASSWORD).await;
        problem(r, StatusCode::TOO_MANY_REQUESTS).await;

        // Spraying one guess each at many addresses from one client blocks that client at every
        // address, and no one else.
        let sprayer = client_from([127, 0, 0, 8]);
        for n in 0..MAX_CLIENT_FAILURES {
            let r = login_from(
                &gw,
                &sprayer,
                &format!("guess{n}@acme.example"),
                "guess guess",
            )
            .await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "guess {n}");
        }
        let r = login_from(&gw, &sprayer, "carol@acme.example", OLD_PASSWORD).await;
        assert!(r.headers().contains_key("retry-after"));
        problem(r, StatusCode::TOO_MANY_REQUESTS).await;
        let r = login_from(
            &gw,
            &client_from([127, 0, 0, 9]),
            "carol@acme.example",
            OLD_PASSWORD,
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn personal_access_tokens_are_made_listed_without_secrets_and_deleted() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        add_user(&gw, "alice@acme.example", Role::Member, OLD_PASSWORD).await;
        let session = Secret::new(
            login_ok(&gw, "alice@acme.example", OLD_PASSWORD)
                .await
                .token,
        );

        let made: AccessTokenCreated = {
            let r = gw
                .send(
                    Method::POST,
                    "/admin/v1/me/tokens",
                    &session,
                    Some(&json!({ "name": "  laptop  " })),
                )
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json().await.unwrap()
        };
        assert!(made.secret.starts_with("gat_"));
        assert_eq!(made.token.name, "laptop");
        assert_eq!(made.token.expires_at, None);
        let pat = Secret::new(made.secret.clone());
        let me: Me = gw.get_ok("/admin/v1/me", &pat).await;
        assert_eq!(me.user.email, "alice@acme.example");

        let week: AccessTokenCreated = gw
            .json_ok(
                Method::POST,
                "/admin/v1/me/tokens",
                &pat,
                &json!({ "name": "ci", "expires_in_days": 7 }),
            )
            .await;
        let ttl = week.token.expires_at.unwrap() - Utc::now();
        assert!(ttl > Duration::days(7) - Duration::minutes(1) && ttl <= Duration::days(7));

        for (body, field) in [
            (json!({ "name": "   " }), "name"),
            (json!({ "name": "x".repeat(101) }), "name"),
            (
                json!({ "name": "x", "expires_in_days": 0 }),
                "expires_in_days",
            ),
            (
                json!({ "name": "x", "expires_in_days": 366 }),
                "expires_in_days",
            ),
            (json!({ "name": "x", "secret": "mine" }), "body"),
        ] {
            let p = problem(
                gw.send(Method::POST, "/admin/v1/me/tokens", &session, Some(&body))
                    .await,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
            assert_eq!(p.errors.unwrap()[0].field, field, "{body}");
        }

        // The list shows both tokens, oldest first, never a secret, never the session.
        let response = gw
            .request(Method::GET, "/admin/v1/me/tokens", Some(&session))
            .send()
            .await
            .unwrap();
        let text = response.text().await.unwrap();
        assert!(!text.contains(&made.secret) && !text.contains(&week.secret));
        assert!(!text.contains("secret"), "{text}");
        let list: Page<AccessToken> = serde_json::from_str(&text).unwrap();
        let ids: Vec<&str> = list.items.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, [made.token.id.as_str(), week.token.id.as_str()]);
        let first: Page<AccessToken> = gw.get_ok("/admin/v1/me/tokens?limit=1", &session).await;
        // Compared by id: `last_used_at` moves when a token is used.
        assert_eq!(first.items[0].id, made.token.id);
        let second: Page<AccessToken> = gw
            .get_ok(
                &format!(
                    "/admin/v1/me/tokens?limit=1&cursor={}",
                    first.next_cursor.unwrap()
                ),
                &session,
            )
            .await;
        assert_eq!(second.items[0].id, week.token.id);
        assert_eq!(second.next_cursor, None);

        // Someone else's token is not found, and stays.
        let admins: Page<AccessToken> = gw.get_ok("/admin/v1/me/tokens", &admin).await;
        assert_eq!(admins.items.len(), 1);
        let p = problem(
            gw.send(
                Method::DELETE,
                &format!("/admin/v1/me/tokens/{}", admins.items[0].id),
                &session,
                None::<&()>,
            )
            .await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(p.code, ErrorCode::NotFound);
        let _: Me = gw.get_ok("/admin/v1/me", &admin).await;

        // A deleted token stops working at once.
        let path = format!("/admin/v1/me/tokens/{}", made.token.id);
        let r = gw.send(Method::DELETE, &path, &session, None::<&()>).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        problem(
            gw.request(Method::GET, "/admin/v1/me", Some(&pat))
                .send()
                .await
                .unwrap(),
            StatusCode::UNAUTHORIZED,
        )
        .await;
        problem(
            gw.send(Method::DELETE, &path, &session, None::<&()>).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        let left: Page<AccessToken> = gw.get_ok("/admin/v1/me/tokens", &session).await;
        assert_eq!(left.items, std::slice::from_ref(&week.token));

        let (entries, text) = audit_text(&gw, &admin).await;
        let created = entries
            .iter()
            .find(|e| e.action == "token.create" && e.target_id == made.token.id)
            .expect("token.create is audited");
        assert_eq!(created.summary["after"]["name"], "laptop");
        assert!(
            entries
                .iter()
                .any(|e| e.action == "token.delete" && e.target_id == made.token.id)
        );
        for secret in [
            made.secret.as_str(),
            week.secret.as_str(),
            session.expose(),
            admin.expose(),
        ] {
            assert!(!text.contains(secret), "a secret is in the audit log");
        }
    }
}

#[tokio::test]
async fn a_mailed_reset_link_sets_the_password_once_and_signs_out_sessions() {
    let sink = SmtpSink::start();
    for gw in backends().await {
        let gw = with_mail(gw, &sink).await;
        let admin = gw.init(10).await;
        let alice = add_user(&gw, "alice@acme.example", Role::Member, OLD_PASSWORD).await;
        let (session, pat) = session_and_pat(&gw, "alice@acme.example", OLD_PASSWORD).await;

        let r = gw
            .send(
                Method::POST,
                &format!("/admin/v1/users/{alice}/password-reset"),
                &admin,
                None::<&()>,
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);

        let mail = sink.next_mail().await;
        assert_eq!(mail.rcpt_tos, ["alice@acme.example"]);
        assert_eq!(mail.mail_from, "gatehouse@test.example");
        assert!(mail.from.contains("Gatehouse Test"), "{}", mail.from);
        assert_eq!(mail.subject, "Reset your Acme password");
        assert_eq!(mail.content_type, "multipart/alternative");
        let text = mail.text.expect("a plain-text part");
        let html = mail.html.expect("an HTML part");
        let path = reset_path(&text);
        assert_eq!(reset_path(&html), path);
        assert!(text.starts_with("Hello Alice,"), "{text}");
        assert!(
            html.contains(&format!("href=\"{PUBLIC_URL}{path}\"")),
            "{html}"
        );
        let token = path.strip_prefix("/reset/").unwrap().to_owned();
        assert!(token.starts_with("rst_") && token.len() >= 40, "{token}");
        // Only the hash is stored.
        let stored: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM password_resets WHERE token_hash = $1")
                .bind(&token)
                .fetch_one(&gw.db().pool)
                .await
                .unwrap();
        assert_eq!(stored, 0);

        let page = gw.get(&path).send().await.unwrap();
        assert_html_page(&page, StatusCode::OK);
        let body = page.text().await.unwrap();
        assert!(body.contains("<form method=\"post\">"), "{body}");
        assert!(body.contains("name=\"password\""));
        assert!(body.contains("alice@acme.example"));
        assert!(!body.contains("<script"));

        let before = password_hash(&gw, &alice).await;
        // Mismatched and too short passwords are refused on the page and change nothing.
        let r = form(
            &gw,
            &path,
            &[
                ("password", NEW_PASSWORD),
                ("password_confirm", "something else entirely"),
            ],
        )
        .send()
        .await
        .unwrap();
        assert_html_page(&r, StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(body.contains("does not match"), "{body}");
        assert!(!body.contains(NEW_PASSWORD));
        let r = form(
            &gw,
            &path,
            &[("password", "short"), ("password_confirm", "short")],
        )
        .send()
        .await
        .unwrap();
        assert_html_page(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("at least 12 characters"));
        assert_eq!(password_hash(&gw, &alice).await, before);

        let r = form(
            &gw,
            &path,
            &[
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .send()
        .await
        .unwrap();
        assert_html_page(&r, StatusCode::OK);
        assert!(r.text().await.unwrap().contains("Your password is set"));
        assert!(
            password_hash(&gw, &alice)
                .await
                .unwrap()
                .starts_with("$argon2id$")
        );

        // Sessions are signed out, and so are personal access tokens: a form without the
        // page's question gets the page's default.
        assert_eq!(me_status(&gw, &session).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&gw, &pat).await, StatusCode::UNAUTHORIZED);
        problem(
            login(&gw, "alice@acme.example", OLD_PASSWORD).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        let again = login_ok(&gw, "alice@acme.example", NEW_PASSWORD).await;
        assert_eq!(again.user.id, alice);

        // The link is used up: page and form say so, JSON gets reset_used, nothing changes.
        let after = password_hash(&gw, &alice).await;
        let r = gw.get(&path).send().await.unwrap();
        assert_html_page(&r, StatusCode::GONE);
        assert!(r.text().await.unwrap().contains("already been used"));
        let r = form(
            &gw,
            &path,
            &[
                ("password", "yet another password"),
                ("password_confirm", "yet another password"),
            ],
        )
        .send()
        .await
        .unwrap();
        assert_html_page(&r, StatusCode::GONE);
        let p = problem(
            gw.http
                .post(gw.url(&path))
                .json(&json!({ "password": "yet another password" }))
                .send()
                .await
                .unwrap(),
            StatusCode::GONE,
        )
        .await;
        assert_eq!(p.code, ErrorCode::ResetUsed);
        assert_eq!(password_hash(&gw, &alice).await, after);

        let (entries, audit) = audit_text(&gw, &admin).await;
        let requested = entries
            .iter()
            .find(|e| e.action == "user.password_reset_request")
            .expect("the request is audited");
        assert_eq!(requested.target_id, alice);
        assert_eq!(requested.summary["mail"], "queued");
        assert!(entries.iter().any(|e| e.action == "user.password_reset"
            && e.summary["sessions_revoked"] == 1
            && e.summary["tokens_revoked"] == 1));
        for secret in [
            token.as_str(),
            NEW_PASSWORD,
            OLD_PASSWORD,
            session.expose(),
            again.token.as_str(),
            pat.expose(),
            admin.expose(),
        ] {
            assert!(!audit.contains(secret), "a secret is in the audit log");
        }
        let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM password_resets")
            .fetch_all(&gw.db().pool)
            .await
            .unwrap();
        for hash in hashes {
            assert!(!audit.contains(&hash), "a reset hash is in the audit log");
        }
    }
}

#[tokio::test]
async fn a_suspension_ends_sessions_for_good_and_keeps_personal_access_tokens() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let alice = add_user(&gw, "alice@acme.example", Role::Member, OLD_PASSWORD).await;
        let (session, pat) = session_and_pat(&gw, "alice@acme.example", OLD_PASSWORD).await;

        let step = async |step: &str, status: UserStatus| {
            let user: User = gw
                .json_ok(
                    Method::POST,
                    &format!("/admin/v1/users/{alice}/{step}"),
                    &admin,
                    &json!({}),
                )
                .await;
            assert_eq!(user.status, status);
        };
        step("suspend", UserStatus::Suspended).await;
        assert_ne!(me_status(&gw, &session).await, StatusCode::OK);
        assert_eq!(me_status(&gw, &pat).await, StatusCode::FORBIDDEN);
        step("reactivate", UserStatus::Active).await;

        // The session from before the suspension stays dead; the token alice made on purpose
        // works again, and she signs in anew.
        assert_eq!(me_status(&gw, &session).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&gw, &pat).await, StatusCode::OK);
        let again = Secret::new(
            login_ok(&gw, "alice@acme.example", OLD_PASSWORD)
                .await
                .token,
        );
        assert_eq!(me_status(&gw, &again).await, StatusCode::OK);

        let (entries, _) = audit_text(&gw, &admin).await;
        let suspended = entries
            .iter()
            .find(|e| e.action == "user.suspended" && e.target_id == alice)
            .expect("the suspension is audited");
        assert_eq!(suspended.summary["sessions_revoked"], 1);
    }
}

#[tokio::test]
async fn a_reset_ends_sessions_and_revokes_tokens_unless_the_box_is_unticked() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let alice = add_user(&gw, "alice@acme.example", Role::Member, OLD_PASSWORD).await;

        // The page asks, with the box ticked; posted as it comes, both go.
        let (session, pat) = session_and_pat(&gw, "alice@acme.example", OLD_PASSWORD).await;
        let path = reset_link(&gw, &alice).await;
        let page = gw.get(&path).send().await.unwrap().text().await.unwrap();
        assert!(
            page.contains("type=\"checkbox\" name=\"revoke_tokens\" value=\"yes\" checked")
                && page.contains("Also revoke personal access tokens")
                && page.contains("type=\"hidden\" name=\"tokens_asked\" value=\"yes\""),
            "{page}"
        );
        let r = post_reset_page(&gw, &path, NEW_PASSWORD, true).await;
        assert_html_page(&r, StatusCode::OK);
        let done = r.text().await.unwrap();
        assert!(
            done.contains("personal access tokens have been revoked"),
            "{done}"
        );
        assert_eq!(me_status(&gw, &session).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&gw, &pat).await, StatusCode::UNAUTHORIZED);
        assert_eq!(last_reset_revoked(&gw, &admin).await, (1, 1));

        // Unticked: sessions still end, the tokens stay.
        let (session, pat) = session_and_pat(&gw, "alice@acme.example", NEW_PASSWORD).await;
        let path = reset_link(&gw, &alice).await;
        let r = post_reset_page(&gw, &path, OLD_PASSWORD, false).await;
        assert_html_page(&r, StatusCode::OK);
        assert_eq!(me_status(&gw, &session).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&gw, &pat).await, StatusCode::OK);
        assert_eq!(last_reset_revoked(&gw, &admin).await, (1, 0));

        // JSON: revoked unless `revoke_tokens` is false.
        let (session, kept) = session_and_pat(&gw, "alice@acme.example", OLD_PASSWORD).await;
        let path = reset_link(&gw, &alice).await;
        let r = gw
            .http
            .post(gw.url(&path))
            .json(&json!({ "password": NEW_PASSWORD, "revoke_tokens": false }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(me_status(&gw, &session).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&gw, &kept).await, StatusCode::OK);
        let path = reset_link(&gw, &alice).await;
        let r = gw
            .http
            .post(gw.url(&path))
            .json(&json!({ "password": OLD_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // `pat` and `kept` both; the one session was ended by the reset before.
        assert_eq!(me_status(&gw, &pat).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&gw, &kept).await, StatusCode::UNAUTHORIZED);
        assert_eq!(last_reset_revoked(&gw, &admin).await, (0, 2));
    }
}

#[tokio::test]
async fn posts_to_bogus_reset_links_are_throttled_per_client() {
    for gw in backends().await {
        gw.init(10).await;
        let alice = add_user(&gw, "alice@acme.example", Role::Member, OLD_PASSWORD).await;
        let prober = client_from([127, 0, 0, 2]);
        for n in 0..MAX_LINK_FAILURES {
            let r = prober
                .post(gw.url(&format!("/reset/rst_bogus{n}")))
                .json(&json!({ "password": NEW_PASSWORD }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "post {n}");
        }
        let r = prober
            .post(gw.url("/reset/rst_bogus"))
            .json(&json!({ "password": NEW_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert!(r.headers().contains_key("retry-after"));
        assert_eq!(
            problem(r, StatusCode::TOO_MANY_REQUESTS).await.code,
            ErrorCode::RateLimited
        );
        // A browser gets a page that says so, with the same header.
        let r = prober
            .post(gw.url("/reset/rst_bogus"))
            .form(&[
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_html_page(&r, StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().contains_key("retry-after"));

        // Another client's real link works.
        let path = reset_link(&gw, &alice).await;
        let r = client_from([127, 0, 0, 3])
            .post(gw.url(&path))
            .json(&json!({ "password": NEW_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        login_ok(&gw, "alice@acme.example", NEW_PASSWORD).await;
    }
}

#[tokio::test]
async fn expired_replaced_and_unknown_reset_links_change_nothing() {
    let sink = SmtpSink::start();
    for gw in backends().await {
        let gw = with_mail(gw, &sink).await;
        let admin = gw.init(10).await;
        let alice = add_user(&gw, "alice@acme.example", Role::Member, OLD_PASSWORD).await;
        let member = Secret::new(
            login_ok(&gw, "alice@acme.example", OLD_PASSWORD)
                .await
                .token,
        );
        let reset = format!("/admin/v1/users/{alice}/password-reset");

        // Only roles with user lifecycle may ask, and only for users that exist.
        let p = problem(
            gw.send(Method::POST, &reset, &member, None::<&()>).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(p.code, ErrorCode::Forbidden);
        problem(
            gw.send(
                Method::POST,
                "/admin/v1/users/usr_nobody/password-reset",
                &admin,
                None::<&()>,
            )
            .await,
            StatusCode::NOT_FOUND,
        )
        .await;

        // A second request replaces the first link.
        let r = gw.send(Method::POST, &reset, &admin, None::<&()>).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let first = reset_path(&sink.next_mail().await.text.unwrap());
        let r = gw.send(Method::POST, &reset, &admin, None::<&()>).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let second = reset_path(&sink.next_mail().await.text.unwrap());
        assert_ne!(first, second);
        let r = gw.get(&first).send().await.unwrap();
        assert_html_page(&r, StatusCode::GONE);

        // JSON callers get problem+json for a bad password and for a bad body.
        let p = problem(
            gw.http
                .post(gw.url(&second))
                .json(&json!({ "password": "short" }))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p.code, ErrorCode::ValidationFailed);
        assert_eq!(p.errors.unwrap()[0].field, "password");
        let p = problem(
            gw.http
                .post(gw.url(&second))
                .json(&json!({ "password": "x".repeat(1025) }))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(p.detail.contains("at most 1024"), "{}", p.detail);
        for request in [
            gw.http
                .post(gw.url(&second))
                .json(&json!({ "password": NEW_PASSWORD, "extra": 1 })),
            gw.http
                .post(gw.url(&second))
                .header("content-type", "text/plain")
                .body(NEW_PASSWORD),
        ] {
            let p = problem(
                request.send().await.unwrap(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
            assert_eq!(p.code, ErrorCode::ValidationFailed);
        }

        // An expired link: 410 everywhere, and the password stays.
        sqlx::query("UPDATE password_resets SET expires_at = $1 WHERE used_at IS NULL")
            .bind(db::timestamp(Utc::now() - Duration::seconds(1)))
            .execute(&gw.db().pool)
            .await
            .unwrap();
        let before = password_hash(&gw, &alice).await;
        let r = gw.get(&second).send().await.unwrap();
        assert_html_page(&r, StatusCode::GONE);
        assert!(r.text().await.unwrap().contains("expired"));
        let r = form(
            &gw,
            &second,
            &[
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .send()
        .await
        .unwrap();
        assert_html_page(&r, StatusCode::GONE);
        let p = problem(
            gw.http
                .post(gw.url(&second))
                .json(&json!({ "password": NEW_PASSWORD }))
                .send()
                .await
                .unwrap(),
            StatusCode::GONE,
        )
        .await;
        assert_eq!(p.code, ErrorCode::ResetExpired);
        assert_eq!(password_hash(&gw, &alice).await, before);
        // The expired link is not marked used either.
        let unused: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM password_resets WHERE used_at IS NULL")
                .fetch_one(&gw.db().pool)
                .await
                .unwrap();
        assert_eq!(unused, 1);
        let _: Me = gw.get_ok("/admin/v1/me", &member).await;

        // Unknown links: 404, as a page and as problem+json.
        let r = gw.get("/reset/rst_not-a-real-token").send().await.unwrap();
        assert_html_page(&r, StatusCode::NOT_FOUND);
        let p = problem(
            gw.http
                .post(gw.url("/reset/rst_not-a-real-token"))
                .json(&json!({ "password": NEW_PASSWORD }))
                .send()
                .await
                .unwrap(),
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(p.code, ErrorCode::NotFound);

        // A fresh link over JSON answers with the user.
        let r = gw.send(Method::POST, &reset, &admin, None::<&()>).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let third = reset_path(&sink.next_mail().await.text.unwrap());
        let user: User = common::ok(
            gw.http
                .post(gw.url(&third))
                .json(&json!({ "password": NEW_PASSWORD }))
                .send()
                .await
                .unwrap(),
            "reset over JSON",
        )
        .await;
        assert_eq!(user.id, alice);
        login_ok(&gw, "alice@acme.example", NEW_PASSWORD).await;
    }
}

#[tokio::test]
async fn without_smtp_a_reset_is_made_but_no_mail_is_sent() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let alice = add_user(&gw, "alice@acme.example", Role::Member, OLD_PASSWORD).await;
        assert!(!gw.gateway.state.mailer.is_enabled());
        let r = gw
            .send(
                Method::POST,
                &format!("/admin/v1/users/{alice}/password-reset"),
                &admin,
                None::<&()>,
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let (entries, _) = audit_text(&gw, &admin).await;
        let requested = entries
            .iter()
            .find(|e| e.action == "user.password_reset_request")
            .unwrap();
        assert_eq!(requested.summary["mail"], "not_configured");
        // Links are built on the listen address when no public URL is given.
        assert_eq!(&*gw.gateway.state.public_url, gw.gateway.url());
    }
}

#[tokio::test]
async fn the_openapi_document_describes_sign_in_tokens_and_reset() {
    for gw in backends().await {
        let doc: Value = gw
            .get("/openapi.json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let paths = &doc["paths"];
        let login = &paths["/admin/v1/auth/login"]["post"];
        for status in ["200", "401", "403", "422", "429"] {
            assert!(login["responses"][status].is_object(), "login {status}");
        }
        assert!(login["responses"]["429"]["headers"]["Retry-After"].is_object());
        assert!(login.get("security").is_none());
        assert!(paths["/admin/v1/me/tokens"]["get"].is_object());
        assert!(paths["/admin/v1/me/tokens"]["post"]["responses"]["201"].is_object());
        assert!(paths["/admin/v1/me/tokens/{id}"]["delete"]["responses"]["204"].is_object());
        assert!(
            paths["/admin/v1/users/{id}/password-reset"]["post"]["responses"]["202"].is_object()
        );
        let submit = &paths["/reset/{token}"]["post"];
        let content = &submit["requestBody"]["content"];
        assert!(content["application/json"].is_object());
        assert!(content["application/x-www-form-urlencoded"].is_object());
        assert!(submit["responses"]["410"]["content"]["text/html"].is_object());
        assert!(submit["responses"]["410"]["content"]["application/problem+json"].is_object());
        assert!(
            paths["/reset/{token}"]["get"]["responses"]["200"]["content"]["text/html"].is_object()
        );
        let codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .unwrap();
        assert!(codes.contains(&json!("reset_expired")) && codes.contains(&json!("reset_used")));
    }
}
