//! The model catalog as stored.

use gatehouse_api::{Model, ModelCreate, Provider, SyncChange, SyncKind};
use sqlx::FromRow;

use crate::db::{self, Tx};
use crate::sql::SqlText;

pub const MODEL_COLUMNS: &str = "id, display_name, provider, upstream_base_url, input_usd_per_mtok, output_usd_per_mtok, created_at, revision";

#[derive(Debug, FromRow)]
pub struct ModelRow {
    pub id: String,
    pub display_name: String,
    pub provider: String,
    pub upstream_base_url: Option<String>,
    pub input_usd_per_mtok: f64,
    pub output_usd_per_mtok: f64,
    pub created_at: String,
    pub revision: i64,
}

impl ModelRow {
    pub fn into_api(self) -> Model {
        Model {
            // Only this module writes the column, always from a `Provider`.
            provider: if self.provider == Provider::Openai.as_str() {
                Provider::Openai
            } else {
                Provider::Echo
            },
            created_at: db::parse_timestamp(&self.created_at),
            id: self.id,
            display_name: self.display_name,
            upstream_base_url: self.upstream_base_url,
            input_usd_per_mtok: self.input_usd_per_mtok,
            output_usd_per_mtok: self.output_usd_per_mtok,
            revision: self.revision,
        }
    }
}

/// One model of the catalog.
pub async fn find<'e, E>(exec: E, id: &str) -> Result<Option<Model>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<ModelRow> =
        sqlx::query_as(&format!("SELECT {MODEL_COLUMNS} FROM models WHERE id = $1"))
            .bind(id)
            .fetch_optional(exec)
            .await?;
    Ok(row.map(ModelRow::into_api))
}

/// Adds `model` at `revision`; `false` when its id is taken. DO NOTHING rather than catching the
/// unique violation: on PostgreSQL a failed statement poisons the whole transaction.
pub async fn insert(tx: &mut Tx, model: &ModelCreate, revision: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO models (id, display_name, provider, upstream_base_url, input_usd_per_mtok, \
         output_usd_per_mtok, created_at, revision) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&model.id)
    .bind(&model.display_name)
    .bind(model.provider.as_str())
    .bind(model.upstream_base_url.clone())
    .bind(model.input_usd_per_mtok)
    .bind(model.output_usd_per_mtok)
    .bind(db::now())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Writes every field of `model` but its id, at `revision`.
pub async fn update(tx: &mut Tx, model: &ModelCreate, revision: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE models SET display_name = $1, provider = $2, upstream_base_url = $3, \
         input_usd_per_mtok = $4, output_usd_per_mtok = $5, revision = $6 WHERE id = $7",
    )
    .bind(&model.display_name)
    .bind(model.provider.as_str())
    .bind(model.upstream_base_url.clone())
    .bind(model.input_usd_per_mtok)
    .bind(model.output_usd_per_mtok)
    .bind(revision)
    .bind(&model.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes the model and every grant of it, with their tombstones; returns the subjects whose
/// grant went, as `kind:id`.
pub async fn delete(tx: &mut Tx, id: &str) -> Result<Vec<String>, sqlx::Error> {
    let grants: Vec<(String, String)> = sqlx::query_as(
        "SELECT subject_kind, subject_id FROM grants WHERE model_id = $1 \
         ORDER BY subject_kind, subject_id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM grants WHERE model_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (subject_kind, subject_id) in &grants {
        crate::audit::tombstone(
            tx,
            SyncKind::Grant,
            &format!("{subject_kind}:{subject_id}:{id}"),
        )
        .await?;
    }
    sqlx::query("DELETE FROM models WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    crate::audit::tombstone(tx, SyncKind::Model, id).await?;
    Ok(grants
        .iter()
        .map(|(kind, subject)| format!("{kind}:{subject}"))
        .collect())
}

/// One page of the catalog by id, after `after`, at most `fetch`.
pub async fn page(
    pool: &sqlx::AnyPool,
    after: Option<String>,
    fetch: i64,
) -> Result<Vec<ModelRow>, sqlx::Error> {
    let mut q = SqlText::new(&format!("SELECT {MODEL_COLUMNS} FROM models WHERE 1 = 1"));
    if let Some(after) = after {
        q.push(" AND id > ").bind(after);
    }
    q.push(" ORDER BY id LIMIT ").bind(fetch);
    sqlx::query_as_with(&q.sql, q.args).fetch_all(pool).await
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<ModelRow> = crate::feed::rows_since(
        tx,
        &format!("SELECT {MODEL_COLUMNS} FROM models"),
        "revision",
        since,
        fetch,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let model = r.into_api();
            SyncChange::upsert(SyncKind::Model, model.id.clone(), model.revision, &model)
        })
        .collect())
}
