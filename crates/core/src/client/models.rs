//! The models the gateway offers.

use gatehouse_api::{ListQuery, Model, ModelCreate, ModelPatch, Page};
use reqwest::Method;

use super::{AdminClient, NO_QUERY};
use crate::error::CoreResult;

impl AdminClient {
    collection!(
        "models",
        Model,
        ModelCreate,
        ModelPatch,
        models,
        create_model,
        model,
        patch_model,
        delete_model
    );
}
