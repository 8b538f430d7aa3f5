//! The Notifications page over HTTP: the outbox as `sluice notifications` lists it, rows written
//! by the store's own protocol (a run failing, a schedule slot missed) and tried by the real
//! notifier, shown to a viewer with the event, the run or workflow, the state and the last
//! error, and never a secret: not a webhook's secret, not a token in its URL's query string,
//! not an SMTP URL.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;
use sluice::ids::RunId;
use sluice::notify::Notifier;
use sluice::store::{MissedSlots, NewRun, NewStep, NotifyRoute, RunStatus, Store};

use super::support::{Door, Site};
use crate::notify::receiver;

/// A token a webhook URL carries in its query string, as URLs from the environment may.
const TOKEN: &str = "sentinel-url-token-4b9d";
/// A webhook's signing key.
const SECRET: &str = "sentinel-hook-secret-8e3a";
/// The password in an SMTP URL.
const SMTP_PASSWORD: &str = "sentinel-smtp-password-2f6c";

/// Creates run `id` with one route paging `target` on `failed`, and fails it: the store
/// writes the notification with the status change.
async fn failed_run(store: &dyn Store, id: &str, target: serde_json::Value) {
    let run = NewRun {
        id: id.into(),
        workflow_name: "sweep".into(),
        workflow_path: "workflows/sweep.yaml".into(),
        workflow_hash: "wf-hash".into(),
        inputs_hash: "in-hash".into(),
        inputs: json!({}),
        plan_hash: None,
        scheduled_for: None,
        started_by: "sam".into(),
        notify: vec![NotifyRoute {
            on: vec!["failed".into()],
            target,
        }],
        lease: None,
    };
    store
        .create_run(&run, &[NewStep::step("fund")])
        .await
        .unwrap();
    let run_id = RunId::from(id);
    let lease = store
        .acquire_lease(&run_id, "engine-1", Duration::from_secs(60))
        .await
        .unwrap();
    store
        .set_run_status(&run_id, RunStatus::Failed, Some("step `fund` failed"))
        .await
        .unwrap();
    store.release_lease(&lease).await.unwrap();
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notifications_page_shows_each_delivery_and_never_a_secret() {
    let site = Site::start(Door::Users).await;
    let (hook, inbox) = receiver(StatusCode::OK).await;
    failed_run(
        &*site.store,
        "run_paged",
        json!({"webhook": {"url": format!("{hook}?token={TOKEN}"), "secret": SECRET}}),
    )
    .await;
    let closed = closed_port();
    failed_run(
        &*site.store,
        "run_unheard",
        json!({"webhook": {"url": format!("http://127.0.0.1:{closed}/hook?token={TOKEN}"), "secret": SECRET}}),
    )
    .await;
    site.store
        .record_missed_slots(&MissedSlots {
            workflow_name: "nightly".into(),
            slots: vec![(Utc::now(), RunId::from("run_nightly_missed"))],
            reason: "no scheduler was running when it came due (`catch_up: none`)".into(),
            routes: vec![NotifyRoute {
                on: vec!["schedule_missed".into()],
                target: json!({"email": {
                    "to": ["treasury@example.com"],
                    "smtp": format!("smtp://ops:{SMTP_PASSWORD}@127.0.0.1:{closed}"),
                }}),
            }],
        })
        .await
        .unwrap();
    let sent = Notifier::new(site.store.clone(), "test-notifier")
        .deliver_due(None)
        .await
        .unwrap();
    assert_eq!(sent.len(), 3, "each row is tried once");
    assert_eq!(inbox.bodies().len(), 1, "the receiver got its one");

    let mut b = site.browser();
    b.sign_in("vera").await;
    let page = b.get("/notifications").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    let delivered_to = format!("webhook {hook}<");
    let tried_at = format!("webhook http://127.0.0.1:{closed}/hook<");
    for shown in [
        "href=\"/notifications\"",
        "href=\"/runs/run_paged\"",
        "href=\"/runs/run_unheard\"",
        "href=\"/schedules\"",
        "nightly",
        "schedule_missed",
        "state-delivered",
        "state-pending",
        "webhook not delivered",
        &delivered_to,
        &tried_at,
        "email treasury@example.com",
    ] {
        assert!(body.contains(shown), "`{shown}` is on the page:\n{body}");
    }
    assert_eq!(
        body.matches("<td>failed</td>").count(),
        2,
        "the event of both runs"
    );
    for secret in [TOKEN, SECRET, SMTP_PASSWORD, "smtp://", "token="] {
        assert!(!body.contains(secret), "`{secret}` is never shown:\n{body}");
    }

    let delivered = b.get("/notifications?state=delivered").await;
    assert!(delivered.body.contains("href=\"/runs/run_paged\""));
    assert!(!delivered.body.contains("href=\"/runs/run_unheard\""));
    let one_run = b.get("/notifications?run=run_unheard").await;
    assert!(one_run.body.contains("href=\"/runs/run_unheard\""));
    assert!(!one_run.body.contains("href=\"/runs/run_paged\""));
    assert!(!one_run.body.contains("schedule_missed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notifications_page_is_closed_like_every_other() {
    let site = Site::start(Door::Users).await;
    let mut b = site.browser();
    let page = b.get("/notifications").await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/login"),
        "not signed in"
    );

    let closed = Site::start(Door::Closed).await;
    let page = closed.browser().get("/notifications").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
}
