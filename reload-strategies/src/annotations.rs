//! Reloader's `annotations` strategy: the `reloader.stakater.com/last-reloaded-from` pod-template
//! annotation, plus our per-source trigger state.
//!
//! # Trigger state
//!
//! Reloader keeps only the *last* source in `last-reloaded-from` and, since `observedAt`
//! changes, rolls the workload on every event, even a replay of the same digest (`USERS.md`
//! §1.2: restart storms). We write the same annotation, byte for byte, and next to it the
//! digest of every source in [`reload_core::trigger::TRIGGER_ANNOTATION`]. A change whose
//! digest is already recorded for its source yields no plan.
//!
//! Reloader's annotation counts as state for the source it names (type, name and namespace),
//! so taking over from Reloader is a no-op; the first plan we write copies it into our state.
//!
//! # Deletes and CSI
//!
//! A delete records [`DELETE_MARKER_DIGEST`] (Reloader's `hash` for deletes), so replaying the delete
//! is a no-op and re-creating the source with any content reloads. Reloader ignores delete
//! events of `SecretProviderClassPodStatus` objects (§3.3); that filter belongs to the engine,
//! the strategy plans any delete it is given. For `SecretProviderClass`
//! sources Reloader skips the write when the annotation *contains* both the class name and the
//! digest (`reloader-spec.md` §3.2); we compare the parsed type, name, namespace and hash, which
//! is the same test without its false positives.

use reload_core::trigger::{self, TRIGGER_ANNOTATION};
use reload_core::{Change, ChangeKind, Digest, Edit, Plan, ReloadStrategy, SourceKind, SourceRef, Workload};
use serde::{Deserialize, Serialize};

/// Reloader's pod-template annotation naming the last source that reloaded the workload.
#[doc(alias = "reloader.stakater.com/last-reloaded-from")]
pub const LAST_RELOADED_FROM: &str = "reloader.stakater.com/last-reloaded-from";

/// The digest Reloader records for a deleted source: SHA-1 of `__RELOADER_EMPTY_DELETE_MARKER__`.
pub const DELETE_MARKER_DIGEST: &str = "aae45badef99284e4dae01d6046154ea9d99532f";

/// The value of [`LAST_RELOADED_FROM`]: Reloader's `ReloadSource`, fields in its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[doc(alias = "ReloadSource")]
pub struct LastReloadedFrom {
    /// `CONFIGMAP`, `SECRET` or `SECRETPROVIDERCLASS`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Source name.
    pub name: String,
    /// Source namespace.
    pub namespace: String,
    /// The recorded digest.
    pub hash: String,
    /// The chosen container (always exactly one in Reloader's output).
    #[serde(default)]
    pub container_refs: Vec<String>,
    /// When the change was observed, in Unix seconds.
    #[serde(default)]
    pub observed_at: i64,
}

impl LastReloadedFrom {
    /// The annotation value for `change` recording `digest`.
    pub fn new(change: &Change, digest: &Digest) -> Self {
        LastReloadedFrom {
            kind: change.source.kind.reloader_type().to_owned(),
            name: change.source.name.clone(),
            namespace: change.source.namespace.clone(),
            hash: digest.as_str().to_owned(),
            container_refs: vec![change.container.clone()],
            observed_at: change.observed_at,
        }
    }

    /// Parses an annotation value; `None` unless it is a JSON object with at least `type`,
    /// `name`, `namespace` and `hash`.
    pub fn parse(value: &str) -> Option<Self> {
        serde_json::from_str(value).ok()
    }

    /// The value as Go's `json.Marshal` writes it: compact, fields in order, and `<`, `>`, `&`,
    /// U+2028 and U+2029 escaped as `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`.
    ///
    /// ```
    /// use reload_strategies::LastReloadedFrom;
    ///
    /// let value = LastReloadedFrom {
    ///     kind: "CONFIGMAP".into(),
    ///     name: "my-cm".into(),
    ///     namespace: "default".into(),
    ///     hash: "3c9a892aeaedc759abc3df9884a37b8be5680382".into(),
    ///     container_refs: vec!["app".into()],
    ///     observed_at: 1_714_557_600,
    /// };
    /// assert_eq!(
    ///     value.to_json(),
    ///     r#"{"type":"CONFIGMAP","name":"my-cm","namespace":"default","hash":"3c9a892aeaedc759abc3df9884a37b8be5680382","containerRefs":["app"],"observedAt":1714557600}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        // Serialising a struct of strings and integers cannot fail.
        let json = serde_json::to_string(self).unwrap_or_default();
        // The characters only occur inside string values (the keys are fixed ASCII), where
        // Go escapes them and serde_json does not.
        let mut escaped = String::with_capacity(json.len());
        for ch in json.chars() {
            match ch {
                '<' => escaped.push_str("\\u003c"),
                '>' => escaped.push_str("\\u003e"),
                '&' => escaped.push_str("\\u0026"),
                '\u{2028}' => escaped.push_str("\\u2028"),
                '\u{2029}' => escaped.push_str("\\u2029"),
                other => escaped.push(other),
            }
        }
        escaped
    }

    /// The source kind its `type` names, if it is one of Reloader's three.
    pub fn source_kind(&self) -> Option<SourceKind> {
        SourceKind::ALL
            .into_iter()
            .find(|kind| kind.reloader_type() == self.kind)
    }

    /// Whether it names `source` (type, name and namespace).
    pub fn names(&self, source: &SourceRef) -> bool {
        self.source_kind() == Some(source.kind)
            && self.name == source.name
            && self.namespace == source.namespace
    }
}

/// Reloader's `annotations` strategy, with per-source trigger state; see the
/// [module documentation](self).
///
/// ```
/// use reload_core::{Change, ChangeKind, Container, Digest, ReloadStrategy, SourceKind, SourceRef};
/// use reload_core::{Workload, WorkloadKind, WorkloadRef};
/// use reload_strategies::AnnotationStrategy;
///
/// let mut workload = Workload::new(WorkloadRef::new(WorkloadKind::Deployment, "default", "web"));
/// workload.template.containers.push(Container { name: "app".into(), ..Container::default() });
/// let change = Change {
///     source: SourceRef::new(SourceKind::ConfigMap, "default", "my-cm"),
///     digest: Digest::new("3c9a892aeaedc759abc3df9884a37b8be5680382"),
///     kind: ChangeKind::Updated,
///     container: "app".into(),
///     observed_at: 1_714_557_600,
/// };
/// let plan = AnnotationStrategy.plan(&workload, &change).expect("not recorded yet");
/// plan.apply(&mut workload);
/// // Unlike Reloader, a replay of the same digest does not roll the workload again.
/// let later = Change { observed_at: 1_714_557_700, ..change.clone() };
/// assert_eq!(AnnotationStrategy.plan(&workload, &later), None);
/// assert_eq!(AnnotationStrategy.recorded_digest(&workload, &change.source), Some(change.digest));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[doc(alias = "annotations")]
pub struct AnnotationStrategy;

impl ReloadStrategy for AnnotationStrategy {
    fn name(&self) -> &'static str {
        "annotations"
    }

    /// Writes `last-reloaded-from` (with [`DELETE_MARKER_DIGEST`] as the hash for a delete) and our
    /// trigger state. `None` when that digest is already recorded for the source, or when the
    /// template has no regular container named by the change (Reloader's `NoContainerFound`).
    fn plan(&self, workload: &Workload, change: &Change) -> Option<Plan> {
        if !workload
            .template
            .containers
            .iter()
            .any(|c| c.name == change.container)
        {
            return None;
        }
        let digest = match change.kind {
            ChangeKind::Deleted => Digest::new(DELETE_MARKER_DIGEST),
            ChangeKind::Updated | ChangeKind::Created => change.digest.clone(),
        };
        if self.recorded_digest(workload, &change.source).as_ref() == Some(&digest) {
            return None;
        }
        let annotations = &workload.template.annotations;
        let mut state = trigger::read(annotations);
        // Keep what Reloader's annotation records for the source it names.
        if let Some(previous) = annotations
            .get(LAST_RELOADED_FROM)
            .and_then(|v| LastReloadedFrom::parse(v))
            && let Some(kind) = previous.source_kind()
            && previous.namespace == workload.id.namespace
            && !state.contains(kind, &previous.name)
        {
            state.insert(kind, &previous.name, Digest::new(previous.hash));
        }
        state.insert(change.source.kind, &change.source.name, digest.clone());
        Some(Plan {
            source: change.source.clone(),
            edits: vec![
                Edit::SetTemplateAnnotation {
                    key: LAST_RELOADED_FROM.to_owned(),
                    value: LastReloadedFrom::new(change, &digest).to_json(),
                },
                Edit::SetTemplateAnnotation {
                    key: TRIGGER_ANNOTATION.to_owned(),
                    value: trigger::render(&state),
                },
            ],
            digest,
        })
    }

    /// Our trigger state for `source` if present; else the hash in `last-reloaded-from` when it
    /// names `source`.
    fn recorded_digest(&self, workload: &Workload, source: &SourceRef) -> Option<Digest> {
        let annotations = &workload.template.annotations;
        trigger::get(annotations, source).or_else(|| {
            annotations
                .get(LAST_RELOADED_FROM)
                .and_then(|value| LastReloadedFrom::parse(value))
                .filter(|previous| previous.names(source))
                .map(|previous| Digest::new(previous.hash))
        })
    }
}
