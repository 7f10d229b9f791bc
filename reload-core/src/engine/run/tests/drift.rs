//! The level-triggered safety net (issue 25): recorded against live digests, from the caches
//! alone, after a watch reconnects or re-lists and every resync period.

use std::time::Duration;

use super::harness::{Harness, settle};
use super::{config, d};
use crate::engine::apply::WriteError;
use crate::engine::fixtures::{cm, cm_record, deployment, state_key};
use crate::engine::observer::{DriftCause, EngineEvent};

fn rolled_to(h: &Harness, name: &str, digest: &str) -> bool {
    h.cluster
        .workload(&d(name))
        .workload
        .template
        .annotations
        .get(&state_key(&cm("a")))
        .is_some_and(|v| v == digest)
}

fn drifts(h: &Harness, cause: DriftCause) -> Vec<String> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            EngineEvent::Drift {
                workload,
                cause: c,
                sources,
            } if c == cause => {
                assert_eq!(sources, vec![cm("a")]);
                Some(workload.name)
            }
            _ => None,
        })
        .collect()
}

/// An engine whose write of `x` for `a: 2` was refused (422), so its caches show `x` out of
/// date with nothing queued: the drift the safety net must find. `y` is up to date.
async fn refused_change(period: Option<Duration>) -> Harness {
    let h = Harness::start(
        config().resync_period(period),
        &[("a", "1"), ("b", "1")],
        vec![deployment("x", &["a"]), deployment("y", &["b"])],
    )
    .await;
    h.cluster
        .fail_next(WriteError::new(422, "admission webhook said no"));
    h.update_source(cm_record("a", "2"));
    settle().await;
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, EngineEvent::Failed { kind: "invalid", .. }))
    );
    assert!(!rolled_to(&h, "x", "2"));
    h
}

#[tokio::test(start_paused = true)]
async fn the_periodic_resync_queues_a_workload_left_out_of_date_as_a_normal_reload() {
    let h = refused_change(Some(Duration::from_secs(60))).await;
    let (patches, gets) = (h.cluster.patch_count(), h.cluster.get_count());
    tokio::time::sleep(Duration::from_secs(60)).await;
    settle().await;
    assert!(rolled_to(&h, "x", "2"));
    assert_eq!(drifts(&h, DriftCause::PeriodicResync), vec!["x".to_owned()]);
    assert_eq!(h.cluster.patch_count(), patches + 1, "only x is written");
    assert_eq!(h.cluster.get_count(), gets, "the check reads nothing");

    // Up to date now: later periods find nothing and write nothing.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(h.cluster.patch_count(), patches + 1);
    assert_eq!(drifts(&h, DriftCause::PeriodicResync).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn without_a_resync_period_a_refused_change_stays_refused() {
    let h = refused_change(None).await;
    let patches = h.cluster.patch_count();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(h.cluster.patch_count(), patches);
    assert!(!rolled_to(&h, "x", "2"));
}

#[tokio::test(start_paused = true)]
async fn a_watch_that_delivers_again_after_an_error_has_every_workload_rechecked() {
    let h = refused_change(None).await;
    h.source_watch_error();
    settle().await;
    assert!(
        !rolled_to(&h, "x", "2"),
        "no check before the watch delivers again"
    );
    h.update_source(cm_record("b", "1"));
    settle().await;
    assert!(rolled_to(&h, "x", "2"));
    assert_eq!(drifts(&h, DriftCause::Reconnect), vec!["x".to_owned()]);
}

#[tokio::test(start_paused = true)]
async fn a_relist_after_sync_has_every_workload_rechecked_even_when_it_changed_nothing() {
    let h = refused_change(None).await;
    let patches = h.cluster.patch_count();
    h.relist_sources(&[("a", "2"), ("b", "1")]);
    settle().await;
    assert!(rolled_to(&h, "x", "2"));
    assert_eq!(drifts(&h, DriftCause::Reconnect), vec!["x".to_owned()]);
    assert_eq!(
        h.cluster.patch_count(),
        patches + 1,
        "y is up to date: not written"
    );
}
