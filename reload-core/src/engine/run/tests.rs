//! The engine loop against channel-fed watchers and an in-memory cluster, on tokio's paused
//! clock: restart safety, coalescing, debounce, rate limits, conflicts, dry-run, revert fights.

mod drift;
mod gate;
mod harness;
mod retry;

use std::time::Duration;

use harness::{Harness, settle};

use crate::engine::apply::WriteError;
use crate::engine::baseline::BASELINE_ANNOTATION;
use crate::engine::config::{EngineConfig, Rate};
use crate::engine::fixtures::{cm, cm_record, deployment, state_key};
use crate::engine::observer::{EngineEvent, EngineSkip};
use crate::hash::Digest;
use crate::workload::{WorkloadKind, WorkloadRef};

fn d(name: &str) -> WorkloadRef {
    WorkloadRef::new(WorkloadKind::Deployment, "ns", name)
}

fn config() -> EngineConfig {
    EngineConfig::default().write_rate(Rate::new(1000.0, 1000))
}

#[tokio::test(start_paused = true)]
async fn startup_baselines_unrecorded_pairs_once_and_a_restart_writes_nothing() {
    let h = Harness::start(config(), &[("a", "1")], vec![deployment("d", &["a"])]).await;
    assert_eq!(h.cluster.patch_count(), 1);
    let state = h.cluster.workload(&d("d"));
    assert_eq!(
        state
            .workload
            .annotations
            .get(BASELINE_ANNOTATION)
            .map(String::as_str),
        Some(r#"{"configmap/a":"1"}"#)
    );
    assert!(
        state.workload.template.annotations.is_empty(),
        "a baseline never touches the template"
    );
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, EngineEvent::Baselined { .. }))
    );

    let cluster = h.stop().await;
    let h = Harness::restart(config(), &[("a", "1")], cluster).await;
    assert_eq!(
        h.cluster.patch_count(),
        1,
        "a restart with nothing changed writes nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn a_data_change_rolls_every_affected_workload_exactly_once() {
    let workloads = vec![
        deployment("x", &["a"]),
        deployment("y", &["a", "b"]),
        deployment("z", &["b"]),
    ];
    let h = Harness::start(config(), &[("a", "1"), ("b", "1")], workloads).await;
    let after_baselines = h.cluster.patch_count();
    h.update_source(cm_record("a", "2"));
    settle().await;
    assert_eq!(h.cluster.patch_count() - after_baselines, 2);
    for name in ["x", "y"] {
        let state = h.cluster.workload(&d(name));
        assert_eq!(
            state
                .workload
                .template
                .annotations
                .get(&state_key(&cm("a")))
                .map(String::as_str),
            Some("2")
        );
    }
    assert!(
        h.cluster
            .workload(&d("z"))
            .workload
            .template
            .annotations
            .is_empty()
    );
    let reloaded = h
        .events()
        .iter()
        .filter(|e| matches!(e, EngineEvent::Reloaded { .. }))
        .count();
    assert_eq!(reloaded, 2);
    assert_eq!(h.cluster.get_count(), 0, "no reads per change");
}

#[tokio::test(start_paused = true)]
async fn a_metadata_only_change_of_a_source_writes_nothing() {
    let h = Harness::start(config(), &[("a", "1")], vec![deployment("x", &["a"])]).await;
    let before = h.cluster.patch_count();
    let mut record = cm_record("a", "1");
    record.resource_version = Some("99".into());
    h.update_source(record);
    settle().await;
    assert_eq!(h.cluster.patch_count(), before);
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, EngineEvent::SourceUnchanged { .. }))
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_made_while_the_engine_was_down_rolls_once_on_start() {
    let h = Harness::start(config(), &[("a", "1")], vec![deployment("x", &["a"])]).await;
    let cluster = h.stop().await;
    let h = Harness::restart(config(), &[("a", "2")], cluster).await;
    assert_eq!(h.cluster.patch_count(), 2);
    let state = h.cluster.workload(&d("x"));
    assert_eq!(
        state
            .workload
            .template
            .annotations
            .get(&state_key(&cm("a")))
            .map(String::as_str),
        Some("2")
    );
    let cluster = h.stop().await;
    let h = Harness::restart(config(), &[("a", "2")], cluster).await;
    assert_eq!(h.cluster.patch_count(), 2, "the next restart finds nothing to do");
}

#[tokio::test(start_paused = true)]
async fn updates_arriving_during_a_write_coalesce_into_at_most_one_more_write() {
    let h = Harness::start(config(), &[("a", "1")], vec![deployment("x", &["a"])]).await;
    h.cluster.set_delay(Duration::from_secs(1));
    let before = h.cluster.patch_count();
    h.update_source(cm_record("a", "2"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    for digest in ["3", "4", "5"] {
        h.update_source(cm_record("a", digest));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    settle().await;
    assert_eq!(h.cluster.patch_count() - before, 2);
    let state = h.cluster.workload(&d("x"));
    assert_eq!(
        state
            .workload
            .template
            .annotations
            .get(&state_key(&cm("a")))
            .map(String::as_str),
        Some("5")
    );
}

#[tokio::test(start_paused = true)]
async fn changes_within_the_debounce_window_become_one_rollout_with_every_digest() {
    let config = config().debounce(Some(Duration::from_secs(5)));
    let h = Harness::start(
        config,
        &[("a", "1"), ("b", "1")],
        vec![deployment("x", &["a", "b"])],
    )
    .await;
    let before = h.cluster.patch_count();
    h.update_source(cm_record("a", "2"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    h.update_source(cm_record("b", "2"));
    settle().await;
    assert_eq!(h.cluster.patch_count() - before, 1);
    let annotations = h.cluster.workload(&d("x")).workload.template.annotations;
    assert_eq!(
        annotations.get(&state_key(&cm("a"))).map(String::as_str),
        Some("2")
    );
    assert_eq!(
        annotations.get(&state_key(&cm("b"))).map(String::as_str),
        Some("2")
    );
}

#[tokio::test(start_paused = true)]
async fn the_rollout_rate_limit_spaces_rollouts_of_a_shared_source() {
    let config = config().baselines(false).rollout_rate(Some(Rate::new(1.0, 1)));
    let workloads = vec![
        deployment("x", &["a"]),
        deployment("y", &["a"]),
        deployment("z", &["a"]),
    ];
    let h = Harness::start(config, &[("a", "1")], workloads).await;
    assert_eq!(h.cluster.patch_count(), 0);
    h.update_source(cm_record("a", "2"));
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(h.cluster.patch_count(), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(h.cluster.patch_count(), 2);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(h.cluster.patch_count(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_conflict_refreshes_with_one_get_and_replans() {
    let h = Harness::start(config(), &[("a", "1")], vec![deployment("x", &["a"])]).await;
    // Someone else writes the workload; the engine's cache is stale until the watch catches up.
    h.cluster.external_write(&d("x"), |w| {
        w.workload.annotations.insert("other".into(), "1".into());
    });
    let before = h.cluster.patch_count();
    h.update_source(cm_record("a", "2"));
    settle().await;
    assert_eq!(h.cluster.patch_count() - before, 2, "one 409, one success");
    assert_eq!(h.cluster.get_count(), 1);
    let state = h.cluster.workload(&d("x"));
    assert_eq!(
        state.workload.annotations.get("other").map(String::as_str),
        Some("1")
    );
    assert_eq!(
        state
            .workload
            .template
            .annotations
            .get(&state_key(&cm("a")))
            .map(String::as_str),
        Some("2")
    );
}

#[tokio::test(start_paused = true)]
async fn a_forbidden_write_is_reported_and_other_workloads_proceed() {
    let config = config().baselines(false).concurrency(1);
    let h = Harness::start(
        config,
        &[("a", "1")],
        vec![deployment("x", &["a"]), deployment("y", &["a"])],
    )
    .await;
    h.cluster.fail_next(WriteError::new(403, "forbidden by RBAC"));
    h.update_source(cm_record("a", "2"));
    settle().await;
    let events = h.events();
    let failed: Vec<_> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                EngineEvent::Failed {
                    kind: "forbidden",
                    ..
                }
            )
        })
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, EngineEvent::Reloaded { .. }))
            .count(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn dry_run_reports_decisions_and_writes_nothing() {
    let config = config().dry_run(true);
    let h = Harness::start(config, &[("a", "1")], vec![deployment("x", &["a"])]).await;
    h.update_source(cm_record("a", "2"));
    settle().await;
    assert_eq!(h.cluster.patch_count(), 0);
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, EngineEvent::Reloaded { dry_run: true, .. }))
    );
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, EngineEvent::Baselined { dry_run: true, .. }))
    );
}

#[tokio::test(start_paused = true)]
async fn a_controller_reverting_our_trigger_state_is_detected_and_not_fought_forever() {
    let h = Harness::start(config(), &[("a", "1")], vec![deployment("x", &["a"])]).await;
    h.cluster.set_hostile(true);
    h.update_source(cm_record("a", "2"));
    settle().await;
    let events = h.events();
    let detected = events
        .iter()
        .filter(|e| matches!(e, EngineEvent::RevertFightDetected { attempts: 3, .. }))
        .count();
    assert_eq!(detected, 1);
    assert!(events.iter().any(|e| matches!(
        e,
        EngineEvent::Skipped {
            reason: EngineSkip::RevertFight,
            ..
        }
    )));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, EngineEvent::Reloaded { .. }))
            .count(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn a_workload_created_just_before_a_change_whose_event_arrives_late_is_rolled() {
    let h = Harness::start(config(), &[("a", "1")], vec![]).await;
    let now_ms = harness::wall_ms();
    h.update_source(cm_record("a", "2"));
    settle().await;
    // The Deployment was created 100 ms before the change; its watch event comes after.
    h.add_workload(deployment("late", &["a"]).with_created_ms(now_ms - 100));
    settle().await;
    let state = h.cluster.workload(&d("late"));
    assert_eq!(
        state
            .workload
            .template
            .annotations
            .get(&state_key(&cm("a")))
            .map(String::as_str),
        Some("2")
    );
    let rolled = h
        .events()
        .iter()
        .any(|e| matches!(e, EngineEvent::Reloaded { new_digest, .. } if *new_digest == Digest::new("2")));
    assert!(rolled);
}

#[tokio::test(start_paused = true)]
async fn a_relist_after_a_dropped_watch_rolls_missed_changes_once_and_duplicates_none() {
    let h = Harness::start(
        config(),
        &[("a", "1"), ("b", "1")],
        vec![deployment("x", &["a"]), deployment("y", &["b"])],
    )
    .await;
    let before = h.cluster.patch_count();
    h.update_source(cm_record("a", "2"));
    settle().await;
    // The watch drops; "b" changes during the gap; the re-list replays everything.
    h.relist_sources(&[("a", "2"), ("b", "2")]);
    settle().await;
    assert_eq!(h.cluster.patch_count() - before, 2);
    let reloaded: Vec<_> = h
        .events()
        .into_iter()
        .filter(|e| matches!(e, EngineEvent::Reloaded { .. }))
        .collect();
    assert_eq!(reloaded.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_watch_event_lagging_behind_our_own_write_does_not_cause_a_second_write() {
    let cluster_config = config();
    let h = Harness::start_held(cluster_config, &[("a", "1")], vec![deployment("x", &["a"])]).await;
    // The baseline was written; its watch event has not arrived yet.
    assert_eq!(h.cluster.patch_count(), 1);
    h.update_source(cm_record("a", "2"));
    settle().await;
    assert_eq!(h.cluster.patch_count(), 2);
    h.cluster.release_watch();
    settle().await;
    assert_eq!(
        h.cluster.patch_count(),
        2,
        "the stale baseline event must not undo the rollout in the index"
    );
}
