//! The revision sequence under concurrent writers, on every backend: writers are serialised, so
//! revisions commit in order and a client paging `/admin/v1/sync` while they write loses nothing.

use crate::common;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gatehouse_api::{Role, SyncKind, SyncPage, UserStatus};
use gatehouse_gateway::{db, users, workspaces};

use common::backends;

const WRITERS: usize = 20;
const USERS_PER_WRITER: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_take_revisions_in_commit_order_and_sync_misses_none() {
    for f in backends().await {
        let token = f.init(10_000).await;
        // The reader's first use of its token rewrites its user's row (`last_active_at`), in the
        // background; let that land before the test starts counting, so no row is rewritten
        // while the reader pages.
        let _: serde_json::Value = f.get_ok("/admin/v1/me", &token).await;
        for _ in 0..200 {
            let used: Option<String> = sqlx::query_scalar("SELECT last_used_at FROM tokens")
                .fetch_one(&f.db().pool)
                .await
                .unwrap();
            if used.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut tx = f.db().begin_write().await.unwrap();
        let workspace = workspaces::insert(&mut tx, "Load", "load").await.unwrap();
        tx.commit().await.unwrap();

        let done = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let db = f.db().clone();
            let workspace = workspace.clone();
            writers.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..USERS_PER_WRITER {
                    let mut tx = db.begin_write().await.unwrap();
                    // Two revisions of two kinds (user, membership) per transaction, so that a
                    // reader that saw the kinds at different moments would skip one.
                    let id = users::insert(
                        &mut tx,
                        &users::NewUser {
                            email: format!("w{w}.u{i}@load.example"),
                            first_name: format!("W{w}"),
                            last_name: format!("U{i}"),
                            role: Role::Member,
                            status: UserStatus::Active,
                            workspace_ids: vec![workspace.clone()],
                            password_hash: None,
                            created_at: db::now(),
                            last_active_at: None,
                        },
                    )
                    .await
                    .unwrap();
                    // Hold the transaction open a little, as a handler doing more work would.
                    tokio::time::sleep(Duration::from_millis((w + i) as u64 % 3)).await;
                    tx.commit().await.unwrap();
                    ids.push(id);
                    // All writers start at once and contend for the first round; then they are
                    // paced, so that the reader often reaches the head of the feed, where a
                    // commit can land between the queries of one page.
                    tokio::time::sleep(Duration::from_millis(100 + (w * 37 + i * 53) as u64 % 100))
                        .await;
                }
                ids
            }));
        }

        // Reads the feed while the writers run, in pages of 1 to 5, and once more after they end.
        let reader = {
            let done = done.clone();
            let token = token.clone();
            let base = f.url("");
            let http = f.http.clone();
            tokio::spawn(async move {
                let mut since = 0;
                let mut seen: Vec<(SyncKind, String, i64)> = Vec::new();
                let mut pages = 0;
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let page: SyncPage = common::ok(
                        http.get(format!(
                            "{base}/admin/v1/sync?since={since}&limit={}",
                            1 + pages % 5
                        ))
                        .bearer_auth(token.expose())
                        .send()
                        .await
                        .unwrap(),
                        "sync",
                    )
                    .await;
                    pages += 1;
                    for c in &page.changes {
                        assert!(
                            c.revision > since,
                            "revision {} after since={since}",
                            c.revision
                        );
                        since = c.revision;
                        seen.push((c.kind, c.id.clone(), c.revision));
                    }
                    assert_eq!(page.next_since, since);
                    if !page.has_more {
                        if finished {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                }
                (seen, pages)
            })
        };

        let mut written = Vec::new();
        for w in writers {
            written.extend(w.await.unwrap());
        }
        done.store(true, Ordering::SeqCst);
        let (seen, pages) = reader.await.unwrap();
        assert!(pages > 1, "{}: the reader paged", f.name);

        let users_seen: Vec<&str> = seen
            .iter()
            .filter(|(k, _, _)| *k == SyncKind::User)
            .map(|(_, id, _)| id.as_str())
            .collect();
        assert_eq!(
            users_seen.len(),
            WRITERS * USERS_PER_WRITER + 1,
            "{}",
            f.name
        );
        let unique: HashSet<&str> = users_seen.iter().copied().collect();
        assert_eq!(
            unique.len(),
            users_seen.len(),
            "{}: a user repeated",
            f.name
        );
        for id in &written {
            assert!(
                unique.contains(id.as_str()),
                "{}: {id} never synced",
                f.name
            );
        }
        let memberships = seen
            .iter()
            .filter(|(k, _, _)| *k == SyncKind::Membership)
            .count();
        assert_eq!(memberships, written.len(), "{}", f.name);

        // Every row's current revision must be in the feed exactly once, and nothing else: the
        // one row rewritten before the writers started (the reader's user) keeps only its new
        // revision.
        let current: Vec<i64> = sqlx::query_scalar(
            "SELECT revision FROM org UNION ALL SELECT revision FROM users \
             UNION ALL SELECT revision FROM workspaces UNION ALL SELECT revision FROM memberships \
             UNION ALL SELECT revision FROM audit UNION ALL SELECT revision FROM tombstones",
        )
        .fetch_all(&f.db().pool)
        .await
        .unwrap();
        let mut current = current;
        current.sort_unstable();
        let by_revision: BTreeMap<i64, usize> = seen.iter().fold(BTreeMap::new(), |mut m, c| {
            *m.entry(c.2).or_default() += 1;
            m
        });
        assert_eq!(
            by_revision.keys().copied().collect::<Vec<_>>(),
            current,
            "{}: the feed skipped or invented revisions",
            f.name
        );
        assert!(by_revision.values().all(|&n| n == 1), "{}", f.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_transaction_holds_the_write_lock_from_its_start() {
    for f in backends().await {
        f.init(10).await;
        let first = f.db().begin_write().await.unwrap();
        let second_began = Arc::new(AtomicBool::new(false));
        let second = {
            let db = f.db().clone();
            let began = second_began.clone();
            tokio::spawn(async move {
                let mut tx = db.begin_write().await.unwrap();
                began.store(true, Ordering::SeqCst);
                // What it reads now includes everything the first writer committed.
                let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                users
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !second_began.load(Ordering::SeqCst),
            "{}: a second writer began while the first was open",
            f.name
        );
        let mut first = first;
        users::insert(
            &mut first,
            &users::NewUser {
                email: "late@acme.example".into(),
                first_name: "Late".into(),
                last_name: "Writer".into(),
                role: Role::Member,
                status: UserStatus::Active,
                workspace_ids: vec![],
                password_hash: None,
                created_at: db::now(),
                last_active_at: None,
            },
        )
        .await
        .unwrap();
        first.commit().await.unwrap();
        assert_eq!(second.await.unwrap(), 2, "{}", f.name);
    }
}
