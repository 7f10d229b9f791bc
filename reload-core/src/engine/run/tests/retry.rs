//! Retries of writes that failed retryably (issue 25): held per workload until they land,
//! one probe at a time while the API server is unreachable, re-planned against the cache.

use std::time::Duration;

use super::harness::{Cluster, Harness, settle};
use super::{config, d};
use crate::engine::apply::WriteError;
use crate::engine::fixtures::{cm, cm_record, deployment, state_key};
use crate::engine::observer::EngineEvent;
use crate::workload::WorkloadRef;

fn recorded(cluster: &Cluster, id: &WorkloadRef, source: &str) -> Option<String> {
    cluster
        .workload(id)
        .workload
        .template
        .annotations
        .get(&state_key(&cm(source)))
        .cloned()
}

fn count(h: &Harness, what: impl Fn(&EngineEvent) -> bool) -> usize {
    h.events().iter().filter(|e| what(e)).count()
}

/// Advances virtual time by `total` in half-second steps (the engine runs in between).
async fn run_for(total: Duration) {
    let steps = total.as_millis() / 500;
    for _ in 0..steps {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_write_failing_in_transport_for_a_minute_lands_once_the_server_is_back() {
    let h = Harness::start(config(), &[("a", "1")], vec![deployment("x", &["a"])]).await;
    let before = h.cluster.patch_count();
    h.cluster.set_unreachable(true);
    h.update_source(cm_record("a", "2"));
    run_for(Duration::from_secs(60)).await;
    let attempts = h.cluster.patch_count() - before;
    assert!(
        (4..=12).contains(&attempts),
        "retried with backoff, no spinning: {attempts} attempts in 60 s"
    );
    assert_eq!(count(&h, |e| matches!(e, EngineEvent::Failed { .. })), 0);
    assert_eq!(count(&h, |e| matches!(e, EngineEvent::WritesHeld { .. })), 1);
    assert!(h.events().iter().any(|e| matches!(
        e,
        EngineEvent::WriteRetrying { kind: "transport", failures, .. } if *failures >= 4
    )));

    h.cluster.set_unreachable(false);
    run_for(Duration::from_secs(31)).await;
    assert_eq!(recorded(&h.cluster, &d("x"), "a").as_deref(), Some("2"));
    assert_eq!(count(&h, |e| matches!(e, EngineEvent::Reloaded { .. })), 1);
    assert_eq!(count(&h, |e| matches!(e, EngineEvent::WritesResumed { .. })), 1);
    assert_eq!(count(&h, |e| matches!(e, EngineEvent::Failed { .. })), 0);
}

#[tokio::test(start_paused = true)]
async fn during_an_outage_a_burst_waits_behind_one_probe_and_all_of_it_lands_after() {
    let names: Vec<String> = (0..25).map(|n| format!("d-{n}")).collect();
    let sources: Vec<(String, &str)> = names.iter().map(|n| (format!("cm-{n}"), "1")).collect();
    let listed: Vec<(&str, &str)> = sources.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let workloads = names
        .iter()
        .zip(&sources)
        .map(|(n, (s, _))| deployment(n, &[s.as_str()]))
        .collect();
    let h = Harness::start(config(), &listed, workloads).await;
    h.cluster.set_delay(Duration::from_millis(100));
    h.cluster.set_unreachable(true);
    for (source, _) in &sources {
        h.update_source(cm_record(source, "2"));
    }
    settle().await;
    let _ = h.cluster.take_max_in_flight();
    let before = h.cluster.patch_count();
    run_for(Duration::from_secs(60)).await;
    assert_eq!(h.cluster.take_max_in_flight(), 1, "one probe at a time");
    let probes = h.cluster.patch_count() - before;
    assert!((2..=8).contains(&probes), "{probes} probes in 60 s");

    h.cluster.set_unreachable(false);
    run_for(Duration::from_secs(31)).await;
    for (name, (source, _)) in names.iter().zip(&sources) {
        assert_eq!(
            recorded(&h.cluster, &d(name), source).as_deref(),
            Some("2"),
            "{name}"
        );
    }
    assert_eq!(count(&h, |e| matches!(e, EngineEvent::Reloaded { .. })), 25);
    assert_eq!(count(&h, |e| matches!(e, EngineEvent::Failed { .. })), 0);
    assert!(
        h.cluster.take_max_in_flight() > 1,
        "released together once a probe landed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_superseded_while_its_write_is_retried_writes_only_the_newest_digest() {
    let h = Harness::start(config(), &[("a", "1")], vec![deployment("x", &["a"])]).await;
    h.cluster.set_unreachable(true);
    h.update_source(cm_record("a", "2"));
    settle().await;
    h.update_source(cm_record("a", "3"));
    settle().await;
    h.cluster.set_unreachable(false);
    run_for(Duration::from_secs(31)).await;
    assert_eq!(recorded(&h.cluster, &d("x"), "a").as_deref(), Some("3"));
    let written: Vec<_> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            EngineEvent::Reloaded { new_digest, .. } => Some(new_digest),
            _ => None,
        })
        .collect();
    assert_eq!(
        written,
        vec![crate::hash::Digest::new("3")],
        "re-planned against the cache"
    );
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_past_the_old_five_attempts_without_holding_other_writes() {
    let h = Harness::start(
        config().concurrency(1),
        &[("a", "1"), ("b", "1")],
        vec![deployment("x", &["a"]), deployment("y", &["b"])],
    )
    .await;
    for _ in 0..8 {
        h.cluster.fail_next(WriteError::new(503, "etcd unavailable"));
    }
    h.update_source(cm_record("a", "2"));
    run_for(Duration::from_secs(2)).await;
    h.update_source(cm_record("b", "2"));
    settle().await;
    assert_eq!(
        recorded(&h.cluster, &d("y"), "b").as_deref(),
        Some("2"),
        "a 5xx does not hold other writes"
    );
    run_for(Duration::from_secs(120)).await;
    assert_eq!(recorded(&h.cluster, &d("x"), "a").as_deref(), Some("2"));
    assert_eq!(count(&h, |e| matches!(e, EngineEvent::Failed { .. })), 0);
    assert_eq!(
        count(&h, |e| matches!(
            e,
            EngineEvent::WriteRetrying {
                kind: "server_error",
                ..
            }
        )),
        8
    );
    assert_eq!(count(&h, |e| matches!(e, EngineEvent::WritesHeld { .. })), 0);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_after_retries_ends_them_and_is_reported_failed_once() {
    let h = Harness::start(
        config().resync_period(None),
        &[("a", "1")],
        vec![deployment("x", &["a"])],
    )
    .await;
    h.cluster
        .fail_next(WriteError::new(0, "connection reset by peer"));
    h.cluster.fail_next(WriteError::new(422, "invalid"));
    let before = h.cluster.patch_count();
    h.update_source(cm_record("a", "2"));
    run_for(Duration::from_secs(60)).await;
    assert_eq!(h.cluster.patch_count() - before, 2, "no retry after the refusal");
    assert_eq!(
        count(&h, |e| matches!(e, EngineEvent::Failed { kind: "invalid", .. })),
        1
    );
    assert_eq!(
        count(&h, |e| matches!(e, EngineEvent::WritesResumed { .. })),
        1,
        "a refusal is an answer: the server is reachable"
    );
}
