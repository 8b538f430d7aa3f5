//! The console over HTTP: every page, every decision and what it changed in the store and
//! the audit trail, the 401 and 403 rules, roles, the proxy header, and no secret on any page.

use reqwest::StatusCode;
use sluice::ids::RunId;
use sluice::store::{ActionKind, RunStatus, StepState};

use super::support::{
    Browser, CARD, Door, PASSWORD, Site, event, more_in_doubt, run_disagreeing, run_failed,
    run_in_doubt, run_paid_then_failed, run_waiting_approval,
};

async fn actions(site: &Site, run: &str) -> Vec<(String, String, Option<String>)> {
    site.store
        .list_operator_actions(&RunId::from(run))
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.action.kind.as_str().to_owned(),
                r.action.actor,
                r.action.reason,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_shows_the_evidence_and_resolving_goes_through_the_store_with_the_user() {
    let site = Site::start(Door::Local).await;
    let key = run_in_doubt(&*site.store, 3).await;
    let mut b = site.browser();
    let inbox = b.get("/").await;
    assert_eq!(inbox.status, StatusCode::OK);
    let step = site.store.load_step(&key).await.unwrap();
    for evidence in [
        "run_doubt",
        "E0001",
        step.idempotency_key.as_deref().unwrap(),
        step.request_digest.as_deref().unwrap(),
        "answer was lost; check the provider",
        "the provider cannot be searched by this key",
        "It happened",
        "It did not: send again with the same key",
        "Skip",
        "local-ops",
    ] {
        assert!(
            inbox.body.contains(evidence),
            "`{evidence}` missing:\n{}",
            inbox.body
        );
    }
    assert!(
        inbox
            .body
            .contains("&quot;amount&quot;: &quot;125.50&quot;"),
        "{}",
        inbox.body
    );

    let csrf = inbox.csrf();
    let empty = b
        .post(
            "/runs/run_doubt/steps/pay/resolve",
            &[
                ("csrf", &csrf),
                ("item", "E0001"),
                ("decision", "retry"),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::BAD_REQUEST,
        "a reason is required"
    );
    let done = b
        .post(
            "/runs/run_doubt/steps/pay/resolve",
            &[
                ("csrf", &csrf),
                ("item", "E0001"),
                ("decision", "retry"),
                ("reason", "not in the provider dashboard"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/runs/run_doubt");
    let step = site.store.load_step(&key).await.unwrap();
    assert_eq!(
        step.state,
        StepState::Dispatching,
        "looked up before it is sent again"
    );
    let run = site
        .store
        .load_run(&RunId::from("run_doubt"))
        .await
        .unwrap();
    assert_eq!(
        run.status,
        RunStatus::Pending,
        "runnable again for a worker"
    );
    assert_eq!(
        actions(&site, "run_doubt").await,
        [(
            "resolve_retry".into(),
            "local-ops".into(),
            Some("not in the provider dashboard".into())
        )]
    );
    let again = b
        .post(
            "/runs/run_doubt/steps/pay/resolve",
            &[
                ("csrf", &csrf),
                ("item", "E0001"),
                ("decision", "succeeded"),
                ("provider_ref", "tr_9"),
                ("reason", "twice"),
            ],
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "no longer in doubt: {}",
        again.body
    );
    let page = b.get("/runs/run_doubt").await;
    assert!(
        page.body.contains("resolve_retry") && page.body.contains("not in the provider dashboard")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_found_at_the_provider_is_recorded_succeeded_with_its_reference() {
    let site = Site::start(Door::Local).await;
    let key = run_in_doubt(&*site.store, 2).await;
    let mut b = site.browser();
    let csrf = b.get("/runs/run_doubt/steps/pay/items/E0001").await.csrf();
    let done = b
        .post(
            "/runs/run_doubt/steps/pay/resolve",
            &[
                ("csrf", &csrf),
                ("item", "E0001"),
                ("decision", "succeeded"),
                ("provider_ref", "tr_42"),
                ("reason", "found in the dashboard"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let step = site.store.load_step(&key).await.unwrap();
    assert_eq!(
        (step.state, step.provider_ref.as_deref()),
        (StepState::Succeeded, Some("tr_42"))
    );
    let recorded = site
        .store
        .list_operator_actions(&RunId::from("run_doubt"))
        .await
        .unwrap();
    assert_eq!(
        recorded[0].action.kind,
        ActionKind::ResolveSucceeded {
            provider_ref: "tr_42".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_its_csrf_token_is_403_and_changes_nothing() {
    let site = Site::start(Door::Local).await;
    run_failed(&*site.store).await;
    let mut b = site.browser();
    let page = b.get("/").await;
    let token = page.csrf();
    for form in [
        vec![("reason", "no token")],
        vec![
            (
                "csrf",
                "0000000000000000000000000000000000000000000000000000000000000000",
            ),
            ("reason", "forged"),
        ],
    ] {
        let refused = b.post("/runs/run_failed/cancel", &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    // Another browser's token does not fit this session.
    let mut other = site.browser();
    other.get("/").await;
    let refused = other
        .post(
            "/runs/run_failed/cancel",
            &[("csrf", &token), ("reason", "stolen")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(actions(&site, "run_failed").await.is_empty());
    let run = site
        .store
        .load_run(&RunId::from("run_failed"))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);

    let retried = b
        .post(
            "/runs/run_failed/retry",
            &[("csrf", &token), ("reason", "balance topped up")],
        )
        .await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    let run = site
        .store
        .load_run(&RunId::from("run_failed"))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Pending);
    let cancelled = b
        .post(
            "/runs/run_failed/cancel",
            &[("csrf", &token), ("reason", "wrong file")],
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    assert_eq!(
        actions(&site, "run_failed").await,
        [
            (
                "retry".into(),
                "local-ops".into(),
                Some("balance topped up".into())
            ),
            (
                "cancel".into(),
                "local-ops".into(),
                Some("wrong file".into())
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_loopback_without_users_every_page_is_401() {
    let site = Site::start(Door::Closed).await;
    run_failed(&*site.store).await;
    let mut b = site.browser();
    for path in [
        "/",
        "/runs",
        "/runs/run_failed",
        "/events",
        "/workers",
        "/schedules",
        "/login",
        "/live",
    ] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            page.body.contains("--users FILE"),
            "{path} says how to open it"
        );
    }
    let post = b.post("/runs/run_failed/cancel", &[("reason", "x")]).await;
    assert_eq!(post.status, StatusCode::UNAUTHORIZED);
    assert!(b.cookie.is_none(), "no session is handed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_sign_in_and_each_role_may_do_only_its_part() {
    let site = Site::start(Door::Users).await;
    run_waiting_approval(&*site.store).await;
    run_failed(&*site.store).await;
    let mut b = site.browser();
    let page = b.get("/").await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let post = b.post("/runs/run_failed/cancel", &[("reason", "x")]).await;
    assert_eq!(post.status, StatusCode::UNAUTHORIZED, "not signed in");

    let form = b.get("/login").await;
    let wrong = b
        .post(
            "/login",
            &[
                ("csrf", &form.csrf()),
                ("name", "otto"),
                ("password", "guess"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        b.get("/runs").await.status,
        StatusCode::SEE_OTHER,
        "still signed out"
    );

    let mut viewer = site.browser();
    viewer.sign_in("vera").await;
    let home = viewer.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("vera · viewer"));
    assert!(
        !home.body.contains("Retry failed"),
        "no buttons for a viewer"
    );
    let csrf = home.csrf();
    let refused = viewer
        .post(
            "/runs/run_failed/cancel",
            &[("csrf", &csrf), ("reason", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let mut operator = site.browser();
    operator.sign_in("otto").await;
    let csrf = operator.get("/").await.csrf();
    let refused = operator
        .post(
            "/runs/run_sign/steps/sign_off/approve",
            &[("csrf", &csrf), ("reason", "ok")],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "approving needs an approver"
    );
    assert!(actions(&site, "run_sign").await.is_empty());
    assert!(actions(&site, "run_failed").await.is_empty());

    let mut approver = site.browser();
    approver.sign_in("abby").await;
    let home = approver.get("/").await;
    assert!(
        home.body.contains("abby · approver · treasury"),
        "with the user's groups"
    );
    assert!(
        home.body.contains("CFO sign-off") || home.body.contains("sign_off"),
        "{}",
        home.body
    );
    let approved = approver
        .post(
            "/runs/run_sign/steps/sign_off/approve",
            &[("csrf", &home.csrf()), ("reason", "totals checked")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    assert_eq!(
        actions(&site, "run_sign").await,
        [(
            "approve".into(),
            "abby".into(),
            Some("totals checked".into())
        )]
    );
    let signed_out = approver.post("/logout", &[("csrf", &home.csrf())]).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert!(
        signed_out
            .headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_needs_a_reason_and_fails_the_run() {
    let site = Site::start(Door::Users).await;
    run_waiting_approval(&*site.store).await;
    let mut b = site.browser();
    b.sign_in("abby").await;
    let csrf = b.get("/runs/run_sign").await.csrf();
    let bare = b
        .post("/runs/run_sign/steps/sign_off/deny", &[("csrf", &csrf)])
        .await;
    assert_eq!(bare.status, StatusCode::BAD_REQUEST);
    let denied = b
        .post(
            "/runs/run_sign/steps/sign_off/deny",
            &[("csrf", &csrf), ("reason", "two payees unknown")],
        )
        .await;
    assert_eq!(denied.status, StatusCode::SEE_OTHER);
    let run = site.store.load_run(&RunId::from("run_sign")).await.unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(
        actions(&site, "run_sign").await,
        [(
            "deny".into(),
            "abby".into(),
            Some("two payees unknown".into())
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_names_the_user_and_nobody_else_can() {
    let site = Site::start(Door::Proxy("127.0.0.1".parse().unwrap())).await;
    let mut b = site.browser();
    b.extra.insert("x-remote-user", "otto".parse().unwrap());
    b.extra
        .insert("x-forwarded-proto", "https".parse().unwrap());
    let page = b.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("otto · operator"));
    let cookie = page.headers.get("set-cookie").unwrap().to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let mut stranger = site.browser();
    stranger
        .extra
        .insert("x-remote-user", "someone".parse().unwrap());
    let page = stranger.get("/").await;
    assert!(
        page.body.contains("someone · viewer"),
        "unlisted users only view"
    );

    let untrusted = Site::start(Door::Proxy("10.9.8.7".parse().unwrap())).await;
    let mut b = untrusted.browser();
    b.extra.insert("x-remote-user", "abby".parse().unwrap());
    let page = b.get("/").await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/login"),
        "the header from elsewhere is ignored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_with_strict_headers_and_no_secret() {
    let site = Site::start(Door::Users).await;
    run_in_doubt(&*site.store, 3).await;
    run_waiting_approval(&*site.store).await;
    run_failed(&*site.store).await;
    let id = event(&*site.store).await;
    let mut b = site.browser();
    b.sign_in("abby").await;
    let pages = [
        "/",
        "/runs",
        "/runs?workflow=payroll&status=needs_attention",
        "/runs/run_doubt",
        "/runs/run_sign",
        "/runs/run_failed",
        "/runs/run_doubt/steps/pay/items",
        "/runs/run_doubt/steps/pay/items?state=needs_attention",
        "/runs/run_doubt/steps/pay/items/E0001",
        "/runs/run_doubt/steps/pay/items/E0002",
        "/runs/run_doubt/steps/pay/items.csv",
        "/schedules",
        "/events",
        "/workers",
        "/login",
    ];
    for path in pages {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        let csp = page
            .headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{path}"
        );
        for secret in [CARD, PASSWORD, site.users_hash.as_str()] {
            assert!(!page.body.contains(secret), "{path} shows a secret");
        }
        assert!(!page.body.contains("<script>"), "{path} has inline script");
    }
    let events = b.get("/events").await;
    assert!(
        events.body.contains("TRANSFER_COMPLETED")
            && events.body.contains(&format!("/events/{id}/replay"))
    );
    let replayed = b
        .post(&format!("/events/{id}/replay"), &[("csrf", &events.csrf())])
        .await;
    assert_eq!(replayed.status, StatusCode::SEE_OTHER, "{}", replayed.body);
    let listed = site.store.list_events(&Default::default()).await.unwrap();
    assert_eq!(
        listed.len(),
        2,
        "the redelivery is stored beside the original"
    );
    assert_eq!(b.get("/runs/run_nope").await.status, StatusCode::NOT_FOUND);
    let js = b.get("/assets/console.js").await;
    assert!(js.body.contains("EventSource"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_steps_items_are_paged_filtered_searched_and_exported() {
    let site = Site::start(Door::Local).await;
    run_in_doubt(&*site.store, 250).await;
    let mut b = site.browser();
    let first = b.get("/runs/run_doubt/steps/pay/items").await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.body.contains(">E0000<") && first.body.contains(">E0098<"));
    assert!(!first.body.contains(">E0100<"));
    assert!(
        first.body.contains("needs_attention</span> 1"),
        "totals by state"
    );
    assert!(first.body.contains("pending</span> 250"), "{}", first.body);
    assert!(
        first
            .body
            .contains("<td>EURC</td><td class=\"amount\">125.50</td><td>1</td>"),
        "the step's amounts by state and asset"
    );
    let next = first.body.split("rel=\"next\"").next().unwrap();
    let href = &next[next.rfind("href=\"").unwrap() + 6..];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    let second = b.get(&href).await;
    assert!(
        second.body.contains(">E0099<") && !second.body.contains(">E0000<"),
        "{href}"
    );

    let doubt = b
        .get("/runs/run_doubt/steps/pay/items?state=needs_attention")
        .await;
    assert!(doubt.body.contains(">E0001<") && !doubt.body.contains(">E0000<"));
    assert!(doubt.body.contains("125.50 EURC"), "amounts by asset");
    let search = b.get("/runs/run_doubt/steps/pay/items?key=E020").await;
    assert!(
        search.body.contains(">E0200<")
            && search.body.contains(">E0209<")
            && !search.body.contains(">E0210<")
    );

    let csv = b.get("/runs/run_doubt/steps/pay/items.csv").await;
    assert_eq!(
        csv.headers.get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines.len(),
        1 + 1 + 250,
        "a header, the step's row, every item"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("E0001,needs_attention,125.50,EURC,1,"))
    );
    let filtered = b
        .get("/runs/run_doubt/steps/pay/items.csv?state=needs_attention")
        .await;
    assert_eq!(filtered.body.lines().count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_filtered_by_workflow_status_and_date() {
    let site = Site::start(Door::Local).await;
    run_in_doubt(&*site.store, 2).await;
    run_failed(&*site.store).await;
    let mut b = site.browser();
    let all = b.get("/runs").await;
    assert!(all.body.contains("run_doubt") && all.body.contains("run_failed"));
    assert!(
        all.body.contains("<td class=\"amount\">125.50</td>"),
        "amounts of the runs listed"
    );
    let sweep = b.get("/runs?workflow=sweep").await;
    assert!(!sweep.body.contains("run_doubt") && sweep.body.contains("run_failed"));
    let failed = b.get("/runs?status=failed").await;
    assert!(!failed.body.contains("run_doubt") && failed.body.contains("run_failed"));
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let dated = b.get(&format!("/runs?from={today}&to={today}")).await;
    assert!(dated.body.contains("run_doubt"));
    let past = b.get("/runs?to=2001-01-01").await;
    assert!(!past.body.contains("run_doubt"));
    assert_eq!(
        b.get("/runs?status=exploded").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_page_hears_of_its_changes_over_server_sent_events() {
    let site = Site::start(Door::Local).await;
    let key = run_in_doubt(&*site.store, 2).await;
    let mut b: Browser = site.browser();
    b.get("/").await;
    let mut request = b.client.get(site.url("/live?run=run_doubt"));
    if let Some(cookie) = &b.cookie {
        request = request.header("cookie", cookie);
    }
    let mut response = request.send().await.unwrap();
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let mut seen = String::new();
    while !seen.contains("event: ready") {
        seen.push_str(&String::from_utf8_lossy(
            &response.chunk().await.unwrap().unwrap(),
        ));
    }
    site.store
        .apply_operator_action(&sluice::store::OperatorAction {
            run_id: key.run_id.clone(),
            step_id: Some(key.step_id.clone()),
            item_key: Some(key.item_key.clone()),
            kind: ActionKind::ResolveSkip,
            actor: "cli-user".into(),
            reason: Some("paid by hand".into()),
            groups: Vec::new(),
        })
        .await
        .unwrap();
    while !seen.contains("event: change") {
        seen.push_str(&String::from_utf8_lossy(
            &response.chunk().await.unwrap().unwrap(),
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_a_decision_work_the_same_on_postgres() {
    let Some(schema) = crate::engine::postgres::TestSchema::create().await else {
        return;
    };
    let site = Site::start_on(Door::Local, Some(&schema.url)).await;
    let key = run_in_doubt(&*site.store, 150).await;
    let mut b = site.browser();
    let doubt = b
        .get("/runs/run_doubt/steps/pay/items?state=needs_attention&key=E000")
        .await;
    assert_eq!(doubt.status, StatusCode::OK);
    assert!(doubt.body.contains(">E0001<") && !doubt.body.contains(">E0002<"));
    assert!(doubt.body.contains("<td class=\"amount\">125.50</td>"));
    let csrf = b.get("/").await.csrf();
    let done = b
        .post(
            "/runs/run_doubt/steps/pay/resolve",
            &[
                ("csrf", &csrf),
                ("item", "E0001"),
                ("decision", "skip"),
                ("reason", "paid by hand"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let step = site.store.load_step(&key).await.unwrap();
    assert_eq!(step.state, StepState::Skipped);
    assert_eq!(
        actions(&site, "run_doubt").await,
        [(
            "resolve_skip".into(),
            "local-ops".into(),
            Some("paid by hand".into())
        )]
    );
    let csv = b.get("/runs/run_doubt/steps/pay/items.csv").await;
    assert_eq!(csv.body.lines().count(), 1 + 1 + 150);
    drop(site);
    schema.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_shows_a_page_of_a_steps_items_in_doubt_and_links_to_the_rest() {
    let site = Site::start(Door::Local).await;
    run_in_doubt(&*site.store, 40).await;
    more_in_doubt(&*site.store, 30).await;
    let mut b = site.browser();
    let inbox = b.get("/").await;
    assert_eq!(
        inbox.body.matches("<article class=\"card doubt\"").count(),
        20
    );
    assert!(
        inbox.body.contains("10 more of pay in doubt"),
        "{}",
        inbox.body
    );
    assert!(
        inbox
            .body
            .contains("/runs/run_doubt/steps/pay/items?state=needs_attention")
    );
    assert!(inbox.body.contains("30 open"));
    let rest = b
        .get("/runs/run_doubt/steps/pay/items?state=needs_attention")
        .await;
    assert!(rest.body.contains(">E0030<") && rest.body.contains(">E0001<"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_failed_after_commit_is_an_operator_case_in_the_inbox() {
    let site = Site::start(Door::Local).await;
    run_paid_then_failed(&*site.store).await;
    let mut b = site.browser();
    let inbox = b.get("/").await;
    assert_eq!(inbox.status, StatusCode::OK);
    for shown in [
        "Failed after commit",
        "pay[E0001]",
        "the provider says FAILED",
        "/runs/run_paid/steps/pay/items/E0001",
        "1 open",
    ] {
        assert!(
            inbox.body.contains(shown),
            "`{shown}` missing:\n{}",
            inbox.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconciliation_discrepancy_is_in_the_inbox_until_its_payment_matches() {
    let site = Site::start(Door::Local).await;
    let key = run_disagreeing(&*site.store).await;
    let mut b = site.browser();
    let inbox = b.get("/").await;
    assert_eq!(inbox.status, StatusCode::OK);
    for shown in [
        "Disagrees with the provider",
        "pay[E0007]",
        "state-amount_mismatch",
        "sluice recorded 120.00, the provider holds 119.00",
        "/runs/run_recon/steps/pay/items/E0007",
        "provider object tr_7",
        "1 open",
    ] {
        assert!(
            inbox.body.contains(shown),
            "`{shown}` missing:\n{}",
            inbox.body
        );
    }
    assert_eq!(site.store.clear_discrepancies(&key).await.unwrap(), 1);
    let inbox = b.get("/").await;
    assert!(!inbox.body.contains("pay[E0007]"), "{}", inbox.body);
    assert!(inbox.body.contains("0 open"), "{}", inbox.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_dismisses_a_discrepancy_with_a_reason_and_it_leaves_the_inbox() {
    let site = Site::start(Door::Users).await;
    run_disagreeing(&*site.store).await;
    let id = site.store.open_discrepancies(10).await.unwrap()[0].id;
    let path = format!("/runs/run_recon/discrepancies/{id}/dismiss");

    let mut viewer = site.browser();
    viewer.sign_in("vera").await;
    let home = viewer.get("/").await;
    assert!(home.body.contains("pay[E0007]"), "{}", home.body);
    assert!(!home.body.contains(&path), "no button for a viewer");
    let refused = viewer
        .post(&path, &[("csrf", &home.csrf()), ("reason", "x")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let mut operator = site.browser();
    operator.sign_in("otto").await;
    let home = operator.get("/").await;
    assert!(
        home.body.contains(&format!("action=\"{path}\"")),
        "{}",
        home.body
    );
    let csrf = home.csrf();
    let refused = operator.post(&path, &[("reason", "no token")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = operator
        .post(&path, &[("csrf", &csrf), ("reason", "  ")])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "a reason is required"
    );
    assert!(actions(&site, "run_recon").await.is_empty());
    assert_eq!(site.store.open_discrepancies(10).await.unwrap().len(), 1);

    let dismissed = operator
        .post(
            &path,
            &[("csrf", &csrf), ("reason", "fee taken by the bank, agreed")],
        )
        .await;
    assert_eq!(
        dismissed.status,
        StatusCode::SEE_OTHER,
        "{}",
        dismissed.body
    );
    assert_eq!(dismissed.location(), "/");
    let inbox = operator.get("/").await;
    assert!(!inbox.body.contains("pay[E0007]"), "{}", inbox.body);
    assert!(inbox.body.contains("0 open"), "{}", inbox.body);
    assert_eq!(
        actions(&site, "run_recon").await,
        [(
            "dismiss_discrepancy".into(),
            "otto".into(),
            Some("fee taken by the bank, agreed".into())
        )]
    );
    // A second click finds it dismissed already: refused, nothing more recorded.
    let again = operator
        .post(&path, &[("csrf", &csrf), ("reason", "again")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(
        again.body.contains("already cleared or dismissed"),
        "{}",
        again.body
    );
    assert_eq!(actions(&site, "run_recon").await.len(), 1);
}
