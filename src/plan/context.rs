//! The template context of a run: `inputs`, `steps`, `run`, and the current `for_each`
//! element.
//!
//! A batch renders the same few templates once per item, so nothing here is copied per item:
//! each step's context holds only the roots its templates use, computed once from the
//! template references, and the items of a batch are rendered one after the other in a
//! single context where only the element changes.
//!
//! The inputs can hold a CSV of 100,000 rows: as JSON values that is about 90 MB, as JSON
//! text under 10 MB. The run keeps the text (a list as one text per element, a [`List`]),
//! and each step that reads an input gets its own values parsed from it (the template engine
//! owns the data it renders), so at most the steps running at that moment hold them, never
//! the run as well. A `for_each` batch walks its list as a shared [`List`], parsing one
//! element at a time: the batch never holds the list as values.
//!
//! The outputs of a `for_each` step are not kept here: a batch of 100,000 items would hold
//! every provider answer in memory for the rest of the run. They live in the checkpoint
//! store, and the executor reads them back for a step whose templates use them, with only
//! the parts (`items`, `outputs`) those templates name. A list whose every use is
//! `{{len steps.<id>.outputs}}` is not read back at all: `len` reads nothing but the
//! length, so the step sees a list of that many nulls (a payroll's summary line would
//! otherwise hold every transfer of the batch, about 12 kB each in memory).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use handlebars::Template;
use handlebars::template::{HelperTemplate, Parameter, TemplateElement};
use serde_json::{Map, Value};

use super::for_each::{ForEachError, for_each_list, list_path};
use crate::template::references;

/// The parts of the context a step's templates use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uses {
    /// `inputs.<name>` used.
    pub inputs: BTreeSet<String>,
    /// `steps.<id>` used.
    pub steps: BTreeSet<String>,
    /// `steps.<id>.<part>` used (`output`, `items`, `outputs`); a step used whole
    /// (`{{json steps.fund}}`) has `None`.
    pub parts: BTreeSet<(String, Option<String>)>,
    /// Steps whose `outputs` are only ever counted: every use is `{{len steps.<id>.outputs}}`.
    pub counted: BTreeSet<String>,
    /// Whether `run` is used.
    pub run: bool,
}

impl Uses {
    /// The roots used by `templates` (strings that do not parse use nothing: validation
    /// has already refused them).
    pub fn of<'t>(templates: impl IntoIterator<Item = &'t str>) -> Uses {
        let mut uses = Uses::default();
        // Per step: uses of exactly `steps.<id>.outputs`, and how many of them are counted.
        let mut lists: BTreeMap<String, usize> = BTreeMap::new();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut other: BTreeSet<String> = BTreeSet::new();
        for t in templates {
            for r in references(t).unwrap_or_default() {
                match r.path.as_slice() {
                    [root, name, ..] if root == "inputs" => {
                        uses.inputs.insert(name.clone());
                    }
                    [root, id, rest @ ..] if root == "steps" => {
                        uses.steps.insert(id.clone());
                        uses.parts.insert((id.clone(), rest.first().cloned()));
                        match rest {
                            [part] if part == "outputs" => {
                                *lists.entry(id.clone()).or_default() += 1
                            }
                            [part, ..] if part != "outputs" => {}
                            _ => {
                                other.insert(id.clone());
                            }
                        }
                    }
                    [root, ..] if root == "run" => uses.run = true,
                    _ => {}
                }
            }
            if let Ok(template) = Template::compile(t) {
                count_lengths(&template.elements, &mut counts);
            }
        }
        uses.counted = lists
            .into_iter()
            .filter(|(id, n)| counts.get(id) == Some(n) && !other.contains(id))
            .map(|(id, _)| id)
            .collect();
        uses
    }

    /// Whether `steps.<step>.<part>` is used.
    pub fn wants(&self, step: &str, part: &str) -> bool {
        self.parts.contains(&(step.to_string(), None))
            || self
                .parts
                .contains(&(step.to_string(), Some(part.to_string())))
    }
}

/// What a run's templates can see.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The inputs by name, as JSON text.
    inputs: BTreeMap<String, Input>,
    steps: Map<String, Value>,
    run: Value,
}

/// One input, as JSON text.
#[derive(Debug, Clone)]
enum Input {
    /// A list: one text per element.
    List(List),
    /// Anything else.
    Text(String),
}

impl Input {
    fn of(value: Value) -> Input {
        match value {
            Value::Array(items) => Input::List(List::of(items)),
            other => Input::Text(other.to_string()),
        }
    }

    fn value(&self) -> Value {
        match self {
            Input::List(list) => Value::Array(list.values().collect()),
            Input::Text(text) => serde_json::from_str(text).expect("`Input::of` wrote JSON"),
        }
    }
}

impl RunContext {
    /// A context with the run's inputs and `run` fields (`id`, `started_at`, `scheduled_for`).
    /// Each input becomes text as it is taken from `inputs`, so the values and their text
    /// never both exist whole.
    pub fn new(inputs: Map<String, Value>, run: Value) -> Self {
        RunContext {
            inputs: inputs
                .into_iter()
                .map(|(name, value)| (name, Input::of(value)))
                .collect(),
            steps: Map::new(),
            run,
        }
    }

    /// Records the output of a step that runs once: `steps.<id>.output`.
    pub fn set_output(&mut self, step: &str, output: Value) {
        let mut entry = Map::new();
        entry.insert("output".into(), output);
        self.steps.insert(step.into(), Value::Object(entry));
    }

    /// The list a `for_each` of step `step` walks (`expr`, a path like `inputs.payees`),
    /// shared when it is a whole input.
    ///
    /// # Errors
    /// [`ForEachError`] when the path does not lead to a list.
    pub fn list(&self, step: &str, expr: &str) -> Result<List, ForEachError> {
        let mut segments = list_path(expr).split('.').skip(1);
        let name = segments.next().unwrap_or_default();
        if let (Some(Input::List(list)), None) = (self.inputs.get(name), segments.next()) {
            return Ok(list.clone());
        }
        // A list inside an input, or no list at all: the path is looked up in that input's
        // values, which also names what is wrong.
        let mut one = Map::new();
        if let Some(input) = self.inputs.get(name) {
            one.insert(name.to_owned(), input.value());
        }
        for_each_list(step, expr, &one).map(|list| List::of(list.to_vec()))
    }

    /// The context restricted to `uses`, for one step (and all its items). The outputs of
    /// `for_each` steps are added by the caller with [`items_entry`].
    pub fn for_step(&self, uses: &Uses) -> Map<String, Value> {
        let mut ctx = Map::new();
        let inputs: Map<String, Value> = uses
            .inputs
            .iter()
            .filter_map(|n| self.inputs.get(n).map(|i| (n.clone(), i.value())))
            .collect();
        ctx.insert("inputs".into(), Value::Object(inputs));
        let steps: Map<String, Value> = uses
            .steps
            .iter()
            .filter_map(|s| self.steps.get(s).map(|v| (s.clone(), v.clone())))
            .collect();
        ctx.insert("steps".into(), Value::Object(steps));
        ctx.insert("run".into(), self.run.clone());
        ctx
    }
}

/// A list kept as the JSON text of each element, in one string: 100,000 CSV rows take about
/// 9 MB this way, and about 90 MB as JSON values. Cheap to clone (shared); each element is
/// parsed when it is used, so a batch holds one element's values at a time.
#[derive(Debug, Clone, Default)]
pub struct List(Arc<Texts>);

#[derive(Debug, Default)]
struct Texts {
    text: String,
    /// Where each element's text ends in `text`.
    ends: Vec<usize>,
}

impl List {
    /// The list of `items`, each dropped once it is text.
    pub fn of(items: Vec<Value>) -> List {
        let mut texts = Texts {
            text: String::new(),
            ends: Vec::with_capacity(items.len()),
        };
        for item in items {
            texts.text.push_str(&item.to_string());
            texts.ends.push(texts.text.len());
        }
        texts.text.shrink_to_fit();
        List(Arc::new(texts))
    }

    /// How many elements.
    pub fn len(&self) -> usize {
        self.0.ends.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.ends.is_empty()
    }

    /// Element `i`, parsed.
    pub fn get(&self, i: usize) -> Option<Value> {
        let texts = &*self.0;
        let end = *texts.ends.get(i)?;
        let start = if i == 0 { 0 } else { texts.ends[i - 1] };
        Some(
            serde_json::from_str(&texts.text[start..end])
                .expect("`List::of` wrote each element as JSON"),
        )
    }

    /// The list as one JSON array text, written from the elements' texts (nothing is
    /// parsed): how a shared step publishes its elements.
    pub fn to_json(&self) -> String {
        let texts = &*self.0;
        let mut out = String::with_capacity(texts.text.len() + texts.ends.len() + 2);
        out.push('[');
        let mut start = 0;
        for (i, &end) in texts.ends.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&texts.text[start..end]);
            start = end;
        }
        out.push(']');
        out
    }

    /// The elements in order, each parsed as it is reached.
    pub fn values(&self) -> impl ExactSizeIterator<Item = Value> + '_ {
        let texts = &*self.0;
        (0..texts.ends.len()).map(move |i| {
            let start = if i == 0 { 0 } else { texts.ends[i - 1] };
            serde_json::from_str(&texts.text[start..texts.ends[i]])
                .expect("`List::of` wrote each element as JSON")
        })
    }
}

/// Counts `{{len steps.<id>.outputs}}` in `elements`, wherever a path means what it says
/// from the top of the context: in expressions, subexpressions and helper arguments, and
/// in the bodies of `if` and `unless` (not in `with` or `each`, which move the context).
fn count_lengths(elements: &[TemplateElement], counts: &mut BTreeMap<String, usize>) {
    fn name(p: &Parameter) -> Option<&str> {
        match p {
            Parameter::Name(n) => Some(n),
            Parameter::Path(path) => Some(raw(path)),
            _ => None,
        }
    }
    fn raw(path: &handlebars::Path) -> &str {
        match path {
            handlebars::Path::Relative((_, raw)) | handlebars::Path::Local((_, _, raw)) => raw,
        }
    }
    fn helper(ht: &HelperTemplate, counts: &mut BTreeMap<String, usize>) {
        if name(&ht.name) == Some("len")
            && ht.hash.is_empty()
            && let [Parameter::Path(path)] = ht.params.as_slice()
            && let ["steps", id, "outputs"] = raw(path).split('.').collect::<Vec<_>>()[..]
        {
            *counts.entry(id.to_string()).or_default() += 1;
        }
        for p in ht.params.iter().chain(ht.hash.values()) {
            if let Parameter::Subexpression(sub) = p
                && let TemplateElement::Expression(inner) = sub.as_element()
            {
                helper(inner, counts);
            }
        }
    }
    for element in elements {
        match element {
            TemplateElement::Expression(ht) | TemplateElement::HtmlExpression(ht) => {
                helper(ht, counts);
            }
            TemplateElement::HelperBlock(ht) => {
                helper(ht, counts);
                if matches!(name(&ht.name), Some("if" | "unless")) {
                    for body in [&ht.template, &ht.inverse].into_iter().flatten() {
                        count_lengths(&body.elements, counts);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The `steps.<id>` entry of a `for_each` step whose outputs are only counted (see
/// [`Uses::counted`]): `outputs` as `succeeded` nulls.
pub fn counted_entry(succeeded: usize) -> Value {
    let mut entry = Map::new();
    entry.insert("outputs".into(), Value::Array(vec![Value::Null; succeeded]));
    Value::Object(entry)
}

/// The `steps.<id>` entry of a `for_each` step whose items succeeded with `outputs` (in item
/// order): `items` by key and `outputs` as a list, each only when `uses` names it, so that a
/// step reading `len steps.pay.outputs` does not also hold a second copy by key.
pub fn items_entry(step: &str, uses: &Uses, outputs: Vec<(String, Value)>) -> Value {
    let mut entry = Map::new();
    let (want_items, want_list) = (uses.wants(step, "items"), uses.wants(step, "outputs"));
    if want_items && want_list {
        let list = outputs.iter().map(|(_, v)| v.clone()).collect();
        entry.insert("items".into(), Value::Object(outputs.into_iter().collect()));
        entry.insert("outputs".into(), Value::Array(list));
    } else if want_items {
        entry.insert("items".into(), Value::Object(outputs.into_iter().collect()));
    } else if want_list {
        let list = outputs.into_iter().map(|(_, v)| v).collect();
        entry.insert("outputs".into(), Value::Array(list));
    }
    Value::Object(entry)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn uses_name_the_parts_of_steps_they_read() {
        let uses = Uses::of([
            "{{len steps.pay.outputs}} {{inputs.budget}}",
            "{{steps.fund.output.id}} {{json steps.all}} {{run.id}}",
        ]);
        assert_eq!(
            uses.inputs.iter().collect::<Vec<_>>(),
            [&"budget".to_string()]
        );
        assert!(uses.run);
        assert!(uses.wants("pay", "outputs") && !uses.wants("pay", "items"));
        assert!(uses.wants("fund", "output") && !uses.wants("fund", "outputs"));
        assert!(uses.wants("all", "items") && uses.wants("all", "outputs"));
        assert!(!uses.wants("other", "output"));
    }

    #[test]
    fn lists_only_counted_are_recognised() {
        let counted = |ts: &[&str]| Uses::of(ts.iter().copied()).counted;
        let pay = BTreeSet::from(["pay".to_string()]);
        assert_eq!(counted(&["Paid {{len steps.pay.outputs}} payees"]), pay);
        assert_eq!(
            counted(&[
                "{{#if (gt (len steps.pay.outputs) 0)}}{{add (len steps.pay.outputs) 1}}{{/if}}",
                "{{len steps.pay.outputs}}"
            ]),
            pay
        );
        // Any other use needs the elements themselves.
        for other in [
            "{{len steps.pay.outputs}} {{json steps.pay.outputs}}",
            "{{len steps.pay.outputs}} {{steps.pay.outputs.0.id}}",
            "{{#each steps.pay.outputs}}{{id}}{{/each}}",
            "{{len steps.pay.outputs}} {{json steps.pay}}",
            "{{#with steps}}{{len pay.outputs}}{{/with}}",
            "{{sum steps.pay.outputs 'amount'}}",
        ] {
            assert!(counted(&[other]).is_empty(), "{other}");
        }
        assert!(counted(&["{{len steps.pay.items}}"]).is_empty());
        assert_eq!(counted_entry(2), json!({"outputs": [null, null]}));
    }

    #[test]
    fn items_entries_hold_only_the_parts_used() {
        let outputs = || {
            vec![
                ("E1".to_string(), json!({"id": 1})),
                ("E2".into(), json!(2)),
            ]
        };
        let list = Uses::of(["{{len steps.pay.outputs}}"]);
        assert_eq!(
            items_entry("pay", &list, outputs()),
            json!({"outputs": [{"id": 1}, 2]})
        );
        let keyed = Uses::of(["{{steps.pay.items.E1.id}}"]);
        assert_eq!(
            items_entry("pay", &keyed, outputs()),
            json!({"items": {"E1": {"id": 1}, "E2": 2}})
        );
        let whole = Uses::of(["{{json steps.pay}}"]);
        assert_eq!(
            items_entry("pay", &whole, outputs()),
            json!({"items": {"E1": {"id": 1}, "E2": 2}, "outputs": [{"id": 1}, 2]})
        );
    }
}
