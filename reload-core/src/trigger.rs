//! Our per-source trigger state: the digest each source last had when it reloaded a workload.
//!
//! Reloader's own conventions record state ambiguously: `last-reloaded-from` keeps only the
//! *last* source, and env var names can collide (`my.app` and `my-app` both give
//! `STAKATER_MY_APP_CONFIGMAP`). Both built-in strategies therefore keep, next to Reloader's
//! markers, one pod-template annotation of our own:
//!
//! ```text
//! reloader.rs/digests: {"configmap/app-config":"<digest>","secret/db":"<digest>"}
//! ```
//!
//! The value is compact JSON of a map sorted by key; keys are `configmap/<name>`,
//! `secret/<name>` or `secretproviderclass/<name>` (sources live in the workload's own
//! namespace, so the namespace is not part of the key); values are the digests as written
//! elsewhere (40 hex digits for the Reloader-compatible hasher). No timestamps, so writing the
//! same state twice yields the same template and no second rollout.
//!
//! **This format is a compatibility contract**: changing the key or the encoding would make
//! every managed workload look unrecorded after an upgrade, and restart it. Golden tests pin it.
//!
//! Reading never fails: an unparsable value is treated as empty (see [`read`]) and reported by
//! [`problem`], which the engine can turn into a Warning event.
//!
//! ```
//! use std::collections::BTreeMap;
//! use reload_core::{Digest, SourceKind, SourceRef};
//! use reload_core::trigger::{self, TriggerState, TRIGGER_ANNOTATION};
//!
//! let mut state = TriggerState::new();
//! state.insert(SourceKind::Secret, "db", Digest::new("b"));
//! state.insert(SourceKind::ConfigMap, "app", Digest::new("a"));
//! let value = trigger::render(&state);
//! assert_eq!(value, r#"{"configmap/app":"a","secret/db":"b"}"#);
//!
//! let annotations = BTreeMap::from([(TRIGGER_ANNOTATION.to_owned(), value)]);
//! let source = SourceRef::new(SourceKind::ConfigMap, "default", "app");
//! assert_eq!(trigger::get(&annotations, &source), Some(Digest::new("a")));
//! ```

use std::collections::BTreeMap;

use crate::hash::Digest;
use crate::source::{SourceKind, SourceRef};

/// The pod-template annotation that holds our per-source trigger state.
#[doc(alias = "reloader.rs/digests")]
pub const TRIGGER_ANNOTATION: &str = "reloader.rs/digests";

/// The key of `kind`/`name` in the trigger state: `configmap/<name>`, `secret/<name>` or
/// `secretproviderclass/<name>`.
pub fn key(kind: SourceKind, name: &str) -> String {
    let prefix = match kind {
        SourceKind::ConfigMap => "configmap",
        SourceKind::Secret => "secret",
        SourceKind::SecretProviderClass => "secretproviderclass",
    };
    format!("{prefix}/{name}")
}

/// The source named by a trigger-state key, if the key has one of our three prefixes.
pub fn parse_key(key: &str) -> Option<(SourceKind, &str)> {
    let (prefix, name) = key.split_once('/')?;
    let kind = match prefix {
        "configmap" => SourceKind::ConfigMap,
        "secret" => SourceKind::Secret,
        "secretproviderclass" => SourceKind::SecretProviderClass,
        _ => return None,
    };
    Some((kind, name))
}

/// The recorded digest per source of one workload.
///
/// Entries with keys this version does not understand are kept as they are, so a newer
/// controller's state survives a round trip through an older one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriggerState {
    digests: BTreeMap<String, Digest>,
}

impl TriggerState {
    /// An empty state.
    pub fn new() -> Self {
        TriggerState::default()
    }

    /// The digest recorded for `kind`/`name`.
    pub fn get(&self, kind: SourceKind, name: &str) -> Option<&Digest> {
        self.digests.get(&key(kind, name))
    }

    /// Records `digest` for `kind`/`name`, returning the digest it replaces.
    pub fn insert(&mut self, kind: SourceKind, name: &str, digest: Digest) -> Option<Digest> {
        self.digests.insert(key(kind, name), digest)
    }

    /// Forgets `kind`/`name`, returning the digest it had.
    pub fn remove(&mut self, kind: SourceKind, name: &str) -> Option<Digest> {
        self.digests.remove(&key(kind, name))
    }

    /// Whether a digest is recorded for `kind`/`name`.
    pub fn contains(&self, kind: SourceKind, name: &str) -> bool {
        self.digests.contains_key(&key(kind, name))
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// How many entries are recorded (including ones with unknown keys).
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// The sources with a recorded digest, in key order (entries with unknown keys skipped).
    pub fn sources(&self) -> impl Iterator<Item = (SourceKind, &str, &Digest)> {
        self.digests
            .iter()
            .filter_map(|(key, digest)| parse_key(key).map(|(kind, name)| (kind, name, digest)))
    }
}

/// The trigger-state annotation holds something that is not a JSON object of strings.
///
/// Carries the parser's message (line and column), never the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("annotation '{TRIGGER_ANNOTATION}' is not a JSON object of digests: {reason}")]
pub struct InvalidTriggerState {
    /// What the JSON parser objected to.
    pub reason: String,
}

/// Parses a trigger-state annotation value.
///
/// # Errors
///
/// [`InvalidTriggerState`] when `value` is not a JSON object whose values are all strings.
pub fn parse(value: &str) -> Result<TriggerState, InvalidTriggerState> {
    serde_json::from_str::<BTreeMap<String, Digest>>(value)
        .map(|digests| TriggerState { digests })
        .map_err(|error| InvalidTriggerState {
            reason: error.to_string(),
        })
}

/// Renders `state` as the annotation value: compact JSON, keys sorted.
pub fn render(state: &TriggerState) -> String {
    // A map of strings to strings always serialises; the fallback is unreachable in practice.
    serde_json::to_string(&state.digests).unwrap_or_else(|_| String::from("{}"))
}

/// The trigger state in pod-template `annotations`: empty when the annotation is absent or
/// unparsable (see [`problem`] for the latter).
pub fn read(annotations: &BTreeMap<String, String>) -> TriggerState {
    annotations
        .get(TRIGGER_ANNOTATION)
        .and_then(|value| parse(value).ok())
        .unwrap_or_default()
}

/// Why the trigger-state annotation in `annotations` was ignored, if it was.
pub fn problem(annotations: &BTreeMap<String, String>) -> Option<InvalidTriggerState> {
    annotations
        .get(TRIGGER_ANNOTATION)
        .and_then(|value| parse(value).err())
}

/// The digest recorded for `source` in pod-template `annotations` (the namespace of `source`
/// is not consulted: templates only reference sources of their own namespace).
pub fn get(annotations: &BTreeMap<String, String>, source: &SourceRef) -> Option<Digest> {
    read(annotations).get(source.kind, &source.name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(TRIGGER_ANNOTATION.to_owned(), value.to_owned())])
    }

    #[test]
    fn rendered_state_is_pinned_compact_sorted_json() {
        let mut state = TriggerState::new();
        state.insert(
            SourceKind::SecretProviderClass,
            "vault-db",
            Digest::new("eaf5523e4ff6005490a1bf250d6efdcf9b1b9b9c"),
        );
        state.insert(
            SourceKind::Secret,
            "db-credentials",
            Digest::new("c6cceb2f1c84498af4f4cda76071f8bc2afd425b"),
        );
        state.insert(
            SourceKind::ConfigMap,
            "app-config",
            Digest::new("2834cb2f26ce41acf3a5c4c63b1815df75bae06e"),
        );
        assert_eq!(TRIGGER_ANNOTATION, "reloader.rs/digests");
        assert_eq!(
            render(&state),
            concat!(
                r#"{"configmap/app-config":"2834cb2f26ce41acf3a5c4c63b1815df75bae06e","#,
                r#""secret/db-credentials":"c6cceb2f1c84498af4f4cda76071f8bc2afd425b","#,
                r#""secretproviderclass/vault-db":"eaf5523e4ff6005490a1bf250d6efdcf9b1b9b9c"}"#
            )
        );
    }

    #[test]
    fn parse_reads_back_what_render_wrote() {
        let mut state = TriggerState::new();
        state.insert(SourceKind::ConfigMap, "a.b", Digest::new("1"));
        state.insert(SourceKind::Secret, "a.b", Digest::new("2"));
        assert_eq!(parse(&render(&state)), Ok(state));
    }

    #[test]
    fn invalid_json_reads_as_empty_and_is_reported() {
        for bad in ["", "not json", "[]", r#"{"configmap/a":1}"#, "{"] {
            let annotations = annotations(bad);
            assert!(read(&annotations).is_empty(), "{bad:?} should read as empty");
            assert!(problem(&annotations).is_some(), "{bad:?} should be reported");
        }
    }

    #[test]
    fn absent_annotation_is_empty_and_not_a_problem() {
        let none = BTreeMap::new();
        assert!(read(&none).is_empty());
        assert_eq!(problem(&none), None);
    }

    #[test]
    fn get_finds_a_source_by_kind_and_name_only() {
        let annotations = annotations(r#"{"configmap/app":"d1","secret/app":"d2"}"#);
        let cm = SourceRef::new(SourceKind::ConfigMap, "any-namespace", "app");
        let secret = SourceRef::new(SourceKind::Secret, "default", "app");
        let spc = SourceRef::new(SourceKind::SecretProviderClass, "default", "app");
        assert_eq!(get(&annotations, &cm), Some(Digest::new("d1")));
        assert_eq!(get(&annotations, &secret), Some(Digest::new("d2")));
        assert_eq!(get(&annotations, &spc), None);
    }

    #[test]
    fn unknown_keys_survive_a_round_trip_but_are_not_sources() {
        let state = parse(r#"{"future/x":"f","configmap/a":"d"}"#).expect("valid JSON");
        assert_eq!(state.len(), 2);
        assert_eq!(
            state.sources().collect::<Vec<_>>(),
            vec![(SourceKind::ConfigMap, "a", &Digest::new("d"))]
        );
        assert_eq!(render(&state), r#"{"configmap/a":"d","future/x":"f"}"#);
    }

    #[test]
    fn keys_with_slashes_in_the_name_keep_the_rest_of_the_name() {
        assert_eq!(parse_key("secret/a/b"), Some((SourceKind::Secret, "a/b")));
        assert_eq!(parse_key("nothing"), None);
    }
}
