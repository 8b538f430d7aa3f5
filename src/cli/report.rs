//! Renders diagnostics like a compiler: code, message, `file:line:col`, the line with a
//! caret under the offending text, and a hint. Colour only on a terminal without `NO_COLOR`.
//! Card data in the file or a message is masked ([`sensitive`]).

use std::io::IsTerminal;

use codespan_reporting::diagnostic::{Diagnostic as Report, Label, Severity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use codespan_reporting::term::{self, Chars, Config};

use crate::sensitive;
use crate::spec::{Diagnostic, Diagnostics, Source};

fn to_report(d: &Diagnostic) -> Report<()> {
    let severity = if d.code.is_warning() {
        Severity::Warning
    } else {
        Severity::Error
    };
    let mut report = Report::new(severity)
        .with_code(d.code.to_string())
        .with_message(sensitive::mask_text(&d.message));
    if let Some(span) = d.span {
        let label = Label::primary((), span.start..span.end);
        report = report.with_labels(vec![match &d.label {
            Some(text) => label.with_message(sensitive::mask_text(text)),
            None => label,
        }]);
    }
    if let Some(hint) = &d.hint {
        report = report.with_notes(vec![format!("hint: {}", sensitive::mask_text(hint))]);
    }
    report
}

fn config() -> Config {
    Config {
        chars: Chars::ascii(),
        ..Config::default()
    }
}

/// Renders `diagnostics` of `source` as plain text (what tests snapshot).
pub fn render_plain(source: &Source, diagnostics: &Diagnostics) -> String {
    let text = sensitive::blank_text(&source.text);
    let file = SimpleFile::new(source.name.as_str(), text.as_str());
    let mut out = String::new();
    for d in &diagnostics.0 {
        let _ = term::emit_to_string(&mut out, &config(), &file, &to_report(d));
    }
    out
}

/// Prints `diagnostics` to stderr, in colour on a terminal unless `NO_COLOR` is set.
pub fn eprint(source: &Source, diagnostics: &Diagnostics) {
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if !colour {
        eprint!("{}", render_plain(source, diagnostics));
        return;
    }
    let text = sensitive::blank_text(&source.text);
    let file = SimpleFile::new(source.name.as_str(), text.as_str());
    let stream = StandardStream::stderr(ColorChoice::Auto);
    let mut lock = stream.lock();
    for d in &diagnostics.0 {
        let _ = term::emit_to_write_style(&mut lock, &config(), &file, &to_report(d));
    }
}
