//! A client paging through a full sync while others write and delete, then catching up, ends
//! with exactly what the gateway holds: nothing lost, nothing duplicated, deletions applied.

use crate::common;
use std::collections::BTreeMap;

use common::{TestGateway, backends};
use gatehouse_api::{Page, Secret, SyncKind, SyncPage, User};
use serde_json::json;

/// Applies pages from `since` until `has_more` is false; returns the new `since`.
async fn pull(
    gw: &TestGateway,
    token: &Secret,
    mut since: i64,
    users: &mut BTreeMap<String, i64>,
) -> i64 {
    loop {
        let page: SyncPage = gw
            .get_ok(&format!("/admin/v1/sync?since={since}&limit=7"), token)
            .await;
        let mut last = since;
        for c in &page.changes {
            assert!(
                c.revision > last,
                "revisions strictly increase across pages"
            );
            last = c.revision;
            if c.kind == SyncKind::User {
                if c.deleted {
                    users.remove(&c.id);
                } else {
                    users.insert(c.id.clone(), c.revision);
                }
            }
        }
        assert!(
            page.head >= page.next_since,
            "head {} is behind the page's end {}",
            page.head,
            page.next_since
        );
        since = page.next_since;
        if !page.has_more {
            return since;
        }
    }
}

#[tokio::test]
async fn a_sync_under_concurrent_writes_and_deletes_loses_nothing() {
    for gw in backends().await {
        let admin = gw.demo().await;
        let writer = {
            let http = gw.http.clone();
            let base = gw.gateway.url();
            let token = admin.expose().to_owned();
            tokio::spawn(async move {
                let mut created = Vec::new();
                for i in 0..40 {
                    let r = http
                        .post(format!("{base}/admin/v1/users"))
                        .bearer_auth(&token)
                        .json(
                            &json!({ "email": format!("w{i}@northwind.example"), "first_name": "W",
                                       "last_name": format!("{i}"), "role": "member",
                                       "password": "a long enough password" }),
                        )
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 201);
                    let user: User = r.json().await.unwrap();
                    // Delete every third one again, and rename every fifth.
                    if i % 3 == 0 {
                        let r = http
                            .delete(format!("{base}/admin/v1/users/{}", user.id))
                            .bearer_auth(&token)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 204);
                    } else if i % 5 == 0 {
                        let r = http
                            .patch(format!("{base}/admin/v1/users/{}", user.id))
                            .bearer_auth(&token)
                            .json(&json!({ "first_name": "Renamed" }))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 200);
                    }
                    created.push(user.id);
                }
                created
            })
        };
        let mut cache = BTreeMap::new();
        let mut since = pull(&gw, &admin, 0, &mut cache).await;
        let created = writer.await.unwrap();
        since = pull(&gw, &admin, since, &mut cache).await;
        // A sync with nothing new changes nothing.
        assert_eq!(pull(&gw, &admin, since, &mut cache).await, since);

        let mut actual = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/admin/v1/users?limit=50&cursor={c}"),
                None => "/admin/v1/users?limit=50".to_owned(),
            };
            let page: Page<User> = gw.get_ok(&path, &admin).await;
            for u in page.items {
                actual.insert(u.id, u.revision);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(
            cache, actual,
            "the synced users and their revisions match the gateway on {}",
            gw.name
        );
        assert_eq!(actual.len(), gatehouse_gateway::demo::DEMO_USERS + 40 - 14);
        assert!(created.iter().step_by(3).all(|id| !cache.contains_key(id)));
    }
}
