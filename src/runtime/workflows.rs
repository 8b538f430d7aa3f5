//! The workflows a `serve` worker runs, by file and content hash, each loaded once. Loading
//! registers the workflow's provider blocks with the webhook receiver, so a webhook for any
//! active run is accepted whichever worker it reaches.
//!
//! How a file becomes a compiled workflow with adapters (and where its diagnostics go) is
//! the caller's [`Loader`]: the CLI prints them, tests need not.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::plan::CompiledWorkflow;
use crate::plan::fingerprint::workflow_hash;
use crate::providers::Provider;
use crate::store::RunRecord;
use crate::webhooks::Providers;

/// A workflow's adapters, by provider block name.
pub type Adapters = HashMap<String, Arc<dyn Provider>>;

/// Compiles the workflow file at a path and builds an adapter per provider block.
pub type Loader = Box<dyn Fn(&Path) -> Result<(CompiledWorkflow, Adapters)> + Send + Sync>;

/// A workflow ready to run: compiled, with an adapter per provider block.
pub(super) struct Workflow {
    pub(super) compiled: Arc<CompiledWorkflow>,
    pub(super) providers: Adapters,
}

/// Workflows by file and content hash, each loaded once; loading registers its provider
/// blocks with the receiver.
pub struct Workflows {
    registry: Providers,
    loader: Loader,
    cache: HashMap<(PathBuf, String), Arc<Workflow>>,
}

impl Workflows {
    /// Workflows loaded with `loader`, registering their blocks with `registry`.
    pub fn new(registry: Providers, loader: Loader) -> Self {
        Workflows {
            registry,
            loader,
            cache: HashMap::new(),
        }
    }

    /// The provider blocks of the workflows loaded so far, for the webhook receiver.
    pub fn registry(&self) -> &Providers {
        &self.registry
    }

    /// Loads every workflow file in `dir`; invalid ones are reported and skipped.
    ///
    /// # Errors
    /// When `dir` cannot be read.
    pub fn load_dir(&mut self, dir: &Path) -> Result<()> {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read `{}`", dir.display()))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        paths.sort();
        for path in paths {
            match self.load(&path) {
                Ok((_, w)) => tracing::info!(
                    workflow = %w.compiled.config.name,
                    providers = ?w.providers.keys().collect::<Vec<_>>(),
                    "Workflow loaded."
                ),
                Err(error) => {
                    tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "Workflow skipped.");
                }
            }
        }
        Ok(())
    }

    /// The workflow in `path` as it is now, and its hash.
    fn load(&mut self, path: &Path) -> Result<(String, Arc<Workflow>)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let hash = workflow_hash(&text);
        let key = (path.to_path_buf(), hash.clone());
        if let Some(w) = self.cache.get(&key) {
            return Ok((hash, w.clone()));
        }
        let (compiled, providers) = (self.loader)(path)?;
        self.registry
            .add_all(&providers, &compiled.config.providers);
        let w = Arc::new(Workflow {
            compiled: Arc::new(compiled),
            providers,
        });
        self.cache.insert(key, w.clone());
        Ok((hash, w))
    }

    /// The workflow `run` started from, if the file is still the same.
    pub(super) fn for_run(&mut self, run: &RunRecord) -> Result<Arc<Workflow>> {
        let path = Path::new(&run.workflow_path);
        let (hash, w) = self.load(path)?;
        if hash != run.workflow_hash {
            bail!(
                "`{}` changed since the run started; continue it with `sluice resume {} --allow-changed`",
                path.display(),
                run.id
            );
        }
        if w.compiled.config.name != run.workflow_name {
            bail!(
                "`{}` is workflow `{}`, not `{}`",
                path.display(),
                w.compiled.config.name,
                run.workflow_name
            );
        }
        Ok(w)
    }
}
