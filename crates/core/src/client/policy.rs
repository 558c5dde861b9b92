//! Grants, limits and budgets, of a user or a group.

use gatehouse_api::{Budget, Grant, Limits};
use reqwest::Method;

use super::{AdminClient, NO_QUERY};
use crate::error::CoreResult;

/// Whose grants, limits or budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    User(&'a str),
    Group(&'a str),
}

impl<'a> Subject<'a> {
    /// `users/{id}` or `groups/{id}`, then `tail`.
    fn path<'b>(self, tail: &[&'b str]) -> Vec<&'b str>
    where
        'a: 'b,
    {
        let head = match self {
            Self::User(id) => ["users", id],
            Self::Group(id) => ["groups", id],
        };
        head.into_iter().chain(tail.iter().copied()).collect()
    }
}

impl AdminClient {
    pub async fn put_grant(&self, subject: Subject<'_>, model_id: &str) -> CoreResult<Grant> {
        let body = serde_json::Map::new();
        self.with_body(Method::PUT, &subject.path(&["grants", model_id]), &body)
            .await
    }
    pub async fn delete_grant(&self, subject: Subject<'_>, model_id: &str) -> CoreResult<()> {
        self.bare(Method::DELETE, &subject.path(&["grants", model_id]))
            .await
    }
    pub async fn limits(&self, subject: Subject<'_>) -> CoreResult<Limits> {
        self.get(&subject.path(&["limits"]), NO_QUERY).await
    }
    pub async fn put_limits(&self, subject: Subject<'_>, body: &Limits) -> CoreResult<Limits> {
        self.with_body(Method::PUT, &subject.path(&["limits"]), body)
            .await
    }
    pub async fn budget(&self, subject: Subject<'_>) -> CoreResult<Budget> {
        self.get(&subject.path(&["budget"]), NO_QUERY).await
    }
    pub async fn put_budget(&self, subject: Subject<'_>, body: &Budget) -> CoreResult<Budget> {
        self.with_body(Method::PUT, &subject.path(&["budget"]), body)
            .await
    }
}
