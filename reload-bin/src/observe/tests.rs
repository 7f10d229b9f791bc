use reload_core::engine::{EngineEvent, EngineSkip};
use reload_core::{
    ChangeKind, Digest, ReloadReason, SkipReason, SourceKind, SourceRef, WorkloadKind, WorkloadRef,
};
use tracing::Level;

use super::*;

fn secret() -> SourceRef {
    SourceRef::new(SourceKind::Secret, "A", "hoge-staging")
}

fn deployment() -> WorkloadRef {
    WorkloadRef::new(WorkloadKind::Deployment, "A", "hoge-staging")
}

fn reloaded(dry_run: bool) -> EngineEvent {
    EngineEvent::Reloaded {
        workload: deployment(),
        source: secret(),
        reason: ReloadReason::AutoAnnotation,
        change: ChangeKind::Updated,
        old_digest: None,
        new_digest: Digest::new("d"),
        dry_run,
    }
}

#[test]
fn a_reload_logs_reloaders_exact_line_from_the_runbook() {
    let effects = effects(&reloaded(false));
    assert_eq!(
        effects[0],
        Effect::Log(
            Level::INFO,
            "Changes detected in 'hoge-staging' of type 'SECRET' in namespace 'A'; updated 'hoge-staging' of type 'Deployment' in namespace 'A'".into()
        )
    );
}

#[test]
fn a_reload_counts_publishes_reloaders_event_text_and_alerts() {
    let effects = effects(&reloaded(false));
    assert!(effects.contains(&Effect::CountReload {
        kind: "Deployment".into(),
        namespace: "A".into(),
        success: true
    }));
    assert!(effects.contains(&Effect::Event(WorkloadEvent {
        workload: deployment(),
        warning: false,
        reason: "Reloaded",
        note: "Changes detected in 'hoge-staging' of type 'SECRET' in namespace 'A', Updated 'hoge-staging' of type 'Deployment' in namespace 'A'".into(),
    })));
    assert!(effects.contains(&Effect::Alert {
        source: secret(),
        workload: deployment()
    }));
}

#[test]
fn a_dry_run_reload_only_logs_what_would_happen() {
    let effects = effects(&reloaded(true));
    assert_eq!(effects.len(), 1);
    assert!(
        matches!(&effects[0], Effect::Log(Level::INFO, text) if text.starts_with("[dry-run] Changes detected in 'hoge-staging'"))
    );
}

#[test]
fn a_failed_write_logs_counts_and_warns_with_reloaders_text() {
    let effects = effects(&EngineEvent::Failed {
        workload: deployment(),
        sources: vec![secret()],
        kind: "forbidden",
        cause: "deployments.apps \"hoge-staging\" is forbidden".into(),
    });
    let text = "Update for 'hoge-staging' of type 'Deployment' in namespace 'A' failed with error deployments.apps \"hoge-staging\" is forbidden";
    assert_eq!(effects[0], Effect::Log(Level::ERROR, text.into()));
    assert!(effects.contains(&Effect::CountReload {
        kind: "Deployment".into(),
        namespace: "A".into(),
        success: false
    }));
    assert!(effects.iter().any(
        |e| matches!(e, Effect::Event(ev) if ev.warning && ev.reason == "ReloadFail" && ev.note == text)
    ));
}

#[test]
fn a_workload_deleted_before_its_reload_is_logged_at_info_and_not_counted_as_a_failure() {
    let effects = effects(&EngineEvent::WorkloadGone {
        workload: deployment(),
        sources: vec![secret()],
    });
    assert_eq!(
        effects,
        vec![Effect::Log(
            Level::INFO,
            "Skipping 'hoge-staging' of type 'Deployment' in namespace 'A': workload deleted before its reload".into()
        )]
    );
}

#[test]
fn unmatched_workloads_log_reloaders_debug_line_and_no_metric() {
    let effects = effects(&EngineEvent::Skipped {
        workload: deployment(),
        source: secret(),
        reason: EngineSkip::Matcher(SkipReason::NotOptedIn),
    });
    assert_eq!(
        effects,
        vec![Effect::Log(
            Level::DEBUG,
            "No changes detected in 'hoge-staging' of type 'SECRET' in namespace 'A'".into()
        )]
    );
}

#[test]
fn label_only_edits_count_as_no_data_change() {
    assert_eq!(
        effects(&EngineEvent::SourceUnchanged { source: secret() }),
        vec![Effect::CountSkip("no_data_change")]
    );
}

#[test]
fn sync_turns_readiness_on() {
    assert!(effects(&EngineEvent::Synced).contains(&Effect::Ready));
}

#[test]
fn an_env_var_collision_warns_naming_the_workload_both_sources_and_the_variable() {
    let effects = effects(&EngineEvent::MatchProblem {
        workload: deployment(),
        problem: reload_core::MatchProblem::EnvVarCollision {
            env_var: "STAKATER_MY_APP_CONFIGMAP".into(),
            sources: vec!["ConfigMap 'my.app'".into(), "ConfigMap 'my-app'".into()],
        },
    });
    let Some(Effect::Log(Level::WARN, line)) = effects.first() else {
        panic!("a warn line first: {effects:?}");
    };
    for part in [
        "'hoge-staging' of type 'Deployment' in namespace 'A'",
        "ConfigMap 'my.app' and ConfigMap 'my-app'",
        "STAKATER_MY_APP_CONFIGMAP",
    ] {
        assert!(line.contains(part), "{part} missing from {line}");
    }
    assert!(effects.iter().any(
        |e| matches!(e, Effect::Event(ev) if ev.warning && ev.reason == "EnvVarCollision" && &ev.note == line)
    ));
}

#[test]
fn finished_and_failed_recoveries_of_interrupted_job_reloads_are_logged() {
    let job = WorkloadRef::new(WorkloadKind::Job, "A", "once");
    let recreated = effects(&EngineEvent::Recovered {
        recovery: reload_core::engine::Recovery::Recreated { job: job.clone() },
    });
    assert_eq!(
        recreated,
        vec![Effect::Log(
            Level::INFO,
            "Finished an interrupted reload: recreated 'once' of type 'Job' in namespace 'A' from its holder Job"
                .into()
        )]
    );
    let failed = effects(&EngineEvent::Recovered {
        recovery: reload_core::engine::Recovery::Failed {
            job: Some(job),
            error: reload_core::engine::WriteError::new(403, "forbidden"),
        },
    });
    let [Effect::Log(Level::WARN, line)] = failed.as_slice() else {
        panic!("one warning: {failed:?}");
    };
    assert!(
        line.contains("'once' of type 'Job'") && line.contains("403 forbidden"),
        "{line}"
    );
}

#[test]
fn a_retryable_failure_warns_and_counts_a_retry_but_is_no_failed_reload() {
    let effects = effects(&EngineEvent::WriteRetrying {
        workload: deployment(),
        sources: vec![secret()],
        kind: "transport",
        cause: "ServiceError: client error (Connect)".into(),
        failures: 2,
        retry_in: std::time::Duration::from_millis(400),
    });
    assert_eq!(
        effects,
        vec![
            Effect::Log(
                Level::WARN,
                "Update for 'hoge-staging' of type 'Deployment' in namespace 'A' failed with error ServiceError: client error (Connect); retrying in 0.4s (attempt 3)".into()
            ),
            Effect::CountRetry,
        ]
    );
}

#[test]
fn held_writes_turn_ready_off_until_they_resume() {
    let held = effects(&EngineEvent::WritesHeld {
        cause: "client error (Connect)".into(),
    });
    assert!(held.contains(&Effect::WritesHeld(true)));
    assert!(matches!(&held[0], Effect::Log(Level::WARN, text) if text.contains("client error (Connect)")));
    let resumed = effects(&EngineEvent::WritesResumed {
        held_for: std::time::Duration::from_secs(5),
    });
    assert!(resumed.contains(&Effect::WritesHeld(false)));
}

#[test]
fn drift_logs_the_workload_its_sources_and_the_cause() {
    for (cause, text) in [
        (
            reload_core::engine::DriftCause::Reconnect,
            "drift after reconnect",
        ),
        (
            reload_core::engine::DriftCause::PeriodicResync,
            "drift found by periodic resync",
        ),
    ] {
        let effects = effects(&EngineEvent::Drift {
            workload: deployment(),
            sources: vec![secret()],
            cause,
        });
        assert_eq!(
            effects,
            vec![Effect::Log(
                Level::WARN,
                format!(
                    "Reload queued for 'hoge-staging' of type 'Deployment' in namespace 'A' ('hoge-staging' of type 'SECRET' in namespace 'A'): {text}"
                )
            )]
        );
    }
}
