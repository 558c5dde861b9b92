//! The demo organisation: realistic people, roles, statuses and workspaces, the same on every
//! machine (a seeded generator), so that a fresh install shows a full console.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use gatehouse_api::{
    Budget, BudgetPeriod, GroupRole, Limits, ModelCreate, Provider, Role, Secret, SubjectKind,
    UserStatus,
};
use gatehouse_store::{policy, seeds};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::dataplane::{Replay, UpstreamNets};
use crate::db::{self, Db, Tx, next_revision};
use crate::invite_key::InviteKey;
use crate::{auth, keys, models, org, periods, usage, users, workspaces};

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
///
/// Its usage history is made the way real usage is: each user has an API key, and 90 days of
/// their requests go through the data plane's own steps ([`Replay`]: key, status, grant, limits,
/// the `echo` provider, metering) at the times they were made, in one transaction. What the
/// admins set up after that history (the groups' limits and budgets, the suspensions) is set
/// last, so the history passes as it would have. The invitations' tokens are sealed under `key`,
/// which must be the key of the gateway that serves `db` for their links to show.
pub async fn seed(db: &Db, key: &InviteKey) -> anyhow::Result<Secret> {
    let token = crate::init(db, DEMO_ORG, DEMO_ADMIN_EMAIL, 100).await?;
    let mut rng = StdRng::seed_from_u64(0x6a7e_4005e);
    let mut tx = db.begin_write().await?;
    // The admin made by init gets the demo admin's full name, and has run the gateway for
    // longer than anyone has used it.
    seeds::set_name_and_created(
        &mut tx,
        DEMO_ADMIN_EMAIL,
        "Avery",
        "Quinn",
        Utc::now() - Duration::days(420),
    )
    .await?;
    let admin_id = gatehouse_store::users::id_by_email(&mut *tx, DEMO_ADMIN_EMAIL)
        .await?
        .ok_or_else(|| anyhow::anyhow!("init made no {DEMO_ADMIN_EMAIL}"))?;
    let mut workspace_ids = Vec::new();
    for (name, slug) in WORKSPACES {
        let id = workspaces::insert(&mut tx, name, slug).await?;
        workspaces::put_member(&mut tx, &id, &admin_id, Role::Admin).await?;
        workspace_ids.push(id);
    }
    let now = Utc::now();
    let mut taken = std::collections::HashSet::from([DEMO_ADMIN_EMAIL.to_owned()]);
    // Suspended at the end: until then they used the gateway like anyone.
    let mut to_suspend = Vec::new();
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
        let id = users::insert(
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
        if made % 16 == 11 {
            to_suspend.push(id);
        }
        made += 1;
    }
    seed_models(&mut tx, &admin_id).await?;
    let groups = seed_groups(&mut tx).await?;
    let history = plan_history(&mut tx, &groups, &to_suspend).await?;
    seed_invitations(&mut tx, key, &admin_id, &mut rng).await?;
    tx.commit().await?;

    replay_history(db, history).await?;

    let mut tx = db.begin_write().await?;
    seed_group_policies(&mut tx, &groups).await?;
    for id in &to_suspend {
        let revision = next_revision(&mut tx).await?;
        seeds::suspend(&mut tx, id, revision).await?;
    }
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

const DEMO_GROUPS: [DemoGroup; 3] = [
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
        (None, Some(150.0)),
        6,
    ),
    (
        "Support agents",
        "Drafting replies to customers",
        &["gpt-4o-mini"],
        [Some(60), None, None, Some(4)],
        (Some(5.0), Some(60.0)),
        6,
    ),
];

/// A demo group as made: its id, its models (indexes into `DEMO_MODELS`) and its members.
struct SeededGroup {
    id: String,
    models: Vec<usize>,
    members: Vec<String>,
}

/// The groups with their members (one a manager) and grants; their limits and budgets come
/// after the history (`seed_group_policies`).
async fn seed_groups(tx: &mut Tx) -> anyhow::Result<Vec<SeededGroup>> {
    let members = seeds::active_members(tx).await?;
    let mut seeded = Vec::new();
    let mut next = 0;
    for (name, description, models, _, _, count) in DEMO_GROUPS {
        let group = crate::groups::insert(tx, name, description).await?;
        let chosen: Vec<String> = members.iter().skip(next).take(count).cloned().collect();
        for (i, user) in chosen.iter().enumerate() {
            let role = if i == 0 {
                GroupRole::Manager
            } else {
                GroupRole::Member
            };
            gatehouse_store::groups::put_member(tx, &group, user, role).await?;
        }
        next += count;
        for model in models {
            grant(tx, SubjectKind::Group, &group, model).await?;
        }
        seeded.push(SeededGroup {
            id: group,
            models: models
                .iter()
                .filter_map(|m| DEMO_MODELS.iter().position(|d| d.0 == *m))
                .collect(),
            members: chosen,
        });
    }
    Ok(seeded)
}

async fn grant(tx: &mut Tx, kind: SubjectKind, subject: &str, model: &str) -> anyhow::Result<()> {
    let revision = next_revision(tx).await?;
    policy::put_grant(tx, kind, subject, model, None, revision).await?;
    Ok(())
}

/// The groups' rate limits and budgets.
async fn seed_group_policies(tx: &mut Tx, groups: &[SeededGroup]) -> anyhow::Result<()> {
    for (group, (_, _, _, limits, (daily, monthly), _)) in groups.iter().zip(DEMO_GROUPS) {
        let limits = Limits {
            requests_per_min: limits[0],
            input_tokens_per_min: limits[1],
            output_tokens_per_min: limits[2],
            max_concurrent: limits[3],
        };
        let revision = next_revision(tx).await?;
        policy::put_limits(tx, SubjectKind::Group, &group.id, &limits, revision).await?;
        let budget = Budget {
            daily_usd: daily,
            weekly_usd: None,
            monthly_usd: monthly,
            alert_thresholds: vec![50, 80, 100],
        };
        let revision = next_revision(tx).await?;
        policy::put_budget(tx, SubjectKind::Group, &group.id, &budget, revision).await?;
    }
    Ok(())
}

/// Invitations in every state: pending (one restricted to Google, one to a Microsoft tenant),
/// expired, revoked.
async fn seed_invitations(
    tx: &mut Tx,
    key: &InviteKey,
    admin_id: &str,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
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
    let workspace = seeds::first_workspace(tx).await?;
    for (email, first, last, provider, tenant, state, days_ago) in invitations {
        let (token, hash) = auth::new_secret("");
        let sent = now - Duration::days(days_ago) - Duration::minutes(rng.gen_range(0..600));
        let expires = if state == "expired" {
            now - Duration::days(1)
        } else {
            sent + Duration::days(14)
        };
        let revision = next_revision(tx).await?;
        seeds::insert_past_invitation(
            tx,
            &seeds::PastInvitation {
                email,
                first_name: first,
                last_name: last,
                workspace_id: &workspace,
                identity_provider: provider,
                tenant_id: tenant,
                token_sealed: key.seal(&token),
                token_hash: hash,
                status: if state == "revoked" {
                    "revoked"
                } else {
                    "pending"
                },
                invited_by: admin_id,
                sent_at: sent,
                expires_at: expires,
            },
            revision,
        )
        .await?;
    }
    Ok(())
}

/// The demo catalog: id, display name, USD per million input and output tokens, and a typical
/// request's input and output tokens. Every model is served by the built-in `echo` provider with
/// the prices of the model it stands for, so that the demo gateway answers on any machine,
/// offline, and costs what the real ones would.
const DEMO_MODELS: [(&str, &str, f64, f64, i64, i64); 5] = [
    ("gpt-4o", "GPT-4o (demo: echo)", 2.50, 10.00, 4000, 800),
    (
        "gpt-4o-mini",
        "GPT-4o mini (demo: echo)",
        0.15,
        0.60,
        2500,
        500,
    ),
    ("gpt-4.1", "GPT-4.1 (demo: echo)", 2.00, 8.00, 8000, 1200),
    ("o3-mini", "o3-mini (demo: echo)", 1.10, 4.40, 4000, 2000),
    ("echo", "Echo (built-in test model)", 0.0, 0.0, 300, 200),
];

/// Days of usage history in the demo, today included.
pub const DEMO_USAGE_DAYS: i64 = 90;

async fn seed_models(tx: &mut Tx, admin_id: &str) -> anyhow::Result<()> {
    for (id, name, input, output, _, _) in DEMO_MODELS {
        models::insert(
            tx,
            &ModelCreate {
                id: id.to_owned(),
                display_name: name.to_owned(),
                provider: Provider::Echo,
                upstream_base_url: None,
                input_usd_per_mtok: input,
                output_usd_per_mtok: output,
            },
            // Echo models call no upstream.
            &UpstreamNets::default(),
            Some(admin_id),
        )
        .await
        .map_err(|e| anyhow::anyhow!("seeding model {id}: {e}"))?;
    }
    Ok(())
}

/// One request of the demo's history.
struct Planned {
    at: DateTime<Utc>,
    /// Index into the history's keys.
    key: usize,
    model: usize,
    workspace: Option<String>,
    input_tokens: i64,
    output_tokens: i64,
}

struct History {
    keys: Vec<Secret>,
    requests: Vec<Planned>,
}

/// FNV-1a: a hash that is the same on every machine and Rust version.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `requests` as a whole number: its integer part, and one more with the probability of its
/// fraction, so that light users still show up now and then.
fn whole(rng: &mut StdRng, requests: f64) -> i64 {
    let floor = requests.floor();
    floor as i64 + i64::from(rng.gen_bool((requests - floor).clamp(0.0, 1.0)))
}

/// An instant on local `day` in `tz`, mostly in working hours; on today, before `now`.
fn time_on(rng: &mut StdRng, day: NaiveDate, tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = periods::bounds(BudgetPeriod::Daily, now, tz).0;
    let midnight = |d: NaiveDate| periods::bounds(BudgetPeriod::Daily, noon(d, tz), tz).0;
    let (from, to) = (midnight(day), midnight(day + Duration::days(1)).min(now));
    let span = (to - from).num_seconds().max(1);
    let working = if today > from {
        let hour = if rng.gen_bool(0.8) {
            rng.gen_range(9..18)
        } else {
            rng.gen_range(7..23)
        };
        (hour * 3600 + rng.gen_range(0..3600)).min(span - 1)
    } else {
        rng.gen_range(0..span)
    };
    from + Duration::seconds(working)
}

/// Noon of local `day` in `tz`.
fn noon(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let noon = day.and_hms_opt(12, 0, 0).expect("noon exists");
    tz.from_local_datetime(&noon)
        .earliest()
        .map_or_else(|| noon.and_utc(), |t| t.with_timezone(&Utc))
}

/// Each user's key, grants and 90 days of requests: busier weekdays, quiet weekends, slowly
/// growing adoption, a few heavy users and many light ones, each with a couple of favourite
/// models (among their group's, for group members) spread over their workspaces.
async fn plan_history(
    tx: &mut Tx,
    groups: &[SeededGroup],
    suspended: &[String],
) -> anyhow::Result<History> {
    let people = seeds::people(tx).await?;
    let memberships = seeds::memberships(tx).await?;
    let tz = usage::org_time_zone(tx).await?;
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let first_day = today - Duration::days(DEMO_USAGE_DAYS - 1);
    let corpus_len = corpus().len();

    let mut history = History {
        keys: Vec::new(),
        requests: Vec::new(),
    };
    for (user_id, status, created_at, email) in people {
        if UserStatus::parse(&status) == Some(UserStatus::Pending) {
            continue;
        }
        // A generator per person, so that each one's habits are the same whatever the day
        // and hour the demo is seeded at.
        let rng = &mut StdRng::seed_from_u64(fnv1a(email.as_bytes()));
        let (_, secret) = keys::insert(tx, &user_id, "laptop", &user_id).await?;
        let key = history.keys.len();
        history.keys.push(secret);
        let group = groups.iter().find(|g| g.members.contains(&user_id));
        let favourites = favourite_models(rng, group.map(|g| g.models.as_slice()));
        if group.is_none() {
            for &(model, _) in &favourites {
                grant(tx, SubjectKind::User, &user_id, DEMO_MODELS[model].0).await?;
            }
        }
        let workspaces: Vec<&str> = memberships
            .iter()
            .filter(|(u, _)| *u == user_id)
            .map(|(_, w)| w.as_str())
            .collect();
        // Requests on a busy weekday, and how often the user shows up at all.
        let (daily_requests, presence) = match rng.gen_range(0..100) {
            0..=11 => (rng.gen_range(12.0..30.0), 0.95),
            12..=59 => (rng.gen_range(2.5..9.0), 0.85),
            _ => (rng.gen_range(0.3..2.0), 0.45),
        };
        // The admin who runs the gateway tries something every day, weekends included, so
        // that no day of the history is empty whatever day it is seeded on.
        let every_day = email == DEMO_ADMIN_EMAIL;
        let start = db::parse_timestamp(&created_at)
            .with_timezone(&tz)
            .date_naive()
            .max(first_day);
        // A suspended account stopped some weeks ago.
        let end = if suspended.contains(&user_id) {
            today - Duration::days(rng.gen_range(7..45))
        } else {
            today
        };
        let mut day = start;
        while day <= end {
            let weekend = day.weekday().number_from_monday() >= 6;
            let present = if weekend { presence * 0.2 } else { presence };
            if rng.gen_bool(present) || every_day {
                let age = (day - first_day).num_days() as f64 / DEMO_USAGE_DAYS as f64;
                let mut expected = daily_requests * (0.7 + 0.4 * age) * rng.gen_range(0.55..1.45);
                if weekend {
                    expected *= 0.3;
                }
                for &(model, share) in &favourites {
                    let (_, _, _, _, tokens_in, tokens_out) = DEMO_MODELS[model];
                    for _ in 0..whole(rng, expected * share).max(i64::from(every_day)) {
                        // Most work happens in the first workspace; the rest is spread out.
                        let workspace = match workspaces.len() {
                            0 => None,
                            n if rng.gen_bool(0.75) || n == 1 => Some(workspaces[0]),
                            n => Some(workspaces[rng.gen_range(1..n)]),
                        };
                        let input_tokens = (tokens_in * rng.gen_range(70..130) / 100)
                            .min(corpus_len as i64 / 4 - 8);
                        history.requests.push(Planned {
                            at: time_on(rng, day, tz, now),
                            key,
                            model,
                            workspace: workspace.map(str::to_owned),
                            input_tokens,
                            output_tokens: (tokens_out * rng.gen_range(70..130) / 100)
                                .min(input_tokens),
                        });
                    }
                }
            }
            day += Duration::days(1);
        }
    }
    // Time order, as the gateway would have seen them; ties in a fixed order.
    history
        .requests
        .sort_by(|a, b| a.at.cmp(&b.at).then(a.key.cmp(&b.key)));
    Ok(history)
}

/// Plain words to make prompts of any length from.
fn corpus() -> &'static str {
    static CORPUS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        const WORDS: [&str; 16] = [
            "summarise",
            "the",
            "quarterly",
            "report",
            "and",
            "list",
            "customer",
            "questions",
            "about",
            "invoices",
            "shipping",
            "delays",
            "with",
            "a",
            "short",
            "reply",
        ];
        let mut rng = StdRng::seed_from_u64(7);
        let mut text = String::with_capacity(48_000);
        while text.len() < 44_000 {
            text.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
            text.push(' ');
        }
        text
    })
}

/// Sends the history through the data plane, a day at a time.
async fn replay_history(db: &Db, history: History) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let corpus = corpus();
    let mut tx = db.begin_write().await?;
    let (mut answered, mut refused) = (0usize, 0usize);
    {
        let mut replay = Replay::new(db, &mut tx);
        let mut day = None;
        for (i, r) in history.requests.iter().enumerate() {
            if day != Some(r.at.date_naive()) {
                replay.flush().await?;
                day = Some(r.at.date_naive());
            }
            // The message text makes the estimate the demo wants: four bytes a token, less
            // what a message costs besides its text.
            let bytes = usize::try_from((r.input_tokens - 7).max(1) * 4).unwrap_or(4);
            let offset = (i * 977) % (corpus.len() - bytes);
            let body = json!({
                "model": DEMO_MODELS[r.model].0,
                "messages": [{ "role": "user", "content": &corpus[offset..offset + bytes] }],
                "max_tokens": r.output_tokens,
            });
            match replay
                .chat(
                    history.keys[r.key].expose(),
                    body,
                    r.workspace.as_deref(),
                    r.at,
                )
                .await
            {
                Ok(_) => answered += 1,
                Err(e) => {
                    refused += 1;
                    tracing::debug!(code = e.code, "demo request refused");
                }
            }
        }
        replay.flush().await?;
    }
    tx.commit().await?;
    tracing::info!(
        answered,
        refused,
        took_ms = started.elapsed().as_millis() as u64,
        "demo history replayed through the data plane"
    );
    Ok(())
}

/// One to three models (indexes into `DEMO_MODELS`, among `allowed` when given) and the share
/// of requests each gets.
fn favourite_models(rng: &mut StdRng, allowed: Option<&[usize]>) -> Vec<(usize, f64)> {
    // Weights of the paid models by popularity; echo is what the platform team tests with.
    const POPULARITY: [u32; 5] = [30, 40, 15, 12, 3];
    let weight = |m: usize| match allowed {
        Some(models) if !models.contains(&m) => 0,
        _ => POPULARITY[m],
    };
    let available = (0..POPULARITY.len()).filter(|m| weight(*m) > 0).count();
    let count = rng.gen_range(1..=3).min(available);
    let total: u32 = (0..POPULARITY.len()).map(weight).sum();
    let mut picked: Vec<usize> = Vec::new();
    while picked.len() < count {
        let mut roll = rng.gen_range(0..total);
        let mut model = 0;
        while roll >= weight(model) {
            roll -= weight(model);
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
pub async fn open(db: &Db, token_name: &str, key: &InviteKey) -> anyhow::Result<Secret> {
    if org::get(&db.pool).await?.is_none() {
        return seed(db, key).await;
    }
    let admin = gatehouse_store::users::id_by_email(&db.pool, DEMO_ADMIN_EMAIL).await?;
    let admin = admin.ok_or_else(|| anyhow::anyhow!("this database holds no demo organisation"))?;
    let mut tx = db.begin_write().await?;
    let token = auth::issue_token(&mut tx, &admin, token_name).await?;
    tx.commit().await?;
    Ok(token)
}
