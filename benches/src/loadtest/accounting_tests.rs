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
