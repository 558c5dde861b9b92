//! A large organisation, seeded fast for benchmarks and load tests (cargo feature `bench-seed`):
//! users in transactions of 10,000 and daily usage rows in multi-row upserts of 100,000 per
//! transaction. The same seed (a fixed RNG) gives the same organisation every time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDate;
use gatehouse_api::{Role, Secret, UserStatus};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::usage::{self, DailyRow};
use crate::{Db, db, users, workspaces};

/// How large an organisation to build.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub users: usize,
    /// Every key (day, user, model, workspace) is distinct: each user gets
    /// `usage_rows / users` (rounded up) day-and-model slots.
    pub usage_rows: usize,
}

/// The benchmark's organisation: 100,000 users and 1,000,000 daily usage rows.
pub const LARGE: Size = Size {
    users: 100_000,
    usage_rows: 1_000_000,
};

/// The e-mail of the admin [`build`] creates (with `init`).
pub const ADMIN_EMAIL: &str = "admin@bench.example";

const USERS_PER_TX: usize = 10_000;
const USAGE_ROWS_PER_TX: usize = 100_000;

const FIRST: [&str; 24] = [
    "Avery", "Maya", "Jonas", "Priya", "Lucas", "Amara", "Theo", "Sofia", "Kenji", "Leila",
    "Mateo", "Hannah", "Omar", "Ingrid", "Diego", "Chloe", "Ravi", "Nora", "Felix", "Aisha",
    "Elena", "Samuel", "Yuki", "Grace",
];
const LAST: [&str; 24] = [
    "Quinn",
    "Patel",
    "Berg",
    "Okafor",
    "Martins",
    "Nakamura",
    "Rossi",
    "Schmidt",
    "Haddad",
    "Kowalski",
    "Larsen",
    "Chen",
    "Dubois",
    "Mensah",
    "Silva",
    "Novak",
    "Ahmed",
    "Johansson",
    "Singh",
    "Kim",
    "Moreau",
    "Costa",
    "Walsh",
    "Tanaka",
];
const MODELS: [&str; 4] = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini"];

/// Builds the organisation in the empty database `db` (progress on stderr) and returns a
/// token of its admin.
pub async fn build(db: &Db, size: Size) -> anyhow::Result<Secret> {
    let Size {
        users: user_count,
        usage_rows,
    } = size;
    let admin = crate::init(db, "Bench Org", ADMIN_EMAIL, 10_000_000).await?;
    let mut rng = StdRng::seed_from_u64(7);
    let started = Instant::now();
    let mut tx = db.begin_write().await?;
    let mut workspace_ids = Vec::new();
    for name in [
        "Research",
        "Platform",
        "Support",
        "Marketing",
        "Sales",
        "Legal",
    ] {
        workspace_ids.push(workspaces::insert(&mut tx, name, &name.to_lowercase()).await?);
    }
    tx.commit().await?;
    let mut user_ids = Vec::with_capacity(user_count);
    for chunk in 0..user_count.div_ceil(USERS_PER_TX) {
        let mut tx = db.begin_write().await?;
        for i in chunk * USERS_PER_TX..((chunk + 1) * USERS_PER_TX).min(user_count) {
            let first = FIRST[rng.gen_range(0..FIRST.len())];
            let last = LAST[rng.gen_range(0..LAST.len())];
            let id = users::insert(
                &mut tx,
                &users::NewUser {
                    email: format!(
                        "{}.{}.{i}@bench.example",
                        first.to_lowercase(),
                        last.to_lowercase()
                    ),
                    first_name: first.to_owned(),
                    last_name: last.to_owned(),
                    role: if i % 50 == 0 {
                        Role::Operator
                    } else {
                        Role::Member
                    },
                    status: if i % 40 == 0 {
                        UserStatus::Suspended
                    } else {
                        UserStatus::Active
                    },
                    workspace_ids: vec![workspace_ids[i % workspace_ids.len()].clone()],
                    password_hash: None,
                    created_at: db::now(),
                    last_active_at: None,
                },
            )
            .await?;
            user_ids.push(id);
        }
        tx.commit().await?;
    }
    eprintln!(
        "{user_count} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let first_day = NaiveDate::from_ymd_opt(2025, 1, 1).context("a date")?;
    // Ten distinct (day, model) slots per user make every key unique.
    let slots = usage_rows.div_ceil(user_count);
    let mut rows = Vec::with_capacity(USAGE_ROWS_PER_TX);
    for k in 0..usage_rows {
        let (slot, user) = (k / user_count, k % user_count);
        let requests = rng.gen_range(1..300);
        let input = requests * rng.gen_range(500..4000);
        let output = requests * rng.gen_range(100..1200);
        rows.push(DailyRow {
            day: first_day + chrono::Duration::days((slot * 90 / slots) as i64),
            user_id: user_ids[user].clone(),
            model_id: MODELS[slot % MODELS.len()].to_owned(),
            workspace_id: workspace_ids[user % workspace_ids.len()].clone(),
            key_id: String::new(),
            requests,
            input_tokens: input,
            output_tokens: output,
            cost_micros: usage::cost_micros(input, output, 2.5, 10.0),
        });
        if rows.len() == USAGE_ROWS_PER_TX || k + 1 == usage_rows {
            let mut tx = db.begin_write().await?;
            usage::add_daily(&mut tx, &rows).await?;
            tx.commit().await?;
            rows.clear();
        }
    }
    eprintln!(
        "{usage_rows} usage rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Fresh statistics for the planner, as a long-running gateway would have.
    gatehouse_store::seeds::analyze(&db.pool).await?;
    Ok(admin)
}

/// The [`LARGE`] organisation in a SQLite file: the one the environment variable `keep` names,
/// kept for the next run, or else a new one in `dir`; opened or built by [`open_or_build`].
pub async fn open_large(keep: &str, dir: &Path) -> anyhow::Result<(Db, Secret)> {
    let path = std::env::var_os(keep)
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("bench.db"));
    let db = Db::connect(&format!("sqlite://{}", path.display())).await?;
    let token = open_or_build(&db, LARGE).await?;
    Ok((db, token))
}

/// The organisation [`build`] left in `db` on an earlier run (with a fresh admin token), or a new
/// one when `db` holds fewer usage rows than `size`: a kept database makes a rerun start at once.
pub async fn open_or_build(db: &Db, size: Size) -> anyhow::Result<Secret> {
    let built = gatehouse_store::seeds::usage_rows(&db.pool).await?;
    if built == 0 || (built as usize) < size.usage_rows {
        return build(db, size).await;
    }
    eprintln!("reusing a database with {built} usage rows");
    let admin = gatehouse_store::users::id_by_email(&db.pool, ADMIN_EMAIL)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the kept database has no {ADMIN_EMAIL}"))?;
    let mut tx = db.begin_write().await?;
    let token = crate::auth::issue_token(&mut tx, &admin, "bench").await?;
    tx.commit().await?;
    Ok(token)
}
