//! The demo organisation: realistic people, roles, statuses and workspaces, the same on every
//! machine (a seeded generator), so that a fresh install shows a full console.

use chrono::{Duration, Utc};
use gatehouse_api::{Role, Secret, UserStatus};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::{self, Db};
use crate::{auth, org, users, workspaces};

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
    tx.commit().await?;
    Ok(token)
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
