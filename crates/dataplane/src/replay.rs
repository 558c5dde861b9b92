//! The demo organisation's history, made in-process by the data plane's own steps.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use gatehouse_store::db::{Db, Tx};
use serde_json::Value;

use crate::admission::OneNode;
use crate::ledger::{self, Finished, Memory};
use crate::{ChatRequest, DataPlane, DataPlaneOptions, DpResult, Mode, Outcome};

/// The demo's history, made by the endpoint's own steps in one transaction: requests at given
/// times, admitted, answered by their provider and metered, their usage written in batches.
/// It reads the policy once (nothing may change it while it runs).
pub struct Replay<'t> {
    plane: DataPlane,
    tx: &'t mut Tx,
    batch: Vec<Finished>,
    memory: Memory,
}

impl<'t> Replay<'t> {
    pub fn new(db: &Db, tx: &'t mut Tx) -> Self {
        Self {
            // Its own counters, whatever the store: the replay's requests are its own.
            plane: DataPlane::with_admission(
                db.clone(),
                Arc::new(|_| {}),
                DataPlaneOptions::default(),
                gatehouse_store::new_id("node"),
                Arc::new(OneNode::default()),
            ),
            tx,
            batch: Vec::new(),
            memory: Memory::default(),
        }
    }

    /// One chat request with the API key `key` made at `at`: its answer's status, or its
    /// refusal.
    pub async fn chat(
        &mut self,
        key: &str,
        body: Value,
        workspace: Option<&str>,
        at: DateTime<Utc>,
    ) -> DpResult<u16> {
        let mut mode = Mode::Replay {
            tx: &mut *self.tx,
            batch: &mut self.batch,
        };
        let authorization = format!("Bearer {key}");
        let (mut call, request) = self
            .plane
            .open(
                None,
                Some(&authorization),
                ChatRequest::from_value(body),
                workspace,
                at,
                &mut mode,
            )
            .await?;
        let (outcome, status, usage) = self.plane.complete(&call, &request).await;
        let finished = call.finished(status, usage, at);
        self.plane.admission.finished(&finished);
        self.batch.push(finished);
        match outcome {
            Outcome::Json(_) | Outcome::Body(_) => Ok(status),
            Outcome::Failed(e) => Err(e),
        }
    }

    /// Writes the usage metered so far, and raises the budget alerts it crossed.
    pub async fn flush(&mut self) -> Result<(), sqlx::Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let touched = ledger::write(self.tx, &self.batch, &self.memory).await?;
        self.memory.remember_touched(touched);
        self.plane.admission.committed(&self.batch);
        let due = ledger::due_alerts(self.tx, &self.batch, &self.memory.raised).await?;
        ledger::raise(self.tx, &due).await?;
        self.memory.remember_raised(&due);
        self.batch.clear();
        Ok(())
    }
}
