//! Property tests for the parsers not fuzzed elsewhere. Already covered: the reload-list and
//! boolean annotation parsers and the matcher on arbitrary annotation values
//! (`reload-core/src/matcher/tests/parsers.rs`), the hashers on arbitrary data
//! (`reload-core/src/hash/tests.rs`), the simulator's label and field selector parsers
//! (`tests/src/sim/selector/tests.rs`). Added here: our trigger-state and baseline annotations,
//! Reloader's `last-reloaded-from`, a workload built from arbitrary annotations, and the digest
//! of sources built from arbitrary JSON.

use std::collections::BTreeMap;

use proptest::prelude::*;
use reload_core::engine::baseline;
use reload_core::trigger::{self, TRIGGER_ANNOTATION, TriggerState};
use reload_core::{Digest, ReloadStrategy, SourceKind, SourceRef, Workload, WorkloadKind};
use reload_strategies::{AnnotationStrategy, EnvVarStrategy, LAST_RELOADED_FROM, LastReloadedFrom};
use serde_json::json;

use crate::faults_support::invariant::source_digest;

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9.-]{0,20}"
}

fn kind() -> impl Strategy<Value = SourceKind> {
    prop_oneof![Just(SourceKind::ConfigMap), Just(SourceKind::Secret)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn trigger_state_parsing_never_panics_on_any_text(value in any::<String>()) {
        let _ = trigger::parse(&value);
        let annotations = BTreeMap::from([(TRIGGER_ANNOTATION.to_owned(), value)]);
        let _ = trigger::read(&annotations);
        let _ = trigger::problem(&annotations);
    }

    #[test]
    fn trigger_state_reads_back_what_it_rendered(entries in proptest::collection::vec((kind(), name(), "[0-9a-f]{40}"), 0..8)) {
        let mut state = TriggerState::new();
        for (kind, name, digest) in &entries {
            state.insert(*kind, name, Digest::new(digest.clone()));
        }
        let parsed = trigger::parse(&trigger::render(&state));
        prop_assert_eq!(parsed.ok(), Some(state));
    }

    #[test]
    fn last_reloaded_from_parsing_never_panics_and_round_trips(value in any::<String>(), source in name(), hash in "[0-9a-f]{40}") {
        let _ = LastReloadedFrom::parse(&value);
        let record = LastReloadedFrom {
            kind: "CONFIGMAP".into(),
            name: source,
            namespace: "ns".into(),
            hash,
            container_refs: vec!["app".into()],
            observed_at: 1,
        };
        prop_assert_eq!(LastReloadedFrom::parse(&record.to_json()), Some(record));
    }

    #[test]
    fn a_workload_with_arbitrary_annotations_converts_and_reads_its_records_without_panicking(
        annotations in proptest::collection::btree_map(
            prop_oneof![
                Just(baseline::BASELINE_ANNOTATION.to_owned()),
                Just("reloader.stakater.com/auto".to_owned()),
                Just("configmap.reloader.stakater.com/reload".to_owned()),
                any::<String>(),
            ],
            any::<String>(),
            0..5,
        ),
        template_annotations in proptest::collection::btree_map(
            prop_oneof![Just(TRIGGER_ANNOTATION.to_owned()), Just(LAST_RELOADED_FROM.to_owned()), any::<String>()],
            any::<String>(),
            0..4,
        ),
        env_value in any::<String>(),
        source in name(),
    ) {
        let object = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "w", "namespace": "ns", "annotations": annotations},
            "spec": {"selector": {}, "template": {"metadata": {"annotations": template_annotations},
                "spec": {"containers": [{"name": "app", "image": "x",
                    "env": [{"name": "STAKATER_X_CONFIGMAP", "value": env_value}],
                    "envFrom": [{"configMapRef": {"name": source}}]}]}}}
        });
        if let Ok(workload) = Workload::from_json(WorkloadKind::Deployment, &object) {
            for source in workload.referenced_sources() {
                let _ = EnvVarStrategy.recorded_digest(&workload, &source);
                let _ = AnnotationStrategy.recorded_digest(&workload, &source);
                let _ = baseline::get(&workload, &source);
            }
            let _ = baseline::read(&workload);
            let _ = EnvVarStrategy.recorded_digest(&workload, &SourceRef::new(SourceKind::ConfigMap, "ns", "x"));
        }
    }

    #[test]
    fn source_digests_from_arbitrary_json_data_never_panic(
        data in proptest::collection::btree_map(any::<String>(), any::<String>(), 0..6),
        secret in any::<bool>(),
    ) {
        let object = json!({"metadata": {"name": "s", "namespace": "ns"}, "data": data, "binaryData": data});
        let kind = if secret { SourceKind::Secret } else { SourceKind::ConfigMap };
        // Arbitrary strings are rarely valid base64: the conversion may refuse, never panic.
        let _ = source_digest(kind, &object);
    }
}
