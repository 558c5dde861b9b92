//! Metering and the usage endpoints over real HTTP: days in the org's time zone, filters,
//! keyset pages, the streamed CSV export, members' own usage, alerts and the demo's history.

use crate::common;
use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use gatehouse_api::{
    Alert, BudgetPeriod, ErrorCode, Page, Role, Secret, SubjectKind, SyncKind, SyncPage,
    UsageDaily, UserStatus,
};
use gatehouse_gateway::usage::{self, DailyRow, UsageEvent};
use gatehouse_gateway::{alerts, auth, db, users};
use reqwest::{Method, StatusCode};

use common::{TestGateway, backends, problem};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn user_with_token(f: &TestGateway, email: &str, role: Role) -> (String, Secret) {
    let mut tx = f.db().begin_write().await.unwrap();
    let id = users::insert(
        &mut tx,
        &users::NewUser {
            email: email.to_owned(),
            first_name: "Test".to_owned(),
            last_name: "User".to_owned(),
            role,
            status: UserStatus::Active,
            workspace_ids: vec![],
            password_hash: None,
            created_at: db::now(),
            last_active_at: None,
        },
    )
    .await
    .unwrap();
    let token = auth::issue_token(&mut tx, &id, "test").await.unwrap();
    tx.commit().await.unwrap();
    (id, token)
}

/// A token for an existing user.
async fn token_of(f: &TestGateway, user_id: &str) -> Secret {
    let mut tx = f.db().begin_write().await.unwrap();
    let token = auth::issue_token(&mut tx, user_id, "test").await.unwrap();
    tx.commit().await.unwrap();
    token
}

async fn record(f: &TestGateway, event: &UsageEvent) {
    let mut tx = f.db().begin_write().await.unwrap();
    usage::record(&mut tx, event).await.unwrap();
    tx.commit().await.unwrap();
}

fn event(when: &str, user: &str, model: &str, input: i64, output: i64) -> UsageEvent {
    UsageEvent {
        id: gatehouse_gateway::new_id("uev"),
        at: at(when),
        user_id: user.to_owned(),
        key_id: Some("key_test".to_owned()),
        model_id: model.to_owned(),
        workspace_id: None,
        input_tokens: input,
        output_tokens: output,
        cost_micros: usage::cost_micros(input, output, 2.5, 10.0),
        status: 200,
    }
}

/// Every row the list returns for `query`, walking the cursor chain with pages of `limit`.
async fn all_pages(f: &TestGateway, token: &Secret, query: &str, limit: u32) -> Vec<UsageDaily> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/admin/v1/usage/daily?limit={limit}");
        if !query.is_empty() {
            path.push('&');
            path.push_str(query);
        }
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Page<UsageDaily> = f.get_ok(&path, token).await;
        assert!(page.items.len() <= limit as usize);
        rows.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return rows,
        }
    }
}

/// Which rows a filter keeps.
type Keep = Box<dyn Fn(&UsageDaily) -> bool>;

fn key(r: &UsageDaily) -> (NaiveDate, String, String, String, String) {
    (
        r.day,
        r.user_id.clone(),
        r.model_id.clone(),
        r.workspace_id.clone(),
        r.key_id.clone(),
    )
}

fn assert_sorted_unique(rows: &[UsageDaily]) {
    for pair in rows.windows(2) {
        assert!(
            key(&pair[0]) < key(&pair[1]),
            "out of order or repeated: {:?} then {:?}",
            key(&pair[0]),
            key(&pair[1])
        );
    }
}

async fn count(f: &TestGateway, sql: &str, binds: &[&str]) -> i64 {
    let mut q = sqlx::query_scalar::<_, i64>(sql);
    for b in binds {
        q = q.bind(b.to_string());
    }
    q.fetch_one(&f.db().pool).await.unwrap()
}

#[tokio::test]
async fn usage_lands_on_the_local_day_of_the_org() {
    for f in backends().await {
        let admin = f.init(10).await;
        sqlx::query("UPDATE org SET time_zone = $1")
            .bind("America/New_York")
            .execute(&f.db().pool)
            .await
            .unwrap();
        let (user, _) = user_with_token(&f, "dev@acme.example", Role::Member).await;

        // 03:00 UTC is 22:00 the evening before in New York (UTC-5 in March before DST).
        record(
            &f,
            &event("2024-03-10T03:00:00Z", &user, "gpt-4o", 1000, 200),
        )
        .await;
        let first: Page<UsageDaily> = f.get_ok("/admin/v1/usage/daily", &admin).await;
        assert_eq!(first.items.len(), 1, "{}", f.name);
        assert_eq!(first.items[0].day, day("2024-03-09"));
        // 04:59 UTC is still 23:59 local: the same row grows and takes a fresh revision.
        record(
            &f,
            &event("2024-03-10T04:59:00Z", &user, "gpt-4o", 500, 100),
        )
        .await;
        // 05:00 UTC is local midnight: the next day.
        record(&f, &event("2024-03-10T05:00:00Z", &user, "gpt-4o", 10, 1)).await;

        let rows: Page<UsageDaily> = f
            .get_ok(
                "/admin/v1/usage/daily?from=2024-03-01&to=2024-03-31",
                &admin,
            )
            .await;
        let got: Vec<(NaiveDate, i64, i64, i64)> = rows
            .items
            .iter()
            .map(|r| (r.day, r.requests, r.input_tokens, r.output_tokens))
            .collect();
        assert_eq!(
            got,
            [
                (day("2024-03-09"), 2, 1500, 300),
                (day("2024-03-10"), 1, 10, 1)
            ]
        );
        let evening = &rows.items[0];
        assert!(evening.revision > first.items[0].revision);
        // 1500 in × $2.50/M + 300 out × $10/M = $0.00675.
        assert!(
            (evening.cost_usd - 0.00675).abs() < 1e-12,
            "{}",
            evening.cost_usd
        );
        assert_eq!(evening.user_id, user);
        assert_eq!(evening.model_id, "gpt-4o");
        assert_eq!(evening.workspace_id, "");
        assert_eq!(
            count(
                &f,
                "SELECT COUNT(*) FROM usage_events WHERE user_id = $1",
                &[&user]
            )
            .await,
            3
        );

        // The change feed carries the aggregate under its composite id.
        let sync: SyncPage = f.get_ok("/admin/v1/sync?since=0&limit=5000", &admin).await;
        let daily: Vec<_> = sync
            .changes
            .iter()
            .filter(|c| c.kind == SyncKind::UsageDaily)
            .collect();
        assert_eq!(daily.len(), 2);
        // The key is last in the id (a row without one keeps the id rows had before keys).
        let id = format!("2024-03-09:{user}:gpt-4o::key_test");
        let change = daily.iter().find(|c| c.id == id).expect("the evening row");
        assert_eq!(change.revision, evening.revision);
        // The feed's rows are built by the database; they must be exactly the list's.
        for c in &daily {
            let listed = rows
                .items
                .iter()
                .find(|r| {
                    c.id == format!(
                        "{}:{}:{}:{}:{}",
                        r.day, r.user_id, r.model_id, r.workspace_id, r.key_id
                    )
                })
                .expect("every synced row is listed");
            let value: serde_json::Value =
                serde_json::from_str(c.data.as_ref().unwrap().get()).unwrap();
            assert_eq!(value, serde_json::to_value(listed).unwrap());
            let typed: UsageDaily = serde_json::from_str(c.data.as_ref().unwrap().get()).unwrap();
            assert_eq!(&typed, listed);
        }

        // In a UTC org the same instant stays on its own day.
        sqlx::query("UPDATE org SET time_zone = 'UTC'")
            .execute(&f.db().pool)
            .await
            .unwrap();
        record(&f, &event("2024-03-10T03:00:00Z", &user, "gpt-4o", 1, 1)).await;
        let utc: Page<UsageDaily> = f
            .get_ok(
                "/admin/v1/usage/daily?from=2024-03-10&to=2024-03-10",
                &admin,
            )
            .await;
        assert_eq!(utc.items.len(), 1);
        assert_eq!(utc.items[0].requests, 2);
    }
}

#[tokio::test]
async fn daily_filters_and_pages_never_repeat_or_skip() {
    for f in backends().await {
        let admin = f.demo().await;
        let total = count(&f, "SELECT COUNT(*) FROM usage_daily", &[]).await;
        assert!(total > 2000, "the demo has a real history: {total}");

        let everything = all_pages(&f, &admin, "", 997).await;
        assert_eq!(everything.len() as i64, total, "{}", f.name);
        assert_sorted_unique(&everything);

        // A sample of users, models, workspaces and a date range; each filter returns exactly
        // the rows that match it, in order, with small pages.
        let some_user = everything[everything.len() / 2].user_id.clone();
        let some_workspace = everything
            .iter()
            .find(|r| !r.workspace_id.is_empty())
            .unwrap()
            .workspace_id
            .clone();
        let from = everything[everything.len() / 3].day;
        let to = from + chrono::Duration::days(9);
        let cases: Vec<(String, Keep)> = vec![
            (format!("user_id={some_user}"), {
                let u = some_user.clone();
                Box::new(move |r: &UsageDaily| r.user_id == u)
            }),
            (
                "model_id=gpt-4o".to_owned(),
                Box::new(|r: &UsageDaily| r.model_id == "gpt-4o"),
            ),
            (format!("workspace_id={some_workspace}"), {
                let w = some_workspace.clone();
                Box::new(move |r: &UsageDaily| r.workspace_id == w)
            }),
            (
                format!("from={from}&to={to}"),
                Box::new(move |r: &UsageDaily| r.day >= from && r.day <= to),
            ),
            (
                format!("from={from}&to={from}&model_id=gpt-4o-mini"),
                Box::new(move |r: &UsageDaily| r.day == from && r.model_id == "gpt-4o-mini"),
            ),
        ];
        for (query, keep) in &cases {
            let expected: Vec<UsageDaily> =
                everything.iter().filter(|r| keep(r)).cloned().collect();
            assert!(!expected.is_empty(), "{query} matches something");
            let got = all_pages(&f, &admin, query, 13).await;
            assert_eq!(got, expected, "{query}");
        }

        // A group: the usage of its members.
        let members: Vec<String> = everything
            .iter()
            .map(|r| r.user_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .take(3)
            .collect();
        let mut tx = f.db().begin_write().await.unwrap();
        let revision = db::next_revision(&mut tx).await.unwrap();
        sqlx::query(
            "INSERT INTO groups (id, name, created_at, revision) VALUES ('grp_t', 'T', $1, $2)",
        )
        .bind(db::now())
        .bind(revision)
        .execute(&mut *tx)
        .await
        .unwrap();
        for m in &members {
            let revision = db::next_revision(&mut tx).await.unwrap();
            sqlx::query("INSERT INTO group_members (group_id, user_id, role, revision) VALUES ('grp_t', $1, 'member', $2)")
                .bind(m)
                .bind(revision)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let expected: Vec<UsageDaily> = everything
            .iter()
            .filter(|r| members.contains(&r.user_id))
            .cloned()
            .collect();
        assert_eq!(all_pages(&f, &admin, "group_id=grp_t", 50).await, expected);
        let none = all_pages(&f, &admin, "group_id=grp_none", 50).await;
        assert!(none.is_empty());

        // Rows written while a client pages: every row that existed is seen exactly once.
        let first: Page<UsageDaily> = f.get_ok("/admin/v1/usage/daily?limit=100", &admin).await;
        let mut seen: Vec<UsageDaily> = first.items.clone();
        let mut cursor = first.next_cursor;
        let mut wrote = false;
        while let Some(c) = cursor {
            if !wrote {
                let before_cursor = seen[10].day;
                let mut tx = f.db().begin_write().await.unwrap();
                usage::add_daily(
                    &mut tx,
                    &[
                        DailyRow {
                            day: before_cursor,
                            user_id: "usr_zzz_new".to_owned(),
                            model_id: "gpt-4o".to_owned(),
                            workspace_id: String::new(),
                            key_id: String::new(),
                            requests: 1,
                            input_tokens: 1,
                            output_tokens: 1,
                            cost_micros: 1,
                        },
                        DailyRow {
                            day: everything.last().unwrap().day + chrono::Duration::days(1),
                            user_id: "usr_new".to_owned(),
                            model_id: "gpt-4o".to_owned(),
                            workspace_id: String::new(),
                            key_id: String::new(),
                            requests: 1,
                            input_tokens: 1,
                            output_tokens: 1,
                            cost_micros: 1,
                        },
                    ],
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                wrote = true;
            }
            let page: Page<UsageDaily> = f
                .get_ok(
                    &format!("/admin/v1/usage/daily?limit=100&cursor={c}"),
                    &admin,
                )
                .await;
            seen.extend(page.items);
            cursor = page.next_cursor;
        }
        assert_sorted_unique(&seen);
        let seen_keys: HashSet<_> = seen.iter().map(key).collect();
        assert!(everything.iter().all(|r| seen_keys.contains(&key(r))));
        assert!(
            seen.iter().any(|r| r.user_id == "usr_new"),
            "rows after the cursor show up"
        );

        for bad in [
            "from=2024-05-02&to=2024-05-01",
            "from=2024-02-30",
            "from=yesterday",
            "limit=0",
            "limit=1001",
            "cursor=garbage",
            "cursor=WzFd",
            "colour=red",
        ] {
            let response = f
                .request(
                    Method::GET,
                    &format!("/admin/v1/usage/daily?{bad}"),
                    Some(&admin),
                )
                .send()
                .await
                .unwrap();
            let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(p.code, ErrorCode::ValidationFailed, "{bad}");
        }
        let response = f
            .request(
                Method::GET,
                "/admin/v1/usage/export.csv?from=2024-05-02&to=2024-05-01",
                Some(&admin),
            )
            .send()
            .await
            .unwrap();
        problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
}

/// RFC 4180: fields separated by commas, records by CRLF, quoted fields with doubled quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "records end with CRLF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the last record ends with CRLF"
    );
    records
}

async fn export(f: &TestGateway, token: &Secret, query: &str) -> Vec<Vec<String>> {
    let response = f
        .request(
            Method::GET,
            &format!("/admin/v1/usage/export.csv?{query}"),
            Some(token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers().get("content-length").is_none(),
        "streamed, so the length is not known up front"
    );
    let text = response.text().await.unwrap();
    let mut records = parse_csv(&text);
    assert_eq!(
        records.remove(0),
        [
            "day",
            "user_id",
            "model_id",
            "workspace_id",
            "requests",
            "input_tokens",
            "output_tokens",
            "cost_usd",
            "key_id"
        ]
    );
    records
}

fn as_csv(r: &UsageDaily) -> Vec<String> {
    vec![
        r.day.to_string(),
        r.user_id.clone(),
        r.model_id.clone(),
        r.workspace_id.clone(),
        r.requests.to_string(),
        r.input_tokens.to_string(),
        r.output_tokens.to_string(),
        format!("{:.6}", r.cost_usd),
        r.key_id.clone(),
    ]
}

#[tokio::test]
async fn the_csv_export_streams_the_same_rows_as_the_list() {
    for f in backends().await {
        let admin = f.demo().await;
        // Awkward values survive the round trip.
        let mut tx = f.db().begin_write().await.unwrap();
        usage::add_daily(
            &mut tx,
            &[DailyRow {
                day: day("2020-01-01"),
                user_id: "usr_deleted".to_owned(),
                model_id: "gpt-4o".to_owned(),
                workspace_id: "ws \"quoted\", with comma\r\nand a line break".to_owned(),
                key_id: String::new(),
                requests: 3,
                input_tokens: 7,
                output_tokens: 9,
                cost_micros: 12_000_001,
            }],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        for query in ["", "model_id=gpt-4o", "from=2020-01-01&to=2020-01-01"] {
            let listed = all_pages(&f, &admin, query, 1000).await;
            let exported = export(&f, &admin, query).await;
            let expected: Vec<Vec<String>> = listed.iter().map(as_csv).collect();
            assert_eq!(exported.len(), expected.len(), "{query} on {}", f.name);
            assert_eq!(exported, expected, "{query}");
        }
        let odd = export(&f, &admin, "from=2020-01-01&to=2020-01-01").await;
        assert_eq!(odd[0][3], "ws \"quoted\", with comma\r\nand a line break");
        assert_eq!(odd[0][7], "12.000001");
        assert!(export(&f, &admin, "user_id=usr_nobody").await.is_empty());

        let unknown = f
            .request(
                Method::GET,
                "/admin/v1/usage/export.csv?cursor=abc",
                Some(&admin),
            )
            .send()
            .await
            .unwrap();
        problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
}

#[tokio::test]
async fn a_member_sees_only_their_own_usage() {
    for f in backends().await {
        let admin = f.demo().await;
        let busiest: (String, i64) = sqlx::query_as(
            "SELECT u.id, COUNT(*) AS n FROM usage_daily d JOIN users u ON u.id = d.user_id \
             WHERE u.role = 'member' AND u.status = 'active' GROUP BY u.id ORDER BY n DESC, u.id LIMIT 1",
        )
        .fetch_one(&f.db().pool)
        .await
        .unwrap();
        let (member_id, rows) = busiest;
        let member = token_of(&f, &member_id).await;

        let own = all_pages(&f, &member, "", 1000).await;
        assert_eq!(own.len() as i64, rows, "{}", f.name);
        assert!(own.iter().all(|r| r.user_id == member_id));
        let explicit = all_pages(&f, &member, &format!("user_id={member_id}"), 1000).await;
        assert_eq!(explicit, own);
        let filtered = all_pages(&f, &member, "model_id=gpt-4o", 1000).await;
        assert!(
            filtered
                .iter()
                .all(|r| r.user_id == member_id && r.model_id == "gpt-4o")
        );

        let csv = export(&f, &member, "").await;
        assert_eq!(csv.len(), own.len());
        assert!(csv.iter().all(|r| r[1] == member_id));

        let other: String =
            sqlx::query_scalar("SELECT user_id FROM usage_daily WHERE user_id <> $1 LIMIT 1")
                .bind(&member_id)
                .fetch_one(&f.db().pool)
                .await
                .unwrap();
        for path in [
            format!("/admin/v1/usage/daily?user_id={other}"),
            format!("/admin/v1/usage/export.csv?user_id={other}"),
            "/admin/v1/alerts".to_owned(),
        ] {
            let response = f
                .request(Method::GET, &path, Some(&member))
                .send()
                .await
                .unwrap();
            let p = problem(response, StatusCode::FORBIDDEN).await;
            assert_eq!(p.code, ErrorCode::Forbidden, "{path}");
        }

        // An auditor reads everyone's.
        let (_, auditor) = user_with_token(&f, "audit@northwind.example", Role::Auditor).await;
        let theirs: Page<UsageDaily> = f
            .get_ok(&format!("/admin/v1/usage/daily?user_id={other}"), &auditor)
            .await;
        assert!(!theirs.items.is_empty());
        let everyone: Page<UsageDaily> = f.get_ok("/admin/v1/usage/daily", &admin).await;
        assert!(everyone.items.iter().any(|r| r.user_id != member_id));
    }
}

#[tokio::test]
async fn alerts_are_raised_once_listed_newest_first_and_synced() {
    for f in backends().await {
        let admin = f.init(10).await;
        let (user, _) = user_with_token(&f, "spender@acme.example", Role::Member).await;
        let mut raised = Vec::new();
        for threshold in [50, 80, 100] {
            let mut tx = f.db().begin_write().await.unwrap();
            let alert = alerts::raise(
                &mut tx,
                &alerts::NewAlert {
                    subject_kind: SubjectKind::User,
                    subject_id: user.clone(),
                    period: BudgetPeriod::Monthly,
                    period_start: at("2024-03-01T05:00:00Z"),
                    threshold,
                    spent_micros: i64::from(threshold) * 100_000,
                    cap_micros: 10_000_000,
                },
            )
            .await
            .unwrap()
            .expect("a new alert");
            tx.commit().await.unwrap();
            raised.push(alert);
        }
        // The same threshold in the same period is not raised again.
        let mut tx = f.db().begin_write().await.unwrap();
        let again = alerts::raise(
            &mut tx,
            &alerts::NewAlert {
                subject_kind: SubjectKind::User,
                subject_id: user.clone(),
                period: BudgetPeriod::Monthly,
                period_start: at("2024-03-01T05:00:00Z"),
                threshold: 80,
                spent_micros: 9_000_000,
                cap_micros: 10_000_000,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert!(again.is_none(), "{}", f.name);

        let mut listed: Vec<Alert> = Vec::new();
        let mut path = "/admin/v1/alerts?limit=2".to_owned();
        loop {
            let page: Page<Alert> = f.get_ok(&path, &admin).await;
            listed.extend(page.items);
            match page.next_cursor {
                Some(c) => path = format!("/admin/v1/alerts?limit=2&cursor={c}"),
                None => break,
            }
        }
        raised.reverse();
        assert_eq!(listed, raised, "newest first, each once");
        assert_eq!(listed[0].threshold, 100);
        assert_eq!(listed[0].spent_usd, 10.0);
        assert_eq!(listed[0].cap_usd, 10.0);
        assert_eq!(listed[0].period_start, at("2024-03-01T05:00:00Z"));

        let sync: SyncPage = f.get_ok("/admin/v1/sync?since=0&limit=5000", &admin).await;
        let synced: HashSet<String> = sync
            .changes
            .iter()
            .filter(|c| c.kind == SyncKind::Alert)
            .map(|c| c.id.clone())
            .collect();
        assert_eq!(synced, listed.iter().map(|a| a.id.clone()).collect());
        assert_eq!(
            sync.changes
                .iter()
                .filter(|c| c.kind == SyncKind::Audit
                    && serde_json::from_str::<serde_json::Value>(c.data.as_ref().unwrap().get())
                        .unwrap()["action"]
                        == "alert.raised")
                .count(),
            3
        );
    }
}

#[tokio::test]
async fn the_demo_has_ninety_days_of_usage_with_a_weekly_rhythm() {
    for f in backends().await {
        let started = std::time::Instant::now();
        let admin = f.demo().await;
        let seeding = started.elapsed();
        // The bound the brief sets is 2 s on SQLite in release; debug builds on a shared
        // machine get headroom.
        assert!(seeding.as_secs_f64() < 10.0, "seeding took {seeding:?}");
        eprintln!("{}: demo seeded in {seeding:?}", f.name);

        let models: Page<gatehouse_api::Model> = f.get_ok("/admin/v1/models", &admin).await;
        let ids: HashSet<&str> = models.items.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), 5);
        assert!(ids.contains("echo") && ids.contains("gpt-4o-mini"));
        // Every model is served by the built-in echo provider (the history went through it),
        // at the prices of the model it stands for.
        assert!(
            models
                .items
                .iter()
                .all(|m| m.provider == gatehouse_api::Provider::Echo)
        );
        assert!(
            models
                .items
                .iter()
                .filter(|m| m.id != "echo")
                .all(|m| m.input_usd_per_mtok > 0.0)
        );

        let rows = all_pages(&f, &admin, "", 1000).await;
        // The change feed carries the same rows, to the last bit of every cost.
        let mut synced: Vec<UsageDaily> = Vec::new();
        let mut since = 0;
        loop {
            let page: SyncPage = f
                .get_ok(&format!("/admin/v1/sync?since={since}&limit=5000"), &admin)
                .await;
            for c in page
                .changes
                .iter()
                .filter(|c| c.kind == SyncKind::UsageDaily)
            {
                let row: UsageDaily = serde_json::from_str(c.data.as_ref().unwrap().get()).unwrap();
                let key = if row.key_id.is_empty() {
                    String::new()
                } else {
                    format!(":{}", row.key_id)
                };
                assert_eq!(
                    c.id,
                    format!(
                        "{}:{}:{}:{}{key}",
                        row.day, row.user_id, row.model_id, row.workspace_id
                    )
                );
                synced.push(row);
            }
            since = page.next_since;
            if !page.has_more {
                break;
            }
        }
        synced.sort_by_key(key);
        assert_eq!(synced, rows, "{}", f.name);

        let mut per_day: BTreeMap<NaiveDate, (i64, f64)> = BTreeMap::new();
        let mut users = HashSet::new();
        for r in &rows {
            let e = per_day.entry(r.day).or_default();
            e.0 += r.requests;
            e.1 += r.cost_usd;
            users.insert(r.user_id.clone());
            assert!(r.requests > 0 && r.input_tokens > 0 && r.output_tokens > 0);
            assert!(
                ids.contains(r.model_id.as_str()),
                "{} is in the catalog",
                r.model_id
            );
        }
        assert_eq!(per_day.len(), 90, "{}", f.name);
        let (first, last) = (
            *per_day.keys().next().unwrap(),
            *per_day.keys().last().unwrap(),
        );
        assert_eq!((last - first).num_days(), 89);
        let today = Utc::now().date_naive();
        assert!(last == today || last + chrono::Duration::days(1) == today);
        assert!(users.len() > 40, "most accounts use it: {}", users.len());

        let (mut weekday, mut weekend) = ((0i64, 0i64), (0i64, 0i64));
        for (d, (requests, _)) in per_day.range(..last) {
            if d.weekday().number_from_monday() >= 6 {
                weekend = (weekend.0 + requests, weekend.1 + 1);
            } else {
                weekday = (weekday.0 + requests, weekday.1 + 1);
            }
        }
        let weekday_mean = weekday.0 as f64 / weekday.1 as f64;
        let weekend_mean = weekend.0 as f64 / weekend.1 as f64;
        assert!(
            weekday_mean > 3.0 * weekend_mean,
            "weekdays {weekday_mean} vs weekends {weekend_mean}"
        );
        let spend: f64 = per_day.values().map(|(_, usd)| usd).sum();
        assert!(
            (100.0..100_000.0).contains(&spend),
            "a plausible quarter's spend: {spend}"
        );
        let pending_with_usage: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM usage_daily d JOIN users u ON u.id = d.user_id WHERE u.status = 'pending'",
        )
        .fetch_one(&f.db().pool)
        .await
        .unwrap();
        assert_eq!(pending_with_usage, 0, "pending accounts never used it");
    }
}
