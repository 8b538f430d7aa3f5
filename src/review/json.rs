//! Plans as JSON: what `--format json` prints and `--out` writes, and reading a plan file
//! back for `run --plan` and `plan --diff`.
//!
//! The file lists every item (text and Markdown show the first few of a batch) with its
//! digest, keeps the requests of the items shown in full, the recorded inputs, and the plan
//! hash. It is indented, except that each item is one line: a 100,000-row plan stays small,
//! and a diff of two plan files is a diff of their items. Reading checks the format, that
//! the hash still matches the digests, and that every item kept in full still renders its
//! digest, so a plan edited after review is refused.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

use super::hash::{detail_matches, plan_hash};
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

/// The plan as JSON (see the module documentation), with a final newline.
pub fn to_json(plan: &DryRun) -> String {
    let mut out = Vec::new();
    write_json(plan, &mut out).expect("writing to memory");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Writes [`to_json`]'s text to `out`.
///
/// # Errors
/// The writer's.
pub fn write_json(plan: &DryRun, out: &mut impl Write) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, ItemLines::default());
    plan.serialize(&mut ser).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// Reads a plan file's text.
///
/// # Errors
/// [`PlanFileError`] when it is not a plan of this format, or its content does not match
/// its hash.
pub fn from_json(text: &str) -> Result<DryRun, PlanFileError> {
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(default)]
        format: String,
    }
    let header: Header = serde_json::from_str(text).map_err(PlanFileError::Parse)?;
    if header.format != FORMAT {
        return Err(PlanFileError::Format {
            found: header.format,
        });
    }
    let plan: DryRun = serde_json::from_str(text).map_err(PlanFileError::Parse)?;
    let details = plan.steps.iter().flat_map(|s| &s.items);
    if plan_hash(&plan) != plan.plan_hash || !details.into_iter().all(detail_matches) {
        return Err(PlanFileError::Tampered {
            recorded: plan.plan_hash,
        });
    }
    Ok(plan)
}

/// How deep the array of a step's items is nested (the plan, `steps`, a step, `items`).
const ITEMS_DEPTH: usize = 4;

/// Indented JSON whose items each take one line: an element of an array nested
/// [`ITEMS_DEPTH`] deep, and everything inside it, is written compactly.
#[derive(Default)]
struct ItemLines {
    pretty: PrettyFormatter<'static>,
    /// Per open array or object: whether it is an array.
    open: Vec<bool>,
    /// How many of the open containers are written compactly.
    compact: usize,
}

impl ItemLines {
    /// Whether a value written now, inside the innermost open container, is compact.
    fn inside_compact(&self) -> bool {
        self.compact > 0
    }

    /// Opens a container; it is compact inside a compact one, or as an item.
    fn open(&mut self, array: bool) -> bool {
        let item = self.open.len() == ITEMS_DEPTH && self.open.last() == Some(&true);
        let compact = self.inside_compact() || item;
        self.open.push(array);
        if compact {
            self.compact += 1;
        }
        compact
    }

    /// Closes the innermost container; whether it was compact.
    fn close(&mut self) -> bool {
        self.open.pop();
        let compact = self.compact > 0;
        self.compact = self.compact.saturating_sub(1);
        compact
    }
}

/// Calls `$method` on the compact formatter inside an item, on the indenting one outside.
macro_rules! either {
    ($self:ident, $compact:expr, $method:ident($($arg:expr),*)) => {
        if $compact {
            CompactFormatter.$method($($arg),*)
        } else {
            $self.pretty.$method($($arg),*)
        }
    };
}

impl Formatter for ItemLines {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        let compact = self.open(true);
        either!(self, compact, begin_array(w))
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        let compact = self.close();
        either!(self, compact, end_array(w))
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        either!(self, self.inside_compact(), begin_array_value(w, first))
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        either!(self, self.inside_compact(), end_array_value(w))
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        let compact = self.open(false);
        either!(self, compact, begin_object(w))
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        let compact = self.close();
        either!(self, compact, end_object(w))
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        either!(self, self.inside_compact(), begin_object_key(w, first))
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        either!(self, self.inside_compact(), begin_object_value(w))
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        either!(self, self.inside_compact(), end_object_value(w))
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::SAMPLE;
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
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["format"],
            FORMAT
        );
        // Indented, but every item on one line of its own.
        let items: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with(r#"{"key":"E"#))
            .collect();
        assert_eq!(items.len(), 2, "{text}");
        assert!(items[0].starts_with(&" ".repeat(8)), "{text}");
        assert!(text.contains("\n      \"items\": [\n"), "{text}");
        // A request kept in full edited (its digest left alone), or a digest edited.
        let edited = text.replace(r#"\"amount\":10.50"#, r#"\"amount\":10.05"#);
        assert_ne!(edited, text);
        assert!(matches!(
            from_json(&edited),
            Err(PlanFileError::Tampered { .. })
        ));
        let digest = &p.steps[1].items[1].digest;
        let edited = text.replace(digest.as_str(), &"0".repeat(64));
        assert!(matches!(
            from_json(&edited),
            Err(PlanFileError::Tampered { .. })
        ));
        // A plan of the first format, which held every request: a clear refusal.
        let older = text.replace(FORMAT, "sluice-plan/1");
        let refused = from_json(&older).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "plan format `sluice-plan/1` is not `sluice-plan/2`; make the plan again with this sluice"
        );
        assert!(matches!(from_json("{"), Err(PlanFileError::Parse(_))));
    }

    #[test]
    fn an_item_kept_only_by_its_digest_cannot_be_edited_either() {
        let rows: String = (1..=SAMPLE + 1)
            .map(|i| format!("E{i},1.00,P{i}\n"))
            .collect();
        let p = plan(
            PAYROLL,
            &[("payees", csv(&format!("id,amount,to\n{rows}")))],
            &Checks::default(),
        );
        let last = &p.steps[1].items[SAMPLE];
        assert!(last.detail.is_none());
        let text = to_json(&p);
        let line = text.lines().find(|l| l.contains(r#""key":"E21""#)).unwrap();
        for edited in [
            line.replace(r#""amount":"1.00""#, r#""amount":"0.01""#),
            line.replace("P21", "P1"),
        ] {
            assert_ne!(edited, line);
            assert!(matches!(
                from_json(&text.replace(line, &edited)),
                Err(PlanFileError::Tampered { .. })
            ));
        }
    }
}
