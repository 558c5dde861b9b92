//! Dynamic SQL with `$n` placeholders, which both SQLite and PostgreSQL accept (sqlx's
//! `QueryBuilder` writes `?` for the `Any` driver, which PostgreSQL rejects).

use sqlx::any::AnyArguments;
use sqlx::{Arguments, Encode, Type};

#[derive(Default)]
pub struct SqlText {
    pub sql: String,
    pub args: AnyArguments<'static>,
    count: usize,
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
        self.sql.push('$');
        self.sql.push_str(&self.count.to_string());
        self.args.add(value).expect("encoding a bind value");
        self
    }
}
