//! The write gate ([`crate::engine::Engine::write_gate`]): a warm standby watches and queues but
//! writes nothing; opening the gate decides what was queued against the current state.

use tokio::sync::watch;

use super::harness::{Harness, settle};
use super::{config, d};
use crate::engine::fixtures::{cm, cm_record, deployment, state_key};
use crate::engine::observer::EngineEvent;

fn recorded(h: &Harness, name: &str) -> Option<String> {
    h.cluster
        .workload(&d(name))
        .workload
        .template
        .annotations
        .get(&state_key(&cm("a")))
        .cloned()
}

fn reloads(h: &Harness) -> usize {
    h.events()
        .iter()
        .filter(|e| matches!(e, EngineEvent::Reloaded { .. }))
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_closed_gate_writes_nothing_and_opening_it_applies_the_queued_change_once() {
    let (leading, gate) = watch::channel(false);
    let cluster = Harness::cluster_of(vec![deployment("x", &["a"])]);
    let h = Harness::restart_gated(config(), &[("a", "1")], cluster, Some(gate)).await;
    assert_eq!(h.cluster.patch_count(), 0, "a standby writes no baseline");
    assert!(
        h.events().contains(&EngineEvent::Synced),
        "a standby syncs its caches"
    );

    h.update_source(cm_record("a", "2"));
    settle().await;
    assert_eq!(h.cluster.patch_count(), 0, "a standby writes no rollout");
    assert_eq!(reloads(&h), 0);

    leading.send(true).expect("the engine holds the gate");
    settle().await;
    assert_eq!(h.cluster.patch_count(), 1, "one write: the queued change");
    assert_eq!(recorded(&h, "x").as_deref(), Some("2"));
    assert_eq!(reloads(&h), 1);
    assert!(h.events().contains(&EngineEvent::WriteGate { open: true }));
    assert_eq!(h.cluster.get_count(), 0, "a takeover reads nothing");
}

#[tokio::test(start_paused = true)]
async fn opening_the_gate_when_the_leader_applied_everything_writes_nothing() {
    let leader = Harness::start(config(), &[("a", "1")], vec![deployment("x", &["a"])]).await;
    leader.update_source(cm_record("a", "2"));
    settle().await;
    assert_eq!(recorded(&leader, "x").as_deref(), Some("2"));
    let cluster = leader.stop().await;
    let written = cluster.patch_count();

    let (leading, gate) = watch::channel(false);
    let standby = Harness::restart_gated(config(), &[("a", "2")], cluster, Some(gate)).await;
    leading.send(true).expect("the engine holds the gate");
    settle().await;
    assert_eq!(
        standby.cluster.patch_count(),
        written,
        "nothing changed: nothing written"
    );
    assert_eq!(reloads(&standby), 0);
}

#[tokio::test(start_paused = true)]
async fn closing_the_gate_stops_writes_and_reopening_applies_only_the_latest_state() {
    let (leading, gate) = watch::channel(true);
    let cluster = Harness::cluster_of(vec![deployment("x", &["a"])]);
    let h = Harness::restart_gated(config(), &[("a", "1")], cluster, Some(gate)).await;
    h.update_source(cm_record("a", "2"));
    settle().await;
    let written = h.cluster.patch_count();
    assert_eq!(recorded(&h, "x").as_deref(), Some("2"));

    leading.send(false).expect("the engine holds the gate");
    settle().await;
    h.update_source(cm_record("a", "3"));
    h.update_source(cm_record("a", "4"));
    settle().await;
    assert_eq!(
        h.cluster.patch_count(),
        written,
        "a closed gate holds every write"
    );
    assert!(h.events().contains(&EngineEvent::WriteGate { open: false }));

    leading.send(true).expect("the engine holds the gate");
    settle().await;
    assert_eq!(
        h.cluster.patch_count(),
        written + 1,
        "the two changes coalesced into one write"
    );
    assert_eq!(recorded(&h, "x").as_deref(), Some("4"));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_gate_sender_closes_the_gate_for_good() {
    let (leading, gate) = watch::channel(true);
    let cluster = Harness::cluster_of(vec![deployment("x", &["a"])]);
    let h = Harness::restart_gated(config(), &[("a", "1")], cluster, Some(gate)).await;
    let written = h.cluster.patch_count();
    drop(leading);
    settle().await;
    h.update_source(cm_record("a", "2"));
    settle().await;
    assert_eq!(h.cluster.patch_count(), written);
    assert!(h.events().contains(&EngineEvent::WriteGate { open: false }));
}

fn recovered(h: &Harness) -> usize {
    h.events()
        .iter()
        .filter(|e| matches!(e, EngineEvent::Recovered { .. }))
        .count()
}

#[tokio::test(start_paused = true)]
async fn each_gate_opening_recovers_interrupted_writes_before_any_other_write() {
    let (leading, gate) = watch::channel(false);
    let cluster = Harness::cluster_of(vec![deployment("x", &["a"])]);
    cluster.set_recover_delay(std::time::Duration::from_secs(5));
    let h = Harness::restart_gated(config(), &[("a", "1")], cluster, Some(gate)).await;
    h.update_source(cm_record("a", "2"));
    settle().await;
    assert_eq!(h.cluster.recovery_count(), 0, "a standby recovers nothing");

    leading.send(true).expect("the engine holds the gate");
    settle().await;
    assert_eq!(h.cluster.recovery_count(), 1);
    assert_eq!(
        h.cluster.patches_before_recovered(),
        Some(0),
        "the queued change waited for the recovery"
    );
    assert_eq!(recorded(&h, "x").as_deref(), Some("2"));
    assert_eq!(recovered(&h), 1, "the recovery is reported");

    leading.send(false).expect("the engine holds the gate");
    settle().await;
    leading.send(true).expect("the engine holds the gate");
    settle().await;
    assert_eq!(
        h.cluster.recovery_count(),
        2,
        "another leader may have been killed mid-write meanwhile"
    );
    assert_eq!(recovered(&h), 2);
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_recovers_nothing() {
    let cluster = Harness::cluster_of(vec![deployment("x", &["a"])]);
    let h = Harness::restart_gated(config().dry_run(true), &[("a", "1")], cluster, None).await;
    settle().await;
    assert_eq!(h.cluster.recovery_count(), 0);
    assert_eq!(recovered(&h), 0);
}

#[tokio::test(start_paused = true)]
async fn a_recovery_that_met_a_retryable_error_runs_again_with_backoff_while_writes_go_on() {
    let cluster = Harness::cluster_of(vec![deployment("x", &["a"])]);
    cluster.fail_recoveries(100);
    let h = Harness::restart_gated(config(), &[("a", "1")], cluster, None).await;
    h.update_source(cm_record("a", "2"));
    settle().await;
    assert_eq!(recorded(&h, "x").as_deref(), Some("2"), "writes go on meanwhile");
    let early = h.cluster.recovery_count();
    assert!((2..9).contains(&early), "retried with backoff: {early} runs");
    tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    assert_eq!(
        h.cluster.recovery_count(),
        9,
        "the first run and at most 8 retries"
    );
    assert_eq!(recovered(&h), 9);
}
