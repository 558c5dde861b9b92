//! CSV exports of the users table and of usage: RFC 4180, written to a temporary file beside
//! the target and renamed over it, so a reader never sees half a file. Cells that a spreadsheet
//! would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) are
//! prefixed with `'`.

use std::io::Write;
use std::path::Path;

use sqlx::{QueryBuilder, Row, Sqlite};

use super::usage::{checked, usage_conditions};
use super::usd;
use crate::cache::Cache;
use crate::error::{CoreError, CoreResult};
use crate::ipc::{UsageFilter, UsageGroupBy, UserFilter};

/// One cell, quoted when it must be and defused when a spreadsheet would evaluate it.
pub fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// Writes `header` and `rows` to `path` through a temporary file in the same folder.
pub fn write_csv<I, R>(path: &Path, header: &[&str], rows: I) -> CoreResult<u64>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = String>,
{
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if path.file_name().is_none() {
        return Err(CoreError::Invalid(format!(
            "\"{}\" is not a file name",
            path.display()
        )));
    }
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    let mut out = std::io::BufWriter::new(file.as_file_mut());
    let line = |cells: Vec<String>| cells.join(",") + "\r\n";
    out.write_all(line(header.iter().map(|h| csv_cell(h)).collect()).as_bytes())?;
    let mut n = 0;
    for row in rows {
        out.write_all(line(row.into_iter().map(|c| csv_cell(&c)).collect()).as_bytes())?;
        n += 1;
    }
    out.flush()?;
    drop(out);
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| CoreError::Io(e.error))?;
    Ok(n)
}

impl Cache {
    /// Every user matching `filter` (its paging aside), in its order, as CSV at `path`.
    /// Returns the number of users written.
    pub async fn export_users_csv(&self, filter: &UserFilter, path: &Path) -> CoreResult<u64> {
        let rows = self.all_user_rows(filter).await?;
        write_csv(
            path,
            &[
                "id",
                "name",
                "email",
                "role",
                "status",
                "workspaces",
                "groups",
                "created_at",
                "last_active_at",
                "spend_mtd_usd",
            ],
            rows.into_iter().map(|u| {
                vec![
                    u.id,
                    u.name,
                    u.email,
                    u.role.as_str().to_owned(),
                    u.status.as_str().to_owned(),
                    u.workspaces.join("; "),
                    u.groups.join("; "),
                    u.created_at.to_rfc3339(),
                    u.last_active_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    format!("{:.6}", u.spend_mtd_usd),
                ]
            }),
        )
    }

    /// The usage rows of `filter`'s range and narrowing (its grouping aside), one per day,
    /// user, model and workspace, as CSV at `path`. Returns the number of rows written.
    pub async fn export_usage_csv(&self, filter: &UsageFilter, path: &Path) -> CoreResult<u64> {
        let (from, to, _) = checked(filter)?;
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT d.day, d.user_id, COALESCE(u.email, ''), d.model_id, d.workspace_id, \
             d.requests, d.input_tokens, d.output_tokens, d.cost_micros, d.key_id \
             FROM usage_daily d LEFT JOIN users u ON u.id = d.user_id",
        );
        usage_conditions(&mut q, filter, (from, to));
        q.push(" ORDER BY d.id");
        let rows = q.build().fetch_all(self.pool()).await?;
        let mut workspace_ids: Vec<&str> = rows.iter().map(|r| r.get(4)).collect();
        workspace_ids.sort_unstable();
        workspace_ids.dedup();
        let workspaces = self
            .names_of(UsageGroupBy::Workspace, &workspace_ids)
            .await?;
        write_csv(
            path,
            &[
                "day",
                "user_id",
                "user_email",
                "model_id",
                "workspace",
                "requests",
                "input_tokens",
                "output_tokens",
                "cost_usd",
                "key_id",
            ],
            rows.iter().map(|r| {
                let ws: String = r.get(4);
                vec![
                    r.get::<String, _>(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    workspaces.get(&ws).cloned().unwrap_or(ws),
                    r.get::<i64, _>(5).to_string(),
                    r.get::<i64, _>(6).to_string(),
                    r.get::<i64, _>(7).to_string(),
                    format!("{:.6}", usd(r.get(8))),
                    r.get(9),
                ]
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
    }
}
