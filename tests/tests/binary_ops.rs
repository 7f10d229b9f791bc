//! The real `reloader` binary against the simulator: Reloader's remaining metric families after
//! one reload, and a namespace leaving (and re-entering) the `--namespace-selector` scope live.

mod binary_support;

use binary_support::{
    Launch, app, barrier, changes_detected, deployment_writes, eventually, http_get, namespace, set_value,
    wait_env,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{Patch, PatchParams};
use reload_tests::sim::Simulator;
use serde_json::{Value, json};

/// The value of the sample `line_start` (name and labels exactly) in a metrics text.
fn sample(body: &str, series: &str) -> Option<u64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_reloaders_reconcile_queue_and_event_families_for_one_reload() {
    let sim = Simulator::start().await.expect("simulator starts");
    app(&sim, "a", "web", "v1");
    let reloader = Launch::new(&sim).start();
    let addr = reloader.http_addr().await;
    reloader.wait_synced().await;
    // The start-up reconcile of `web` (its baseline) is counted before the change.
    eventually("the start-up reconcile counted", || async {
        let body = http_get(addr, "/metrics").await.1;
        sample(&body, "reloader_workloads_scanned_total{kind=\"Deployment\"}").is_some()
    })
    .await;
    let before = http_get(addr, "/metrics").await.1;
    let scanned = sample(&before, "reloader_workloads_scanned_total{kind=\"Deployment\"}").unwrap_or(0);
    let adds = sample(&before, "reloader_workqueue_adds_total").unwrap_or(0);
    let successes = sample(&before, "reloader_reconcile_total{result=\"success\"}").unwrap_or(0);

    set_value(&sim, "a", "web", "v2").await;
    wait_env(&sim, "a", "web", "v2").await;
    eventually("the reload counted", || async {
        let body = http_get(addr, "/metrics").await.1;
        sample(&body, "reloader_reload_executed_total{success=\"true\"}") == Some(1)
            && sample(&body, "reloader_reconcile_total{result=\"success\"}") == Some(successes + 1)
    })
    .await;
    let body = http_get(addr, "/metrics").await.1;
    let update = "event_type=\"update\",resource_type=\"configmaps\"";
    assert_eq!(
        sample(&body, &format!("reloader_events_received_total{{{update}}}")),
        Some(1),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            &format!("reloader_events_processed_total{{{update},result=\"success\"}}")
        ),
        Some(1),
        "{body}"
    );
    // Once quiet: every reconcile decided one workload, and came from at least one queued trigger.
    eventually("the queue drained", || async {
        let body = http_get(addr, "/metrics").await.1;
        let reconciles: u64 = ["success", "skipped", "error"]
            .iter()
            .filter_map(|r| sample(&body, &format!("reloader_reconcile_total{{result=\"{r}\"}}")))
            .sum();
        let scanned = sample(&body, "reloader_workloads_scanned_total{kind=\"Deployment\"}");
        sample(&body, "reloader_workqueue_depth") == Some(0)
            && scanned == Some(reconciles)
            && sample(&body, "reloader_workqueue_adds_total").is_some_and(|n| n >= reconciles)
    })
    .await;
    let body = http_get(addr, "/metrics").await.1;
    assert!(
        sample(&body, "reloader_workloads_scanned_total{kind=\"Deployment\"}").is_some_and(|n| n > scanned),
        "{body}"
    );
    assert!(
        sample(&body, "reloader_workqueue_adds_total").is_some_and(|n| n > adds),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "reloader_reconcile_duration_seconds_count{result=\"success\"}"
        ),
        Some(successes + 1),
        "{body}"
    );
    assert!(
        sample(&body, "reloader_workqueue_latency_seconds_count").is_some_and(|n| n >= 1),
        "{body}"
    );
    assert!(
        body.contains("reloader_reconcile_duration_seconds_bucket{result=\"success\",le=\"0.001\"}"),
        "Reloader's buckets: {body}"
    );
    assert_eq!(sample(&body, "reloader_retries_total"), Some(0), "{body}");
    assert_eq!(
        sample(&body, "reloader_reconcile_total{result=\"error\"}"),
        None,
        "{body}"
    );
    reloader.stop().await;
}

async fn label_namespace(sim: &Simulator, name: &str, labels: Value) {
    Api::<Namespace>::all(sim.client().expect("client"))
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": labels}})),
        )
        .await
        .expect("namespace labelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_leaving_the_selector_reloads_nothing_until_it_is_labelled_again() {
    let sim = Simulator::start().await.expect("simulator starts");
    namespace(&sim, "a", json!({"team": "x"}));
    namespace(&sim, "b", json!({"team": "x"}));
    app(&sim, "a", "barrier", "b0");
    app(&sim, "b", "web", "v1");
    let reloader = Launch::new(&sim).arg("--namespace-selector=team=x").start();
    reloader.wait_synced().await;
    set_value(&sim, "b", "web", "v2").await;
    wait_env(&sim, "b", "web", "v2").await;

    let watching_b = sim.stats().open_watches;
    label_namespace(&sim, "b", json!({"team": null})).await;
    // b's own watches close when it leaves the selection.
    eventually("b's watches closed", || async {
        sim.stats().open_watches < watching_b
    })
    .await;
    let since = sim.current_resource_version();
    set_value(&sim, "b", "web", "v3").await;
    barrier(&sim, "a", "barrier", "b1").await;
    assert_eq!(
        deployment_writes(&sim, since, "b", "web"),
        Vec::new(),
        "b left the selector"
    );

    label_namespace(&sim, "b", json!({"team": "x"})).await;
    // Back in scope: the change made while b was out is rolled once b's watches listed.
    wait_env(&sim, "b", "web", "v3").await;
    set_value(&sim, "b", "web", "v4").await;
    wait_env(&sim, "b", "web", "v4").await;
    assert_eq!(
        reloader.count(&changes_detected("b", "web", "web")),
        3,
        "v2, v3 on re-entry, v4: {}",
        reloader.output()
    );
    reloader.stop().await;
}
