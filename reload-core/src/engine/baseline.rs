//! Metadata baselines: the digest of each (workload, source) pair the engine first saw without
//! a recorded digest, kept in the workload's **metadata** annotation `reloader.rs/baseline`
//! (never the pod template, so writing it restarts nothing).
//!
//! The value uses the trigger-state format of the strategies' `reloader.rs/digests`: compact
//! JSON of a sorted map `{"configmap/<name>":"<digest>","secret/<name>":"<digest>"}`.
//! Invalid JSON reads as empty (the pairs are then baselined again), never a panic.

use std::collections::BTreeMap;

use crate::hash::Digest;
use crate::source::{SourceKind, SourceRef};
use crate::workload::Workload;

/// The workload metadata annotation holding baselines.
pub const BASELINE_ANNOTATION: &str = "reloader.rs/baseline";

/// The map key of a source: `configmap/<name>`, `secret/<name>`, `secretproviderclass/<name>`.
pub fn key(source: &SourceRef) -> String {
    let kind = match source.kind {
        SourceKind::ConfigMap => "configmap",
        SourceKind::Secret => "secret",
        SourceKind::SecretProviderClass => "secretproviderclass",
    };
    format!("{kind}/{}", source.name)
}

/// Parses a baseline value; invalid JSON gives an empty map.
pub fn parse(value: &str) -> BTreeMap<String, String> {
    serde_json::from_str(value).unwrap_or_default()
}

/// Renders a baseline map as compact, sorted JSON.
pub fn render(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).unwrap_or_default()
}

/// The baselines recorded on a workload.
pub fn read(workload: &Workload) -> BTreeMap<String, String> {
    workload
        .annotations
        .get(BASELINE_ANNOTATION)
        .map(|v| parse(v))
        .unwrap_or_default()
}

/// The baseline digest recorded on `workload` for `source`.
pub fn get(workload: &Workload, source: &SourceRef) -> Option<Digest> {
    read(workload).get(&key(source)).map(|d| Digest::new(d.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{WorkloadKind, WorkloadRef};

    #[test]
    fn baseline_value_is_compact_sorted_json_and_round_trips() {
        let mut map = BTreeMap::new();
        map.insert(
            key(&SourceRef::new(SourceKind::Secret, "ns", "s")),
            "2".to_owned(),
        );
        map.insert(
            key(&SourceRef::new(SourceKind::ConfigMap, "ns", "c")),
            "1".to_owned(),
        );
        let text = render(&map);
        assert_eq!(text, r#"{"configmap/c":"1","secret/s":"2"}"#);
        assert_eq!(parse(&text), map);
    }

    #[test]
    fn invalid_baseline_json_reads_as_empty() {
        let mut w = Workload::new(WorkloadRef::new(WorkloadKind::Deployment, "ns", "d"));
        w.annotations
            .insert(BASELINE_ANNOTATION.into(), "{not json".into());
        assert!(read(&w).is_empty());
        assert_eq!(get(&w, &SourceRef::new(SourceKind::ConfigMap, "ns", "c")), None);
    }
}
