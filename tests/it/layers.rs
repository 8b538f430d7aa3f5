//! The crate's layers, enforced (ARCHITECTURE.md, *Layers*): leaves (`approval`, `catalog`, `digest`,
//! `ids`, `memory`, `money`, `signing`, `template`) under `spec` (the language) → `plan` (compile, DAG,
//! checks) → `engine` (execution) → `store` and `providers`; `review` renders plans;
//! `console` serves the operator pages over the store and the engine, and `runtime` composes
//! the engine (and the console) into `sluice serve`; `cli` is the edge. Each module may
//! use what lies below it, never what lies above, so a module can be read, tested and
//! changed knowing only its own layer and the ones below.
//!
//! The test reads `src/**.rs` and fails on every `crate::<module>` path (in `use` or inline)
//! that a rule forbids, naming the file and line. Comments are skipped.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::root;

/// Every module above the foundation: the leaves (`approval`, `catalog`, `digest`, `ids`, `memory`,
/// `money`, `signing`, `template`) use none of them.
const ABOVE_FOUNDATION: &[&str] = &[
    "spec",
    "plan",
    "engine",
    "store",
    "providers",
    "review",
    "sandbox",
    "webhooks",
    "notify",
    "scheduler",
    "settlement",
    "console",
    "runtime",
    "cli",
];

/// `(layer, what it must not use)`. A layer is a top-level module of `src/`.
const RULES: &[(&str, &[&str])] = &[
    ("approval", ABOVE_FOUNDATION),
    ("catalog", ABOVE_FOUNDATION),
    ("digest", ABOVE_FOUNDATION),
    ("ids", ABOVE_FOUNDATION),
    ("memory", ABOVE_FOUNDATION),
    ("money", ABOVE_FOUNDATION),
    ("sensitive", ABOVE_FOUNDATION),
    ("signing", ABOVE_FOUNDATION),
    ("template", ABOVE_FOUNDATION),
    (
        "spec",
        &[
            "plan",
            "engine",
            "store",
            "providers",
            "review",
            "cli",
            "console",
            "runtime",
        ],
    ),
    (
        "plan",
        &[
            "engine",
            "store",
            "providers",
            "review",
            "cli",
            "console",
            "runtime",
        ],
    ),
    ("review", &["engine", "store", "cli", "console", "runtime"]),
    ("engine", &["review", "cli", "console", "runtime"]),
    (
        "store",
        &["engine", "plan", "review", "cli", "console", "runtime"],
    ),
    (
        "providers",
        &["engine", "plan", "review", "cli", "console", "runtime"],
    ),
    (
        "sandbox",
        &[
            "plan",
            "engine",
            "store",
            "providers",
            "review",
            "cli",
            "console",
            "runtime",
        ],
    ),
    ("webhooks", &["review", "cli", "console", "runtime"]),
    ("notify", &["review", "cli", "console", "runtime"]),
    ("scheduler", &["review", "cli", "console", "runtime"]),
    ("console", &["review", "cli", "runtime"]),
    (
        "settlement",
        &[
            "engine",
            "review",
            "webhooks",
            "notify",
            "scheduler",
            "console",
            "cli",
            "runtime",
        ],
    ),
    ("runtime", &["cli"]),
];

/// Only the binary and the CLI itself use the CLI.
const CLI_USERS: &[&str] = &["main.rs", "cli"];

/// One forbidden use: where, and which layer uses which.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    file: String,
    line: usize,
    layer: String,
    used: String,
}

#[test]
fn layers_use_only_the_layers_below_them() {
    let src = root().join("src");
    let mut violations = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        let layer = layer_of(relative);
        let text = fs::read_to_string(&file).unwrap();
        for (index, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for used in crate_paths(line) {
                if forbids(&layer, &used) {
                    violations.push(Violation {
                        file: format!("src/{}", relative.display()),
                        line: index + 1,
                        layer: layer.clone(),
                        used,
                    });
                }
            }
        }
    }
    let found: Vec<String> = violations
        .iter()
        .map(|v| format!("{}:{}: `{}` uses `{}`", v.file, v.line, v.layer, v.used))
        .collect();
    assert!(
        found.is_empty(),
        "imports that cross the layers the wrong way:\n{}",
        found.join("\n")
    );
}

#[test]
fn crate_paths_are_found_in_every_form() {
    assert_eq!(
        crate_paths("use crate::store::{Store, StoreError};"),
        ["store"]
    );
    assert_eq!(
        crate_paths("let x = crate::engine::run(crate::plan::compile(y));"),
        ["engine", "plan"]
    );
    assert_eq!(
        crate_paths("use crate::{money::Amount, spec};"),
        ["money", "spec"]
    );
    assert!(crate_paths("use super::model::Plan;").is_empty());
    assert!(forbids("review", "store") && forbids("engine", "cli"));
    assert!(!forbids("cli", "cli") && !forbids("main.rs", "cli"));
    assert!(forbids("scheduler", "cli") && !forbids("scheduler", "engine"));
}

/// Whether `layer` may not use `used`.
fn forbids(layer: &str, used: &str) -> bool {
    if used == "cli" && !CLI_USERS.contains(&layer) {
        return true;
    }
    RULES
        .iter()
        .any(|(l, banned)| *l == layer && banned.contains(&used))
}

/// The layer of a file under `src/`: its top-level module (`engine` for
/// `engine/step/share.rs`, `digest` for `digest.rs`), or the file name of the crate roots.
fn layer_of(relative: &Path) -> String {
    let first = relative.components().next().unwrap();
    let name = first.as_os_str().to_string_lossy();
    match name.strip_suffix(".rs") {
        Some(module) if module != "main" && module != "lib" => module.to_string(),
        _ => name.into_owned(),
    }
}

/// The top-level modules a line names through `crate::`: `crate::store::X`, and each
/// member of `crate::{a::X, b}`.
fn crate_paths(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inside = &group[..group.find('}').unwrap_or(group.len())];
            found.extend(inside.split(',').filter_map(|m| ident(m.trim())));
        } else {
            found.extend(ident(rest));
        }
    }
    found
}

/// The identifier `text` starts with, if any.
fn ident(text: &str) -> Option<String> {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (end > 0).then(|| text[..end].to_string())
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|x| x == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}
