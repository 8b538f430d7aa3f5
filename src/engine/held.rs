//! Inputs that carry card data are never stored: the run's row keeps them masked, and the
//! real values live only in the memory of a process that was given them — the `sluice run`
//! that started the run, a `sluice resume --input …` given the same inputs again, or the
//! scheduler that rendered a slot's inputs. Such a process holds them here for the run.
//!
//! The run's `inputs_hash` is of the real inputs, so masked stored inputs never hash to it:
//! that is how a process knows it must be given them, and how inputs given again are known
//! to be the ones the run started with. A process without them stops before it renders
//! anything (a masked card number is never sent), and never shares the run's batch steps
//! with `serve` workers, which would need the elements in the store.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use serde_json::{Map, Value};

use super::EngineError;
use crate::ids::RunId;
use crate::plan::fingerprint::inputs_hash;
use crate::sensitive::{card_paths, mask_value};
use crate::store::RunRecord;

/// The inputs as the store keeps them: masked when they carry card data, and then the real
/// ones to hold in memory.
pub fn split(inputs: Map<String, Value>) -> (Value, Option<Map<String, Value>>) {
    let real = Value::Object(inputs);
    if card_paths(&real).is_empty() {
        return (real, None);
    }
    let stored = mask_value(&real);
    match real {
        Value::Object(map) => (stored, Some(map)),
        _ => unreachable!("built from a map above"),
    }
}

/// The real inputs of the runs this process was given them for.
#[derive(Debug, Default)]
pub struct HeldInputs(Mutex<HashMap<RunId, Map<String, Value>>>);

impl HeldInputs {
    /// Holds `inputs` for `run_id` in this process.
    pub fn hold(&self, run_id: &RunId, inputs: Map<String, Value>) {
        self.map().insert(run_id.clone(), inputs);
    }

    /// The inputs `run` executes with: its stored ones when they are the real ones (they
    /// hash to the run's `inputs_hash`), else the ones held for it, which must hash to it too.
    /// The stored ones are taken out of `run`, not copied.
    ///
    /// # Errors
    /// [`EngineError::InputsHeld`] when the stored inputs are masked and this process holds
    /// none that hash to the run's.
    pub fn inputs_of(&self, run: &mut RunRecord) -> Result<Map<String, Value>, EngineError> {
        let stored = std::mem::take(&mut run.inputs);
        if inputs_hash_of(&stored) == run.inputs_hash {
            return Ok(match stored {
                Value::Object(map) => map,
                _ => Map::new(),
            });
        }
        match self.map().get(&run.id) {
            Some(held) if inputs_hash(held) == run.inputs_hash => Ok(held.clone()),
            _ => Err(EngineError::InputsHeld {
                run_id: run.id.clone(),
            }),
        }
    }

    /// Whether this process holds the real inputs of `run_id`.
    pub fn holds(&self, run_id: &RunId) -> bool {
        self.map().contains_key(run_id)
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, Map<String, Value>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn inputs_hash_of(stored: &Value) -> String {
    match stored {
        Value::Object(map) => inputs_hash(map),
        _ => inputs_hash(&Map::new()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn inputs() -> Map<String, Value> {
        json!({"card": {"number": "4242424242424242", "cvc": "123"}, "amount": "12.00"})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn inputs_without_card_data_are_stored_as_they_are() {
        let plain = json!({"amount": "12.00"}).as_object().unwrap().clone();
        let (stored, held) = split(plain.clone());
        assert_eq!(stored, Value::Object(plain));
        assert!(held.is_none());
    }

    #[test]
    fn card_data_is_stored_masked_and_held_in_full() {
        let (stored, held) = split(inputs());
        let text = stored.to_string();
        assert!(!text.contains("4242424242424242"), "{text}");
        assert!(!text.contains("\"123\""), "{text}");
        assert_eq!(held, Some(inputs()));
        assert_ne!(inputs_hash_of(&stored), inputs_hash(&inputs()));
    }
}
