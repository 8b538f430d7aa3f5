//! What every console handler shares: the store, how users are known, and the signing key.

use std::sync::Arc;

use tokio::sync::watch;

use super::access::Access;
use super::layout::Viewer;
use super::runner::Runner;
use super::session::{Keys, Session};
use crate::scheduler::ScheduledWorkflow;
use crate::store::Store;

/// The scheduled workflows as `serve` holds them (updated when it reloads them).
pub type Scheduled = watch::Receiver<Vec<Arc<ScheduledWorkflow>>>;

/// The console's shared state; cheap to clone.
#[derive(Clone)]
pub struct Console(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    access: Access,
    keys: Keys,
    scheduled: Option<Scheduled>,
    runner: Option<Arc<dyn Runner>>,
}

impl Console {
    /// A console over `store`, with a fresh signing key (sessions last as long as the
    /// process), showing the next fire times of `scheduled` when given.
    pub fn new(store: Arc<dyn Store>, access: Access, scheduled: Option<Scheduled>) -> Console {
        Console(Arc::new(Inner {
            store,
            access,
            keys: Keys::random(),
            scheduled,
            runner: None,
        }))
    }

    /// This console, continuing the runs an operator resumes with `runner`.
    ///
    /// # Panics
    /// When called on a console already cloned (it is set up before it serves).
    #[must_use]
    pub fn with_runner(mut self, runner: Arc<dyn Runner>) -> Console {
        Arc::get_mut(&mut self.0)
            .expect("the runner is given before the console is shared")
            .runner = Some(runner);
        self
    }

    /// Who continues resumed runs, if this process can.
    pub fn runner(&self) -> Option<&Arc<dyn Runner>> {
        self.0.runner.as_ref()
    }

    /// The scheduled workflows known now (none without `--workflows`).
    pub fn scheduled(&self) -> Vec<Arc<ScheduledWorkflow>> {
        self.0
            .scheduled
            .as_ref()
            .map(|s| s.borrow().clone())
            .unwrap_or_default()
    }

    /// The store every page reads and every action writes through.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }

    /// How users are known.
    pub fn access(&self) -> &Access {
        &self.0.access
    }

    /// What a page shows of `session`: the user and the CSRF token of its forms.
    pub fn viewer<'a>(&self, session: &'a Session) -> Viewer<'a> {
        Viewer {
            session,
            csrf: self.0.keys.csrf(session),
            groups: self
                .0
                .access
                .users
                .get(&session.user)
                .map(|u| u.groups.join(", "))
                .unwrap_or_default(),
        }
    }

    /// The groups the users file puts `user` in (none for a user it does not list): an
    /// approval's `approvers: [@group]` admits them.
    pub fn groups_of(&self, user: &str) -> Vec<String> {
        self.0
            .access
            .users
            .get(user)
            .map(|u| u.groups.clone())
            .unwrap_or_default()
    }

    /// The key sessions and CSRF tokens are signed with.
    pub fn keys(&self) -> &Keys {
        &self.0.keys
    }
}
