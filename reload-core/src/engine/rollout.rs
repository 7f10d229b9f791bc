//! Argo Rollout writes (`argoproj.io/v1alpha1`) as pure JSON transformations (the API calls
//! live in the private `kube_rollout` module).
//!
//! A Rollout is a custom resource: the API server takes no strategic-merge patch for it, so
//! the engine's body is turned into what Reloader does per mode
//! (`reloader.stakater.com/rollout-strategy` on the Rollout's metadata):
//!
//! - **rollout** (default): the pod template carries the strategy's env var or annotation. The
//!   Rollout is read, the template part of the engine's body applied to it
//!   ([`updated_rollout`]), and the whole object written back under the resourceVersion read
//!   (Reloader's full UPDATE; a concurrent change gives 409 and the engine re-plans).
//! - **restart**: a JSON merge patch setting `spec.restartAt` (RFC3339 now) **and**, in the same
//!   patch, the record of the applied digest in the Rollout's metadata annotation
//!   `reloader.rs/baseline` ([`restart_patch`]). The template is not written (that would start
//!   a new revision), so the metadata record is what a replay or a failover reads: the restart
//!   is neither lost nor repeated (stakater/Reloader#1144).

use serde_json::{Value, json};

use crate::matcher::ROLLOUT_STRATEGY;
use crate::workload::{Workload, WorkloadKind};

use super::batch::{SplitBody, apply_template_patch, merge_annotations};

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

/// The rollout-mode replacement of `current` (the Rollout as read): the metadata annotations
/// and the template part of `split` applied; server-managed `managedFields` dropped. Keeps
/// `current`'s resourceVersion, so the write is conditional on what was read.
pub fn updated_rollout(current: &Value, split: &SplitBody) -> Value {
    let mut object = current.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    merge_annotations(&mut object, &split.metadata["metadata"]["annotations"]);
    if let (Some(patch), Some(template)) = (&split.template, object.pointer_mut("/spec/template")) {
        apply_template_patch(template, patch);
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::batch::split_body;
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

    #[test]
    fn updated_rollout_applies_env_and_annotations_and_keeps_everything_else() {
        let current = json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "r", "namespace": "ns", "resourceVersion": "9",
                         "annotations": {"keep": "1"}, "managedFields": [{}]},
            "spec": {"replicas": 3, "strategy": {"canary": {}}, "template": {
                "metadata": {"labels": {"app": "r"}},
                "spec": {"containers": [
                    {"name": "app", "image": "i", "env": [{"name": "A", "value": "1"}]},
                    {"name": "side", "image": "s"}
                ]}
            }}
        });
        let body = json!({
            "metadata": {"annotations": {"reloader.rs/baseline": "{}"}},
            "spec": {"template": {
                "metadata": {"annotations": {"t": "v"}},
                "spec": {"containers": [{"name": "app", "env": [{"name": "STAKATER_X", "value": "d"}]}]}
            }}
        });
        let updated = updated_rollout(&current, &split_body(&body, &WorkloadKind::Rollout));
        assert_eq!(updated["metadata"]["resourceVersion"], "9");
        assert!(updated["metadata"].get("managedFields").is_none());
        assert_eq!(updated["metadata"]["annotations"]["keep"], "1");
        assert_eq!(updated["metadata"]["annotations"]["reloader.rs/baseline"], "{}");
        assert_eq!(updated["spec"]["replicas"], 3);
        assert_eq!(updated["spec"]["template"]["metadata"]["labels"]["app"], "r");
        assert_eq!(updated["spec"]["template"]["metadata"]["annotations"]["t"], "v");
        assert_eq!(
            updated["spec"]["template"]["spec"]["containers"][0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "STAKATER_X", "value": "d"}])
        );
        assert_eq!(updated["spec"]["template"]["spec"]["containers"][1]["image"], "s");
    }
}
