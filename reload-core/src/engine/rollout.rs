//! Argo Rollout writes (`argoproj.io/v1alpha1`) as pure JSON transformations (the API calls
//! live in the private `kube_rollout` module).
//!
//! A Rollout is a custom resource: the API server takes no strategic-merge patch for it, so
//! the engine's body is turned into what Reloader does per mode
//! (`reloader.stakater.com/rollout-strategy` on the Rollout's metadata):
//!
//! - **rollout** (default): the pod template carries the strategy's env var or annotation,
//!   written as for every custom kind ([`super::CustomKind`]): a JSON merge patch of the
//!   template; for env var edits the Rollout is read first and its whole `containers` list is
//!   sent under the resourceVersion read (Reloader does a full UPDATE; a concurrent change
//!   gives 409 either way and the engine re-plans).
//! - **restart**: a JSON merge patch setting `spec.restartAt` (RFC3339 now) **and**, in the same
//!   patch, the record of the applied digest in the Rollout's metadata annotation
//!   `reloader.rs/baseline` ([`restart_patch`]). The template is not written (that would start
//!   a new revision), so the metadata record is what a replay or a failover reads: the restart
//!   is neither lost nor repeated (stakater/Reloader#1144).

use serde_json::{Value, json};

use crate::matcher::ROLLOUT_STRATEGY;
use crate::workload::{Workload, WorkloadKind};

/// Whether `workload` is a Rollout in `restart` mode (its metadata annotation
/// `reloader.stakater.com/rollout-strategy` is exactly `restart`).
pub fn is_restart_mode(workload: &Workload) -> bool {
    workload.id.kind == WorkloadKind::Rollout
        && workload
            .annotations
            .get(ROLLOUT_STRATEGY)
            .is_some_and(|v| v == "restart")
}

/// The restart-mode merge patch: the metadata part of the engine's `body` (digest record and
/// resourceVersion guard) plus `spec.restartAt`; the template part is dropped.
pub fn restart_patch(body: &Value, restart_at: &str) -> Value {
    let mut patch = match body {
        Value::Object(root) => Value::Object(root.clone()),
        _ => json!({}),
    };
    if let Value::Object(root) = &mut patch {
        root.insert("spec".into(), json!({ "restartAt": restart_at }));
    }
    patch
}

/// The `spec.restartAt` a restart patch sets, if `body` is one.
pub fn restart_at(body: &Value) -> Option<&str> {
    body["spec"]["restartAt"].as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadRef;

    fn rollout(strategy: Option<&str>) -> Workload {
        let mut w = Workload::new(WorkloadRef::new(WorkloadKind::Rollout, "ns", "r"));
        if let Some(s) = strategy {
            w.annotations.insert(ROLLOUT_STRATEGY.into(), s.into());
        }
        w
    }

    #[test]
    fn only_the_exact_restart_value_selects_restart_mode_and_only_on_rollouts() {
        assert!(is_restart_mode(&rollout(Some("restart"))));
        assert!(!is_restart_mode(&rollout(Some("Restart"))));
        assert!(!is_restart_mode(&rollout(Some("rollout"))));
        assert!(!is_restart_mode(&rollout(None)));
        let mut deployment = Workload::new(WorkloadRef::new(WorkloadKind::Deployment, "ns", "d"));
        deployment
            .annotations
            .insert(ROLLOUT_STRATEGY.into(), "restart".into());
        assert!(!is_restart_mode(&deployment));
    }

    #[test]
    fn restart_patch_keeps_the_metadata_record_and_replaces_the_template_by_restart_at() {
        let body = json!({
            "metadata": {"annotations": {"reloader.rs/baseline": "{}"}, "resourceVersion": "7"},
            "spec": {"template": {"metadata": {"annotations": {"x": "y"}}}}
        });
        let patch = restart_patch(&body, "2026-01-02T03:04:05Z");
        assert_eq!(
            patch,
            json!({
                "metadata": {"annotations": {"reloader.rs/baseline": "{}"}, "resourceVersion": "7"},
                "spec": {"restartAt": "2026-01-02T03:04:05Z"}
            })
        );
        assert_eq!(restart_at(&patch), Some("2026-01-02T03:04:05Z"));
        assert_eq!(restart_at(&body), None);
    }
}
