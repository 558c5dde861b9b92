//! Who a request is from and what applies to them, cached per API key secret: the key (its
//! expiry, model subset, own limits and budget, and when a rotated-out secret stops working),
//! its user's status, groups and workspaces, the models granted to them and the limits and
//! budget of the user and of each group. Building it takes a handful of queries; a cached key costs a request
//! no query. Triggers on every table this depends on bump `policy_epoch` in the same transaction
//! as the change; when the node sees it moved (at once after its own admin API's changes, within
//! a reconciliation interval after another node's) the whole cache is dropped, so a revoked key,
//! a suspended user or a new limit applies from the next request on.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use gatehouse_api::{Limits, Provider, SubjectKind, UserStatus};

use gatehouse_store::db::Db;
use gatehouse_store::models::{MODEL_COLUMNS, ModelRow};
use gatehouse_store::policy::{budget_of, limits_of};
use gatehouse_store::spend::Caps;

/// A user or one of their groups, with what it sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: String,
    /// `user:<id>`, `group:<id>` or `key:<id>`: the key of its rate window, leases and spend.
    pub key: String,
    /// How a refusal names it: `your`, `group <name>'s` or `API key <name>'s`.
    pub label: String,
    pub limits: Limits,
    pub caps: Caps,
}

impl Subject {
    /// Whether requests must pass through its rate window: any limit set. A concurrency limit
    /// needs the window too, as its row is what serialises the count of leases across nodes.
    pub fn has_limits(&self) -> bool {
        let l = &self.limits;
        l.requests_per_min.is_some()
            || l.input_tokens_per_min.is_some()
            || l.output_tokens_per_min.is_some()
            || l.max_concurrent.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub key_id: String,
    pub user_id: String,
    pub revoked: bool,
    /// From then on the key is refused as expired.
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when the secret this principal was found by is the one a rotation replaced: it is
    /// refused from then on.
    pub secret_valid_until: Option<DateTime<Utc>>,
    pub status: Option<UserStatus>,
    /// `(id, slug)` of each workspace the user belongs to.
    pub workspaces: Vec<(String, String)>,
    /// The models the request may use: the user's grants, narrowed by the key's subset.
    pub grants: HashSet<String>,
    /// The models granted to the user, to tell "not yours" from "not this key's".
    pub user_grants: HashSet<String>,
    /// The user first, then each group in id order, then the key.
    pub subjects: Vec<Subject>,
}

/// A model of the catalog as the data plane routes it.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    pub id: String,
    pub provider: Provider,
    pub upstream_base_url: Option<String>,
    /// Its `/chat/completions` URL once checked against the node's allowed ranges (none if the
    /// check refused it): parsed once per snapshot, not per request.
    pub upstream_endpoint: std::sync::OnceLock<Option<axum::http::Uri>>,
    pub input_usd_per_mtok: f64,
    pub output_usd_per_mtok: f64,
    pub created: DateTime<Utc>,
}

impl ModelEntry {
    /// The checked endpoint of its upstream (see `provider::send`), if it has one that passes.
    pub fn endpoint(&self, nets: &crate::UpstreamNets) -> Option<&axum::http::Uri> {
        self.upstream_endpoint
            .get_or_init(|| {
                let base = self.upstream_base_url.as_deref()?;
                nets.check_base_url(base)
                    .ok()
                    .and_then(crate::provider::endpoint)
                    .and_then(|url| url.as_str().parse().ok())
            })
            .as_ref()
    }
}

/// What a node knows as of one value of `policy_epoch`.
#[derive(Debug)]
pub struct Snapshot {
    pub epoch: i64,
    pub tz: Tz,
    pub models: HashMap<String, Arc<ModelEntry>>,
    principals: RwLock<HashMap<String, Arc<Principal>>>,
}

/// Past this many keys the cache starts over: a bound on memory, not an eviction policy.
const MAX_PRINCIPALS: usize = 50_000;

#[derive(Debug, Default)]
pub struct PrincipalCache {
    current: RwLock<Option<Arc<Snapshot>>>,
    rebuild: tokio::sync::Mutex<()>,
}

pub enum Lookup {
    Found(Arc<Principal>),
    /// The key belonged to an account that was deleted.
    Deleted,
    Unknown,
}

impl PrincipalCache {
    /// The snapshot in use, built first if there is none. The caller checks it against
    /// `policy_epoch` (read with what the request reads anyway) and [`refresh`]es it.
    pub async fn current(&self, db: &Db) -> Result<Arc<Snapshot>, sqlx::Error> {
        if let Some(s) = self.current.read().expect("cache lock").clone() {
            return Ok(s);
        }
        let epoch = gatehouse_store::counters::read_epoch(db).await?;
        self.refresh(db, epoch).await
    }

    /// A snapshot as of `epoch` or later, built unless another request just did.
    pub async fn refresh(&self, db: &Db, epoch: i64) -> Result<Arc<Snapshot>, sqlx::Error> {
        let _one = self.rebuild.lock().await;
        if let Some(s) = self
            .current
            .read()
            .expect("cache lock")
            .clone()
            .filter(|s| s.epoch >= epoch)
        {
            return Ok(s);
        }
        let fresh = Arc::new(load_snapshot(db, epoch).await?);
        *self.current.write().expect("cache lock") = Some(fresh.clone());
        Ok(fresh)
    }

    /// The principal of the key whose hash is `hash`, from `snapshot` or loaded into it.
    pub async fn principal(
        &self,
        db: &Db,
        snapshot: &Snapshot,
        hash: &str,
    ) -> Result<Lookup, sqlx::Error> {
        if let Some(p) = snapshot.principals.read().expect("cache lock").get(hash) {
            return Ok(Lookup::Found(p.clone()));
        }
        let Some(principal) = load_principal(db, hash).await? else {
            let retired: Option<String> =
                sqlx::query_scalar("SELECT user_id FROM retired_api_keys WHERE secret_hash = $1")
                    .bind(hash)
                    .fetch_optional(&db.pool)
                    .await?;
            return Ok(if retired.is_some() {
                Lookup::Deleted
            } else {
                Lookup::Unknown
            });
        };
        let principal = Arc::new(principal);
        let mut map = snapshot.principals.write().expect("cache lock");
        if map.len() >= MAX_PRINCIPALS {
            map.clear();
        }
        map.insert(hash.to_owned(), principal.clone());
        Ok(Lookup::Found(principal))
    }
}

async fn load_snapshot(db: &Db, epoch: i64) -> Result<Snapshot, sqlx::Error> {
    let mut tx = db.begin_read().await?;
    let tz = gatehouse_store::usage::org_time_zone(&mut tx).await?;
    let rows: Vec<ModelRow> = sqlx::query_as(&format!("SELECT {MODEL_COLUMNS} FROM models"))
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let models = rows
        .into_iter()
        .map(|r| {
            let m = r.into_api();
            (
                m.id.clone(),
                Arc::new(ModelEntry {
                    id: m.id,
                    provider: m.provider,
                    upstream_base_url: m.upstream_base_url,
                    upstream_endpoint: std::sync::OnceLock::new(),
                    input_usd_per_mtok: m.input_usd_per_mtok,
                    output_usd_per_mtok: m.output_usd_per_mtok,
                    created: m.created_at,
                }),
            )
        })
        .collect();
    Ok(Snapshot {
        epoch,
        tz,
        models,
        principals: RwLock::default(),
    })
}

type KeyRow = (String, String, Option<String>, String, Option<String>);

/// Reads everything about one key in one snapshot of the database.
async fn load_principal(db: &Db, hash: &str) -> Result<Option<Principal>, sqlx::Error> {
    let mut tx = db.begin_read().await?;
    // The secret is the key's current one or the one its last rotation replaced.
    let row: Option<KeyRow> = sqlx::query_as(
        "SELECT k.id, k.user_id, k.revoked_at, u.status, \
         CASE WHEN k.secret_hash = $1 THEN NULL ELSE k.previous_secret_expires_at END \
         FROM api_keys k JOIN users u ON u.id = k.user_id \
         WHERE k.secret_hash = $1 OR k.previous_secret_hash = $1",
    )
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((key_id, user_id, revoked_at, status, previous_until)) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let key_row = gatehouse_store::keys::find(&mut tx, &key_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?
        .into_api();
    let groups: Vec<(String, String)> = sqlx::query_as(
        "SELECT gm.group_id, g.name FROM group_members gm JOIN groups g ON g.id = gm.group_id \
         WHERE gm.user_id = $1 ORDER BY gm.group_id",
    )
    .bind(&user_id)
    .fetch_all(&mut *tx)
    .await?;
    let workspaces: Vec<(String, String)> = sqlx::query_as(
        "SELECT w.id, w.slug FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
         WHERE m.user_id = $1 ORDER BY w.id",
    )
    .bind(&user_id)
    .fetch_all(&mut *tx)
    .await?;
    let grants: Vec<String> = sqlx::query_scalar(
        "SELECT model_id FROM grants WHERE (subject_kind = 'user' AND subject_id = $1) \
         OR (subject_kind = 'group' AND subject_id IN \
         (SELECT group_id FROM group_members WHERE user_id = $1))",
    )
    .bind(&user_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut subjects = Vec::with_capacity(groups.len() + 2);
    let who = std::iter::once((SubjectKind::User, user_id.clone(), "your".to_owned())).chain(
        groups
            .into_iter()
            .map(|(g, name)| (SubjectKind::Group, g, format!("group {name:?}'s"))),
    );
    for (kind, id, label) in who {
        let (limits, _) = limits_of(&mut *tx, kind, &id).await?;
        let (budget, _) = budget_of(&mut *tx, kind, &id).await?;
        subjects.push(Subject {
            key: format!("{}:{id}", kind.as_str()),
            label,
            kind,
            id,
            limits,
            caps: Caps::of(&budget),
        });
    }
    tx.commit().await?;
    subjects.push(Subject {
        key: format!("key:{key_id}"),
        label: format!("API key {:?}'s", key_row.name),
        kind: SubjectKind::Key,
        id: key_id.clone(),
        limits: key_row.limits,
        caps: Caps::of(&key_row.budget),
    });
    let user_grants: HashSet<String> = grants.into_iter().collect();
    let grants = match &key_row.model_ids {
        Some(models) => user_grants
            .iter()
            .filter(|m| models.contains(m))
            .cloned()
            .collect(),
        None => user_grants.clone(),
    };
    Ok(Some(Principal {
        key_id,
        user_id,
        revoked: revoked_at.is_some(),
        expires_at: key_row.expires_at,
        secret_valid_until: previous_until
            .as_deref()
            .map(gatehouse_store::db::parse_timestamp),
        status: UserStatus::parse(&status),
        workspaces,
        grants,
        user_grants,
        subjects,
    }))
}
