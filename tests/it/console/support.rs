//! A console on loopback over a real SQLite file, runs put in the states an operator meets
//! through the store's own write protocol, and an HTTP client that keeps its session cookie.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;
use sluice::console::{Access, Console, TrustedProxy, Users, app, hash_password};
use sluice::ids::{RunId, StepId};
use sluice::store::{
    AttemptOperation, AttemptOutcome, Attention, DiscrepancyKind, Dispatch, Durability, ErrorClass,
    NewAttempt, NewDiscrepancy, NewEvent, NewRun, NewSettlement, NewStep, RunStatus, Settlement,
    StepError, StepKey, StepResult, Store, Waiting, WriteBatch, idempotency_key, open_store,
};
use sluice::webhooks::{Listening, bind};

/// A card number that must never appear on a page.
pub const CARD: &str = "4111111111111111";
/// A password that must never appear on a page, nor its hash.
pub const PASSWORD: &str = "sentinel-password-7c1e";

/// A console serving a scratch database.
pub struct Site {
    pub store: Arc<dyn Store>,
    pub listening: Listening,
    pub users_hash: String,
    _dir: tempfile::TempDir,
}

/// How the site lets people in.
pub enum Door {
    /// Loopback, no users: the local operator `local-ops`.
    Local,
    /// A users file: `vera` viewer, `otto` operator, `abby` approver, all with [`PASSWORD`].
    Users,
    /// A proxy at `from` naming users in `X-Remote-User`; the users file gives roles.
    Proxy(std::net::IpAddr),
    /// Bound off loopback with no users.
    Closed,
}

impl Site {
    pub async fn start(door: Door) -> Site {
        Self::start_on(door, None).await
    }

    /// As [`start`](Self::start), on the Postgres database at `url` when given.
    pub async fn start_on(door: Door, url: Option<&str>) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.db");
        let store = open_store(url.unwrap_or(path.to_str().unwrap()), Durability::Full)
            .await
            .unwrap();
        let users_hash = hash_password(PASSWORD).unwrap();
        let users = Users::parse(&format!(
            "users:\n  - {{name: vera, role: viewer, password_hash: \"{users_hash}\"}}\n  - {{name: otto, role: operator, password_hash: \"{users_hash}\"}}\n  - {{name: abby, role: approver, password_hash: \"{users_hash}\", groups: [treasury]}}\n"
        ))
        .unwrap();
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let access = match door {
            Door::Local => Access::new(Users::default(), None, loopback, "local-ops"),
            Door::Users => Access::new(users, None, loopback, "local-ops"),
            Door::Proxy(from) => Access::new(
                users,
                Some(TrustedProxy {
                    header: "x-remote-user".parse().unwrap(),
                    from: vec![from],
                }),
                loopback,
                "local-ops",
            ),
            Door::Closed => Access::new(
                Users::default(),
                None,
                "0.0.0.0:8790".parse().unwrap(),
                "local-ops",
            ),
        };
        let listener = bind(loopback).await.unwrap();
        let listening =
            Listening::start(listener, app(Console::new(store.clone(), access, None))).unwrap();
        Site {
            store,
            listening,
            users_hash,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.listening.addr())
    }

    pub fn browser(&self) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            cookie: None,
            base: self.url(""),
            extra: HeaderMap::new(),
        }
    }
}

/// An HTTP client that keeps the session cookie, like a browser.
pub struct Browser {
    pub client: reqwest::Client,
    pub cookie: Option<String>,
    pub base: String,
    pub extra: HeaderMap,
}

/// An answer, read whole.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token")
            + "name=\"csrf\" value=\"".len();
        self.body[at..at + 64].to_owned()
    }

    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .map_or("", |v| v.to_str().unwrap())
    }
}

impl Browser {
    async fn read(&mut self, response: reqwest::Response) -> Page {
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let mut request = self
            .client
            .get(format!("{}{path}", self.base))
            .headers(self.extra.clone());
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        self.read(response).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .headers(self.extra.clone())
            .form(form);
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        self.read(response).await
    }

    /// Signs in as `name` with [`PASSWORD`].
    pub async fn sign_in(&mut self, name: &str) {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        let done = self
            .post(
                "/login",
                &[("csrf", &csrf), ("name", name), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    }
}

fn new_run(id: &str, workflow: &str) -> NewRun {
    NewRun {
        id: id.into(),
        workflow_name: workflow.into(),
        workflow_path: "workflows/payroll.yaml".into(),
        workflow_hash: "wf-hash".into(),
        inputs_hash: "in-hash".into(),
        inputs: json!({}),
        plan_hash: Some("plan-hash-0123".into()),
        scheduled_for: None,
        started_by: "sam".into(),
        notify: Vec::new(),
        lease: None,
    }
}

/// `run_doubt`: step `pay` over `items` items `E0000…`; `E0001`'s transfer was dispatched,
/// its answer lost and a lookup could not tell, so it needs attention and so does the run.
/// Its request carries [`CARD`] (stored masked).
pub async fn run_in_doubt(store: &dyn Store, items: usize) -> StepKey {
    let run_id = RunId::from("run_doubt");
    let keys: Vec<String> = (0..items).map(|i| format!("E{i:04}")).collect();
    let mut steps = vec![NewStep::step("pay")];
    steps.extend(keys.iter().map(|k| NewStep::item("pay", k.as_str())));
    store
        .create_run(&new_run("run_doubt", "payroll"), &steps)
        .await
        .unwrap();
    let lease = store
        .acquire_lease(&run_id, "engine-1", Duration::from_secs(60))
        .await
        .unwrap();
    let key = StepKey::item("run_doubt", "pay", "E0001");
    let idem = idempotency_key(&run_id, &StepId::from("pay"), &key.item_key);
    let request = json!({"network": "SEPA", "asset": "EURC", "amount": "125.50", "target_account": "Ana", "card": {"number": CARD}});
    store
        .commit_batch(
            &lease,
            &WriteBatch::from(vec![Dispatch {
                step_id: "pay".into(),
                item_key: key.item_key.clone(),
                idempotency_key: idem.clone(),
                request,
            }]),
        )
        .await
        .unwrap();
    store
        .record_attempts(&[NewAttempt {
            key: key.clone(),
            attempt_no: 1,
            operation: AttemptOperation::Lookup,
            idempotency_key: idem,
            request_digest: None,
            started_at: Utc::now(),
            finished_at: Some(Utc::now()),
            outcome: AttemptOutcome::InDoubt,
            error: Some(StepError::new(
                ErrorClass::InDoubt,
                "the provider cannot be searched by this key",
            )),
            http_status: None,
        }])
        .await
        .unwrap();
    store
        .commit_batch(
            &lease,
            &WriteBatch::from(vec![Attention {
                key: key.clone(),
                message: "the transfer's answer was lost; check the provider".into(),
            }]),
        )
        .await
        .unwrap();
    store
        .set_run_status(
            &run_id,
            RunStatus::NeedsAttention,
            Some("an item needs attention"),
        )
        .await
        .unwrap();
    store.release_lease(&lease).await.unwrap();
    key
}

/// Items `E0002` up to `E{last}` of `run_doubt` in doubt too (dispatched, then attention),
/// with no provider call recorded.
pub async fn more_in_doubt(store: &dyn Store, last: usize) {
    let run_id = RunId::from("run_doubt");
    let lease = store
        .acquire_lease(&run_id, "engine-1", Duration::from_secs(60))
        .await
        .unwrap();
    let keys: Vec<String> = (2..=last).map(|i| format!("E{i:04}")).collect();
    let dispatches = keys
        .iter()
        .map(|k| Dispatch {
            step_id: "pay".into(),
            item_key: k.as_str().into(),
            idempotency_key: idempotency_key(&run_id, &StepId::from("pay"), &k.as_str().into()),
            request: json!({"asset": "EURC", "amount": "1.00"}),
        })
        .collect::<Vec<_>>();
    store
        .commit_batch(&lease, &WriteBatch::from(dispatches))
        .await
        .unwrap();
    let attention = keys
        .iter()
        .map(|k| Attention {
            key: StepKey::item("run_doubt", "pay", k.as_str()),
            message: "lost".into(),
        })
        .collect::<Vec<_>>();
    store
        .commit_batch(&lease, &WriteBatch::from(attention))
        .await
        .unwrap();
    store.release_lease(&lease).await.unwrap();
}

/// `run_sign`: an approval step `sign_off` waiting.
pub async fn run_waiting_approval(store: &dyn Store) {
    let run_id = RunId::from("run_sign");
    store
        .create_run(
            &new_run("run_sign", "payroll"),
            &[NewStep::step("sign_off")],
        )
        .await
        .unwrap();
    let lease = store
        .acquire_lease(&run_id, "engine-1", Duration::from_secs(60))
        .await
        .unwrap();
    store
        .commit_batch(
            &lease,
            &WriteBatch::from(vec![Waiting {
                key: StepKey::step("run_sign", "sign_off"),
                request: Some(json!({"approval": true, "message": "CFO sign-off"})),
                next_check_at: None,
                deadline_at: None,
            }]),
        )
        .await
        .unwrap();
    store
        .set_run_status(&run_id, RunStatus::Waiting, None)
        .await
        .unwrap();
    store.release_lease(&lease).await.unwrap();
}

/// `run_failed`: step `fund` failed, rejected by the provider.
pub async fn run_failed(store: &dyn Store) {
    let run_id = RunId::from("run_failed");
    store
        .create_run(&new_run("run_failed", "sweep"), &[NewStep::step("fund")])
        .await
        .unwrap();
    let lease = store
        .acquire_lease(&run_id, "engine-1", Duration::from_secs(60))
        .await
        .unwrap();
    store
        .commit_batch(
            &lease,
            &WriteBatch::from(vec![StepResult {
                key: StepKey::step("run_failed", "fund"),
                outcome: sluice::store::Outcome::Failed(StepError::new(
                    ErrorClass::Rejected,
                    "insufficient balance",
                )),
                attempt: None,
            }]),
        )
        .await
        .unwrap();
    store
        .set_run_status(&run_id, RunStatus::Failed, Some("step `fund` failed"))
        .await
        .unwrap();
    store.release_lease(&lease).await.unwrap();
}

/// `run_paid`, succeeded, whose payment `pay[E0001]` the provider failed after accepting it.
pub async fn run_paid_then_failed(store: &dyn Store) {
    let run_id = RunId::from("run_paid");
    let key = StepKey::item("run_paid", "pay", "E0001");
    let steps = [NewStep::step("pay"), NewStep::item("pay", "E0001")];
    store
        .create_run(&new_run("run_paid", "payroll"), &steps)
        .await
        .unwrap();
    let lease = store
        .acquire_lease(&run_id, "engine-1", Duration::from_secs(60))
        .await
        .unwrap();
    let idem = idempotency_key(&run_id, &StepId::from("pay"), &key.item_key);
    let paid = sluice::store::Outcome::Succeeded {
        output: json!({"id": "tr_1", "state": "PROCESSING", "amount": "40.00"}),
        provider_ref: Some("tr_1".into()),
    };
    store
        .commit_batch(
            &lease,
            &WriteBatch::from(vec![Dispatch {
                step_id: "pay".into(),
                item_key: key.item_key.clone(),
                idempotency_key: idem,
                request: json!({"amount": "40.00", "asset": "EURC"}),
            }]),
        )
        .await
        .unwrap();
    store
        .commit_batch(
            &lease,
            &WriteBatch::from(vec![StepResult {
                key: key.clone(),
                outcome: paid,
                attempt: None,
            }]),
        )
        .await
        .unwrap();
    store
        .set_run_status(&run_id, RunStatus::Succeeded, None)
        .await
        .unwrap();
    store.release_lease(&lease).await.unwrap();
    let failed = NewSettlement {
        key,
        settlement: Settlement::FailedAfterCommit,
        provider_state: Some("FAILED".into()),
        source: "poll".into(),
    };
    assert!(store.record_settlement(&failed).await.unwrap());
}

/// `run_recon`, whose payment `pay[E0007]` scheduled reconciliation found the provider
/// holding another amount for; returns the payment.
pub async fn run_disagreeing(store: &dyn Store) -> StepKey {
    let key = StepKey::item("run_recon", "pay", "E0007");
    store
        .create_run(&new_run("run_recon", "payroll"), &[])
        .await
        .unwrap();
    let found = NewDiscrepancy {
        key: key.clone(),
        kind: DiscrepancyKind::AmountMismatch,
        provider_ref: "tr_7".into(),
        detail: "sluice recorded 120.00, the provider holds 119.00".into(),
    };
    assert!(store.record_discrepancy(&found).await.unwrap());
    key
}

/// A webhook event whose payload carries [`CARD`].
pub async fn event(store: &dyn Store) -> i64 {
    let stored = store
        .insert_event(
            &NewEvent {
                provider: "ws".into(),
                dedupe_key: "evt-1".into(),
                event_type: "TRANSFER_COMPLETED".into(),
                object_id: Some("tr_1".into()),
                payload: format!("{{\"id\":\"tr_1\",\"card\":\"{CARD}\"}}"),
                signature_ok: true,
            },
            &[],
        )
        .await
        .unwrap();
    match stored {
        sluice::store::EventInsert::Inserted { id, .. } => id,
        other => panic!("not stored: {other:?}"),
    }
}
