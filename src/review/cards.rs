//! Card data fed by an input: a plan says so (a warning, or an error under
//! `sensitive: { raw_cards: refuse }`) and points to the provider's tokens. The plan shows
//! such values masked like every other card number; the warning is there because an input
//! is kept with its run so that the run can resume (README, *Sensitive data*).

use serde_json::{Map, Value};

use super::model::{Problem, ProblemKind, Severity};
use crate::sensitive::card_paths;
use crate::spec::RawCards;

/// One problem per input whose value holds card data.
pub fn input_problems(inputs: &Map<String, Value>, raw_cards: RawCards) -> Vec<Problem> {
    let severity = match raw_cards {
        RawCards::Warn => Severity::Warning,
        RawCards::Refuse => Severity::Error,
    };
    inputs
        .iter()
        .filter_map(|(name, value)| {
            let paths = card_paths(value);
            let first = paths.first()?;
            let at = if first.is_empty() {
                String::new()
            } else {
                format!(" (`{first}`)")
            };
            let message = format!(
                "input `{name}` feeds card data{at}: pass card tokens instead (White's tokens \
                 API, `source: tok_…`, or a saved `customer_id`)"
            );
            Some(Problem::new(
                severity,
                ProblemKind::CardData,
                &format!("inputs.{name}"),
                message,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn inputs_with_card_data_are_named_without_their_value() {
        let inputs = json!({
            "card": "4242424242424242",
            "payers": [{"id": "p1", "cvc": "123"}],
            "amount": "10.00",
        });
        let problems = input_problems(inputs.as_object().unwrap(), RawCards::Refuse);
        assert_eq!(problems.len(), 2);
        assert!(problems.iter().all(|p| p.severity == Severity::Error));
        assert_eq!(problems[0].subject, "inputs.card");
        assert!(problems[1].message.contains("(`[0].cvc`)"), "{problems:?}");
        assert!(problems.iter().all(|p| !p.message.contains("4242")));
        let warned = input_problems(inputs.as_object().unwrap(), RawCards::Warn);
        assert!(warned.iter().all(|p| p.severity == Severity::Warning));
    }
}
