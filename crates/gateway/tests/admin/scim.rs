//! SCIM 2.0 provisioning at `/scim/v2` over real HTTP, on SQLite and PostgreSQL: the external
//! conformance suite (scim2-cli, from the test venv), the payloads Entra ID and Okta send, and
//! what provisioning does to accounts (suspension stops keys and sessions at once, deletion
//! frees the seat, a full seat limit refuses), SCIM tokens and their audit.

use crate::common;
use common::{TestGateway, backends, model, problem, user_with_role};
use gatehouse_api::{AuditEntry, Page, Role, ScimToken, ScimTokenCreated, Secret, User};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SCIM_JSON: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// A SCIM token named `name`, made by the admin `admin`; returns its secret.
async fn scim_token(gw: &TestGateway, admin: &Secret, name: &str) -> Secret {
    let made: ScimTokenCreated = gw
        .json_ok(
            Method::POST,
            "/admin/v1/scim/tokens",
            admin,
            &json!({ "name": name }),
        )
        .await;
    assert!(made.secret.starts_with("gsc_"));
    assert_eq!(made.token.name, name);
    Secret::new(made.secret)
}

/// A SCIM request with `token`; returns the status and the JSON body (Null when empty), after
/// checking that a body is SCIM JSON and an error has SCIM's error shape.
async fn scim(
    gw: &TestGateway,
    method: Method,
    path: &str,
    token: &Secret,
    body: Option<Value>,
) -> (StatusCode, Value) {
    scim_if_match(gw, method, path, token, body, None).await
}

/// [`scim`] on the version `if_match` of the resource.
async fn scim_if_match(
    gw: &TestGateway,
    method: Method,
    path: &str,
    token: &Secret,
    body: Option<Value>,
    if_match: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = gw
        .http
        .request(method, gw.url(&format!("/scim/v2{path}")))
        .bearer_auth(token.expose());
    if let Some(version) = if_match {
        request = request.header("if-match", version);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", SCIM_JSON)
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    if text.is_empty() {
        return (status, Value::Null);
    }
    assert_eq!(content_type.as_deref(), Some(SCIM_JSON), "{path}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    if !status.is_success() {
        assert_eq!(body["schemas"], json!([ERROR_SCHEMA]), "{path}: {text}");
        assert_eq!(body["status"], json!(status.as_u16().to_string()), "{path}");
    }
    (status, body)
}

fn patch_op(operations: Value) -> Value {
    json!({ "schemas": [PATCH_SCHEMA], "Operations": operations })
}

async fn admin_user(gw: &TestGateway, admin: &Secret, id: &str) -> User {
    gw.get_ok(&format!("/admin/v1/users/{id}"), admin).await
}

/// The venv's `scim2` next to `GATEHOUSE_TEST_PYTHON` (`scripts/install-deps.sh test`).
fn scim2_cli() -> std::path::PathBuf {
    let python = std::env::var_os("GATEHOUSE_TEST_PYTHON").expect(
        "GATEHOUSE_TEST_PYTHON is not set: the SCIM conformance test runs scim2-cli from the test \
         venv. Run it through `make test`, or set GATEHOUSE_TEST_PYTHON=$HOME/.cache/gatehouse/venv/bin/python",
    );
    std::path::Path::new(&python).with_file_name("scim2")
}

#[tokio::test]
async fn scim2_cli_finds_the_server_conformant_on_both_databases() {
    for gw in backends().await {
        // The suite provisions users by the dozen, each holding a seat while it lives.
        let admin = gw.init(1000).await;
        let token = scim_token(&gw, &admin, "scim2-cli").await;
        let url = gw.url("/scim/v2");
        let header = format!("Authorization: Bearer {}", token.expose());
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(scim2_cli())
                .arg("--url")
                .arg(url)
                .arg("test")
                // The token goes through the environment, not the command line `ps` shows.
                .env("SCIM_CLI_HEADERS", header)
                .output()
        })
        .await
        .unwrap()
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let results: Vec<&str> = stdout
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with("Performing"))
            .collect();
        let passed = results.iter().filter(|l| l.starts_with("SUCCESS ")).count();
        let failed: Vec<&&str> = results
            .iter()
            .filter(|l| !l.starts_with("SUCCESS "))
            .collect();
        // The run's own words, for the record (`--nocapture` shows them).
        eprintln!(
            "scim2-cli test on {}: {passed} SUCCESS, {} other\n{stdout}",
            gw.name,
            failed.len()
        );
        assert!(
            out.status.success() && failed.is_empty(),
            "{}: scim2-cli test failed:\n{stdout}\n{}",
            gw.name,
            String::from_utf8_lossy(&out.stderr)
        );
        // Discovery, users and groups each have their checks: a run that checked little
        // (a server it could not reach would stop at discovery) is not a pass.
        assert!(
            passed >= 60,
            "{}: only {passed} checks ran:\n{stdout}",
            gw.name
        );
        assert!(
            !stdout.contains(token.expose()),
            "the token reached the output"
        );
    }
}

#[tokio::test]
async fn scim_tokens_are_shown_once_audited_revocable_and_only_for_scim() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let made: ScimTokenCreated = gw
            .json_ok(
                Method::POST,
                "/admin/v1/scim/tokens",
                &admin,
                &json!({ "name": "Entra ID production" }),
            )
            .await;
        let secret = Secret::new(made.secret.clone());
        let listed: Vec<ScimToken> = gw.get_ok("/admin/v1/scim/tokens", &admin).await;
        assert_eq!(listed, vec![made.token.clone()], "{}", gw.name);
        let text = gw
            .request(Method::GET, "/admin/v1/scim/tokens", Some(&admin))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains(&made.secret), "the list shows no secret");

        // Auditors see the tokens; only admins make or revoke them.
        let (_, auditor) = user_with_role(&gw, "aud@acme.example", Role::Auditor).await;
        let _: Vec<ScimToken> = gw.get_ok("/admin/v1/scim/tokens", &auditor).await;
        let refused = gw
            .send(
                Method::POST,
                "/admin/v1/scim/tokens",
                &auditor,
                Some(&json!({ "name": "x" })),
            )
            .await;
        problem(refused, StatusCode::FORBIDDEN).await;
        let bad = gw
            .send(
                Method::POST,
                "/admin/v1/scim/tokens",
                &admin,
                Some(&json!({ "name": " " })),
            )
            .await;
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;

        // A SCIM token is no admin token, and an admin token no SCIM token.
        let (status, _) = scim(&gw, Method::GET, "/Users", &secret, None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = scim(&gw, Method::GET, "/Users", &admin, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let as_admin = gw
            .request(Method::GET, "/admin/v1/me", Some(&secret))
            .send()
            .await
            .unwrap();
        problem(as_admin, StatusCode::UNAUTHORIZED).await;
        let (status, _) = scim(
            &gw,
            Method::GET,
            "/Users",
            &Secret::new("gsc_nothing".to_owned()),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let path = format!("/admin/v1/scim/tokens/{}", made.token.id);
        let gone = gw.send(Method::DELETE, &path, &admin, None::<&Value>).await;
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        let (status, _) = scim(&gw, Method::GET, "/Users", &secret, None).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a revoked token stops at once"
        );
        let again = gw.send(Method::DELETE, &path, &admin, None::<&Value>).await;
        problem(again, StatusCode::NOT_FOUND).await;

        let audit: Page<AuditEntry> = gw
            .get_ok(
                &format!("/admin/v1/audit?target_id={}", made.token.id),
                &admin,
            )
            .await;
        let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["scim_token.revoked", "scim_token.created"],
            "{}",
            gw.name
        );
        assert!(
            !serde_json::to_string(&audit)
                .unwrap()
                .contains(&made.secret)
        );
    }
}

/// What Entra ID's provisioning service sends: the UPN as userName, a work address, `Replace`
/// with capitalised op names and string booleans, a work-address path filter, and group
/// members added and removed in the value.
#[tokio::test]
async fn entra_id_provisions_suspends_and_deletes() {
    for gw in backends().await {
        let admin = gw.init(3).await;
        let token = scim_token(&gw, &admin, "Entra ID").await;
        let (status, made) = scim(
            &gw,
            Method::POST,
            "/Users",
            &token,
            Some(json!({
                "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "0a8f-Entra-Object",
                "userName": "Ann.Lee@contoso.onmicrosoft.com",
                "active": true,
                "displayName": "Ann Lee",
                "emails": [{ "primary": true, "type": "work", "value": "Ann.Lee@Contoso.example" }],
                "name": { "formatted": "Ann Lee", "familyName": "Lee", "givenName": "Ann" },
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Eng" },
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{}: {made}", gw.name);
        let id = made["id"].as_str().unwrap().to_owned();
        assert_eq!(made["userName"], "Ann.Lee@contoso.onmicrosoft.com");
        assert_eq!(
            made["emails"],
            json!([{ "value": "ann.lee@contoso.example" }])
        );
        assert_eq!(
            made["meta"]["location"],
            json!(gw.url(&format!("/scim/v2/Users/{id}")))
        );
        let user = admin_user(&gw, &admin, &id).await;
        assert!(user.scim_managed);
        assert_eq!(
            (user.first_name.as_str(), user.last_name.as_str()),
            ("Ann", "Lee")
        );
        assert_eq!(user.role, Role::Member);
        assert!(!user.has_password && user.identity_issuer.is_none());

        // Entra looks users up by userName, in whatever case, before it creates them.
        let (_, found) = scim(
            &gw,
            Method::GET,
            "/Users?filter=userName%20eq%20%22ann.lee%40CONTOSO.onmicrosoft.com%22",
            &token,
            None,
        )
        .await;
        assert_eq!(found["totalResults"], 1, "{}", gw.name);
        assert_eq!(found["Resources"][0]["id"], json!(id));
        let (status, _) = scim(&gw, Method::POST, "/Users", &token, Some(made.clone())).await;
        assert_eq!(status, StatusCode::CONFLICT, "the same person twice");

        // The person can use the gateway: a key of theirs works...
        model(&gw, "m1").await;
        let grant = gw
            .send(
                Method::PUT,
                &format!("/admin/v1/users/{id}/grants/m1"),
                &admin,
                Some(&json!({})),
            )
            .await;
        assert!(grant.status().is_success());
        let key: gatehouse_api::ApiKeyCreated = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/users/{id}/keys"),
                &admin,
                &json!({ "name": "k" }),
            )
            .await;
        let chat = || async {
            gw.http
                .post(gw.url("/v1/chat/completions"))
                .bearer_auth(&key.secret)
                .json(&json!({ "model": "m1", "messages": [{ "role": "user", "content": "hi" }] }))
                .send()
                .await
                .unwrap()
                .status()
        };
        assert_eq!(chat().await, StatusCode::OK, "{}", gw.name);

        // ...until Entra disables the account, in its own words.
        let (status, patched) = scim(
            &gw,
            Method::PATCH,
            &format!("/Users/{id}"),
            &token,
            Some(patch_op(json!([
                { "op": "Replace", "path": "active", "value": "False" },
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ann@contoso.example" },
                { "op": "Add", "path": "title", "value": "Engineer" },
            ]))),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}: {patched}", gw.name);
        assert_eq!(patched["active"], json!(false));
        assert_eq!(
            patched["emails"],
            json!([{ "value": "ann@contoso.example" }])
        );
        let user = admin_user(&gw, &admin, &id).await;
        assert_eq!(user.status, gatehouse_api::UserStatus::Suspended);
        assert_eq!(user.email, "ann@contoso.example");
        assert_eq!(
            chat().await,
            StatusCode::FORBIDDEN,
            "suspension stops the key at once"
        );

        // The change is audited under the token's name.
        let audit: Page<AuditEntry> = gw
            .get_ok(
                &format!("/admin/v1/audit?target_id={id}&action=user.suspended"),
                &admin,
            )
            .await;
        let entry = &audit.items[0];
        assert_eq!(entry.summary["via"], "scim");
        assert_eq!(entry.summary["scim_token"], "Entra ID");
        assert!(entry.actor_id.as_deref().unwrap().starts_with("stk_"));

        // A group with the user; Entra adds and removes members in the value.
        let (_, bo) = scim(
            &gw,
            Method::POST,
            "/Users",
            &token,
            Some(json!({ "schemas": [USER_SCHEMA], "userName": "bo@contoso.example", "active": true })),
        )
        .await;
        let bo = bo["id"].as_str().unwrap().to_owned();
        let (status, group) = scim(
            &gw,
            Method::POST,
            "/Groups",
            &token,
            Some(json!({ "schemas": [GROUP_SCHEMA], "displayName": "Engineering", "externalId": "g-1",
                         "members": [{ "value": id }] })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{}: {group}", gw.name);
        let gid = group["id"].as_str().unwrap().to_owned();
        let (status, group) = scim(
            &gw,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            &token,
            Some(patch_op(json!([
                { "op": "Add", "path": "members", "value": [{ "value": bo }] },
                { "op": "Remove", "path": "members", "value": [{ "value": id }] },
            ]))),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}: {group}", gw.name);
        assert_eq!(group["members"].as_array().unwrap().len(), 1);
        assert_eq!(group["members"][0]["value"], json!(bo));
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = $1")
                .bind(&gid)
                .fetch_all(&gw.db().pool)
                .await
                .unwrap();
        assert_eq!(ids, vec![bo.clone()], "{}", gw.name);

        // The seat limit is 3: the admin, Ann and Bo hold them all.
        let (status, full) = scim(
            &gw,
            Method::POST,
            "/Users",
            &token,
            Some(json!({ "schemas": [USER_SCHEMA], "userName": "cy@contoso.example" })),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{}: {full}", gw.name);
        assert!(full["detail"].as_str().unwrap().contains("seats"));

        // Deleting frees the seat and takes the account with its keys and memberships.
        let (status, _) = scim(&gw, Method::DELETE, &format!("/Users/{id}"), &token, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let gone = gw
            .send(
                Method::GET,
                &format!("/admin/v1/users/{id}"),
                &admin,
                None::<&Value>,
            )
            .await;
        problem(gone, StatusCode::NOT_FOUND).await;
        let (status, _) = scim(&gw, Method::GET, &format!("/Users/{id}"), &token, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // A deleted account's key is answered `account_deleted`.
        let refused: Value = gw
            .http
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(&key.secret)
            .json(&json!({ "model": "m1", "messages": [{ "role": "user", "content": "hi" }] }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(refused["error"]["code"], "account_deleted", "{}", gw.name);
        let (status, _) = scim(
            &gw,
            Method::POST,
            "/Users",
            &token,
            Some(json!({ "schemas": [USER_SCHEMA], "userName": "cy@contoso.example" })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "the freed seat is taken");
    }
}

/// What Okta sends: the whole user on PUT (deactivation included), `members[value eq …]`
/// removals, a `replace` without a path renaming a group, filters on displayName and
/// externalId, paging and If-Match.
#[tokio::test]
async fn okta_provisions_with_put_paths_and_paging() {
    for gw in backends().await {
        let admin = gw.init(20).await;
        let token = scim_token(&gw, &admin, "Okta").await;
        let mut ids = Vec::new();
        for n in 0..3 {
            let (status, user) = scim(
                &gw,
                Method::POST,
                "/Users",
                &token,
                Some(json!({
                    "schemas": [USER_SCHEMA],
                    "userName": format!("p{n}@okta.example"),
                    "name": { "givenName": format!("P{n}"), "familyName": "Okta" },
                    "emails": [{ "primary": true, "value": format!("p{n}@okta.example"), "type": "work" }],
                    "displayName": format!("P{n} Okta"),
                    "locale": "en-US",
                    "externalId": format!("00u{n}"),
                    "groups": [],
                    "password": "never stored",
                    "active": true,
                })),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{}: {user}", gw.name);
            assert!(user.get("password").is_none());
            ids.push(user["id"].as_str().unwrap().to_owned());
        }
        let (_, by_external) = scim(
            &gw,
            Method::GET,
            "/Users?filter=externalId%20eq%20%2200u1%22",
            &token,
            None,
        )
        .await;
        assert_eq!(
            by_external["Resources"][0]["id"],
            json!(ids[1]),
            "{}",
            gw.name
        );

        // Pages: the admin and three people, two at a time from the second.
        let (_, page) = scim(
            &gw,
            Method::GET,
            "/Users?startIndex=2&count=2&sortBy=userName",
            &token,
            None,
        )
        .await;
        assert_eq!(page["totalResults"], 4);
        assert_eq!(page["startIndex"], 2);
        assert_eq!(page["itemsPerPage"], 2);
        let names: Vec<&str> = page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["p1@okta.example", "p2@okta.example"], "{}", gw.name);

        // Okta deactivates with a PUT of the whole user, on the version it read.
        let (_, current) = scim(
            &gw,
            Method::GET,
            &format!("/Users/{}", ids[0]),
            &token,
            None,
        )
        .await;
        let version = current["meta"]["version"].as_str().unwrap().to_owned();
        let mut put = current.clone();
        put["active"] = json!(false);
        put["name"]["familyName"] = json!("Okta-Renamed");
        let path = format!("/Users/{}", ids[0]);
        let (status, _) = scim_if_match(
            &gw,
            Method::PUT,
            &path,
            &token,
            Some(put.clone()),
            Some(&version),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}", gw.name);
        let user = admin_user(&gw, &admin, &ids[0]).await;
        assert_eq!(user.status, gatehouse_api::UserStatus::Suspended);
        assert_eq!(user.last_name, "Okta-Renamed");
        // The same version again is stale now: nothing changes.
        put["active"] = json!(true);
        let (stale, _) =
            scim_if_match(&gw, Method::PUT, &path, &token, Some(put), Some(&version)).await;
        assert_eq!(stale, StatusCode::PRECONDITION_FAILED);
        assert_eq!(
            admin_user(&gw, &admin, &ids[0]).await.status,
            gatehouse_api::UserStatus::Suspended
        );

        // Groups: made with members, renamed without a path, one member taken out by filter.
        let members: Vec<Value> = ids
            .iter()
            .map(|i| json!({ "value": i, "display": "Okta person" }))
            .collect();
        let (_, group) = scim(
            &gw,
            Method::POST,
            "/Groups",
            &token,
            Some(json!({ "schemas": [GROUP_SCHEMA], "displayName": "Okta Everyone", "members": members })),
        )
        .await;
        let gid = group["id"].as_str().unwrap().to_owned();
        assert_eq!(group["members"].as_array().unwrap().len(), 3, "{}", gw.name);
        let (status, group) = scim(
            &gw,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            &token,
            Some(patch_op(json!([
                { "op": "replace", "value": { "id": gid, "displayName": "Okta All" } },
                { "op": "remove", "path": format!("members[value eq \"{}\"]", ids[2]) },
            ]))),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}: {group}", gw.name);
        assert_eq!(group["displayName"], "Okta All");
        let left: Vec<&str> = group["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert_eq!(left, [ids[0].as_str(), ids[1].as_str()]);
        let (_, by_name) = scim(
            &gw,
            Method::GET,
            "/Groups?filter=displayName%20eq%20%22okta%20all%22",
            &token,
            None,
        )
        .await;
        assert_eq!(by_name["totalResults"], 1, "{}", gw.name);
        let admin_group: gatehouse_api::Group =
            gw.get_ok(&format!("/admin/v1/groups/{gid}"), &admin).await;
        assert!(admin_group.scim_managed);
        assert_eq!(admin_group.member_count, 2);
    }
}

/// Bad input gets SCIM's error with its scimType and changes nothing.
#[tokio::test]
async fn bad_scim_requests_are_refused_and_change_nothing() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let token = scim_token(&gw, &admin, "Keycloak").await;
        let (_, user) = scim(
            &gw,
            Method::POST,
            "/Users",
            &token,
            Some(json!({ "schemas": [USER_SCHEMA], "userName": "kim@k.example" })),
        )
        .await;
        let id = user["id"].as_str().unwrap().to_owned();
        let cases: Vec<(Method, String, Value, StatusCode, Option<&str>)> = vec![
            (
                Method::POST,
                "/Users".into(),
                json!({ "userName": "no address" }),
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
            ),
            (
                Method::POST,
                "/Users".into(),
                json!({ "userName": "kim@k.example" }),
                StatusCode::CONFLICT,
                Some("uniqueness"),
            ),
            (
                Method::POST,
                "/Users".into(),
                json!([1, 2]),
                StatusCode::BAD_REQUEST,
                Some("invalidSyntax"),
            ),
            (
                Method::PATCH,
                format!("/Users/{id}"),
                patch_op(json!([{ "op": "remove" }])),
                StatusCode::BAD_REQUEST,
                Some("noTarget"),
            ),
            (
                Method::PATCH,
                format!("/Users/{id}"),
                patch_op(json!([{ "op": "replace", "path": "active", "value": "perhaps" }])),
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
            ),
            (
                Method::PATCH,
                format!("/Users/{id}"),
                patch_op(json!([{ "op": "replace", "path": "emails[type eq", "value": "x" }])),
                StatusCode::BAD_REQUEST,
                Some("invalidPath"),
            ),
            (
                Method::PATCH,
                format!("/Users/{id}"),
                patch_op(
                    json!([{ "op": "replace", "path": "userName", "value": "root@acme.example" }]),
                ),
                StatusCode::CONFLICT,
                Some("uniqueness"),
            ),
            (
                Method::POST,
                "/Groups".into(),
                json!({ "displayName": "G", "members": [{ "value": "usr_nobody" }] }),
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
            ),
            (
                Method::POST,
                "/Groups".into(),
                json!({ "displayName": "G", "members": [{ "value": id, "type": "Group" }] }),
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
            ),
            (
                Method::PUT,
                "/Users/usr_nobody".into(),
                json!({ "userName": "x@k.example" }),
                StatusCode::NOT_FOUND,
                None,
            ),
        ];
        for (method, path, body, status, scim_type) in cases {
            let (got, error) = scim(&gw, method.clone(), &path, &token, Some(body.clone())).await;
            assert_eq!(got, status, "{} {method} {path} {body}: {error}", gw.name);
            assert_eq!(
                error["scimType"].as_str(),
                scim_type,
                "{method} {path} {body}"
            );
        }
        let (status, error) = scim(
            &gw,
            Method::GET,
            "/Users?filter=userName%20eq",
            &token,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error["scimType"], "invalidFilter");
        let (status, _) = scim(&gw, Method::GET, "/Nothing", &token, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Nothing moved: the one user as made, and no group.
        let (_, after) = scim(&gw, Method::GET, &format!("/Users/{id}"), &token, None).await;
        assert_eq!(after, user, "{}", gw.name);
        let (_, groups) = scim(&gw, Method::GET, "/Groups", &token, None).await;
        assert_eq!(groups["totalResults"], 0);
    }
}
