//! Plans as JSON: what `--format json` prints and `--out` writes, and reading a plan file
//! back for `run --plan` and `plan --diff`.
//!
//! The file holds every item (text and Markdown show the first few of a batch), the
//! recorded inputs, and the plan hash. Reading checks the format and that the hash still
//! matches the content, so a plan edited after review is refused.

use super::hash::plan_hash;
use super::model::{DryRun, FORMAT};

/// Why a plan file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// Not JSON, or not a plan.
    #[error("not a sluice plan file")]
    Parse(#[source] serde_json::Error),
    /// A plan of another format version.
    #[error("plan format `{found}` is not `{FORMAT}`; make the plan again with this sluice")]
    Format {
        /// The format found.
        found: String,
    },
    /// The hash does not match the content.
    #[error(
        "the plan file was changed after it was written (its content no longer matches its hash `{recorded}`)"
    )]
    Tampered {
        /// The hash the file records.
        recorded: String,
    },
}

/// The plan as pretty-printed JSON, with a final newline.
pub fn to_json(plan: &DryRun) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("plain data serialises");
    text.push('\n');
    text
}

/// Reads a plan file's text.
///
/// # Errors
/// [`PlanFileError`] when it is not a plan of this format, or its content does not match
/// its hash.
pub fn from_json(text: &str) -> Result<DryRun, PlanFileError> {
    let format = serde_json::from_str::<serde_json::Value>(text)
        .map_err(PlanFileError::Parse)?
        .get("format")
        .and_then(|f| f.as_str().map(String::from))
        .unwrap_or_default();
    if format != FORMAT {
        return Err(PlanFileError::Format { found: format });
    }
    let plan: DryRun = serde_json::from_str(text).map_err(PlanFileError::Parse)?;
    if plan_hash(&plan) != plan.plan_hash {
        return Err(PlanFileError::Tampered {
            recorded: plan.plan_hash,
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{PAYROLL, csv, plan};
    use super::super::warnings::Checks;
    use super::*;

    #[test]
    fn round_trips_and_refuses_edits() {
        let p = plan(
            PAYROLL,
            &[("payees", csv("id,amount,to\nE1,10.50,Ada\nE2,0,Bo\n"))],
            &Checks::default(),
        );
        let text = to_json(&p);
        assert_eq!(from_json(&text).unwrap(), p);
        let edited = text.replace(r#"\"amount\":10.50"#, r#"\"amount\":10.05"#);
        assert_ne!(edited, text);
        assert!(matches!(
            from_json(&edited),
            Err(PlanFileError::Tampered { .. })
        ));
        let other = text.replace(FORMAT, "sluice-plan/0");
        assert!(matches!(
            from_json(&other),
            Err(PlanFileError::Format { .. })
        ));
        assert!(matches!(from_json("{"), Err(PlanFileError::Parse(_))));
    }
}
