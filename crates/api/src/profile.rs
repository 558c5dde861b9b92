//! Access profiles: named sets of grants, rate limits and budgets that new people start from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::{Budget, Limits};

/// A named set of model grants, limits and a budget. When an account is created from an
/// invitation, a direct add, a just-in-time sign-in or SCIM, the chosen profile's (or the org's
/// default) values are copied as the user's own: editing the profile later changes nobody.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct AccessProfile {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Ids of catalog models; deleting a model removes it here.
    pub grants: Vec<String>,
    pub limits: Limits,
    pub budget: Budget,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[ts(type = "number")]
    pub revision: i64,
}

/// `POST /admin/v1/profiles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct AccessProfileCreate {
    pub name: String,
    #[serde(default)]
    #[ts(optional)]
    pub description: Option<String>,
    #[serde(default)]
    pub grants: Vec<String>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub budget: Budget,
}

/// `PATCH /admin/v1/profiles/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct AccessProfilePatch {
    #[ts(optional)]
    pub name: Option<String>,
    #[ts(optional)]
    pub description: Option<String>,
    #[ts(optional)]
    pub grants: Option<Vec<String>>,
    #[ts(optional)]
    pub limits: Option<Limits>,
    #[ts(optional)]
    pub budget: Option<Budget>,
}
