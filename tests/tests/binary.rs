//! The real `reloader` binary as a child process against the in-process simulator (issue 6,
//! "Done when"): Reloader's log lines in both formats, the strategies' writes, scoping,
//! `/metrics` `/live` `/ready`, dry-run, restarts, SIGTERM during a burst, and an
//! unreachable API server (HA hand-over: `binary_ha.rs`).
//!
//! Writes are counted in the simulator's journal; "nothing more was written" is established by a
//! barrier (a later change whose rollout is awaited), never by sleeping.

mod binary_support;

use binary_support::{
    Launch, app, barrier, changes_detected, configmap, deployment_writes, digest_of_value, env_value,
    env_var, eventually, http_get, is_logrus_time, namespace, patch_configmap, reloader_writes, set_value,
    template, wait_baseline, wait_env,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{Patch, PatchParams};
use reload_tests::sim::Simulator;
use serde_json::{Value, json};

/// A simulator with app `a/web` (ConfigMap `web`, `k=v1`) and the barrier app `a/barrier`.
async fn cluster() -> Simulator {
    let sim = Simulator::start().await.expect("simulator starts");
    app(&sim, "a", "web", "v1");
    app(&sim, "a", "barrier", "b0");
    sim
}

/// The verbs that read: GET and LIST, over every resource.
fn reads(sim: &Simulator) -> u64 {
    sim.stats()
        .requests
        .iter()
        .filter(|r| r.verb == "get" || r.verb == "list")
        .map(|r| r.count)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_vars_strategy_patches_once_and_logs_reloaders_text_line() {
    let sim = cluster().await;
    let reloader = Launch::new(&sim).start();
    reloader.wait_synced().await;
    wait_baseline(&sim, "a", "web", "web").await;
    let since = sim.current_resource_version();

    set_value(&sim, "a", "web", "v2").await;
    wait_env(&sim, "a", "web", "v2").await;
    barrier(&sim, "a", "barrier", "b1").await;

    let writes = deployment_writes(&sim, since, "a", "web");
    assert_eq!(writes.len(), 1, "exactly one write: {writes:#?}");
    assert_eq!(writes[0].verb, "patch");
    assert_eq!(writes[0].field_manager, "Reloader");
    assert_eq!(
        env_value(&sim, "a", "web", "STAKATER_WEB_CONFIGMAP").await,
        Some(digest_of_value("v2"))
    );

    let message = changes_detected("a", "web", "web");
    let line = reloader.wait_line(&message).await;
    let time = line
        .strip_prefix("time=\"")
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("not a logrus text line: {line:?}"));
    assert!(is_logrus_time(time), "time {time:?} in {line:?}");
    assert_eq!(line, format!("time=\"{time}\" level=info msg=\"{message}\""));
    assert_eq!(reloader.count(&message), 1, "{}", reloader.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_format_writes_the_same_line_as_logrus_json() {
    let sim = cluster().await;
    let reloader = Launch::new(&sim).arg("--log-format=json").start();
    reloader.wait_synced().await;
    set_value(&sim, "a", "web", "v2").await;
    wait_env(&sim, "a", "web", "v2").await;

    let message = changes_detected("a", "web", "web");
    let line = reloader.wait_line(&message).await;
    let parsed: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    let time = parsed["time"].as_str().expect("time is a string");
    assert!(is_logrus_time(time), "time {time:?} in {line:?}");
    assert_eq!(
        line,
        format!(r#"{{"level":"info","msg":"{message}","time":"{time}"}}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotations_strategy_records_last_reloaded_from_json() {
    let sim = cluster().await;
    let reloader = Launch::new(&sim).arg("--reload-strategy=annotations").start();
    reloader.wait_synced().await;
    set_value(&sim, "a", "web", "v2").await;
    reloader.wait_line(&changes_detected("a", "web", "web")).await;

    let want = digest_of_value("v2");
    let template = template(&sim, "a", "web").await;
    let annotations = template.metadata.and_then(|m| m.annotations).unwrap_or_default();
    let value = annotations
        .get("reloader.stakater.com/last-reloaded-from")
        .unwrap_or_else(|| panic!("no last-reloaded-from in {annotations:?}"));
    let recorded: Value = serde_json::from_str(value).expect("last-reloaded-from is JSON");
    assert_eq!(recorded["type"], "CONFIGMAP");
    assert_eq!(recorded["name"], "web");
    assert_eq!(recorded["namespace"], "a");
    assert_eq!(recorded["hash"], want.as_str());
    assert_eq!(recorded["containerRefs"], json!(["app"]));
    let env = template.spec.expect("spec").containers[0]
        .env
        .clone()
        .unwrap_or_default();
    assert!(
        env.iter().all(|e| e.name != env_var("web")),
        "no env var with annotations: {env:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_only_change_writes_nothing_and_a_change_reads_nothing_from_the_api() {
    let sim = cluster().await;
    let reloader = Launch::new(&sim).start();
    reloader.wait_synced().await;
    wait_baseline(&sim, "a", "web", "web").await;
    let since = sim.current_resource_version();
    let reads_before = reads(&sim);

    patch_configmap(&sim, "a", "web", json!({"metadata": {"labels": {"team": "x"}}})).await;
    set_value(&sim, "a", "web", "v2").await;
    let message = changes_detected("a", "web", "web");
    reloader.wait_line(&message).await;
    // The Reloaded Event is published after the write: once it exists, the change is done.
    eventually("the Reloaded Event", || async {
        sim.journal(since)
            .iter()
            .any(|e| e.resource == "events" && e.verb == "create")
    })
    .await;
    let reads_after = reads(&sim);

    barrier(&sim, "a", "barrier", "b1").await;
    let writes = deployment_writes(&sim, since, "a", "web");
    assert_eq!(
        writes.len(),
        1,
        "the label change wrote nothing, the data change once: {writes:#?}"
    );
    assert_eq!(reloader.count(&message), 1);
    assert_eq!(
        reads_after,
        reads_before,
        "no GET/LIST for a change: {:#?}",
        sim.stats()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_flag_leaves_other_namespaces_untouched() {
    let sim = cluster().await;
    app(&sim, "b", "web", "v1");
    let reloader = Launch::new(&sim).arg("--namespaces=a").start();
    reloader.wait_synced().await;
    set_value(&sim, "b", "web", "v2").await;
    set_value(&sim, "a", "web", "v2").await;
    wait_env(&sim, "a", "web", "v2").await;
    barrier(&sim, "a", "barrier", "b1").await;

    assert_eq!(deployment_writes(&sim, 0, "b", "web"), Vec::new());
    assert_eq!(reloader.count("namespace 'b'"), 0, "{}", reloader.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_namespace_variable_watches_only_that_namespace() {
    let sim = cluster().await;
    app(&sim, "b", "web", "v1");
    let reloader = Launch::new(&sim).env("KUBERNETES_NAMESPACE", "a").start();
    reloader.wait_synced().await;
    set_value(&sim, "b", "web", "v2").await;
    set_value(&sim, "a", "web", "v2").await;
    wait_env(&sim, "a", "web", "v2").await;
    barrier(&sim, "a", "barrier", "b1").await;

    assert_eq!(deployment_writes(&sim, 0, "b", "web"), Vec::new());
    assert_eq!(reloader.count("namespace 'b'"), 0, "{}", reloader.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_to_ignore_leaves_those_namespaces_untouched() {
    let sim = cluster().await;
    app(&sim, "b", "web", "v1");
    let reloader = Launch::new(&sim).arg("--namespaces-to-ignore=b").start();
    reloader.wait_synced().await;
    set_value(&sim, "b", "web", "v2").await;
    barrier(&sim, "a", "barrier", "b1").await;

    assert_eq!(deployment_writes(&sim, 0, "b", "web"), Vec::new());
    assert_eq!(reloader.count("namespace 'b'"), 0, "{}", reloader.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_selector_follows_namespace_labels_without_a_restart() {
    let sim = Simulator::start().await.expect("simulator starts");
    namespace(&sim, "a", json!({"team": "x"}));
    app(&sim, "a", "barrier", "b0");
    app(&sim, "b", "web", "v1");
    let reloader = Launch::new(&sim).arg("--namespace-selector=team=x").start();
    reloader.wait_synced().await;
    set_value(&sim, "b", "web", "v2").await;
    barrier(&sim, "a", "barrier", "b1").await;
    assert_eq!(
        deployment_writes(&sim, 0, "b", "web"),
        Vec::new(),
        "b is outside the selector"
    );

    Api::<Namespace>::all(sim.client().expect("client"))
        .patch(
            "b",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "x"}}})),
        )
        .await
        .expect("namespace labelled");
    // Once b is in scope its workload gets its baseline; a later change rolls it.
    wait_baseline(&sim, "b", "web", "web").await;
    set_value(&sim, "b", "web", "v3").await;
    wait_env(&sim, "b", "web", "v3").await;
    reloader.wait_line(&changes_detected("b", "web", "web")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_label_selector_ignores_unlabelled_configmaps() {
    let sim = Simulator::start().await.expect("simulator starts");
    configmap(&sim, "a", "plain", json!({"k": "v1"}), json!({}));
    binary_support::auto_deployment(&sim, "a", "plain", "plain");
    configmap(
        &sim,
        "a",
        "labelled",
        json!({"k": "v1"}),
        json!({"reload": "yes"}),
    );
    binary_support::auto_deployment(&sim, "a", "labelled", "labelled");
    let reloader = Launch::new(&sim)
        .arg("--resource-label-selector=reload=yes")
        .start();
    reloader.wait_synced().await;

    set_value(&sim, "a", "plain", "v2").await;
    set_value(&sim, "a", "labelled", "v2").await;
    wait_env(&sim, "a", "labelled", "v2").await;
    barrier(&sim, "a", "labelled", "v3").await;

    assert_eq!(env_value(&sim, "a", "plain", &env_var("plain")).await, None);
    assert_eq!(reloader.count("'plain'"), 0, "{}", reloader.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_live_and_ready_report_one_reload() {
    let sim = cluster().await;
    let reloader = Launch::new(&sim).start();
    let addr = reloader.http_addr().await;
    assert!(addr.ip().is_loopback(), "{addr}");
    reloader.wait_synced().await;
    assert_eq!(http_get(addr, "/live").await.0, 200);
    assert_eq!(http_get(addr, "/ready").await.0, 200);
    let (status, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("reloader_reload_executed_total{success=\"true\"} 0"),
        "{body}"
    );

    set_value(&sim, "a", "web", "v2").await;
    wait_env(&sim, "a", "web", "v2").await;
    eventually("the reload counted", || async {
        http_get(addr, "/metrics")
            .await
            .1
            .lines()
            .any(|l| l == "reloader_reload_executed_total{success=\"true\"} 1")
    })
    .await;
    let body = http_get(addr, "/metrics").await.1;
    assert!(
        body.lines()
            .any(|l| l == "reloader_reload_executed_total{success=\"false\"} 0"),
        "{body}"
    );
    assert!(body.contains("process_"), "process metrics: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_nothing_but_logs_what_it_would_do() {
    let sim = cluster().await;
    let reloader = Launch::new(&sim).arg("--dry-run").start();
    reloader.wait_synced().await;
    set_value(&sim, "a", "web", "v2").await;
    let line = reloader.wait_line("[dry-run] Changes detected in 'web'").await;
    assert!(
        line.contains("[dry-run] Changes detected in 'web' of type 'CONFIGMAP' in namespace 'a'; would update 'web' of type 'Deployment' in namespace 'a'"),
        "{line}"
    );
    set_value(&sim, "a", "barrier", "b1").await;
    reloader
        .wait_line("[dry-run] Changes detected in 'barrier'")
        .await;

    assert_eq!(reloader_writes(&sim, 0), Vec::new());
    let workload_writes: Vec<_> = sim
        .journal(0)
        .into_iter()
        .filter(|e| e.resource == "deployments" && e.verb != "create")
        .collect();
    assert_eq!(workload_writes, Vec::new());
    assert_eq!(env_value(&sim, "a", "web", &env_var("web")).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_while_stopped_rolls_once_on_start_and_a_quiet_start_writes_nothing() {
    let sim = cluster().await;
    let launch = Launch::new(&sim);
    let first = launch.start();
    first.wait_synced().await;
    wait_baseline(&sim, "a", "web", "web").await;
    wait_baseline(&sim, "a", "barrier", "barrier").await;
    first.stop().await;

    set_value(&sim, "a", "web", "v2").await;
    let since = sim.current_resource_version();
    let second = launch.start();
    wait_env(&sim, "a", "web", "v2").await;
    barrier(&sim, "a", "barrier", "b1").await;
    assert_eq!(deployment_writes(&sim, since, "a", "web").len(), 1);
    second.stop().await;

    let since = sim.current_resource_version();
    let third = launch.start();
    third.wait_synced().await;
    barrier(&sim, "a", "barrier", "b2").await;
    assert_eq!(deployment_writes(&sim, since, "a", "web"), Vec::new());
    assert_eq!(third.count("Changes detected in 'web'"), 0, "{}", third.output());
    third.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_exits_cleanly_and_the_next_start_completes_the_burst() {
    const APPS: usize = 12;
    let sim = cluster().await;
    for i in 0..APPS {
        app(&sim, "burst", &format!("app-{i}"), "v1");
    }
    let launch = Launch::new(&sim);
    let mut first = launch.start();
    first.wait_synced().await;
    for i in 0..APPS {
        wait_baseline(&sim, "burst", &format!("app-{i}"), &format!("app-{i}")).await;
    }
    for round in 2..=3 {
        for i in 0..APPS {
            set_value(&sim, "burst", &format!("app-{i}"), &format!("v{round}")).await;
        }
    }
    first.wait_line("Changes detected in 'app-").await;
    first.sigterm();
    let status = first.wait_exit().await;
    assert!(
        status.success(),
        "exit status {status}; output:\n{}",
        first.output()
    );

    // Every workload records a digest of one of the versions (no half-applied state); those
    // already at the latest one are left alone by the next start, the others roll exactly once.
    let latest = digest_of_value("v3");
    let versions = [digest_of_value("v2"), latest.clone()];
    let mut done = Vec::new();
    for i in 0..APPS {
        let name = format!("app-{i}");
        if let Some(value) = env_value(&sim, "burst", &name, &env_var(&name)).await {
            assert!(versions.contains(&value), "{name} records {value}");
            done.push(value == latest);
        } else {
            done.push(false);
        }
    }
    let since = sim.current_resource_version();
    let second = launch.start();
    for i in 0..APPS {
        wait_env(&sim, "burst", &format!("app-{i}"), "v3").await;
    }
    barrier(&sim, "a", "barrier", "b1").await;
    for (i, done) in done.iter().enumerate() {
        let writes = deployment_writes(&sim, since, "burst", &format!("app-{i}"));
        assert_eq!(
            writes.len(),
            usize::from(!done),
            "app-{i} (done before: {done}): {writes:#?}"
        );
    }
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_naming_a_closed_port_exits_non_zero_naming_the_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let kubeconfig = binary_support::temp_path("closed.yaml");
    std::fs::write(&kubeconfig, reload_tests::sim::kubeconfig_yaml(&url)).expect("kubeconfig written");
    let mut reloader = Launch::with_kubeconfig(kubeconfig).start();
    let status = reloader.wait_exit().await;
    assert!(!status.success(), "{}", reloader.output());
    let stderr = reloader.stderr().join("\n");
    assert!(stderr.contains(&url), "stderr names {url}: {stderr}");
}
