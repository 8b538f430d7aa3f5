//! A scheduler on a fresh SQLite file with a manual clock, workflows built from YAML text,
//! and a launcher that records what it was asked to run.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use sluice::ids::RunId;
use sluice::scheduler::{
    Launch, Launcher, Providers, ScheduledWorkflow, Service, SlotOutcome, Tick,
};
use sluice::store::{Clock, ManualClock, RunFilter, RunStatus, SqliteConfig, SqliteStore, Store};

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A workflow named `name` with a `log` step and the given `schedule:` body (YAML, indented
/// by two spaces), plus any extra top-level YAML.
pub fn workflow(name: &str, schedule: &str, extra: &str) -> Arc<ScheduledWorkflow> {
    let text = format!(
        "version: 1\nname: {name}\nschedule:\n{schedule}\n{extra}\nsteps:\n  - id: hello\n    uses: log\n    with: {{ message: \"slot {{{{run.scheduled_for}}}}\" }}\n"
    );
    from_text(&text)
}

/// A scheduled workflow from a whole file's text.
pub fn from_text(text: &str) -> Arc<ScheduledWorkflow> {
    let loaded =
        sluice::spec::parse("workflows/test.yaml", text).expect("the test workflow parses");
    let compiled = sluice::plan::compile(&loaded).expect("the test workflow is valid");
    let scheduled = ScheduledWorkflow::new(&loaded, compiled, Providers::new())
        .expect("its schedule is valid")
        .expect("it has a schedule");
    Arc::new(scheduled)
}

/// Records the run ids it is asked to launch, and runs nothing: they stay `pending`, live,
/// until a test ends them.
#[derive(Debug, Default)]
pub struct Recorder {
    launched: Mutex<Vec<String>>,
    running: Mutex<Vec<Launch>>,
}

impl Recorder {
    pub fn launched(&self) -> Vec<String> {
        self.launched.lock().unwrap().clone()
    }

    /// Ends a launched run as an engine would: its status, then the scheduler's wake-up.
    pub async fn end(&self, store: &Arc<dyn Store>, run_id: &str) {
        finish(store, run_id).await;
        self.running.lock().unwrap().retain(|l| l.run_id != run_id);
    }
}

#[async_trait::async_trait]
impl Launcher for Recorder {
    async fn launch(&self, launch: Launch) {
        self.launched
            .lock()
            .unwrap()
            .push(launch.run_id.to_string());
        self.running.lock().unwrap().push(launch);
    }
}

/// One scheduler process: its own store handle on the shared file, its launcher, and the
/// service.
pub struct Node {
    pub store: Arc<dyn Store>,
    pub launcher: Arc<Recorder>,
    pub service: Service,
}

impl Node {
    pub async fn start(db: &std::path::Path, clock: &Arc<ManualClock>) -> Node {
        let config = SqliteConfig::new(db).clock(clock.clone() as Arc<dyn Clock>);
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(config).await.unwrap());
        let launcher = Arc::new(Recorder::default());
        let service = Service::new(store.clone(), launcher.clone(), clock.clone());
        Node {
            store,
            launcher,
            service,
        }
    }

    pub async fn tick(&self, workflows: &[Arc<ScheduledWorkflow>]) -> Tick {
        self.service.tick(workflows).await
    }
}

/// A database directory and a clock standing at `start`.
pub fn setup(start: &str) -> (tempfile::TempDir, Arc<ManualClock>) {
    (
        tempfile::tempdir().unwrap(),
        Arc::new(ManualClock::new(at(start))),
    )
}

/// The slots a tick started, as `HH:MM` UTC.
pub fn started(tick: &Tick) -> Vec<String> {
    tick.slots
        .iter()
        .filter(|s| s.outcome == SlotOutcome::Started)
        .map(|s| s.slot.format("%H:%M").to_string())
        .collect()
}

/// Every run of `workflow`, oldest slot first: (id, status).
pub async fn runs(store: &Arc<dyn Store>, workflow: &str) -> Vec<(String, RunStatus)> {
    let filter = RunFilter {
        workflow: Some(workflow.into()),
        ..RunFilter::default()
    };
    let mut runs: Vec<(String, RunStatus)> = store
        .list_runs(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id.into_string(), r.status))
        .collect();
    runs.sort();
    runs
}

/// Ends a run as an engine would.
pub async fn finish(store: &Arc<dyn Store>, run_id: &str) {
    store
        .set_run_status(&RunId::from(run_id), RunStatus::Succeeded, None)
        .await
        .unwrap();
}

pub fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}
