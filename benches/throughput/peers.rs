//! The workload durable-execution engines are compared on: N durable steps of one HTTP POST
//! each to a small stub server, one at a time and 16 in flight, next to a plain loop making
//! the same POSTs from the same process with no durability. The figure is the ratio of the
//! two throughputs: what checkpointing every step costs against the work it protects.
//!
//! The stub server is an axum router on `127.0.0.1:0` in this process that answers every
//! POST 200 with a small JSON object. The durable side is `Engine::create` + `Engine::execute`
//! of a one-step workflow whose `for_each` has N items, each an `http.request` POST to the
//! stub through sluice's own `http` adapter and shared client (so each item is a dispatch
//! record, the POST, a result record). The plain side builds the same JSON body for each item
//! and makes the same POST with a client built the same way, in a loop or 16 tasks at a time.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::State as Shared;
use axum::routing::post;
use serde::Serialize;
use serde_json::{Value, json};
use sluice::engine::RunSource;
use sluice::ids::RunId;
use sluice::plan::compile;
use sluice::plan::inputs::{Given, resolve};
use sluice::providers::{HttpClient, Provider};
use sluice::spec::env::resolve_provider;
use sluice::spec::parse;
use tokio::task::JoinSet;

use crate::data::Payroll;
use crate::e2e::{Sync, fresh_db};
use crate::overhead::{Timed, engine_on, timed_run};

/// Steps per run, in `--quick` too.
pub const ITEMS: usize = 1_000;

/// The two modes: one at a time, then 16 in flight.
pub const IN_FLIGHT: [u32; 2] = [1, 16];

/// One mode at one durability: the plain loop and the engine on the same POSTs.
#[derive(Debug, Clone, Serialize)]
pub struct PeersRun {
    /// POSTs (steps) per side.
    pub items: usize,
    /// Requests in flight: 1 (sequential) or 16.
    pub in_flight: u32,
    /// Durability of the engine's SQLite store.
    pub sync: Sync,
    /// The plain loop's wall time.
    pub plain_s: f64,
    /// POSTs per second of the plain loop.
    pub plain_per_s: f64,
    /// The engine's wall time, `Engine::create` + `Engine::execute`.
    pub durable_s: f64,
    /// Of which `Engine::create` (every row inserted before the first POST).
    pub create_s: f64,
    /// Durable steps per second.
    pub durable_per_s: f64,
    /// durable_per_s / plain_per_s.
    pub ratio: f64,
    /// POSTs the stub server answered during the durable run (one per step).
    pub durable_posts: u64,
}

/// The mode's name, for tables.
pub fn mode(in_flight: u32) -> String {
    if in_flight == 1 {
        "sequential".into()
    } else {
        format!("{in_flight} in flight")
    }
}

/// The stub server: answers every POST 200 with a small JSON object, and counts them.
struct Server {
    /// `http://127.0.0.1:PORT`: the durable side's `base_url`.
    origin: String,
    /// The URL the plain side POSTs to: the origin and `/posts`.
    url: String,
    posts: Arc<AtomicU64>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn answer(Shared(posts): Shared<Arc<AtomicU64>>, body: axum::body::Bytes) -> Json<Value> {
    let n = posts.fetch_add(1, Ordering::Relaxed) + 1;
    Json(json!({"id": format!("obj_{n}"), "state": "PROCESSING", "received": body.len()}))
}

async fn serve() -> Result<Server, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind the stub server: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let posts = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/posts", post(answer))
        .with_state(posts.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Server {
        origin: format!("http://{addr}"),
        url: format!("http://{addr}/posts"),
        posts,
        stop,
        task,
    })
}

/// The client of both sides: the settings of sluice's shared provider client.
fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(sluice::providers::USER_AGENT)
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(64)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

/// One POST of `body` as JSON, its answer read as JSON: what both sides do per item.
async fn post_once(client: &reqwest::Client, url: &str, body: &Value) -> Result<Value, String> {
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(bytes)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("the stub server answered {}", response.status()));
    }
    let answer = response.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&answer).map_err(|e| e.to_string())
}

/// The durable side's workflow: one `for_each` step over the payroll CSV, `in_flight` items
/// at a time, each one `http.request` POST to the stub at `origin`.
fn workflow(origin: &str, in_flight: u32) -> String {
    format!(
        r#"version: 1
name: peers
inputs:
  items:
    type: csv
    required: true
    columns:
      employee_id: string
      name: string
      amount: decimal
      iban_label: string
providers:
  stub:
    kind: http
    base_url: {origin}
concurrency: {in_flight}
steps:
  - id: post
    uses: http.request
    for_each: inputs.items
    as: item
    key: "{{{{item.employee_id}}}}"
    max_parallel: {in_flight}
    with:
      method: POST
      path: /posts
      json:
        key: "{{{{run.id}}}}:post:{{{{item.employee_id}}}}"
        with:
          network: SEPA
          asset: EURC
          amount: "{{{{item.amount}}}}"
          target_account: "{{{{item.iban_label}}}}"
          note: "Peers {{{{run.id}}}} {{{{item.name}}}}"
      output: {{ id: /id, state: /state }}
"#
    )
}

/// The plain side's bodies, built as the engine's items are: key and `with` per CSV row.
fn bodies(text: &str, run: &str) -> Vec<Value> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            let [id, name, amount, label] = cols[..] else {
                return None;
            };
            // The durable side's JSON body sends the amount as a number with its digits.
            let amount: Value = serde_json::from_str(amount).ok()?;
            Some(json!({
                "key": format!("{run}:post:{id}"),
                "with": {
                    "network": "SEPA",
                    "asset": "EURC",
                    "amount": amount,
                    "target_account": label,
                    "note": format!("Peers {run} {name}"),
                }
            }))
        })
        .collect()
}

/// The plain loop: every body POSTed, `in_flight` at a time; its wall time.
async fn plain(url: &str, bodies: &[Value], in_flight: u32) -> Result<Duration, String> {
    let client = client()?;
    let started = Instant::now();
    if in_flight <= 1 {
        for body in bodies {
            post_once(&client, url, body).await?;
        }
    } else {
        let mut tasks = JoinSet::new();
        for body in bodies {
            if tasks.len() >= in_flight as usize
                && let Some(done) = tasks.join_next().await
            {
                done.map_err(|e| e.to_string())??;
            }
            let (client, url, body) = (client.clone(), url.to_string(), body.clone());
            tasks.spawn(async move { post_once(&client, &url, &body).await.map(drop) });
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(|e| e.to_string())??;
        }
    }
    Ok(started.elapsed())
}

/// The durable side: the workflow through the engine on a fresh SQLite database; its wall
/// time over create + execute, that of create alone, and the POSTs the server answered
/// meanwhile.
async fn durable(
    work: &Path,
    payroll: &Payroll,
    server: &Server,
    sync: Sync,
    in_flight: u32,
) -> Result<(Duration, Duration, u64), String> {
    let name = format!("peers-{}-{}-c{in_flight}", payroll.rows, sync.env());
    let text = workflow(&server.origin, in_flight);
    let loaded = parse("peers.yaml", &text).map_err(|f| format!("{:?}", f.diagnostics))?;
    let compiled = compile(&loaded).map_err(|d| format!("{d:?}"))?;
    let csv = std::fs::read_to_string(&payroll.path).map_err(|e| e.to_string())?;
    let given = BTreeMap::from([(
        "items".to_string(),
        Given::File {
            path: payroll.path.display().to_string(),
            text: csv,
        },
    )]);
    let inputs = resolve(&compiled.config.inputs, &given).map_err(|e| format!("{e:?}"))?;
    let db = fresh_db(work, &name)?;
    let (store, engine) = engine_on(&db, sync, in_flight).await?;
    let block = &compiled.config.providers["stub"];
    let resolved = resolve_provider("stub", block, &|_| None).map_err(|e| e.to_string())?;
    let http = HttpClient::new().map_err(|e| e.to_string())?;
    let adapter = sluice::providers::build(&resolved, &http).map_err(|e| e.to_string())?;
    let providers: HashMap<String, Arc<dyn Provider>> =
        HashMap::from([("stub".to_string(), adapter)]);

    let before = server.posts.load(Ordering::Relaxed);
    let source = RunSource {
        path: "peers.yaml",
        text: &loaded.source.text,
        inputs,
        run_id: Some(RunId::from(&name)),
        scheduled_for: None,
        plan_hash: None,
        started_by: "bench".into(),
    };
    let timed = timed_run(&engine, compiled, source, providers).await;
    store.close().await;
    let Timed { create, total } = timed?;
    Ok((total, create, server.posts.load(Ordering::Relaxed) - before))
}

/// Both sides in each mode and durability: the plain loop right before the engine, so that
/// the two see the same machine.
///
/// # Errors
/// When the server cannot start, a POST fails, or a run does not succeed.
pub async fn run(work: &Path, payroll: &Payroll, syncs: &[Sync]) -> Result<Vec<PeersRun>, String> {
    let server = serve().await?;
    let csv = std::fs::read_to_string(&payroll.path).map_err(|e| e.to_string())?;
    let bodies = bodies(&csv, "peers");
    // Warm-up: the server's first connections and both sides' lazy set-up.
    plain(&server.url, &bodies[..bodies.len().min(100)], 16).await?;
    let mut out = Vec::new();
    for in_flight in IN_FLIGHT {
        for &sync in syncs {
            let plain_wall = plain(&server.url, &bodies, in_flight).await?;
            let (durable_wall, create, posts) =
                durable(work, payroll, &server, sync, in_flight).await?;
            if posts != payroll.rows as u64 {
                return Err(format!(
                    "the durable run made {posts} POSTs for {} steps",
                    payroll.rows
                ));
            }
            let plain_per_s = bodies.len() as f64 / plain_wall.as_secs_f64();
            let durable_per_s = payroll.rows as f64 / durable_wall.as_secs_f64();
            out.push(PeersRun {
                items: payroll.rows,
                in_flight,
                sync,
                plain_s: plain_wall.as_secs_f64(),
                plain_per_s,
                durable_s: durable_wall.as_secs_f64(),
                create_s: create.as_secs_f64(),
                durable_per_s,
                ratio: durable_per_s / plain_per_s,
                durable_posts: posts,
            });
        }
    }
    let _ = server.stop.send(());
    let _ = server.task.await;
    Ok(out)
}
