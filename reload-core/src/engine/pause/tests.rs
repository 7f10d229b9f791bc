use super::*;
use crate::workload::WorkloadRef;

pub(crate) const KEYS: PauseKeys<'static> = PauseKeys {
    period: "deployment.reloader.stakater.com/pause-period",
    paused_at: "deployment.reloader.stakater.com/paused-at",
};

fn workload(
    kind: WorkloadKind,
    period: Option<&str>,
    paused_at: Option<&str>,
    paused: bool,
) -> IndexedWorkload {
    let mut w = Workload::new(WorkloadRef::new(kind, "ns", "d"));
    if let Some(p) = period {
        w.annotations.insert(KEYS.period.into(), p.into());
    }
    if let Some(at) = paused_at {
        w.annotations.insert(KEYS.paused_at.into(), at.into());
    }
    IndexedWorkload::new(w).with_paused(paused)
}

pub(crate) fn paused_deployment(
    period: Option<&str>,
    paused_at: Option<&str>,
    paused: bool,
) -> IndexedWorkload {
    workload(WorkloadKind::Deployment, period, paused_at, paused)
}

const T100: i64 = 100_000;

#[test]
fn a_rollout_of_a_deployment_with_a_period_pauses_it_and_records_when_in_rfc3339_seconds() {
    let d = paused_deployment(Some("5m"), None, false);
    let (action, problem) = plan(&d, KEYS, true, T100 + 789);
    assert_eq!(
        action,
        Some(PauseAction::Pause {
            paused_at: "1970-01-01T00:01:40Z".into()
        })
    );
    assert!(problem.is_none());
    let action = action.expect("pause");
    assert!(action.paused());
    assert_eq!(
        action.edit(KEYS),
        Edit::SetAnnotation {
            key: KEYS.paused_at.into(),
            value: Some("1970-01-01T00:01:40Z".into())
        }
    );
}

#[test]
fn no_rollout_or_no_period_or_another_kind_never_pauses() {
    assert_eq!(
        plan(&paused_deployment(Some("5m"), None, false), KEYS, false, T100),
        (None, None)
    );
    assert_eq!(
        plan(&paused_deployment(None, None, false), KEYS, true, T100),
        (None, None)
    );
    let ds = workload(WorkloadKind::DaemonSet, Some("5m"), None, false);
    assert_eq!(plan(&ds, KEYS, true, T100), (None, None));
}

#[test]
fn a_deployment_paused_by_someone_else_is_neither_paused_again_nor_resumed() {
    let d = paused_deployment(Some("1s"), None, true);
    assert_eq!(plan(&d, KEYS, true, T100), (None, None));
    assert_eq!(resume_due_ms(&d, KEYS), None);
}

#[test]
fn a_pause_of_the_engine_is_not_extended_and_resumes_once_due_even_with_a_new_rollout() {
    let d = paused_deployment(Some("10s"), Some("1970-01-01T00:01:40Z"), true);
    assert_eq!(resume_due_ms(&d, KEYS), Some(110_000));
    assert_eq!(plan(&d, KEYS, true, 109_999), (None, None));
    assert_eq!(plan(&d, KEYS, false, 110_000), (Some(PauseAction::Resume), None));
    assert_eq!(plan(&d, KEYS, true, 200_000), (Some(PauseAction::Resume), None));
    assert_eq!(
        PauseAction::Resume.edit(KEYS),
        Edit::SetAnnotation {
            key: KEYS.paused_at.into(),
            value: None
        }
    );
}

#[test]
fn an_unreadable_paused_at_or_period_resumes_at_once() {
    let d = paused_deployment(Some("10s"), Some("yesterday"), true);
    assert_eq!(resume_due_ms(&d, KEYS), Some(i64::MIN));
    let d = paused_deployment(Some("ten seconds"), Some("1970-01-01T00:01:40Z"), true);
    assert_eq!(plan(&d, KEYS, false, 0), (Some(PauseAction::Resume), None));
}

#[test]
fn an_unparsable_period_reloads_without_a_pause_and_names_the_value() {
    let d = paused_deployment(Some("5 minutes"), None, false);
    let (action, problem) = plan(&d, KEYS, true, T100);
    assert_eq!(action, None);
    match problem {
        Some(MatchProblem::InvalidPausePeriod {
            annotation, value, ..
        }) => {
            assert_eq!(annotation, KEYS.period);
            assert_eq!(value, "5 minutes");
        }
        other => panic!("expected an invalid pause period, got {other:?}"),
    }
}

#[test]
fn daemonsets_and_statefulsets_get_the_period_as_debounce_deployments_do_not() {
    let ds = workload(WorkloadKind::DaemonSet, Some("2s"), None, false);
    assert_eq!(debounce(&ds.workload, KEYS), Some(Duration::from_secs(2)));
    let sts = workload(WorkloadKind::StatefulSet, Some("bad"), None, false);
    assert_eq!(debounce(&sts.workload, KEYS), None);
    let d = paused_deployment(Some("2s"), None, false);
    assert_eq!(debounce(&d.workload, KEYS), None);
}
