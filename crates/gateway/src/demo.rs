//! The demo organisation: realistic people, roles, statuses and workspaces, the same on every
//! machine (a seeded generator), so that a fresh install shows a full console.

use chrono::{Datelike, Duration, Timelike, Utc};
use gatehouse_api::{ModelCreate, Provider, Role, Secret, UserStatus};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::{self, Db, Tx, next_revision};
use crate::{auth, models, org, usage, users, workspaces};

pub const DEMO_ORG: &str = "Northwind Labs";
pub const DEMO_ADMIN_EMAIL: &str = "avery.quinn@northwind.example";
pub const DEMO_USERS: usize = 64;

const FIRST: [&str; 40] = [
    "Avery", "Maya", "Jonas", "Priya", "Lucas", "Amara", "Theo", "Sofia", "Kenji", "Leila",
    "Mateo", "Hannah", "Omar", "Ingrid", "Diego", "Chloe", "Ravi", "Nora", "Felix", "Aisha",
    "Elena", "Samuel", "Yuki", "Tomás", "Grace", "Malik", "Freya", "Arjun", "Zoe", "Emeka",
    "Clara", "Bruno", "Mei", "Oskar", "Fatima", "Liam", "Isabel", "Nikolai", "Ana", "Daniel",
];
const LAST: [&str; 40] = [
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
    "Fernández",
    "Larsen",
    "Chen",
    "Dubois",
    "Mensah",
    "O'Brien",
    "Silva",
    "Novak",
    "Ahmed",
    "Johansson",
    "García",
    "Müller",
    "Singh",
    "Kim",
    "Moreau",
    "Costa",
    "Ivanova",
    "Walsh",
    "Tanaka",
    "Hughes",
    "Rahman",
    "Eriksen",
    "Lopez",
    "Baker",
    "Yilmaz",
    "Adeyemi",
    "Fischer",
    "Nguyen",
    "Murphy",
    "Santos",
];
const WORKSPACES: [(&str, &str); 4] = [
    ("Research", "research"),
    ("Platform", "platform"),
    ("Support", "support"),
    ("Marketing", "marketing"),
];

/// A plausibility check, not RFC 5322: one `@`, something before it, a dot after it.
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

fn slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'á' | 'à' => Some('a'),
            'é' => Some('e'),
            'í' => Some('i'),
            'ó' => Some('o'),
            'ú' | 'ü' => Some('u'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Seeds the demo organisation into an empty database and returns its first admin's token.
pub async fn seed(db: &Db) -> anyhow::Result<Secret> {
    let token = crate::init(db, DEMO_ORG, DEMO_ADMIN_EMAIL, 100).await?;
    let mut rng = StdRng::seed_from_u64(0x6a7e_4005e);
    let mut tx = db.begin_write().await?;
    // The admin made by init gets the demo admin's full name.
    sqlx::query("UPDATE users SET first_name = 'Avery', last_name = 'Quinn', search_text = $1 WHERE email = $2")
        .bind(format!("avery quinn {DEMO_ADMIN_EMAIL}"))
        .bind(DEMO_ADMIN_EMAIL)
        .execute(&mut *tx)
        .await?;
    let admin_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(DEMO_ADMIN_EMAIL)
        .fetch_one(&mut *tx)
        .await?;
    let mut workspace_ids = Vec::new();
    for (name, slug) in WORKSPACES {
        let id = workspaces::insert(&mut tx, name, slug).await?;
        workspaces::put_member(&mut tx, &id, &admin_id, Role::Admin).await?;
        workspace_ids.push(id);
    }
    let now = Utc::now();
    let mut taken = std::collections::HashSet::from([DEMO_ADMIN_EMAIL.to_owned()]);
    let mut made = 1;
    while made < DEMO_USERS {
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        let email = format!("{}.{}@northwind.example", slug(first), slug(last));
        if !taken.insert(email.clone()) {
            continue;
        }
        let role = match made {
            1..=2 => Role::Admin,
            3..=6 => Role::Operator,
            7..=9 => Role::Auditor,
            _ => Role::Member,
        };
        let status = match made % 16 {
            5 => UserStatus::Pending,
            11 => UserStatus::Suspended,
            _ => UserStatus::Active,
        };
        let created =
            now - Duration::days(rng.gen_range(2..400)) - Duration::minutes(rng.gen_range(0..1440));
        let last_active = (status == UserStatus::Active)
            .then(|| db::timestamp(now - Duration::minutes(rng.gen_range(1..60 * 24 * 14))));
        let count = rng.gen_range(1..=2);
        let start = rng.gen_range(0..workspace_ids.len());
        let ws = (0..count)
            .map(|i| workspace_ids[(start + i) % workspace_ids.len()].clone())
            .collect();
        users::insert(
            &mut tx,
            &users::NewUser {
                email,
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                role,
                status,
                workspace_ids: ws,
                password_hash: None,
                created_at: db::timestamp(created),
                last_active_at: last_active,
            },
        )
        .await?;
        made += 1;
    }
    seed_models_and_usage(&mut tx, &admin_id, &mut rng).await?;
    seed_groups_and_invitations(&mut tx, &admin_id, &mut rng).await?;
    tx.commit().await?;
    Ok(token)
}

/// name, description, models, (rpm, input/min, output/min, concurrent), (daily, monthly) USD,
/// how many members.
type DemoGroup = (
    &'static str,
    &'static str,
    &'static [&'static str],
    [Option<i64>; 4],
    (Option<f64>, Option<f64>),
    usize,
);

/// Groups with members, a manager, grants, limits and budgets, and invitations in every state,
/// so that each screen of the console has something to show.
async fn seed_groups_and_invitations(
    tx: &mut Tx,
    admin_id: &str,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let members: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'member' AND status = 'active' ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?;
    let groups: [DemoGroup; 3] = [
        (
            "Interns",
            "Summer interns: small models, tight limits",
            &["gpt-4o-mini", "echo"],
            [Some(30), Some(50_000), Some(10_000), Some(2)],
            (Some(2.0), Some(30.0)),
            8,
        ),
        (
            "Data science",
            "Model evaluation and analytics",
            &["gpt-4o", "gpt-4.1", "gpt-4o-mini", "o3-mini"],
            [Some(120), Some(400_000), Some(100_000), Some(8)],
            (None, Some(500.0)),
            6,
        ),
        (
            "Support agents",
            "Drafting replies to customers",
            &["gpt-4o-mini"],
            [Some(60), None, None, Some(4)],
            (Some(10.0), Some(150.0)),
            6,
        ),
    ];
    let mut next = 0;
    for (name, description, models, limits, (daily, monthly), count) in groups {
        let group = crate::groups::insert(tx, name, description).await?;
        for (i, user) in members.iter().skip(next).take(count).enumerate() {
            let revision = next_revision(tx).await?;
            sqlx::query("INSERT INTO group_members (group_id, user_id, role, revision) VALUES ($1, $2, $3, $4)")
                .bind(&group)
                .bind(user)
                .bind(if i == 0 { "manager" } else { "member" })
                .bind(revision)
                .execute(&mut **tx)
                .await?;
        }
        next += count;
        for model in models {
            let revision = next_revision(tx).await?;
            sqlx::query(
                "INSERT INTO grants (subject_kind, subject_id, model_id, created_at, revision) \
                 VALUES ('group', $1, $2, $3, $4)",
            )
            .bind(&group)
            .bind(*model)
            .bind(db::now())
            .bind(revision)
            .execute(&mut **tx)
            .await?;
        }
        let revision = next_revision(tx).await?;
        sqlx::query(
            "INSERT INTO limits (subject_kind, subject_id, requests_per_min, input_tokens_per_min, \
             output_tokens_per_min, max_concurrent, revision) VALUES ('group', $1, $2, $3, $4, $5, $6)",
        )
        .bind(&group)
        .bind(limits[0])
        .bind(limits[1])
        .bind(limits[2])
        .bind(limits[3])
        .bind(revision)
        .execute(&mut **tx)
        .await?;
        let revision = next_revision(tx).await?;
        sqlx::query(
            "INSERT INTO budgets (subject_kind, subject_id, daily_micros, weekly_micros, monthly_micros, \
             alert_thresholds, revision) VALUES ('group', $1, $2, NULL, $3, '[50,80,100]', $4)",
        )
        .bind(&group)
        .bind(daily.map(crate::policy::micros))
        .bind(monthly.map(crate::policy::micros))
        .bind(revision)
        .execute(&mut **tx)
        .await?;
    }

    // Invitations: pending (one restricted to Google, one to a Microsoft tenant), expired, revoked.
    let now = Utc::now();
    let invitations = [
        (
            "jordan.lee@northwind.example",
            "Jordan",
            "Lee",
            "any",
            None,
            "pending",
            1,
        ),
        (
            "sam.rivera@northwind.example",
            "Sam",
            "Rivera",
            "google",
            None,
            "pending",
            3,
        ),
        (
            "kai.moreno@northwind.example",
            "Kai",
            "Moreno",
            "microsoft",
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47"),
            "pending",
            6,
        ),
        (
            "robin.ito@northwind.example",
            "Robin",
            "Ito",
            "any",
            None,
            "pending",
            12,
        ),
        (
            "alex.novak@northwind.example",
            "Alex",
            "Novak",
            "any",
            None,
            "expired",
            20,
        ),
        (
            "drew.park@northwind.example",
            "Drew",
            "Park",
            "any",
            None,
            "revoked",
            4,
        ),
    ];
    let workspace: String = sqlx::query_scalar("SELECT id FROM workspaces ORDER BY id LIMIT 1")
        .fetch_one(&mut **tx)
        .await?;
    for (email, first, last, provider, tenant, state, days_ago) in invitations {
        let (token, hash) = auth::new_secret("");
        let sent = now - Duration::days(days_ago) - Duration::minutes(rng.gen_range(0..600));
        let expires = if state == "expired" {
            now - Duration::days(1)
        } else {
            sent + Duration::days(14)
        };
        let revision = next_revision(tx).await?;
        sqlx::query(
            "INSERT INTO invitations (id, email, first_name, last_name, role, workspace_ids, identity_provider, \
             tenant_id, notification_email, token, token_hash, status, invited_by, created_at, sent_at, expires_at, \
             revision) VALUES ($1, $2, $3, $4, 'member', $5, $6, $7, NULL, $8, $9, $10, $11, $12, $12, $13, $14)",
        )
        .bind(crate::new_id("inv"))
        .bind(email)
        .bind(first)
        .bind(last)
        .bind(serde_json::to_string(&[&workspace]).expect("ids serialize"))
        .bind(provider)
        .bind(tenant)
        .bind(token.expose().to_owned())
        .bind(hash)
        .bind(if state == "revoked" { "revoked" } else { "pending" })
        .bind(admin_id)
        .bind(db::timestamp(sent))
        .bind(db::timestamp(expires))
        .bind(revision)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The demo catalog: id, display name, provider, USD per million input and output tokens, and
/// a typical request's input and output tokens.
const DEMO_MODELS: [(&str, &str, Provider, f64, f64, i64, i64); 5] = [
    ("gpt-4o", "GPT-4o", Provider::Openai, 2.50, 10.00, 2400, 550),
    (
        "gpt-4o-mini",
        "GPT-4o mini",
        Provider::Openai,
        0.15,
        0.60,
        1500,
        400,
    ),
    (
        "gpt-4.1",
        "GPT-4.1",
        Provider::Openai,
        2.00,
        8.00,
        5200,
        900,
    ),
    (
        "o3-mini",
        "o3-mini (reasoning)",
        Provider::Openai,
        1.10,
        4.40,
        1800,
        2600,
    ),
    (
        "echo",
        "Echo (built-in test model)",
        Provider::Echo,
        0.0,
        0.0,
        300,
        300,
    ),
];

/// Days of usage history in the demo, today included.
pub const DEMO_USAGE_DAYS: i64 = 90;

/// Never called: the demo's OpenAI-provider models only need a well-formed upstream.
const DEMO_UPSTREAM: &str = "http://127.0.0.1:9/v1";

/// The model catalog and 90 days of daily usage, so that the charts have a shape: busier
/// weekdays, quiet weekends, slowly growing adoption, a few heavy users and many light ones,
/// each with a couple of favourite models spread over their workspaces.
async fn seed_models_and_usage(
    tx: &mut db::Tx,
    admin_id: &str,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    for (id, name, provider, input, output, _, _) in DEMO_MODELS {
        let upstream = (provider == Provider::Openai).then(|| DEMO_UPSTREAM.to_owned());
        models::insert(
            tx,
            &ModelCreate {
                id: id.to_owned(),
                display_name: name.to_owned(),
                provider,
                upstream_base_url: upstream,
                input_usd_per_mtok: input,
                output_usd_per_mtok: output,
            },
            Some(admin_id),
        )
        .await
        .map_err(|e| anyhow::anyhow!("seeding model {id}: {e}"))?;
    }

    let people: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, status, created_at FROM users ORDER BY id")
            .fetch_all(&mut **tx)
            .await?;
    let memberships: Vec<(String, String)> = sqlx::query_as(
        "SELECT user_id, workspace_id FROM memberships ORDER BY user_id, workspace_id",
    )
    .fetch_all(&mut **tx)
    .await?;
    let tz = usage::org_time_zone(tx).await?;
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let first_day = today - Duration::days(DEMO_USAGE_DAYS - 1);
    // Today is still under way: it gets the share of the day that has passed, and a little even
    // just after midnight so that the history always reaches today.
    let today_share =
        (f64::from(now.with_timezone(&tz).time().num_seconds_from_midnight()) / 86_400.0).max(0.1);

    let mut rows = Vec::new();
    for (user_id, status, created_at) in people {
        let status = UserStatus::parse(&status);
        if status == Some(UserStatus::Pending) {
            continue;
        }
        let workspaces: Vec<&str> = memberships
            .iter()
            .filter(|(u, _)| *u == user_id)
            .map(|(_, w)| w.as_str())
            .collect();
        // Requests on a busy weekday, and how often the user shows up at all.
        let (daily_requests, presence) = match rng.gen_range(0..100) {
            0..=11 => (rng.gen_range(150.0..400.0), 0.95),
            12..=59 => (rng.gen_range(30.0..120.0), 0.85),
            _ => (rng.gen_range(2.0..25.0), 0.45),
        };
        let favourites = favourite_models(rng);
        let start = db::parse_timestamp(&created_at)
            .with_timezone(&tz)
            .date_naive()
            .max(first_day);
        // A suspended account stopped some weeks ago.
        let end = match status {
            Some(UserStatus::Suspended) => today - Duration::days(rng.gen_range(7..45)),
            _ => today,
        };
        let mut day = start;
        while day <= end {
            let weekend = day.weekday().number_from_monday() >= 6;
            let present = if weekend { presence * 0.2 } else { presence };
            if rng.gen_bool(present) {
                let age = (day - first_day).num_days() as f64 / DEMO_USAGE_DAYS as f64;
                let mut expected = daily_requests * (0.7 + 0.4 * age) * rng.gen_range(0.55..1.45);
                if weekend {
                    expected *= 0.3;
                }
                if day == today {
                    expected *= today_share;
                }
                for &(model, share) in &favourites {
                    let requests = (expected * share).round() as i64;
                    if requests == 0 {
                        continue;
                    }
                    let (_, _, _, price_in, price_out, tokens_in, tokens_out) = DEMO_MODELS[model];
                    let input = requests * tokens_in * rng.gen_range(70..130) / 100;
                    let output = requests * tokens_out * rng.gen_range(70..130) / 100;
                    // Most work happens in the first workspace; the rest is spread out.
                    let workspace = match workspaces.len() {
                        0 => "",
                        n if rng.gen_bool(0.75) || n == 1 => workspaces[0],
                        n => workspaces[rng.gen_range(1..n)],
                    };
                    rows.push(usage::DailyRow {
                        day,
                        user_id: user_id.clone(),
                        model_id: DEMO_MODELS[model].0.to_owned(),
                        workspace_id: workspace.to_owned(),
                        requests,
                        input_tokens: input,
                        output_tokens: output,
                        cost_micros: usage::cost_micros(input, output, price_in, price_out),
                    });
                }
            }
            day += Duration::days(1);
        }
    }
    usage::add_daily(tx, &rows).await?;
    Ok(())
}

/// One to three models (indexes into `DEMO_MODELS`) and the share of requests each gets.
fn favourite_models(rng: &mut StdRng) -> Vec<(usize, f64)> {
    // Weights of the paid models by popularity; echo is what the platform team tests with.
    const POPULARITY: [u32; 5] = [30, 40, 15, 12, 3];
    let count = rng.gen_range(1..=3);
    let mut picked: Vec<usize> = Vec::new();
    while picked.len() < count {
        let mut roll = rng.gen_range(0..POPULARITY.iter().sum::<u32>());
        let mut model = 0;
        while roll >= POPULARITY[model] {
            roll -= POPULARITY[model];
            model += 1;
        }
        if !picked.contains(&model) {
            picked.push(model);
        }
    }
    // The first favourite takes the lion's share.
    let weights: Vec<f64> = (0..count).map(|i| 1.0 / (1.0 + 2.0 * i as f64)).collect();
    let total: f64 = weights.iter().sum();
    picked
        .into_iter()
        .zip(weights)
        .map(|(m, w)| (m, w / total))
        .collect()
}

/// Seeds the demo organisation if `db` has none yet, and returns a fresh token for its admin.
pub async fn open(db: &Db, token_name: &str) -> anyhow::Result<Secret> {
    if org::get(&db.pool).await?.is_none() {
        return seed(db).await;
    }
    let admin: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(DEMO_ADMIN_EMAIL)
        .fetch_optional(&db.pool)
        .await?;
    let admin = admin.ok_or_else(|| anyhow::anyhow!("this database holds no demo organisation"))?;
    let mut tx = db.begin_write().await?;
    let token = auth::issue_token(&mut tx, &admin, token_name).await?;
    tx.commit().await?;
    Ok(token)
}
