//! Plans: what a strategy wants written to a workload for one source change.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::hash::Digest;
use crate::source::SourceRef;
use crate::workload::{EnvVar, Workload, WorkloadKind};

/// What happened to the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeKind {
    /// Its content changed (or it is seen with a digest the workload does not record).
    Updated,
    /// It was created (only acted on with `--reload-on-create`).
    Created,
    /// It was deleted (only acted on with `--reload-on-delete`).
    Deleted,
}

/// One source change as a strategy sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Which source.
    pub source: SourceRef,
    /// Its new digest (for a delete, the digest the strategy should record, if any).
    pub digest: Digest,
    /// Update, create or delete.
    pub kind: ChangeKind,
    /// The container the matcher chose.
    pub container: String,
    /// When the change was observed, in Unix seconds (Reloader's `observedAt`). Passed in so
    /// planning stays pure.
    pub observed_at: i64,
}

/// One primitive write to a workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Edit {
    /// Set a pod-template annotation.
    SetTemplateAnnotation {
        /// Annotation key.
        key: String,
        /// New value.
        value: String,
    },
    /// Set (replace or append) a literal env var on a regular container.
    SetEnv {
        /// Container name.
        container: String,
        /// Variable name.
        name: String,
        /// New value.
        value: String,
    },
    /// Remove an env var from a regular container.
    RemoveEnv {
        /// Container name.
        container: String,
        /// Variable name.
        name: String,
    },
    /// Set (`Some`) or remove (`None`) an annotation in the workload's own metadata; does not
    /// restart pods.
    SetAnnotation {
        /// Annotation key.
        key: String,
        /// New value, or `None` to remove.
        value: Option<String>,
    },
}

impl Edit {
    /// Applies the edit to the in-memory model, as the API server would apply its patch.
    pub fn apply(&self, workload: &mut Workload) {
        match self {
            Edit::SetTemplateAnnotation { key, value } => {
                workload.template.annotations.insert(key.clone(), value.clone());
            }
            Edit::SetEnv {
                container,
                name,
                value,
            } => {
                if let Some(c) = workload
                    .template
                    .containers
                    .iter_mut()
                    .find(|c| &c.name == container)
                {
                    match c.env.iter_mut().find(|e| &e.name == name) {
                        Some(existing) => {
                            existing.value = Some(value.clone());
                            existing.value_from = None;
                        }
                        None => c.env.push(EnvVar {
                            name: name.clone(),
                            value: Some(value.clone()),
                            value_from: None,
                        }),
                    }
                }
            }
            Edit::RemoveEnv { container, name } => {
                if let Some(c) = workload
                    .template
                    .containers
                    .iter_mut()
                    .find(|c| &c.name == container)
                {
                    c.env.retain(|e| &e.name != name);
                }
            }
            Edit::SetAnnotation {
                key,
                value: Some(value),
            } => {
                workload.annotations.insert(key.clone(), value.clone());
            }
            Edit::SetAnnotation { key, value: None } => {
                workload.annotations.remove(key);
            }
        }
    }

    /// Whether the edit changes the pod template (and so restarts pods).
    pub fn touches_template(&self) -> bool {
        !matches!(self, Edit::SetAnnotation { .. })
    }
}

/// What a strategy wants done for one change of one source on one workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The source the plan is for.
    pub source: SourceRef,
    /// The digest the plan records for that source.
    pub digest: Digest,
    /// The writes, in order.
    pub edits: Vec<Edit>,
}

impl Plan {
    /// Applies every edit to the in-memory model.
    pub fn apply(&self, workload: &mut Workload) {
        for edit in &self.edits {
            edit.apply(workload);
        }
    }

    /// Whether the plan changes the pod template (a rollout), as opposed to metadata only.
    pub fn is_rollout(&self) -> bool {
        self.edits.iter().any(Edit::touches_template)
    }

    /// The strategic-merge patch body that performs [`Plan::edits`] on a workload of `kind`.
    ///
    /// Env entries are merged by name, so untouched variables survive; removals use
    /// `$patch: delete`, which needs no list index (no race with concurrent edits).
    pub fn strategic_merge_patch(&self, kind: &WorkloadKind) -> Value {
        strategic_merge_patch(&self.edits, kind)
    }
}

/// The strategic-merge patch body for `edits` on a workload of `kind` (see [`Plan::strategic_merge_patch`]).
pub fn strategic_merge_patch(edits: &[Edit], kind: &WorkloadKind) -> Value {
    let mut metadata_annotations = Map::new();
    let mut template_annotations = Map::new();
    let mut containers: Vec<(String, Vec<Value>)> = Vec::new();
    for edit in edits {
        match edit {
            Edit::SetTemplateAnnotation { key, value } => {
                template_annotations.insert(key.clone(), Value::String(value.clone()));
            }
            Edit::SetEnv {
                container,
                name,
                value,
            } => {
                env_entries(&mut containers, container).push(json!({ "name": name, "value": value }));
            }
            Edit::RemoveEnv { container, name } => {
                env_entries(&mut containers, container).push(json!({ "name": name, "$patch": "delete" }));
            }
            Edit::SetAnnotation { key, value } => {
                metadata_annotations.insert(
                    key.clone(),
                    value.as_ref().map_or(Value::Null, |v| Value::String(v.clone())),
                );
            }
        }
    }
    let mut template = Map::new();
    if !template_annotations.is_empty() {
        template.insert("metadata".into(), json!({ "annotations": template_annotations }));
    }
    if !containers.is_empty() {
        let containers: Vec<Value> = containers
            .into_iter()
            .map(|(name, env)| json!({ "name": name, "env": env }))
            .collect();
        template.insert("spec".into(), json!({ "containers": containers }));
    }
    let mut root = Map::new();
    if !metadata_annotations.is_empty() {
        root.insert("metadata".into(), json!({ "annotations": metadata_annotations }));
    }
    if !template.is_empty() {
        let mut nested = Value::Object(template);
        for segment in kind.template_path().iter().rev() {
            nested = json!({ *segment: nested });
        }
        if let Value::Object(spec) = nested {
            root.extend(spec);
        }
    }
    Value::Object(root)
}

/// The env entries collected for `container`, created empty on first use (keeps container order).
fn env_entries<'a>(containers: &'a mut Vec<(String, Vec<Value>)>, container: &str) -> &'a mut Vec<Value> {
    let index = containers
        .iter()
        .position(|(name, _)| name == container)
        .unwrap_or_else(|| {
            containers.push((container.to_owned(), Vec::new()));
            containers.len() - 1
        });
    &mut containers[index].1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceKind;

    fn plan(edits: Vec<Edit>) -> Plan {
        Plan {
            source: SourceRef::new(SourceKind::ConfigMap, "ns", "cm"),
            digest: Digest::new("d"),
            edits,
        }
    }

    #[test]
    fn env_patch_matches_reloaders_body() {
        let p = plan(vec![Edit::SetEnv {
            container: "app".into(),
            name: "STAKATER_CM_CONFIGMAP".into(),
            value: "abc".into(),
        }]);
        assert_eq!(
            p.strategic_merge_patch(&WorkloadKind::Deployment).to_string(),
            r#"{"spec":{"template":{"spec":{"containers":[{"env":[{"name":"STAKATER_CM_CONFIGMAP","value":"abc"}],"name":"app"}]}}}}"#
        );
    }

    #[test]
    fn cronjob_patch_nests_under_job_template() {
        let p = plan(vec![Edit::SetTemplateAnnotation {
            key: "k".into(),
            value: "v".into(),
        }]);
        assert_eq!(
            p.strategic_merge_patch(&WorkloadKind::CronJob),
            json!({"spec":{"jobTemplate":{"spec":{"template":{"metadata":{"annotations":{"k":"v"}}}}}}})
        );
    }

    #[test]
    fn metadata_only_plan_is_not_a_rollout_and_removes_with_null() {
        let p = plan(vec![Edit::SetAnnotation {
            key: "k".into(),
            value: None,
        }]);
        assert!(!p.is_rollout());
        assert_eq!(
            p.strategic_merge_patch(&WorkloadKind::StatefulSet),
            json!({"metadata":{"annotations":{"k":null}}})
        );
    }

    #[test]
    fn env_removal_uses_patch_delete_directive() {
        let p = plan(vec![Edit::RemoveEnv {
            container: "app".into(),
            name: "X".into(),
        }]);
        assert_eq!(
            p.strategic_merge_patch(&WorkloadKind::DaemonSet),
            json!({"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"X","$patch":"delete"}]}]}}}})
        );
    }
}
