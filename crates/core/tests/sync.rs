//! The core syncs from a real gateway on loopback into a real SQLite cache.

use gatehouse_api::{Role, UserListQuery};
use gatehouse_core::cache::Cache;
use gatehouse_core::client::{AdminApi, AdminClient};
use gatehouse_core::ipc::{UserFilter, UserSort};
use gatehouse_core::{CoreError, sync};
use gatehouse_gateway::{Db, RunningGateway, demo};

#[tokio::test]
async fn first_sync_caches_every_user_and_the_next_sync_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("gw.db").display()))
        .await
        .unwrap();
    let token = demo::seed(&db).await.unwrap();
    let gateway = RunningGateway::start_on_loopback(db).await.unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("gw.db").display()))
        .await
        .unwrap();
    demo::seed(&db).await.unwrap();
    let gateway = RunningGateway::start_on_loopback(db).await.unwrap();
    let client = AdminClient::new(&gateway.url(), gatehouse_api::Secret::new("gat_wrong")).unwrap();
    let err = client.me().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let ipc = err.to_ipc();
    assert_eq!(ipc.code, "unauthorized");
    assert!(!ipc.message.contains("gat_wrong"));
}
