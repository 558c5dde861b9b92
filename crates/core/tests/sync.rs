//! The core syncs from a real gateway on loopback into a real SQLite cache.

use gatehouse_api::{ApiKeyCreated, Role, SyncKind, UserListQuery};
use gatehouse_core::cache::Cache;
use gatehouse_core::client::{AdminApi, AdminClient};
use gatehouse_core::ipc::{UserFilter, UserSort};
use gatehouse_core::{CoreError, sync};
use gatehouse_gateway::{Db, RunningGateway, demo};

/// The demo organisation served on loopback from a SQLite file in a fresh folder.
async fn demo_gateway() -> (tempfile::TempDir, Db, RunningGateway, gatehouse_api::Secret) {
    let dir = tempfile::tempdir().unwrap();
    let (gateway, token) = gatehouse_core::embedded::start(&dir.path().join("gw.db"))
        .await
        .unwrap();
    (dir, gateway.state.db.clone(), gateway, token)
}

#[tokio::test]
async fn first_sync_caches_every_user_and_the_next_sync_is_empty() {
    let (dir, _db, gateway, token) = demo_gateway().await;
    let client = AdminClient::new(&gateway.url(), token).unwrap();

    // What the gateway says it has, paged through its list endpoint.
    let mut on_gateway = 0;
    let mut cursor = None;
    loop {
        let page = client
            .users(&UserListQuery {
                limit: Some(25),
                cursor,
                ..Default::default()
            })
            .await
            .unwrap();
        on_gateway += page.items.len();
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }

    let cache = Cache::open(
        &dir.path().join("cache.sqlite"),
        gatehouse_core::seal::Seal::generate().0,
    )
    .await
    .unwrap();
    let mut progress = Vec::new();
    let report = sync::sync(&client, &cache, |p| progress.push(p))
        .await
        .unwrap();
    assert_eq!(cache.count_users().await.unwrap() as usize, on_gateway);
    assert_eq!(on_gateway, demo::DEMO_USERS);
    assert!(
        report.applied as usize > on_gateway,
        "users plus org, workspaces, memberships"
    );
    assert!(!progress.is_empty());
    assert_eq!(cache.sync_state().await.unwrap().0, report.revision);

    let again = sync::sync(&client, &cache, |_| {}).await.unwrap();
    assert_eq!(again.applied, 0);
    assert_eq!(again.revision, report.revision);

    let admins = cache
        .users(&UserFilter {
            role: Some(Role::Admin),
            sort: UserSort::Email,
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        admins
            .rows
            .iter()
            .any(|u| u.email == demo::DEMO_ADMIN_EMAIL)
    );
    assert!(admins.rows.iter().all(|u| u.role == Role::Admin));
    let emails: Vec<_> = admins.rows.iter().map(|u| u.email.clone()).collect();
    let mut sorted = emails.clone();
    sorted.sort();
    assert_eq!(emails, sorted);

    let quinn = cache
        .users(&UserFilter {
            query: "QUINN".into(),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(quinn.total >= 1);
    assert!(
        quinn
            .rows
            .iter()
            .all(|u| u.name.to_lowercase().contains("quinn") || u.email.contains("quinn"))
    );
    let with_ws = quinn
        .rows
        .iter()
        .find(|u| u.email == demo::DEMO_ADMIN_EMAIL)
        .unwrap();
    assert_eq!(
        with_ws.workspaces.len(),
        4,
        "the demo admin is in every workspace"
    );

    // A gateway that is gone makes the client report `offline`, and the cache still reads.
    gateway.stop().await;
    let err = sync::sync(&client, &cache, |_| {}).await.unwrap_err();
    assert!(matches!(err, CoreError::Offline { .. }), "{err:?}");
    assert_eq!(err.to_ipc().code, "offline");
    assert_eq!(cache.count_users().await.unwrap() as usize, on_gateway);
}

#[tokio::test]
async fn a_wrong_token_is_a_typed_unauthorized_error() {
    let (_dir, _db, gateway, _) = demo_gateway().await;
    let client = AdminClient::new(&gateway.url(), gatehouse_api::Secret::new("gat_wrong")).unwrap();
    let err = client.me().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let ipc = err.to_ipc();
    assert_eq!(ipc.code, "unauthorized");
    assert!(!ipc.message.contains("gat_wrong"));
}

/// Every table of the cache, one per kind of the change feed, named as the gateway names its own.
const TABLES: [(SyncKind, &str); 15] = [
    (SyncKind::Org, "org"),
    (SyncKind::User, "users"),
    (SyncKind::Workspace, "workspaces"),
    (SyncKind::Membership, "memberships"),
    (SyncKind::Group, "groups"),
    (SyncKind::GroupMember, "group_members"),
    (SyncKind::Invitation, "invitations"),
    (SyncKind::Model, "models"),
    (SyncKind::Grant, "grants"),
    (SyncKind::Limit, "limits"),
    (SyncKind::Budget, "budgets"),
    (SyncKind::ApiKey, "api_keys"),
    (SyncKind::UsageDaily, "usage_daily"),
    (SyncKind::Alert, "alerts"),
    (SyncKind::Audit, "audit"),
];

/// The rows of each table, in the cache and on the gateway.
async fn counts(cache: &Cache, gateway: &Db) -> Vec<(&'static str, i64, i64)> {
    let mut out = Vec::new();
    for (_, table) in TABLES {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let cached: i64 = sqlx::query_scalar(&sql)
            .fetch_one(cache.pool())
            .await
            .unwrap();
        let served: i64 = sqlx::query_scalar(&sql)
            .fetch_one(&gateway.pool)
            .await
            .unwrap();
        out.push((table, cached, served));
    }
    out
}

async fn assert_same_counts(cache: &Cache, gateway: &Db) {
    for (table, cached, served) in counts(cache, gateway).await {
        assert_eq!(cached, served, "rows of {table}: cache vs gateway");
    }
}

/// A write to the admin API over HTTP, as an admin would make it.
async fn call(
    gateway: &RunningGateway,
    token: &gatehouse_api::Secret,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", gateway.url()))
        .bearer_auth(token.expose());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response
}

async fn served(gateway: &Db, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&gateway.pool)
        .await
        .unwrap()
}

async fn scalar(cache: &Cache, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(cache.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_kind_reaches_its_table_and_deletions_reach_the_cache() {
    let (dir, db, gateway, token) = demo_gateway().await;
    let client = AdminClient::new(&gateway.url(), token.clone()).unwrap();
    let cache_path = dir.path().join("cache.sqlite");
    let cache = Cache::open(&cache_path, gatehouse_core::seal::Seal::generate().0)
        .await
        .unwrap();

    // A user with an API key, so that the key's revocation and its owner's removal can be seen.
    let (member, workspace): (String, String) = sqlx::query_as(
        "SELECT user_id, workspace_id FROM memberships WHERE role = 'member' LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let created: ApiKeyCreated = call(
        &gateway,
        &token,
        reqwest::Method::POST,
        &format!("/admin/v1/users/{member}/keys"),
        Some(serde_json::json!({ "name": "ci" })),
    )
    .await
    .json()
    .await
    .unwrap();

    sync::sync(&client, &cache, |_| {}).await.unwrap();
    assert_same_counts(&cache, &db).await;
    for (table, cached, _) in counts(&cache, &db).await {
        // The demo organisation has no alerts; every other kind is there.
        assert!(cached > 0 || table == "alerts", "the demo has {table}");
    }
    let cost = "SELECT COALESCE(SUM(cost_micros), 0) FROM usage_daily";
    let cached_cost: i64 = sqlx::query_scalar(cost)
        .fetch_one(cache.pool())
        .await
        .unwrap();
    let served_cost: i64 = sqlx::query_scalar(cost).fetch_one(&db.pool).await.unwrap();
    assert_eq!(
        cached_cost, served_cost,
        "money is exact to the micro-dollar"
    );

    // Each invitation's link opens from its sealed copy; `data` keeps no link. The gateway
    // keeps the token sealed under its own key, which opens it here for the comparison.
    let invitations: Vec<(String, String)> =
        sqlx::query_as("SELECT id, token_sealed FROM invitations")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    for (id, token_sealed) in &invitations {
        let invite_token = gateway.state.invite_key.open(token_sealed).unwrap();
        let invite_token = invite_token.expose();
        let (data, sealed): (String, Vec<u8>) =
            sqlx::query_as("SELECT data, link_sealed FROM invitations WHERE id = $1")
                .bind(id)
                .fetch_one(cache.pool())
                .await
                .unwrap();
        let link = cache.seal().open(&sealed).unwrap();
        assert!(link.ends_with(&format!("/invite/{invite_token}")), "{link}");
        let data: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(data["link"], serde_json::Value::Null);
        assert_eq!(data["id"], id.as_str());
    }

    for (sql, id) in [
        ("SELECT COUNT(*) FROM users WHERE id = $1", member.clone()),
        (
            "SELECT COUNT(*) FROM api_keys WHERE user_id = $1",
            member.clone(),
        ),
        (
            "SELECT COUNT(*) FROM memberships WHERE user_id = $1",
            member.clone(),
        ),
    ] {
        assert!(scalar(&cache, sql, &id).await > 0, "{sql}");
    }

    // Deletions on the gateway: a key revoked (an update), a workspace member removed, a group
    // member removed, and a user (with a key) deleted.
    call(
        &gateway,
        &token,
        reqwest::Method::DELETE,
        &format!("/admin/v1/keys/{}", created.key.id),
        None,
    )
    .await;
    let (group, in_group): (String, String) =
        sqlx::query_as("SELECT group_id, user_id FROM group_members WHERE user_id <> $1 LIMIT 1")
            .bind(&member)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    call(
        &gateway,
        &token,
        reqwest::Method::DELETE,
        &format!("/admin/v1/groups/{group}/members/{in_group}"),
        None,
    )
    .await;
    let leaver: String = sqlx::query_scalar(
        "SELECT user_id FROM memberships WHERE workspace_id = $1 AND user_id NOT IN ($2, $3) \
         AND role = 'member' LIMIT 1",
    )
    .bind(&workspace)
    .bind(&member)
    .bind(&in_group)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    for (table, id) in [
        ("memberships", format!("{workspace}:{leaver}")),
        ("group_members", format!("{group}:{in_group}")),
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE id = $1");
        assert_eq!(scalar(&cache, &sql, &id).await, 1, "{table} {id} is cached");
    }
    call(
        &gateway,
        &token,
        reqwest::Method::DELETE,
        &format!("/admin/v1/workspaces/{workspace}/members/{leaver}"),
        None,
    )
    .await;
    let key_sql = "SELECT COUNT(*) FROM api_keys WHERE id = $1 AND json_extract(data, '$.revoked_at') IS NOT NULL";
    let before = cache.sync_state().await.unwrap().0;
    let report = sync::sync(&client, &cache, |_| {}).await.unwrap();
    assert!(report.revision > before);
    assert_eq!(
        scalar(&cache, key_sql, &created.key.id).await,
        1,
        "the revocation reached the cache"
    );
    assert_eq!(
        scalar(
            &cache,
            "SELECT COUNT(*) FROM group_members WHERE id = $1",
            &format!("{group}:{in_group}")
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &cache,
            "SELECT COUNT(*) FROM memberships WHERE id = $1",
            &format!("{workspace}:{leaver}")
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &cache,
            "SELECT COUNT(*) FROM memberships WHERE user_id = $1",
            &leaver
        )
        .await,
        served(
            &db,
            "SELECT COUNT(*) FROM memberships WHERE user_id = $1",
            &leaver
        )
        .await,
    );

    call(
        &gateway,
        &token,
        reqwest::Method::DELETE,
        &format!("/admin/v1/users/{member}"),
        None,
    )
    .await;
    sync::sync(&client, &cache, |_| {}).await.unwrap();
    for sql in [
        "SELECT COUNT(*) FROM users WHERE id = $1",
        "SELECT COUNT(*) FROM memberships WHERE user_id = $1",
        "SELECT COUNT(*) FROM group_members WHERE user_id = $1",
        "SELECT COUNT(*) FROM api_keys WHERE user_id = $1",
        "SELECT COUNT(*) FROM grants WHERE subject_id = $1",
    ] {
        assert_eq!(scalar(&cache, sql, &member).await, 0, "{sql}");
    }
    assert_same_counts(&cache, &db).await;

    // A member removed and added again: the feed holds the tombstone and, later, the row. A
    // first sync into a new cache applies them in that order, as the incremental one does.
    call(
        &gateway,
        &token,
        reqwest::Method::PUT,
        &format!("/admin/v1/workspaces/{workspace}/members/{leaver}"),
        Some(serde_json::json!({ "role": "member" })),
    )
    .await;
    let fresh = Cache::open(
        &dir.path().join("fresh.sqlite"),
        gatehouse_core::seal::Seal::generate().0,
    )
    .await
    .unwrap();
    sync::sync(&client, &fresh, |_| {}).await.unwrap();
    sync::sync(&client, &cache, |_| {}).await.unwrap();
    let rejoined = format!("{workspace}:{leaver}");
    for c in [&cache, &fresh] {
        assert_eq!(
            scalar(
                c,
                "SELECT COUNT(*) FROM memberships WHERE id = $1",
                &rejoined
            )
            .await,
            1
        );
        assert_same_counts(c, &db).await;
    }

    // No secret in the cache file, in the database or its write-ahead log.
    gateway.stop().await;
    let mut bytes = std::fs::read(&cache_path).unwrap();
    bytes.extend(std::fs::read(dir.path().join("cache.sqlite-wal")).unwrap_or_default());
    assert!(bytes.len() > 4096);
    let secrets = invitations
        .iter()
        .map(|(_, t)| t.clone())
        .chain([created.secret.clone(), token.expose().to_owned()]);
    for secret in secrets {
        assert!(secret.len() >= 16, "a real secret: {secret}");
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret is in the cache file"
        );
    }
}
