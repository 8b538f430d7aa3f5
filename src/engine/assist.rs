//! Assisting with a shared step: a `sluice serve` worker joins a `for_each` step whose run
//! another process holds ([`step::share`](super::step::share)) and runs items of it under
//! claims of its own, with its own checkpoint writer fenced by those claims, until none is
//! left to claim. The run's holder ends the step.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::step::share::{self, Claimer};
use super::writer::Writer;
use super::{Engine, EngineError};
use crate::ids::{RunId, StepId};
use crate::plan::CompiledWorkflow;
use crate::providers::Provider;
use crate::store::{ClaimRole, Lease};
use crate::template::Scope;

impl Engine {
    /// Runs items of `step_id` of `run_id` while the step is shared and has items to claim;
    /// returns how many ran here (none when the step is no longer shared).
    ///
    /// # Errors
    /// [`EngineError::Halted`] when a claim or checkpoint cannot be written (or this worker
    /// is draining): the items it claimed and did not finish are given back first.
    pub async fn assist_shared_step(
        &self,
        run_id: &RunId,
        step_id: &StepId,
        compiled: Arc<CompiledWorkflow>,
        providers: HashMap<String, Arc<dyn Provider>>,
    ) -> Result<usize, EngineError> {
        let Some(published) = self.store.load_shared_step(run_id, step_id).await? else {
            return Ok(0);
        };
        let Some(index) = compiled.steps.iter().position(|s| s.id == step_id.as_str()) else {
            return Err(EngineError::ForEach {
                step: step_id.clone(),
                reason: "the shared step is not in the workflow".into(),
            });
        };
        let scope: Value =
            serde_json::from_str(&published.scope).map_err(|e| EngineError::ForEach {
                step: step_id.clone(),
                reason: format!("the shared step's scope cannot be read: {e}"),
            })?;
        let elements = share::parse_elements(step_id, &published.elements)?;
        let claimer = Claimer {
            owner: self.owner.clone(),
            ttl: self.options.lease_ttl,
            first_seq: published.first_seq,
            last_seq: published.last_seq,
        };
        drop(published);
        let writer = Writer::start(
            self.store.clone(),
            Lease::items(run_id, &self.owner),
            self.options.drain.clone(),
        );
        let mut shared = self.shared(run_id, compiled, providers, writer);
        shared.progress = false;
        let shared = Arc::new(shared);
        let renewer = {
            let store = self.store.clone();
            let (owner, ttl) = (self.owner.clone(), self.options.lease_ttl);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(ttl / 3).await;
                    if let Err(e) = store.renew_claims(&owner, ttl).await {
                        tracing::warn!(error = %e, "Cannot renew item claims.");
                    }
                }
            })
        };
        let span = tracing::info_span!("help", run_id = run_id.as_str(), step = step_id.as_str());
        let result = tracing::Instrument::instrument(
            share::work(
                &shared,
                index,
                Scope::new(scope),
                &elements,
                &claimer,
                ClaimRole::Helper,
            ),
            span,
        )
        .await;
        renewer.abort();
        match result {
            Ok((ran, _held)) => Ok(ran),
            Err(halt) => {
                if let Err(e) = self.store.release_claims(run_id, &self.owner).await {
                    tracing::warn!(error = %e, "Cannot give back item claims; they expire.");
                }
                Err(EngineError::Halted(halt.into()))
            }
        }
    }
}
