//! Custom workload kinds without glue: a [`CustomKind`] describes any kind with a pod template
//! (your controller's CRD, an operator's resource) by its API resource and the JSON pointer to
//! its template. Registered with [`super::EngineConfig::custom_kind`], it is watched, indexed and
//! written by [`super::Engine::run`] like the built-in kinds; Argo Rollouts use the same helper.
//!
//! Custom resources take no strategic-merge patch, so the engine's patch body (template at
//! `spec.template`, as for a Deployment) becomes a JSON merge patch with the template part moved
//! under the pointer ([`CustomKind::merge_patch`]):
//!
//! - metadata-only bodies (baselines) and template-annotation edits (the `annotations`
//!   strategy) are map-shaped: one merge PATCH, no read;
//! - container edits (the `env-vars` strategy) would replace whole lists in a merge patch: the
//!   object is read, the env edits applied to its containers, and the PATCH carries the whole
//!   `containers` list guarded by the `metadata.resourceVersion` read (a concurrent change gives
//!   409 and the engine re-plans; when the engine planned on an older version than the one
//!   read, 409 without writing).

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::runtime::watcher;
use serde_json::{Map, Value};

use crate::workload::{Workload, WorkloadKind, WorkloadRef};

use super::apply::WriteError;
use super::batch::{apply_template_patch, split_body};
use super::config::Namespaces;
use super::index::IndexedWorkload;
use super::kube::{watch_fallible, write_error};
use super::run::WorkloadWatcher;

/// A workload kind the engine does not know: its API resource and where its pod template is.
///
/// ```
/// use kube::api::{ApiResource, GroupVersionKind};
/// use reload_core::WorkloadKind;
/// use reload_core::engine::{CustomKind, EngineConfig};
///
/// let gvk = GroupVersionKind::gvk("example.com", "v1", "Worker");
/// let workers = CustomKind::new(ApiResource::from_gvk_with_plural(&gvk, "workers"), "/spec/template");
/// assert_eq!(workers.kind(), &WorkloadKind::Custom("Worker".into()));
/// let config = EngineConfig::default().custom_kind(workers);
/// assert_eq!(config.get_custom_kinds().len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomKind {
    resource: ApiResource,
    template_pointer: String,
    kind: WorkloadKind,
}

impl CustomKind {
    /// The kind served as `resource`, its pod template at the JSON pointer `template_pointer`
    /// (RFC 6901: `/spec/template`; a missing leading `/` is added). The engine names it
    /// `WorkloadKind::Custom(resource.kind)` in events and logs.
    pub fn new(resource: ApiResource, template_pointer: impl Into<String>) -> Self {
        let mut template_pointer = template_pointer.into();
        if !template_pointer.starts_with('/') {
            template_pointer.insert(0, '/');
        }
        let kind = WorkloadKind::Custom(resource.kind.clone());
        CustomKind {
            resource,
            template_pointer,
            kind,
        }
    }

    /// The same kind under a built-in name (Argo Rollouts are `WorkloadKind::Rollout`).
    pub(super) fn named(mut self, kind: WorkloadKind) -> Self {
        self.kind = kind;
        self
    }

    /// The engine's name for the kind.
    pub fn kind(&self) -> &WorkloadKind {
        &self.kind
    }

    /// The API resource (group, version, kind, plural).
    pub fn resource(&self) -> &ApiResource {
        &self.resource
    }

    /// The JSON pointer to the pod template.
    pub fn template_pointer(&self) -> &str {
        &self.template_pointer
    }

    /// What the engine indexes for `object`: `None` without name or namespace, `Err`
    /// ([`crate::Error::UnsupportedWorkload`], reported once by the engine) when no pod template
    /// can be read at the pointer.
    pub fn index(&self, object: &DynamicObject) -> Option<crate::Result<IndexedWorkload>> {
        let meta = &object.metadata;
        let id = WorkloadRef::new(self.kind.clone(), meta.namespace.clone()?, meta.name.clone()?);
        let value = serde_json::to_value(object).ok()?;
        Some(
            match Workload::from_json_at(self.kind.clone(), &value, &self.template_pointer) {
                Ok(workload) => Ok(IndexedWorkload::new(workload).with_metadata(meta)),
                Err(error) => Err(crate::Error::UnsupportedWorkload {
                    workload: id,
                    reason: match error {
                        crate::Error::ReadObject { problem, .. } => problem,
                        other => other.to_string(),
                    },
                }),
            },
        )
    }

    /// Whether writing `body` needs the object as read first (it edits containers).
    pub fn needs_read(&self, body: &Value) -> bool {
        split_body(body, &self.kind)
            .template
            .is_some_and(|t| t.get("spec").is_some())
    }

    /// The JSON merge patch that writes the engine's `body`: its metadata part as is, the
    /// template part under the pointer. `current` is the object as read, required when
    /// [`CustomKind::needs_read`]: its containers with the env edits applied are sent whole,
    /// guarded by its resourceVersion.
    ///
    /// # Errors
    /// 409 when `body` was planned on another resourceVersion than `current`'s; 422 when
    /// container edits come without `current` or `current` has no pod template.
    ///
    /// ```
    /// use kube::api::{ApiResource, GroupVersionKind};
    /// use reload_core::engine::CustomKind;
    /// use serde_json::json;
    ///
    /// let gvk = GroupVersionKind::gvk("example.com", "v1", "Pipeline");
    /// let pipelines = CustomKind::new(ApiResource::from_gvk_with_plural(&gvk, "pipelines"), "/spec/runner/podTemplate");
    /// let body = json!({"spec": {"template": {"metadata": {"annotations": {"k": "v"}}}}});
    /// assert!(!pipelines.needs_read(&body));
    /// assert_eq!(
    ///     pipelines.merge_patch(&body, None).unwrap(),
    ///     json!({"spec": {"runner": {"podTemplate": {"metadata": {"annotations": {"k": "v"}}}}}})
    /// );
    /// ```
    pub fn merge_patch(&self, body: &Value, current: Option<&Value>) -> Result<Value, WriteError> {
        let split = split_body(body, &self.kind);
        let mut patch = match split.metadata {
            Value::Object(root) => Value::Object(root),
            _ => Value::Object(Map::new()),
        };
        let Some(template_patch) = split.template else {
            return Ok(patch);
        };
        let mut template = Map::new();
        if let Some(metadata) = template_patch.get("metadata") {
            template.insert("metadata".into(), metadata.clone());
        }
        if template_patch.get("spec").is_some() {
            let current = current.ok_or_else(|| {
                WriteError::new(422, "container edits of a custom kind need the object as read")
            })?;
            let read = current["metadata"]["resourceVersion"].as_str();
            let planned = patch["metadata"]["resourceVersion"].as_str();
            if planned.is_some() && planned != read {
                return Err(WriteError::new(
                    409,
                    format!("the {} changed since the engine planned", self.kind),
                ));
            }
            let mut edited = current
                .pointer(&self.template_pointer)
                .filter(|t| t.is_object())
                .cloned()
                .ok_or_else(|| {
                    WriteError::new(
                        422,
                        format!(
                            "the {} has no pod template at {}",
                            self.kind, self.template_pointer
                        ),
                    )
                })?;
            apply_template_patch(&mut edited, &template_patch);
            let containers = edited.pointer("/spec/containers").cloned().unwrap_or(Value::Null);
            template.insert("spec".into(), serde_json::json!({ "containers": containers }));
            if let Some(read) = read {
                insert_at(
                    &mut patch,
                    &["metadata", "resourceVersion"],
                    Value::String(read.to_owned()),
                );
            }
        }
        let segments = pointer_segments(&self.template_pointer);
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        insert_at(&mut patch, &segments, Value::Object(template));
        Ok(patch)
    }

    fn api(&self, client: &Client, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(client.clone(), namespace, &self.resource)
    }

    /// The APIs to watch for `namespaces` (none in selector mode: the engine opens them per
    /// selected namespace).
    pub(super) fn apis(&self, client: &Client, namespaces: &Namespaces) -> Vec<Api<DynamicObject>> {
        match namespaces {
            Namespaces::All => vec![Api::all_with(client.clone(), &self.resource)],
            Namespaces::List(list) => list.iter().map(|ns| self.api(client, ns)).collect(),
            Namespaces::Selector(_) => Vec::new(),
        }
    }

    /// kube-runtime watches of the kind in `namespaces`, reduced with [`CustomKind::index`]
    /// in the stream (re-lists become resync brackets, as for the built-in kinds).
    pub fn watchers(&self, client: &Client, namespaces: &Namespaces) -> Vec<WorkloadWatcher> {
        self.apis(client, namespaces)
            .into_iter()
            .map(|api| {
                let kind = self.clone();
                watch_fallible(
                    api,
                    watcher::Config::default(),
                    self.kind.to_string(),
                    move |object: &DynamicObject| kind.index(object),
                )
            })
            .collect()
    }

    fn indexed(&self, object: &DynamicObject) -> Result<IndexedWorkload, WriteError> {
        match self.index(object) {
            Some(Ok(indexed)) => Ok(indexed),
            _ => Err(WriteError::new(
                422,
                format!("the server returned a {} without a pod template", self.kind),
            )),
        }
    }

    /// GETs one object.
    ///
    /// # Errors
    /// The API's error; 422 when the object has no pod template.
    pub async fn get(&self, client: &Client, id: &WorkloadRef) -> Result<IndexedWorkload, WriteError> {
        let object = self
            .api(client, &id.namespace)
            .get(&id.name)
            .await
            .map_err(write_error)?;
        self.indexed(&object)
    }

    /// Writes the engine's `body` as one merge PATCH ([`CustomKind::merge_patch`]), reading the
    /// object first only for container edits; the response refreshes the index.
    ///
    /// # Errors
    /// The API's error (409 on a stale resourceVersion), or [`CustomKind::merge_patch`]'s.
    pub async fn write(
        &self,
        client: &Client,
        params: &PatchParams,
        id: &WorkloadRef,
        body: &Value,
    ) -> Result<IndexedWorkload, WriteError> {
        let api = self.api(client, &id.namespace);
        let current = if self.needs_read(body) {
            let object = api.get(&id.name).await.map_err(write_error)?;
            Some(
                serde_json::to_value(&object)
                    .map_err(|e| WriteError::new(422, format!("cannot read the {}: {e}", self.kind)))?,
            )
        } else {
            None
        };
        let patch = self.merge_patch(body, current.as_ref())?;
        let patched = api
            .patch(&id.name, params, &Patch::Merge(&patch))
            .await
            .map_err(write_error)?;
        self.indexed(&patched)
    }
}

/// The unescaped segments of a JSON pointer (`~1` is `/`, `~0` is `~`).
fn pointer_segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Puts `value` at `path` in `root`, creating objects on the way (replacing non-objects) and
/// merging into an object already there.
fn insert_at(root: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = root;
    for segment in parents {
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        let Some(object) = at.as_object_mut() else {
            return;
        };
        at = object
            .entry((*segment).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !at.is_object() {
        *at = Value::Object(Map::new());
    }
    let Some(object) = at.as_object_mut() else {
        return;
    };
    match (object.get_mut(*last), value) {
        (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
        (_, value) => {
            object.insert((*last).to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests;
