//! The screens' queries over a large cache: 100,000 users (with workspaces and groups) and
//! 1,000,000 usage rows over 90 days, filled through `CacheWriter::apply` with synthetic changes.
//! Prints `BENCH <name> <value> ms` lines:
//! - desktop_search_p50_ms / desktop_search_p99_ms: a page of 100 users for a mix of substring
//!   searches (3 to 6 characters of a name or an e-mail) and role, status and workspace filters;
//! - desktop_chart_query_p99_ms: 90 days of usage stacked by the top 10 users;
//! - desktop_first_page_cold_ms: the users table's first page from the cache opened afresh,
//!   median of 3: what the console's start waits for; desktop_first_search_cold_ms: from the
//!   same start to a search's answer right after it, which waits for the in-memory index.

use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use gatehouse_api::{
    Group, GroupMember, GroupRole, Membership, Org, Role, SyncChange, SyncKind, UsageDaily, User,
    UserStatus, Workspace,
};
use gatehouse_core::cache::Cache;
use gatehouse_core::ipc::{UsageFilter, UsageGroupBy, UserFilter};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const USERS: usize = 100_000;
const WORKSPACES: usize = 40;
const GROUPS: usize = 200;
const USAGE_ROWS: usize = 1_000_000;
const DAYS: i64 = 90;
/// Users who use the gateway at all; the others only hold a seat.
const ACTIVE_USERS: usize = 25_000;
const MODELS: [&str; 8] = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "o3-mini",
    "claude-sonnet",
    "claude-haiku",
    "mistral-large",
    "echo",
];

const SYLLABLES: [&str; 24] = [
    "ka", "ri", "mo", "an", "el", "to", "sa", "vi", "lu", "ne", "do", "ra", "mi", "jo", "be", "ta",
    "li", "no", "ca", "fe", "ga", "ha", "zu", "or",
];

fn word(rng: &mut StdRng, syllables: usize) -> String {
    let mut w: String = (0..syllables)
        .map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())])
        .collect();
    if let Some(first) = w.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    w
}

struct Fill {
    changes: Vec<SyncChange>,
    revision: i64,
}

impl Fill {
    fn push<T: serde::Serialize>(&mut self, kind: SyncKind, id: String, data: &T) {
        self.revision += 1;
        self.changes
            .push(SyncChange::upsert(kind, id, self.revision, data));
    }

    async fn flush(&mut self, cache: &Cache) {
        let mut writer = cache.writer().await.expect("writer");
        for batch in self.changes.chunks(5000) {
            let last = batch.last().map_or(0, |c| c.revision);
            writer.apply(batch, last).await.expect("apply");
        }
        self.changes.clear();
    }
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seal = gatehouse_core::seal::Seal::generate().0;
    let cache = Cache::open(&dir.path().join("cache.sqlite"), seal.clone())
        .await
        .expect("cache");
    let mut rng = StdRng::seed_from_u64(7);
    let now = Utc::now();
    let mut fill = Fill {
        changes: Vec::new(),
        revision: 0,
    };
    let started = Instant::now();
    fill.push(
        SyncKind::Org,
        "org_bench".into(),
        &Org {
            id: "org_bench".into(),
            name: "Bench".into(),
            seat_limit: 200_000,
            seats_used: USERS as i64,
            invite_ttl_days: 14,
            time_zone: "Europe/Berlin".into(),
            require_approval: false,
            revision: 1,
            default_profile_id: None,
        },
    );
    let workspaces: Vec<String> = (0..WORKSPACES).map(|i| format!("ws_{i:03}")).collect();
    for (i, id) in workspaces.iter().enumerate() {
        fill.push(
            SyncKind::Workspace,
            id.clone(),
            &Workspace {
                id: id.clone(),
                name: format!("Workspace {i}"),
                slug: format!("ws-{i}"),
                member_count: 0,
                created_at: now,
                revision: 0,
            },
        );
    }
    let users: Vec<String> = (0..USERS).map(|i| format!("usr_{i:06}")).collect();
    let mut names = Vec::with_capacity(USERS);
    for (i, id) in users.iter().enumerate() {
        let (first, last) = (word(&mut rng, 2), word(&mut rng, 3));
        let email = format!(
            "{}.{}{i}@corp{}.example",
            first.to_lowercase(),
            last.to_lowercase(),
            i % 37
        );
        let role = match rng.gen_range(0..100) {
            0..=2 => Role::Admin,
            3..=7 => Role::Operator,
            8..=11 => Role::Auditor,
            _ => Role::Member,
        };
        let status = match rng.gen_range(0..100) {
            0..=4 => UserStatus::Pending,
            5..=9 => UserStatus::Suspended,
            _ => UserStatus::Active,
        };
        let ws = workspaces[rng.gen_range(0..WORKSPACES)].clone();
        fill.push(
            SyncKind::User,
            id.clone(),
            &User {
                id: id.clone(),
                email: email.clone(),
                first_name: first.clone(),
                last_name: last.clone(),
                role,
                status,
                workspace_ids: vec![ws.clone()],
                created_at: now - Duration::days(rng.gen_range(1..900)),
                updated_at: now,
                last_active_at: (status == UserStatus::Active)
                    .then(|| now - Duration::minutes(rng.gen_range(1..60 * 24 * 30))),
                scim_managed: false,
                identity_issuer: None,
                identity_tenant: None,
                has_password: true,
                revision: 0,
                profile_id: None,
                profile_name: None,
            },
        );
        fill.push(
            SyncKind::Membership,
            format!("{ws}:{id}"),
            &Membership {
                workspace_id: ws,
                user_id: id.clone(),
                role: Role::Member,
                revision: 0,
            },
        );
        names.push((format!("{first} {last}"), email));
    }
    for g in 0..GROUPS {
        let id = format!("grp_{g:03}");
        fill.push(
            SyncKind::Group,
            id.clone(),
            &Group {
                id: id.clone(),
                name: format!("Group {g}"),
                description: String::new(),
                member_count: 0,
                created_at: now,
                scim_managed: false,
                revision: 0,
            },
        );
        for m in 0..25 {
            let user = users[rng.gen_range(0..USERS)].clone();
            fill.push(
                SyncKind::GroupMember,
                format!("{id}:{user}"),
                &GroupMember {
                    group_id: id.clone(),
                    user_id: user,
                    role: if m == 0 {
                        GroupRole::Manager
                    } else {
                        GroupRole::Member
                    },
                    revision: 0,
                },
            );
        }
    }
    fill.flush(&cache).await;

    // Usage: every day a few thousand of the active users, each with one or more models.
    let today: NaiveDate = now.date_naive();
    let per_day = USAGE_ROWS / DAYS as usize;
    for d in 0..DAYS {
        let day = today - Duration::days(DAYS - 1 - d);
        let mut seen = std::collections::HashSet::new();
        while seen.len() < per_day {
            let user = &users[rng.gen_range(0..ACTIVE_USERS) * (USERS / ACTIVE_USERS)];
            let model = MODELS[rng.gen_range(0..MODELS.len())];
            let ws = &workspaces[rng.gen_range(0..WORKSPACES)];
            let id = format!("{day}:{user}:{model}:{ws}");
            if !seen.insert(id.clone()) {
                continue;
            }
            let requests = rng.gen_range(1..200);
            let input = requests * rng.gen_range(200..4000);
            let output = requests * rng.gen_range(50..900);
            let cost_micros = input * 2 + output * 8;
            fill.push(
                SyncKind::UsageDaily,
                id,
                &UsageDaily {
                    day,
                    user_id: user.clone(),
                    model_id: model.into(),
                    workspace_id: ws.clone(),
                    key_id: String::new(),
                    requests,
                    input_tokens: input,
                    output_tokens: output,
                    cost_usd: cost_micros as f64 / 1e6,
                    revision: 0,
                },
            );
        }
        if fill.changes.len() >= 100_000 {
            fill.flush(&cache).await;
        }
    }
    fill.flush(&cache).await;
    // What the end of a sync does.
    cache.refresh_usage_rollup().await.expect("roll-up");
    eprintln!(
        "filled {} users and {} usage rows in {:.1} s",
        USERS,
        USAGE_ROWS,
        started.elapsed().as_secs_f64()
    );

    // Searches: a substring of someone's name or e-mail, with a filter three times in four.
    let mut search = Vec::new();
    let mut by_kind: [Vec<f64>; 4] = Default::default();
    let mut matched = 0;
    for i in 0..400 {
        let (name, email) = &names[rng.gen_range(0..USERS)];
        let source = if i % 2 == 0 { name } else { email };
        let len = rng.gen_range(3..=6).min(source.len());
        let start = rng.gen_range(0..=source.len() - len);
        let query = source.get(start..start + len).unwrap_or("ka").to_owned();
        let mut filter = UserFilter {
            query,
            limit: 100,
            ..Default::default()
        };
        match i % 4 {
            0 => filter.role = Some(Role::Member),
            1 => filter.status = Some(UserStatus::Active),
            2 => filter.workspace_id = Some(workspaces[rng.gen_range(0..WORKSPACES)].clone()),
            _ => {}
        }
        let t = Instant::now();
        let rows = cache.users(&filter).await.expect("search");
        search.push(ms(t));
        by_kind[i % 4].push(ms(t));
        matched += rows.total;
    }
    eprintln!("searches matched {} users on average", matched / 400);
    for (kind, samples) in ["role", "status", "workspace", "text only"]
        .iter()
        .zip(&mut by_kind)
    {
        eprintln!(
            "search with {kind}: p50 {:.2} ms, p99 {:.2} ms",
            percentile(samples, 0.5),
            percentile(samples, 0.99)
        );
    }

    let mut chart = Vec::new();
    let filter = UsageFilter {
        from: today - Duration::days(DAYS - 1),
        to: today,
        group_by: UsageGroupBy::User,
        top: 10,
        user_id: None,
        group_id: None,
        model_id: None,
        workspace_id: None,
        key_id: None,
    };
    for _ in 0..100 {
        let t = Instant::now();
        let c = cache.usage_chart(&filter).await.expect("chart");
        chart.push(ms(t));
        assert_eq!(c.series.len(), 11);
        assert_eq!(c.days.len(), DAYS as usize);
    }

    println!(
        "BENCH desktop_search_p50_ms {:.2} ms",
        percentile(&mut search, 0.5)
    );
    println!(
        "BENCH desktop_search_p99_ms {:.2} ms",
        percentile(&mut search, 0.99)
    );
    println!(
        "BENCH desktop_chart_query_p99_ms {:.2} ms",
        percentile(&mut chart, 0.99)
    );

    // What the console waits for at its start: the first page of the users table from a cache
    // opened afresh (nothing of it in memory yet), in its default order.
    drop(cache);
    let (mut first_page, mut first_search) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let cache = Cache::open(&dir.path().join("cache.sqlite"), seal.clone())
            .await
            .expect("cache");
        let t = Instant::now();
        let rows = cache
            .users(&UserFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .expect("first page");
        first_page.push(ms(t));
        assert_eq!(rows.rows.len(), 100);
        // A search right after: it waits for the in-memory index, which the first page
        // started building. Timed, like the page, from the moment the cache was opened.
        let found = cache
            .users(&UserFilter {
                query: "ka".into(),
                limit: 100,
                ..Default::default()
            })
            .await
            .expect("first search");
        first_search.push(ms(t));
        assert!(found.total > 0);
    }
    println!(
        "BENCH desktop_first_page_cold_ms {:.0} ms",
        percentile(&mut first_page, 0.5)
    );
    println!(
        "BENCH desktop_first_search_cold_ms {:.0} ms",
        percentile(&mut first_search, 0.5)
    );
    if std::env::var_os("GATEHOUSE_BENCH_KEEP").is_some() {
        eprintln!("kept the cache in {}", dir.keep().display());
        return;
    }
}
