use std::collections::BTreeMap;

use super::{Observed, SourceVersion, WorkloadVersion, account};

fn source(rv: u64, at: u64, digest: &str) -> SourceVersion {
    SourceVersion {
        rv,
        at_nanos: at,
        digest: digest.to_owned(),
    }
}

fn workload(rv: u64, at: u64, recorded: &[(&str, &str)]) -> WorkloadVersion {
    let recorded: BTreeMap<String, String> = recorded
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    WorkloadVersion {
        rv,
        at_nanos: at,
        template: format!("{recorded:?}"),
        recorded,
        paused: false,
        deleted: false,
    }
}

fn one_pair(sources: Vec<SourceVersion>, workloads: Vec<WorkloadVersion>) -> Observed {
    Observed {
        sources: BTreeMap::from([("cm".to_owned(), sources)]),
        workloads: BTreeMap::from([("w".to_owned(), workloads)]),
        references: BTreeMap::from([("w".to_owned(), vec!["cm".to_owned()])]),
    }
}

#[test]
fn every_change_rolled_once_is_exact_and_timed_from_commit_to_rollout() {
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 100, "b"), source(5, 300, "c")],
        vec![
            workload(2, 10, &[]),
            workload(4, 130, &[("cm", "b")]),
            workload(6, 350, &[("cm", "c")]),
        ],
    );
    let result = account(&observed);
    assert_eq!(
        (
            result.data_changes,
            result.naive_expected,
            result.expected,
            result.rollouts
        ),
        (2, 2, 2, 2)
    );
    assert_eq!((result.lost, result.duplicated, result.coalesced), (0, 0, 0));
    assert_eq!(result.latencies_nanos, vec![30, 50]);
    assert!(result.is_exact());
}

#[test]
fn a_workload_left_on_an_old_digest_counts_as_lost() {
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 100, "b"), source(5, 300, "c")],
        vec![workload(2, 10, &[]), workload(4, 130, &[("cm", "b")])],
    );
    let result = account(&observed);
    assert_eq!(result.lost, 1);
    assert_eq!(result.coalesced, 1);
    assert!(!result.is_exact());
}

#[test]
fn a_second_rollout_to_a_recorded_state_counts_as_duplicated() {
    let mut again = workload(6, 200, &[("cm", "b")]);
    again.template.push_str(" restarted");
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 100, "b")],
        vec![workload(2, 10, &[]), workload(4, 130, &[("cm", "b")]), again],
    );
    let result = account(&observed);
    assert_eq!((result.rollouts, result.expected, result.duplicated), (2, 1, 1));
    assert!(!result.is_exact());
}

#[test]
fn updates_faster_than_a_rollout_are_coalesced_but_not_lost() {
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 100, "b"), source(4, 110, "c")],
        vec![workload(2, 10, &[]), workload(5, 140, &[("cm", "c")])],
    );
    let result = account(&observed);
    assert_eq!(
        (
            result.naive_expected,
            result.expected,
            result.coalesced,
            result.lost
        ),
        (2, 1, 1, 0)
    );
    assert_eq!(result.latencies_nanos, vec![30]);
    assert!(result.is_exact());
}

#[test]
fn writes_that_leave_the_template_alone_are_not_rollouts() {
    let mut metadata_only = workload(4, 50, &[]);
    metadata_only.rv = 4;
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 40, "a")],
        vec![workload(2, 10, &[]), metadata_only],
    );
    let result = account(&observed);
    assert_eq!(
        (result.data_changes, result.rollouts, result.expected, result.lost),
        (0, 0, 0, 0)
    );
    assert!(result.is_exact());
}

#[test]
fn a_recorded_digest_no_source_version_had_is_flagged() {
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 100, "b")],
        vec![workload(2, 10, &[]), workload(4, 130, &[("cm", "zzz")])],
    );
    let result = account(&observed);
    assert_eq!(result.unknown_digests, 1);
    assert_eq!(result.lost, 1);
    assert!(!result.is_exact());
}

#[test]
fn a_workload_created_after_the_last_change_is_in_sync_without_a_rollout() {
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 100, "b")],
        vec![workload(5, 200, &[])],
    );
    let result = account(&observed);
    assert_eq!((result.naive_expected, result.rollouts, result.lost), (0, 0, 0));
    assert!(result.is_exact());
}

#[test]
fn a_deleted_workload_is_neither_lost_nor_expected_to_follow_later_changes() {
    let mut gone = workload(6, 250, &[("cm", "b")]);
    gone.deleted = true;
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 100, "b"), source(7, 300, "c")],
        vec![workload(2, 10, &[]), workload(4, 120, &[("cm", "b")]), gone],
    );
    let result = account(&observed);
    assert_eq!(
        (
            result.naive_expected,
            result.expected,
            result.rollouts,
            result.lost,
            result.coalesced
        ),
        (1, 1, 1, 0, 0)
    );
    assert!(result.is_exact());
}

#[test]
fn template_changes_while_paused_roll_pods_once_at_the_resume() {
    let paused = |rv, at, recorded: &[(&str, &str)]| WorkloadVersion {
        paused: true,
        ..workload(rv, at, recorded)
    };
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 100, "b"), source(5, 200, "c")],
        vec![
            workload(2, 10, &[]),
            paused(4, 110, &[("cm", "b")]),
            paused(6, 210, &[("cm", "c")]),
            workload(8, 15_000, &[("cm", "c")]),
        ],
    );
    let result = account(&observed);
    assert_eq!((result.rollouts, result.expected, result.lost), (2, 2, 0));
    assert_eq!((result.pauses, result.pod_rollouts), (1, 1));
    assert!(result.is_exact());
}

#[test]
fn template_changes_of_a_running_workload_are_each_a_pod_rollout() {
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 100, "b"), source(5, 200, "c")],
        vec![
            workload(2, 10, &[]),
            workload(4, 110, &[("cm", "b")]),
            workload(6, 210, &[("cm", "c")]),
        ],
    );
    let result = account(&observed);
    assert_eq!((result.pauses, result.pod_rollouts), (0, 2));
}

#[test]
fn a_rollout_for_content_the_workload_was_created_with_counts_as_stale() {
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 100, "b")],
        vec![workload(5, 600, &[]), workload(6, 610, &[("cm", "b")])],
    );
    let result = account(&observed);
    assert_eq!((result.rollouts, result.stale_rollouts, result.lost), (1, 1, 0));
}

#[test]
fn rollouts_for_changes_after_the_workload_appeared_are_not_stale() {
    let observed = one_pair(
        vec![source(1, 0, "a"), source(3, 100, "b")],
        vec![workload(2, 10, &[]), workload(4, 130, &[("cm", "b")])],
    );
    assert_eq!(account(&observed).stale_rollouts, 0);
}
