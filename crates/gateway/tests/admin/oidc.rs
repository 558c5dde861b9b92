//! Invitations restricted to Google or Microsoft, accepted by signing in there: the whole flow
//! over real HTTP through a real OpenID Connect issuer on 127.0.0.1 (`support/oidc_issuer.rs`),
//! with a browser that follows no redirect by itself, so that every hop is seen.

use crate::{common, oidc_issuer};
use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{TestGateway, backends};
use gatehouse_api::{
    AcceptInvitation, AuditEntry, ErrorCode, Invitation, InvitationStatus, Page, Role, Secret,
    User, UserStatus, Workspace,
};
use gatehouse_gateway::GatewayOptions;
use gatehouse_gateway::oidc::{OidcConfig, ProviderConfig};
use oidc_issuer::{Behaviour, CLIENT_ID, CLIENT_SECRET, TestIssuer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TENANT: &str = "4f2b1c9e-8a7d-4e3f-9b6a-1c2d3e4f5a6b";
const OTHER_TENANT: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

fn provider(issuer: &str) -> ProviderConfig {
    ProviderConfig {
        issuer: issuer.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Secret::new(CLIENT_SECRET),
    }
}

/// Google and Microsoft, both at `issuer`.
fn both(issuer: &TestIssuer) -> OidcConfig {
    OidcConfig {
        google: Some(provider(&issuer.url)),
        microsoft: Some(provider(&issuer.microsoft_issuer())),
        ..Default::default()
    }
}

/// `gw` served again, on its database, with `config`.
async fn served_with(gw: TestGateway, config: OidcConfig) -> TestGateway {
    gw.with_options(GatewayOptions {
        oidc: config,
        ..Default::default()
    })
    .await
}

/// An HTTP client that, unlike a browser, stops at every redirect.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Org {
    admin: Secret,
    workspace: String,
}

async fn org(gw: &TestGateway) -> Org {
    let admin = gw.init(50).await;
    let ws: Workspace = gw
        .json_ok(
            Method::POST,
            "/admin/v1/workspaces",
            &admin,
            &json!({ "name": "Research" }),
        )
        .await;
    Org {
        admin,
        workspace: ws.id,
    }
}

/// Invites with `fields` (merged over a member of the org's workspace); returns the invitation
/// and the token of its link.
async fn invite(gw: &TestGateway, org: &Org, fields: Value) -> (Invitation, String) {
    let mut body = json!({ "role": "member", "workspace_ids": [org.workspace] });
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    let inv: Invitation = gw
        .json_ok(Method::POST, "/admin/v1/invitations", &org.admin, &body)
        .await;
    let token = inv
        .link
        .as_deref()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    (inv, token)
}

/// The last response of a sign-in: an HTML page.
struct Landing {
    status: StatusCode,
    body: String,
    /// The callback URL the provider sent the browser to, if it got that far.
    callback: Option<String>,
}

fn location(r: &reqwest::Response) -> String {
    r.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Reads a page of the flow, checking the headers every one of them carries.
async fn landing(r: reqwest::Response, callback: Option<String>) -> Landing {
    let status = r.status();
    let headers = r.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{status} {headers:?}"
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none';") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    Landing {
        status,
        body: r.text().await.unwrap(),
        callback,
    }
}

/// The browser to the provider and back; returns the provider's redirect back to the gateway
/// (not followed yet), or the page if the gateway did not send the browser away.
async fn to_provider_and_back(
    gw: &TestGateway,
    issuer: &TestIssuer,
    token: &str,
) -> Result<String, Landing> {
    let browser = browser();
    let start = browser
        .get(gw.url(&format!("/invite/{token}/signin")))
        .send()
        .await
        .unwrap();
    if start.status() != StatusCode::SEE_OTHER {
        return Err(landing(start, None).await);
    }
    assert_eq!(start.headers()["referrer-policy"], "no-referrer");
    assert_eq!(start.headers()["cache-control"], "no-store");
    let to = location(&start);
    assert!(to.starts_with(&issuer.url), "sent to {to}");
    let at_provider = browser.get(&to).send().await.unwrap();
    assert_eq!(at_provider.status(), StatusCode::FOUND);
    let back = location(&at_provider);
    assert!(
        back.starts_with(&gw.url("/oidc/callback?")),
        "sent back to {back}"
    );
    Ok(back)
}

/// The whole sign-in, hop by hop.
async fn sign_in(gw: &TestGateway, issuer: &TestIssuer, token: &str) -> Landing {
    let back = match to_provider_and_back(gw, issuer, token).await {
        Ok(back) => back,
        Err(page) => return page,
    };
    let done = browser().get(&back).send().await.unwrap();
    landing(done, Some(back)).await
}

async fn invitation(gw: &TestGateway, org: &Org, id: &str) -> Invitation {
    gw.get_ok(&format!("/admin/v1/invitations/{id}"), &org.admin)
        .await
}

async fn user(gw: &TestGateway, org: &Org, email: &str) -> Option<User> {
    let page: Page<User> = gw
        .get_ok(&format!("/admin/v1/users?query={email}"), &org.admin)
        .await;
    page.items.into_iter().find(|u| u.email == email)
}

/// Asserts that a refused sign-in changed nothing: the invitation is pending, no account.
async fn unchanged(gw: &TestGateway, org: &Org, inv: &Invitation) {
    assert_eq!(
        invitation(gw, org, &inv.id).await.status,
        InvitationStatus::Pending
    );
    assert!(user(gw, org, &inv.email).await.is_none());
}

/// Asserts a 403 page that says `why`.
fn refused(page: Landing, why: &str) {
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains(why), "{}", page.body);
}

async fn pending_sign_ins(gw: &TestGateway) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM oidc_signins")
        .fetch_one(&gw.db().pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_google_invitation_is_accepted_by_its_verified_email_once() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = served_with(gw, both(&issuer)).await;
        let org = org(&gw).await;
        let (inv, token) = invite(
            &gw,
            &org,
            json!({ "email": "Grace.Hopper@acme.example", "first_name": "Grace",
                    "last_name": "Hopper", "identity_provider": "google" }),
        )
        .await;
        issuer.sign_in_as(json!({ "email": "grace.hopper@ACME.example", "email_verified": true }));

        let done = sign_in(&gw, &issuer, &token).await;
        assert_eq!(done.status, StatusCode::OK, "on {}: {}", gw.name, done.body);
        assert!(done.body.contains("You joined Acme"), "{}", done.body);
        assert!(done.body.contains("ready"), "{}", done.body);

        // What the gateway asked the provider for.
        let asked = &issuer.authorizations()[0];
        assert_eq!(asked["redirect_uri"], gw.url("/oidc/callback"));
        assert_eq!(asked["response_type"], "code");
        assert_eq!(asked["code_challenge_method"], "S256");
        assert_eq!(asked["login_hint"], "grace.hopper@acme.example");
        assert!(asked["scope"].split(' ').any(|s| s == "email"));
        for random in ["state", "nonce", "code_challenge"] {
            assert!(asked[random].len() >= 43, "{random} is too short");
        }
        // Nothing secret on the page.
        for secret in
            issuer
                .handed_out()
                .iter()
                .chain([&asked["state"], &token, &CLIENT_SECRET.to_owned()])
        {
            assert!(!done.body.contains(secret.as_str()));
        }

        // Joined exactly as with a password: active, in the workspace, with the invited role;
        // no password, since they sign in elsewhere.
        let joined = user(&gw, &org, "grace.hopper@acme.example").await.unwrap();
        assert_eq!(joined.status, UserStatus::Active);
        assert_eq!(joined.role, Role::Member);
        assert_eq!(joined.workspace_ids, vec![org.workspace.clone()]);
        assert_eq!(
            (joined.first_name.as_str(), joined.last_name.as_str()),
            ("Grace", "Hopper")
        );
        let password: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(&joined.id)
                .fetch_one(&gw.db().pool)
                .await
                .unwrap();
        assert_eq!(password, None);
        // The console shows how they sign in.
        assert!(!joined.has_password);
        assert_eq!(joined.identity_issuer.as_deref(), Some(issuer.url.as_str()));
        let accepted = invitation(&gw, &org, &inv.id).await;
        assert_eq!(accepted.status, InvitationStatus::Accepted);
        let audit: Page<AuditEntry> = gw
            .get_ok(
                &format!(
                    "/admin/v1/audit?action=invitation.accepted&target_id={}",
                    inv.id
                ),
                &org.admin,
            )
            .await;
        assert_eq!(audit.items.len(), 1);
        assert_eq!(audit.items[0].actor_id.as_deref(), Some(joined.id.as_str()));
        assert_eq!(audit.items[0].summary["method"], "google");
        assert_eq!(pending_sign_ins(&gw).await, 0, "the state is spent");

        // The same callback again: the state is single-use.
        let replay = browser()
            .get(done.callback.as_deref().unwrap())
            .send()
            .await
            .unwrap();
        let replay = landing(replay, None).await;
        assert_eq!(replay.status, StatusCode::BAD_REQUEST);
        assert!(replay.body.contains("already used"), "{}", replay.body);
        let audit_after: Page<AuditEntry> = gw
            .get_ok("/admin/v1/audit?action=invitation.accepted", &org.admin)
            .await;
        assert_eq!(audit_after.items.len(), 1, "the replay changed nothing");

        // And the link itself is used now.
        let used = sign_in(&gw, &issuer, &token).await;
        assert_eq!(used.status, StatusCode::GONE);
        assert!(used.body.contains("invite_used"), "{}", used.body);
    }
}

#[tokio::test]
async fn where_the_org_requires_approval_the_signed_in_invitee_waits_for_it() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = served_with(gw, both(&issuer)).await;
        let org = org(&gw).await;
        let _: Value = gw
            .json_ok(
                Method::PATCH,
                "/admin/v1/org",
                &org.admin,
                &json!({ "require_approval": true }),
            )
            .await;
        let (inv, token) = invite(
            &gw,
            &org,
            json!({ "email": "kay@acme.example", "identity_provider": "google" }),
        )
        .await;
        issuer.sign_in_as(json!({ "email": "kay@acme.example", "email_verified": true,
                                  "given_name": "Kay", "family_name": "Jones" }));
        let done = sign_in(&gw, &issuer, &token).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        assert!(done.body.contains("must approve"), "{}", done.body);
        let joined = user(&gw, &org, &inv.email).await.unwrap();
        assert_eq!(joined.status, UserStatus::Pending);
        assert_eq!(
            (joined.first_name.as_str(), joined.last_name.as_str()),
            ("Kay", "Jones"),
            "names the invitation left empty come from the provider"
        );
    }
}

#[tokio::test]
async fn another_or_an_unverified_email_is_refused_and_changes_nothing() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = served_with(gw, both(&issuer)).await;
        let org = org(&gw).await;
        let (inv, token) = invite(
            &gw,
            &org,
            json!({ "email": "ada@acme.example", "identity_provider": "google" }),
        )
        .await;

        issuer
            .sign_in_as(json!({ "email": "<b>mallory</b>@evil.example", "email_verified": true }));
        let wrong = sign_in(&gw, &issuer, &token).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        assert!(
            wrong
                .body
                .contains("This invitation is for ada@acme.example"),
            "{}",
            wrong.body
        );
        assert!(
            wrong
                .body
                .contains("You signed in as &lt;b&gt;mallory&lt;/b&gt;@evil.example"),
            "escaped: {}",
            wrong.body
        );
        assert!(!wrong.body.contains("<b>mallory"));
        unchanged(&gw, &org, &inv).await;

        for verified in [json!(false), json!("false"), Value::Null] {
            let mut claims = json!({ "email": "ada@acme.example" });
            if !verified.is_null() {
                claims["email_verified"] = verified.clone();
            }
            issuer.sign_in_as(claims);
            let unverified = sign_in(&gw, &issuer, &token).await;
            assert_eq!(unverified.status, StatusCode::FORBIDDEN, "{verified}");
            assert!(
                unverified.body.contains("has not verified"),
                "{}",
                unverified.body
            );
            unchanged(&gw, &org, &inv).await;
        }

        issuer.sign_in_as(json!({ "sub": "no-email" }));
        let no_email = sign_in(&gw, &issuer, &token).await;
        assert_eq!(no_email.status, StatusCode::FORBIDDEN);
        assert!(
            no_email.body.contains("no verified e-mail"),
            "{}",
            no_email.body
        );
        unchanged(&gw, &org, &inv).await;

        // None of that used the invitation up.
        issuer.sign_in_as(json!({ "email": "ada@acme.example", "email_verified": true }));
        let right = sign_in(&gw, &issuer, &token).await;
        assert_eq!(right.status, StatusCode::OK, "{}", right.body);
        assert!(user(&gw, &org, "ada@acme.example").await.is_some());
    }
}

#[tokio::test]
async fn microsoft_invitations_check_the_tenant_and_trust_only_vouched_emails() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = served_with(gw, both(&issuer)).await;
        let org = org(&gw).await;

        // Restricted to a tenant: the tenant-specific issuer, and `tid` must be that tenant.
        let (inv, token) = invite(
            &gw,
            &org,
            json!({ "email": "lin@contoso.example", "identity_provider": "microsoft",
                    "tenant_id": TENANT.to_uppercase() }),
        )
        .await;
        // A tenant's issuer speaks for that tenant alone: a `tid` of another is a forgery.
        issuer.sign_in_as(json!({ "email": "lin@contoso.example", "tid": OTHER_TENANT }));
        refused(sign_in(&gw, &issuer, &token).await, "could not be verified");
        unchanged(&gw, &org, &inv).await;
        // An account of another tenant, through an issuer configured for one tenant only.
        let single = served_with(
            gw,
            OidcConfig {
                microsoft: Some(provider(&format!("{}/{OTHER_TENANT}/v2.0", issuer.url))),
                ..both(&issuer)
            },
        )
        .await;
        issuer.sign_in_as(json!({ "email": "lin@contoso.example", "tid": OTHER_TENANT }));
        refused(
            sign_in(&single, &issuer, &token).await,
            "Wrong Microsoft organisation",
        );
        let gw = served_with(single, both(&issuer)).await;
        unchanged(&gw, &org, &inv).await;
        issuer.sign_in_as(json!({ "email": "lin@contoso.example", "tid": TENANT }));
        let right = sign_in(&gw, &issuer, &token).await;
        assert_eq!(right.status, StatusCode::OK, "{}", right.body);
        assert_eq!(
            invitation(&gw, &org, &inv.id).await.status,
            InvitationStatus::Accepted
        );
        let audit: Page<AuditEntry> = gw
            .get_ok(
                &format!(
                    "/admin/v1/audit?action=invitation.accepted&target_id={}",
                    inv.id
                ),
                &org.admin,
            )
            .await;
        assert_eq!(audit.items[0].summary["method"], "microsoft");

        // No tenant: the multi-tenant (`common`) issuer, whose `iss` carries the account's
        // tenant. A bare `email` from an arbitrary tenant proves nothing, nor does the sign-in
        // name; an address the domain's owner verified (`xms_edov`) does.
        let (open_inv, open_token) = invite(
            &gw,
            &org,
            json!({ "email": "sam@fabrikam.example", "identity_provider": "microsoft" }),
        )
        .await;
        issuer.sign_in_as(json!({ "email": "sam@fabrikam.example", "tid": OTHER_TENANT }));
        let bare = sign_in(&gw, &issuer, &open_token).await;
        assert_eq!(bare.status, StatusCode::FORBIDDEN, "{}", bare.body);
        unchanged(&gw, &org, &open_inv).await;
        issuer.sign_in_as(
            json!({ "preferred_username": "Sam@Fabrikam.example", "tid": OTHER_TENANT }),
        );
        let by_name = sign_in(&gw, &issuer, &open_token).await;
        assert_eq!(by_name.status, StatusCode::FORBIDDEN, "{}", by_name.body);
        unchanged(&gw, &org, &open_inv).await;
        issuer.sign_in_as(
            json!({ "email": "Sam@Fabrikam.example", "xms_edov": true, "tid": OTHER_TENANT }),
        );
        let verified = sign_in(&gw, &issuer, &open_token).await;
        assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
        assert!(user(&gw, &org, "sam@fabrikam.example").await.is_some());

        // A tenant id that is not a GUID cannot be checked against `tid`: refused up front.
        let (_, domain_token) = invite(
            &gw,
            &org,
            json!({ "email": "dee@contoso.example", "identity_provider": "microsoft",
                    "tenant_id": "contoso.onmicrosoft.com" }),
        )
        .await;
        let unusable = sign_in(&gw, &issuer, &domain_token).await;
        assert_eq!(unusable.status, StatusCode::CONFLICT);
        assert!(
            unusable.body.contains("not a directory (tenant) ID"),
            "{}",
            unusable.body
        );
    }
}

/// The Microsoft account a user was created from, as recorded on the user.
async fn bound_identity(
    gw: &TestGateway,
    email: &str,
) -> (Option<String>, Option<String>, Option<String>) {
    sqlx::query_as("SELECT idp_issuer, idp_tenant, idp_subject FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&gw.db().pool)
        .await
        .unwrap()
}

/// The "nOAuth" class: `preferred_username` and a plain `email` are whatever the account's
/// tenant says, and anyone can make a tenant. Only the tenant (`tid`) and the account's object
/// id (`oid`) identify a Microsoft account, and an address counts only where someone who owns
/// it vouches for it.
#[tokio::test]
async fn microsoft_sign_in_binds_to_tenant_and_object_id_not_the_sign_in_name() {
    const ATTACKER_TENANT: &str = "e5a1d2c3-9b8f-4a7e-8d6c-5b4a3f2e1d0c";
    const VICTIM_OID: &str = "2b3c4d5e-6f70-4a81-9b2c-3d4e5f607182";
    const LIN_OID: &str = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a";
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = served_with(gw, both(&issuer)).await;
        let org = org(&gw).await;

        // Open to any tenant: an attacker's tenant names an account of its own as the victim.
        let (inv, token) = invite(
            &gw,
            &org,
            json!({ "email": "victim@fabrikam.example", "identity_provider": "microsoft" }),
        )
        .await;
        for claims in [
            json!({ "preferred_username": "victim@fabrikam.example", "tid": ATTACKER_TENANT }),
            json!({ "preferred_username": "victim@fabrikam.example",
                    "email": "victim@fabrikam.example", "tid": ATTACKER_TENANT }),
            json!({ "upn": "victim@fabrikam.example", "email": "victim@fabrikam.example",
                    "tid": ATTACKER_TENANT, "oid": VICTIM_OID }),
        ] {
            issuer.sign_in_as(claims.clone());
            let attacker = sign_in(&gw, &issuer, &token).await;
            assert_eq!(
                attacker.status,
                StatusCode::FORBIDDEN,
                "{claims}: {}",
                attacker.body
            );
            unchanged(&gw, &org, &inv).await;
        }
        // A verified address without an object id leaves nothing to bind the account to.
        issuer.set(
            json!({ "email": "victim@fabrikam.example", "xms_edov": true, "tid": TENANT }),
            Behaviour {
                overrides: json!({ "oid": null }).as_object().unwrap().clone(),
                ..Behaviour::default()
            },
        );
        let no_oid = sign_in(&gw, &issuer, &token).await;
        assert_eq!(no_oid.status, StatusCode::FORBIDDEN, "{}", no_oid.body);
        unchanged(&gw, &org, &inv).await;
        // The address verified by the owner of its domain, from the victim's own account.
        issuer.sign_in_as(
            json!({ "email": "victim@fabrikam.example", "xms_edov": true,
                                  "tid": TENANT, "oid": VICTIM_OID }),
        );
        let victim = sign_in(&gw, &issuer, &token).await;
        assert_eq!(victim.status, StatusCode::OK, "{}", victim.body);
        assert_eq!(
            bound_identity(&gw, "victim@fabrikam.example").await,
            (
                Some(format!("{}/{TENANT}/v2.0", issuer.url)),
                Some(TENANT.to_owned()),
                Some(VICTIM_OID.to_owned())
            ),
            "{}",
            gw.name
        );

        // Restricted to a tenant: its own members' sign-in name counts, a guest's does not.
        let (lin_inv, lin_token) = invite(
            &gw,
            &org,
            json!({ "email": "lin@contoso.example", "identity_provider": "microsoft",
                    "tenant_id": TENANT }),
        )
        .await;
        issuer.sign_in_as(
            json!({ "preferred_username": "lin@contoso.example", "tid": TENANT,
                                  "oid": LIN_OID,
                                  "idp": format!("{}/{ATTACKER_TENANT}/v2.0", issuer.url) }),
        );
        let guest = sign_in(&gw, &issuer, &lin_token).await;
        assert_eq!(guest.status, StatusCode::FORBIDDEN, "{}", guest.body);
        unchanged(&gw, &org, &lin_inv).await;
        // The victim's object id under another name: one Microsoft account, one user.
        issuer.sign_in_as(
            json!({ "preferred_username": "lin@contoso.example", "tid": TENANT,
                                  "oid": VICTIM_OID }),
        );
        let taken = sign_in(&gw, &issuer, &lin_token).await;
        assert_eq!(taken.status, StatusCode::FORBIDDEN, "{}", taken.body);
        unchanged(&gw, &org, &lin_inv).await;
        issuer.sign_in_as(
            json!({ "preferred_username": "lin@contoso.example", "tid": TENANT,
                                  "oid": LIN_OID }),
        );
        let member = sign_in(&gw, &issuer, &lin_token).await;
        assert_eq!(member.status, StatusCode::OK, "{}", member.body);
        assert_eq!(
            bound_identity(&gw, "lin@contoso.example")
                .await
                .2
                .as_deref(),
            Some(LIN_OID)
        );
    }
}

#[tokio::test]
async fn microsoft_sign_ins_go_to_the_tenant_or_the_common_issuer() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = served_with(gw, both(&issuer)).await;
        let org = org(&gw).await;
        let (_, tenant_token) = invite(
            &gw,
            &org,
            json!({ "email": "a@contoso.example", "identity_provider": "microsoft",
                    "tenant_id": TENANT }),
        )
        .await;
        let (_, common_token) = invite(
            &gw,
            &org,
            json!({ "email": "b@contoso.example", "identity_provider": "microsoft" }),
        )
        .await;
        let browser = browser();
        for (token, path) in [
            (&tenant_token, format!("/{TENANT}/v2.0/authorize?")),
            (&common_token, "/common/v2.0/authorize?".to_owned()),
        ] {
            let start = browser
                .get(gw.url(&format!("/invite/{token}/signin")))
                .send()
                .await
                .unwrap();
            assert_eq!(start.status(), StatusCode::SEE_OTHER);
            let to = location(&start);
            assert!(
                to.starts_with(&format!("{}{path}", issuer.url)),
                "{to} should start with {path}"
            );
        }
        assert_eq!(pending_sign_ins(&gw).await, 2);
    }
}

#[tokio::test]
async fn tokens_that_fail_verification_are_refused() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = served_with(gw, both(&issuer)).await;
        let org = org(&gw).await;
        let (inv, token) = invite(
            &gw,
            &org,
            json!({ "email": "bo@acme.example", "identity_provider": "google" }),
        )
        .await;
        let claims = json!({ "email": "bo@acme.example", "email_verified": true });
        let forged = |overrides: Value| Behaviour {
            overrides: overrides.as_object().unwrap().clone(),
            ..Behaviour::default()
        };
        let cases = [
            (
                "signed with a key not in the JWKS",
                Behaviour {
                    sign_with_other_key: true,
                    ..Behaviour::default()
                },
            ),
            ("another nonce", forged(json!({ "nonce": "not-the-one" }))),
            ("no nonce", forged(json!({ "nonce": null }))),
            (
                "another audience",
                forged(json!({ "aud": "another-client" })),
            ),
            (
                "several audiences without azp",
                forged(json!({ "aud": [CLIENT_ID, "another-client"] })),
            ),
            ("another party", forged(json!({ "azp": "another-client" }))),
            ("expired", forged(json!({ "exp": 1_000_000 }))),
            (
                "another issuer",
                forged(json!({ "iss": "https://accounts.google.com" })),
            ),
            ("no subject", forged(json!({ "sub": null }))),
        ];
        for (case, behaviour) in cases {
            issuer.set(claims.clone(), behaviour);
            let refused = sign_in(&gw, &issuer, &token).await;
            assert_eq!(
                refused.status,
                StatusCode::FORBIDDEN,
                "{case}: {}",
                refused.body
            );
            assert!(
                refused.body.contains("could not be verified"),
                "{case}: {}",
                refused.body
            );
            unchanged(&gw, &org, &inv).await;
        }

        // Cancelled at the provider.
        issuer.set(
            claims.clone(),
            Behaviour {
                deny: true,
                ..Behaviour::default()
            },
        );
        let cancelled = sign_in(&gw, &issuer, &token).await;
        assert_eq!(cancelled.status, StatusCode::FORBIDDEN);
        assert!(
            cancelled.body.contains("access_denied"),
            "{}",
            cancelled.body
        );
        unchanged(&gw, &org, &inv).await;

        // A code the provider never issued.
        let back = to_provider_and_back(&gw, &issuer, &token)
            .await
            .unwrap_or_else(|p| panic!("{}", p.body));
        let mut url = url::Url::parse(&back).unwrap();
        let state: String = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        url.query_pairs_mut()
            .clear()
            .append_pair("code", "made-up")
            .append_pair("state", &state);
        let made_up = landing(browser().get(url.as_str()).send().await.unwrap(), None).await;
        assert_eq!(made_up.status, StatusCode::FORBIDDEN, "{}", made_up.body);
        assert!(made_up.body.contains("invalid_grant"), "{}", made_up.body);
        unchanged(&gw, &org, &inv).await;

        issuer.sign_in_as(claims);
        let right = sign_in(&gw, &issuer, &token).await;
        assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    }
}

#[tokio::test]
async fn closed_invitations_and_stale_sign_ins_get_clear_pages() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = served_with(gw, both(&issuer)).await;
        let org = org(&gw).await;
        issuer.sign_in_as(json!({ "email": "x@acme.example", "email_verified": true }));

        let unknown = sign_in(&gw, &issuer, "no-such-token").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);

        let (expired, expired_token) = invite(
            &gw,
            &org,
            json!({ "email": "x@acme.example", "identity_provider": "google" }),
        )
        .await;
        sqlx::query("UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = $1")
            .bind(&expired.id)
            .execute(&gw.db().pool)
            .await
            .unwrap();
        let page = sign_in(&gw, &issuer, &expired_token).await;
        assert_eq!(page.status, StatusCode::GONE);
        assert!(page.body.contains("invite_expired"), "{}", page.body);
        assert!(page.body.contains("has expired"), "{}", page.body);
        assert_eq!(pending_sign_ins(&gw).await, 0);

        let (revoked, revoked_token) = invite(
            &gw,
            &org,
            json!({ "email": "y@acme.example", "identity_provider": "google" }),
        )
        .await;
        let _: Invitation = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/invitations/{}/revoke", revoked.id),
                &org.admin,
                &json!({}),
            )
            .await;
        let page = sign_in(&gw, &issuer, &revoked_token).await;
        assert_eq!(page.status, StatusCode::GONE);
        assert!(page.body.contains("invite_revoked"), "{}", page.body);

        // Revoked while the invitee was at the provider: the callback finds it revoked.
        let (late, late_token) = invite(
            &gw,
            &org,
            json!({ "email": "z@acme.example", "identity_provider": "google" }),
        )
        .await;
        issuer.sign_in_as(json!({ "email": "z@acme.example", "email_verified": true }));
        let back = to_provider_and_back(&gw, &issuer, &late_token)
            .await
            .unwrap_or_else(|p| panic!("{}", p.body));
        let _: Invitation = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/invitations/{}/revoke", late.id),
                &org.admin,
                &json!({}),
            )
            .await;
        let page = landing(browser().get(&back).send().await.unwrap(), None).await;
        assert_eq!(page.status, StatusCode::GONE);
        assert!(page.body.contains("invite_revoked"), "{}", page.body);
        assert!(user(&gw, &org, "z@acme.example").await.is_none());

        // Ten minutes at the provider are too many.
        let (slow, slow_token) = invite(
            &gw,
            &org,
            json!({ "email": "w@acme.example", "identity_provider": "google" }),
        )
        .await;
        issuer.sign_in_as(json!({ "email": "w@acme.example", "email_verified": true }));
        let back = to_provider_and_back(&gw, &issuer, &slow_token)
            .await
            .unwrap_or_else(|p| panic!("{}", p.body));
        sqlx::query("UPDATE oidc_signins SET expires_at = '2000-01-01T00:00:00.000Z'")
            .execute(&gw.db().pool)
            .await
            .unwrap();
        let page = landing(browser().get(&back).send().await.unwrap(), None).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(
            page.body.contains("longer than 10 minutes"),
            "{}",
            page.body
        );
        unchanged(&gw, &org, &slow).await;

        // Callbacks the gateway never started.
        for query in [
            "",
            "?code=abc",
            "?code=abc&state=unknown",
            "?state=a&state=b",
        ] {
            let page = landing(
                browser()
                    .get(gw.url(&format!("/oidc/callback{query}")))
                    .send()
                    .await
                    .unwrap(),
                None,
            )
            .await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        }
    }
}

#[tokio::test]
async fn a_provider_without_a_client_id_is_a_clear_409_that_changes_nothing() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = served_with(
            gw,
            OidcConfig {
                google: Some(provider(&issuer.url)),
                ..Default::default()
            },
        )
        .await;
        let org = org(&gw).await;
        let (inv, token) = invite(
            &gw,
            &org,
            json!({ "email": "mo@acme.example", "identity_provider": "microsoft" }),
        )
        .await;
        let page = sign_in(&gw, &issuer, &token).await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(
            page.body
                .contains("has no sign-in configured for Microsoft"),
            "{}",
            page.body
        );
        assert!(page.body.contains("conflict"), "{}", page.body);
        assert_eq!(pending_sign_ins(&gw).await, 0);
        assert!(issuer.authorizations().is_empty());
        unchanged(&gw, &org, &inv).await;

        // Invitations open to any sign-in take a password instead.
        let (_, any_token) = invite(&gw, &org, json!({ "email": "al@acme.example" })).await;
        let page = sign_in(&gw, &issuer, &any_token).await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(page.body.contains("password"), "{}", page.body);
    }
}

#[tokio::test]
async fn a_restricted_invitation_still_refuses_a_password() {
    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = served_with(gw, both(&issuer)).await;
        let org = org(&gw).await;
        let (inv, token) = invite(
            &gw,
            &org,
            json!({ "email": "pat@acme.example", "identity_provider": "google" }),
        )
        .await;
        let refused = gatehouse_gateway::invitations::accept(
            &gw.gateway.state,
            &token,
            &AcceptInvitation {
                password: Some("a long enough password".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        let problem = refused.problem();
        assert_eq!(problem.code, ErrorCode::Forbidden);
        assert!(problem.detail.contains("google"), "{}", problem.detail);
        unchanged(&gw, &org, &inv).await;
    }
}

/// Everything the process logs, at every level, from the moment it is installed.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_of_the_flow_reaches_a_log_line() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    for gw in backends().await {
        let issuer = TestIssuer::start().await;
        let gw = served_with(gw, both(&issuer)).await;
        let org = org(&gw).await;
        let (_, token) = invite(
            &gw,
            &org,
            json!({ "email": "lee@acme.example", "identity_provider": "google" }),
        )
        .await;
        // A refusal and a success, so that both paths log.
        issuer.sign_in_as(json!({ "email": "lee@acme.example", "email_verified": false }));
        let refused = sign_in(&gw, &issuer, &token).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        issuer.sign_in_as(json!({ "email": "lee@acme.example", "email_verified": true }));
        let back = to_provider_and_back(&gw, &issuer, &token)
            .await
            .unwrap_or_else(|p| panic!("{}", p.body));
        let verifier: String = sqlx::query_scalar("SELECT pkce_verifier FROM oidc_signins")
            .fetch_one(&gw.db().pool)
            .await
            .unwrap();
        let done = landing(browser().get(&back).send().await.unwrap(), Some(back)).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);

        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(
            log.contains("invitee sent to sign in") && log.contains("/invite/…/signin"),
            "the capture works"
        );
        let mut secrets = issuer.handed_out();
        secrets.extend([token.clone(), verifier, CLIENT_SECRET.to_owned()]);
        for a in issuer.authorizations() {
            secrets.extend([a["state"].clone(), a["nonce"].clone()]);
        }
        for secret in &secrets {
            assert!(
                !log.contains(secret.as_str()),
                "a secret of the flow is in the log"
            );
        }
    }
}

#[tokio::test]
async fn the_sign_in_pages_are_in_the_openapi_document() {
    for gw in backends().await {
        let doc: Value = gw
            .get("/openapi.json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let signin = &doc["paths"]["/invite/{token}/signin"]["get"];
        assert!(signin["responses"]["303"].is_object(), "{signin}");
        assert!(signin["responses"]["410"]["content"]["text/html"].is_object());
        let callback = &doc["paths"]["/oidc/callback"]["get"];
        let params: Vec<&str> = callback["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(params, ["code", "state", "error"]);
    }
}
