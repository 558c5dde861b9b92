//! Dynamic SQL with `$n` placeholders, which both SQLite and PostgreSQL accept (sqlx's
//! `QueryBuilder` writes `?` for the `Any` driver, which PostgreSQL rejects), or `?` in the
//! texts [`Statements`] joins for SQLite.

use sqlx::any::AnyArguments;
use sqlx::{Arguments, Encode, Type};

#[derive(Default)]
pub struct SqlText {
    pub sql: String,
    pub args: AnyArguments<'static>,
    count: usize,
    /// Placeholders written `?`. SQLite looks each `$n` up among the statement's names so far
    /// (and sqlx each number among them again), which grows with the square of a statement's
    /// placeholders; a plain `?` is its next slot, and sqlx binds those in order across the
    /// statements of a text.
    anonymous: bool,
}

impl SqlText {
    pub fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_owned(),
            ..Self::default()
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + Encode<'static, sqlx::Any> + Type<sqlx::Any>,
    {
        self.count += 1;
        if self.anonymous {
            self.sql.push('?');
        } else {
            self.sql.push('$');
            self.sql.push_str(&self.count.to_string());
        }
        self.args.add(value).expect("encoding a bind value");
        self
    }
}

/// Parameters past which [`Statements`] starts another call, a bound on one call's size.
const PARAMS_PER_CALL: usize = 20_000;

/// Statements to run one after another (in a transaction the caller holds, or that they begin
/// and commit themselves). On SQLite they go to the connection's worker as one text, in one call
/// instead of one each (its `?` bound in order across the statements of a text); PostgreSQL
/// prepares one statement at a time, so there they go one by one.
pub struct Statements {
    joined: bool,
    list: Vec<SqlText>,
}

impl Statements {
    pub fn new(backend: crate::db::Backend) -> Self {
        Self {
            joined: backend == crate::db::Backend::Sqlite,
            list: Vec::new(),
        }
    }

    /// The backend of the connection `conn` (a transaction derefs to one).
    pub fn for_connection(conn: &sqlx::AnyConnection) -> Self {
        Self::new(if conn.backend_name() == "PostgreSQL" {
            crate::db::Backend::Postgres
        } else {
            crate::db::Backend::Sqlite
        })
    }

    /// The text to write the next statement into.
    pub fn next_statement(&mut self) -> &mut SqlText {
        let start_new = match self.list.last_mut() {
            Some(last) if self.joined && last.count < PARAMS_PER_CALL => {
                last.push("; ");
                false
            }
            _ => true,
        };
        if start_new {
            self.list.push(SqlText {
                anonymous: self.joined,
                ..SqlText::default()
            });
        }
        self.list.last_mut().expect("just made sure there is one")
    }

    /// Runs the statements; returns the rows of the last call.
    pub async fn fetch_last(
        mut self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
        let Some(last) = self.list.pop() else {
            return Ok(Vec::new());
        };
        for q in self.list {
            sqlx::query_with(&q.sql, q.args).execute(&mut *conn).await?;
        }
        sqlx::query_with(&last.sql, last.args).fetch_all(conn).await
    }

    pub async fn execute(self, conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
        for q in self.list {
            sqlx::query_with(&q.sql, q.args).execute(&mut *conn).await?;
        }
        Ok(())
    }
}
