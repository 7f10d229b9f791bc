//! Metadata baselines: the digest of each (workload, source) pair the engine first saw without
//! a recorded digest, kept in the workload's **metadata** annotation `reloader.rs/baseline`
//! (never the pod template, so writing it restarts nothing).
//!
//! The value uses the trigger-state format of [`crate::trigger`] (compact JSON of a sorted
//! map `{"configmap/<name>":"<digest>","secret/<name>":"<digest>"}`). Invalid JSON reads as
//! empty (the pairs are then baselined again), never a panic.

use std::collections::BTreeMap;

use crate::hash::Digest;
use crate::source::SourceRef;
use crate::trigger::{self, TriggerState};
use crate::workload::Workload;

/// The workload metadata annotation holding baselines.
#[doc(alias = "reloader.rs/baseline")]
pub const BASELINE_ANNOTATION: &str = "reloader.rs/baseline";

/// The baselines recorded on a workload (empty if absent or invalid).
pub fn read(workload: &Workload) -> TriggerState {
    workload
        .annotations
        .get(BASELINE_ANNOTATION)
        .and_then(|v| trigger::parse(v).ok())
        .unwrap_or_default()
}

/// The baseline digest recorded on `workload` for `source`.
pub fn get(workload: &Workload, source: &SourceRef) -> Option<Digest> {
    let annotations = BTreeMap::from([(
        trigger::TRIGGER_ANNOTATION.to_owned(),
        workload.annotations.get(BASELINE_ANNOTATION)?.clone(),
    )]);
    trigger::get(&annotations, source)
}

/// Renders baselines as the annotation value.
pub fn render(state: &TriggerState) -> String {
    trigger::render(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceKind;
    use crate::workload::{WorkloadKind, WorkloadRef};

    fn workload(value: &str) -> Workload {
        let mut w = Workload::new(WorkloadRef::new(WorkloadKind::Deployment, "ns", "d"));
        w.annotations.insert(BASELINE_ANNOTATION.into(), value.into());
        w
    }

    #[test]
    fn baseline_value_is_the_trigger_state_format_and_round_trips() {
        let mut state = TriggerState::new();
        state.insert(SourceKind::Secret, "s", Digest::new("2"));
        state.insert(SourceKind::ConfigMap, "c", Digest::new("1"));
        let text = render(&state);
        assert_eq!(text, r#"{"configmap/c":"1","secret/s":"2"}"#);
        let w = workload(&text);
        assert_eq!(read(&w), state);
        assert_eq!(
            get(&w, &SourceRef::new(SourceKind::Secret, "ns", "s")),
            Some(Digest::new("2"))
        );
    }

    #[test]
    fn invalid_baseline_json_reads_as_empty() {
        let w = workload("{not json");
        assert!(read(&w).is_empty());
        assert_eq!(get(&w, &SourceRef::new(SourceKind::ConfigMap, "ns", "c")), None);
    }
}
