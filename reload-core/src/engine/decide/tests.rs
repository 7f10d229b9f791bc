use super::*;
use crate::engine::fixtures::{self, Strategy, cm, cm_record, deployment, state_key};
use crate::plan::Edit;

fn never(_: &SourceRef, _: &Digest) -> bool {
    false
}

fn decide_with(
    workload: &IndexedWorkload,
    sources: &SourceStore,
    rules: Rules,
    trigger: &Trigger,
) -> Decided {
    let matcher = fixtures::matcher;
    Reconcile {
        workload,
        sources,
        matcher: &matcher,
        strategy: &Strategy,
        memory: None,
        named: false,
        rules,
        now_secs: 100,
        blocked: &never,
    }
    .decide(trigger)
}

fn on() -> Rules {
    Rules {
        baselines: true,
        ..Rules::default()
    }
}

fn store(records: &[(&str, &str)]) -> SourceStore {
    let mut store = SourceStore::new();
    store.resync_started(0);
    for (name, digest) in records {
        store.resync_item(0, cm_record(name, digest));
    }
    store.resync_done(0, 0);
    store
}

fn with_state(mut w: IndexedWorkload, source: &str, digest: &str) -> IndexedWorkload {
    w.workload
        .template
        .annotations
        .insert(state_key(&cm(source)), digest.into());
    w
}

fn by(source: &str) -> Trigger {
    let mut t = Trigger::default();
    t.sources.insert(cm(source));
    t
}

#[test]
fn unrecorded_pair_at_startup_gets_a_metadata_only_baseline() {
    let sources = store(&[("a", "1"), ("b", "2")]);
    let w = deployment("d", &["a", "b"]);
    let out = decide_with(
        &w,
        &sources,
        on(),
        &Trigger {
            first_index: true,
            ..Trigger::default()
        },
    );
    assert!(out.rollouts.is_empty());
    assert_eq!(out.baselined.len(), 2);
    assert_eq!(
        out.edits,
        vec![Edit::SetAnnotation {
            key: baseline::BASELINE_ANNOTATION.into(),
            value: Some(r#"{"configmap/a":"1","configmap/b":"2"}"#.into()),
        }]
    );
    assert!(out.guard_version);
}

#[test]
fn baselines_off_remember_in_memory_and_write_nothing() {
    let sources = store(&[("a", "1")]);
    let w = deployment("d", &["a"]);
    let out = decide_with(
        &w,
        &sources,
        Rules::default(),
        &Trigger {
            first_index: true,
            ..Trigger::default()
        },
    );
    assert!(out.edits.is_empty());
    assert_eq!(out.baselined, vec![(cm("a"), Digest::new("1"))]);
}

#[test]
fn recorded_digest_equal_to_current_writes_nothing() {
    let sources = store(&[("a", "1")]);
    let w = with_state(deployment("d", &["a"]), "a", "1");
    let out = decide_with(&w, &sources, on(), &by("a"));
    assert!(out.edits.is_empty());
    assert_eq!(out.skipped, vec![(cm("a"), EngineSkip::UpToDate)]);
}

#[test]
fn changed_digest_rolls_once_and_reports_old_and_new() {
    let sources = store(&[("a", "2")]);
    let w = with_state(deployment("d", &["a"]), "a", "1");
    let out = decide_with(&w, &sources, on(), &by("a"));
    assert_eq!(out.rollouts.len(), 1);
    assert_eq!(out.rollouts[0].old_digest, Some(Digest::new("1")));
    assert_eq!(out.rollouts[0].new_digest, Digest::new("2"));
    assert_eq!(
        out.edits,
        vec![Edit::SetTemplateAnnotation {
            key: state_key(&cm("a")),
            value: "2".into()
        }]
    );
}

#[test]
fn baseline_counts_as_the_record_when_the_strategy_has_none() {
    let sources = store(&[("a", "2")]);
    let mut w = deployment("d", &["a"]);
    w.workload.annotations.insert(
        baseline::BASELINE_ANNOTATION.into(),
        r#"{"configmap/a":"1"}"#.into(),
    );
    let out = decide_with(
        &w,
        &sources,
        on(),
        &Trigger {
            first_index: true,
            ..Trigger::default()
        },
    );
    assert_eq!(out.rollouts.len(), 1);
    assert_eq!(out.rollouts[0].old_digest, Some(Digest::new("1")));
}

#[test]
fn two_changed_sources_become_one_write_with_both_digests() {
    let sources = store(&[("a", "2"), ("b", "3")]);
    let w = with_state(with_state(deployment("d", &["a", "b"]), "a", "1"), "b", "1");
    let out = decide_with(&w, &sources, on(), &by("a"));
    assert_eq!(out.rollouts.len(), 2);
    assert_eq!(out.edits.len(), 2);
}

#[test]
fn unreferenced_source_under_auto_is_skipped_with_the_matchers_reason() {
    let sources = store(&[("a", "1"), ("other", "1")]);
    let w = with_state(deployment("d", &["a"]), "a", "1");
    let out = decide_with(&w, &sources, on(), &by("other"));
    assert!(out.edits.is_empty());
    assert_eq!(
        out.skipped,
        vec![(
            cm("other"),
            EngineSkip::Matcher(crate::decision::SkipReason::NotReferenced)
        )]
    );
}

#[test]
fn live_change_rolls_a_pair_without_record_even_without_baselines() {
    let mut sources = store(&[("a", "1")]);
    sources.apply(0, cm_record("a", "2"), 5_000);
    let w = deployment("d", &["a"]);
    let out = decide_with(&w, &sources, Rules::default(), &by("a"));
    assert_eq!(out.rollouts.len(), 1);
    assert_eq!(out.rollouts[0].old_digest, Some(Digest::new("1")));
}

#[test]
fn workload_created_before_an_observed_change_is_rolled_when_first_indexed() {
    let mut sources = store(&[("a", "1")]);
    sources.apply(0, cm_record("a", "2"), 10_100);
    let first = Trigger {
        first_index: true,
        ..Trigger::default()
    };
    let older = deployment("d", &["a"]).with_created_ms(10_000);
    assert_eq!(decide_with(&older, &sources, on(), &first).rollouts.len(), 1);
    let newer = deployment("d", &["a"]).with_created_ms(11_000);
    let out = decide_with(&newer, &sources, on(), &first);
    assert!(out.rollouts.is_empty());
    assert_eq!(out.baselined, vec![(cm("a"), Digest::new("2"))]);
}

#[test]
fn create_without_reload_on_create_baselines_and_with_it_rolls() {
    let mut sources = store(&[]);
    sources.apply(0, cm_record("a", "1"), 5_000);
    let w = deployment("d", &["a"]);
    let out = decide_with(&w, &sources, on(), &by("a"));
    assert!(out.rollouts.is_empty());
    assert_eq!(out.baselined.len(), 1);
    let rules = Rules {
        reload_on_create: true,
        ..on()
    };
    let out = decide_with(&w, &sources, rules, &by("a"));
    assert_eq!(out.rollouts[0].change, ChangeKind::Created);
}

#[test]
fn recreate_with_identical_data_is_nothing_and_with_new_data_rolls() {
    let mut sources = store(&[]);
    sources.apply(0, cm_record("a", "1"), 5_000);
    let w = with_state(deployment("d", &["a"]), "a", "1");
    assert!(decide_with(&w, &sources, on(), &by("a")).edits.is_empty());
    sources.apply(0, cm_record("a", "9"), 6_000);
    assert_eq!(decide_with(&w, &sources, on(), &by("a")).rollouts.len(), 1);
}

#[test]
fn delete_plans_the_strategys_delete_only_with_reload_on_delete() {
    let sources = store(&[]);
    let w = with_state(deployment("d", &["a"]), "a", "1");
    let mut trigger = Trigger::default();
    trigger.deleted.insert(cm("a"), cm_record("a", "1"));
    assert!(decide_with(&w, &sources, on(), &trigger).edits.is_empty());
    let rules = Rules {
        reload_on_delete: true,
        ..on()
    };
    let out = decide_with(&w, &sources, rules, &trigger);
    assert_eq!(out.rollouts[0].change, ChangeKind::Deleted);
    assert_eq!(
        out.rollouts[0].new_digest,
        Digest::new("aae45badef99284e4dae01d6046154ea9d99532f")
    );
}

#[test]
fn ignored_source_never_reloads() {
    let mut sources = store(&[("a", "1")]);
    let mut record = cm_record("a", "2");
    record
        .annotations
        .insert("reloader.stakater.com/ignore".into(), "true".into());
    sources.apply(0, record, 1);
    let w = with_state(deployment("d", &["a"]), "a", "1");
    let out = decide_with(&w, &sources, on(), &by("a"));
    assert!(out.edits.is_empty());
}

#[test]
fn blocked_digest_is_skipped_as_a_revert_fight() {
    let sources = store(&[("a", "2")]);
    let w = with_state(deployment("d", &["a"]), "a", "1");
    let matcher = fixtures::matcher;
    let blocked = |_: &SourceRef, d: &Digest| d.as_str() == "2";
    let out = Reconcile {
        workload: &w,
        sources: &sources,
        matcher: &matcher,
        strategy: &Strategy,
        memory: None,
        named: false,
        rules: on(),
        now_secs: 0,
        blocked: &blocked,
    }
    .decide(&by("a"));
    assert!(out.edits.is_empty());
    assert_eq!(out.skipped, vec![(cm("a"), EngineSkip::RevertFight)]);
}

#[test]
fn deciding_again_after_applying_the_edits_writes_nothing() {
    let sources = store(&[("a", "2"), ("b", "5")]);
    let mut w = with_state(deployment("d", &["a", "b"]), "a", "1");
    let out = decide_with(&w, &sources, on(), &by("a"));
    assert!(!out.edits.is_empty());
    for edit in &out.edits {
        edit.apply(&mut w.workload);
    }
    assert!(decide_with(&w, &sources, on(), &by("a")).edits.is_empty());
}

mod properties {
    use proptest::prelude::{any, prop_assert, prop_assert_eq, proptest};
    use proptest::strategy::Strategy as Generator;

    use super::*;

    /// Per source: (current digest, recorded digest in the template, recorded in the baseline).
    fn pair() -> impl Generator<Value = (u8, Option<u8>, Option<u8>)> {
        (0u8..3, proptest::option::of(0u8..3), proptest::option::of(0u8..3))
    }

    proptest! {
        #[test]
        fn applying_a_decision_and_deciding_again_writes_nothing(
            pairs in proptest::collection::vec(pair(), 1..4),
            baselines in any::<bool>(),
            first_index in any::<bool>(),
        ) {
            let names: Vec<String> = (0..pairs.len()).map(|i| format!("s{i}")).collect();
            let records: Vec<(&str, String)> =
                names.iter().zip(&pairs).map(|(n, (cur, _, _))| (n.as_str(), cur.to_string())).collect();
            let as_refs: Vec<(&str, &str)> = records.iter().map(|(n, d)| (*n, d.as_str())).collect();
            let sources = store(&as_refs);
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut w = deployment("d", &refs);
            let mut base = crate::trigger::TriggerState::new();
            for (name, (_, template, baseline)) in names.iter().zip(&pairs) {
                if let Some(t) = template {
                    w = with_state(w, name, &t.to_string());
                }
                if let Some(b) = baseline {
                    base.insert(crate::source::SourceKind::ConfigMap, name, Digest::new(b.to_string()));
                }
            }
            if !base.is_empty() {
                w.workload.annotations.insert(baseline::BASELINE_ANNOTATION.into(), baseline::render(&base));
            }
            let rules = Rules { baselines, ..Rules::default() };
            let trigger = Trigger { first_index, ..Trigger::default() };
            let first = decide_with(&w, &sources, rules, &trigger);
            for edit in &first.edits {
                edit.apply(&mut w.workload);
            }
            let memory: BTreeMap<SourceRef, Digest> = first.baselined.iter().cloned().collect();
            let matcher = fixtures::matcher;
            let second = Reconcile {
                workload: &w,
                sources: &sources,
                matcher: &matcher,
                strategy: &Strategy,
                memory: Some(&memory),
                named: false,
                rules,
                now_secs: 100,
                blocked: &never,
            }
            .decide(&trigger);
            prop_assert!(second.edits.is_empty(), "second decision wrote {:?}", second.edits);
            // Every pair whose recorded digest differed was rolled; none that matched was.
            for (name, (cur, template, baseline)) in names.iter().zip(&pairs) {
                let recorded = template.or(*baseline);
                let rolled = first.rollouts.iter().any(|r| r.source == cm(name));
                prop_assert_eq!(rolled, recorded.is_some_and(|r| r != *cur));
            }
        }
    }
}

/// The fixture Deployment turned into another kind (same template and annotations).
fn as_kind(mut w: IndexedWorkload, kind: WorkloadKind) -> IndexedWorkload {
    w.workload.id.kind = kind;
    w
}

fn record_edit(digest: &str) -> Edit {
    Edit::SetAnnotation {
        key: baseline::BASELINE_ANNOTATION.into(),
        value: Some(format!(r#"{{"configmap/a":"{digest}"}}"#)),
    }
}

#[test]
fn restart_mode_rollout_records_the_applied_digest_in_metadata_and_a_replay_writes_nothing() {
    let sources = store(&[("a", "2")]);
    let mut w = as_kind(deployment("r", &["a"]), WorkloadKind::Rollout);
    w.workload
        .annotations
        .insert(crate::matcher::ROLLOUT_STRATEGY.into(), "restart".into());
    let w = with_state(w, "a", "1");
    let out = decide_with(&w, &sources, on(), &by("a"));
    assert_eq!(out.rollouts.len(), 1);
    assert!(out.edits.contains(&record_edit("2")), "{:?}", out.edits);
    assert!(out.guard_version);

    // The template is never written in restart mode: only the metadata record survives.
    let mut replay = w.clone();
    for edit in out
        .edits
        .iter()
        .filter(|e| matches!(e, Edit::SetAnnotation { .. }))
    {
        edit.apply(&mut replay.workload);
    }
    replay.workload.template.annotations.clear();
    let again = decide_with(&replay, &sources, on(), &by("a"));
    assert!(again.edits.is_empty(), "{:?}", again.edits);
    assert_eq!(again.skipped, vec![(cm("a"), EngineSkip::UpToDate)]);
}

#[test]
fn rollout_mode_and_template_mode_cronjobs_keep_the_state_in_the_template_only() {
    let sources = store(&[("a", "2")]);
    let rollout = with_state(as_kind(deployment("r", &["a"]), WorkloadKind::Rollout), "a", "1");
    let out = decide_with(&rollout, &sources, on(), &by("a"));
    assert_eq!(out.rollouts.len(), 1);
    assert!(!out.edits.iter().any(|e| matches!(e, Edit::SetAnnotation { .. })));

    let cronjob = with_state(as_kind(deployment("c", &["a"]), WorkloadKind::CronJob), "a", "1");
    let template_mode = Rules {
        cronjob_mode: CronJobMode::PatchTemplate,
        ..on()
    };
    let out = decide_with(&cronjob, &sources, template_mode, &by("a"));
    assert_eq!(out.rollouts.len(), 1);
    assert!(!out.edits.iter().any(|e| matches!(e, Edit::SetAnnotation { .. })));
    let out = decide_with(&cronjob, &sources, on(), &by("a"));
    assert!(
        out.edits.contains(&record_edit("2")),
        "create-job mode records on the CronJob"
    );
}

/// The ambiguous second of a creationTimestamp: resourceVersions break the tie.
mod creation_tiebreak {
    use proptest::prelude::{prop_assert, proptest};

    use super::*;

    /// A store where ConfigMap `a` changed from "1" to "2" through the version `rv`, observed
    /// at 10.100 s.
    fn changed_at(rv: &str) -> SourceStore {
        let mut sources = store(&[("a", "1")]);
        let record = SourceRecord {
            resource_version: Some(rv.into()),
            ..cm_record("a", "2")
        };
        sources.apply(0, record, 10_100);
        sources
    }

    /// A first indexing through a live watch event at `rv`, or through a list (`None`).
    fn first_seen(rv: Option<&str>) -> Trigger {
        Trigger {
            first_index: true,
            creation_rv: rv.map(str::to_owned),
            ..Trigger::default()
        }
    }

    fn change(at_ms: i64, rv: &str) -> LastChange {
        LastChange {
            previous: Some(Digest::new("1")),
            at_ms,
            resource_version: Some(rv.into()),
        }
    }

    #[test]
    fn workload_created_live_in_the_second_of_a_change_after_it_is_baselined_not_rolled() {
        let sources = changed_at("105");
        let w = deployment("d", &["a"]).with_created_ms(10_000);
        let out = decide_with(&w, &sources, on(), &first_seen(Some("106")));
        assert!(out.rollouts.is_empty(), "rolled: {:?}", out.rollouts);
        assert_eq!(out.baselined, vec![(cm("a"), Digest::new("2"))]);
    }

    #[test]
    fn workload_created_live_in_the_second_of_a_change_before_it_is_rolled() {
        let sources = changed_at("105");
        let w = deployment("d", &["a"]).with_created_ms(10_000);
        let out = decide_with(&w, &sources, on(), &first_seen(Some("104")));
        assert_eq!(out.rollouts.len(), 1);
        assert_eq!(out.rollouts[0].old_digest, Some(Digest::new("1")));
        assert_eq!(out.rollouts[0].new_digest, Digest::new("2"));
    }

    #[test]
    fn workload_first_seen_in_a_list_in_the_second_of_a_change_is_rolled() {
        let sources = changed_at("105");
        let w = deployment("d", &["a"]).with_created_ms(10_000);
        assert_eq!(
            decide_with(&w, &sources, on(), &first_seen(None)).rollouts.len(),
            1
        );
    }

    #[test]
    fn unparsable_resource_versions_keep_the_timestamp_rule() {
        let w = deployment("d", &["a"]).with_created_ms(10_000);
        let opaque_change = changed_at("abc");
        assert_eq!(
            decide_with(&w, &opaque_change, on(), &first_seen(Some("106")))
                .rollouts
                .len(),
            1
        );
        let numeric_change = changed_at("105");
        assert_eq!(
            decide_with(&w, &numeric_change, on(), &first_seen(Some("x106")))
                .rollouts
                .len(),
            1
        );
    }

    #[test]
    fn change_observed_a_second_or_more_after_the_creation_second_keeps_the_timestamp_rule() {
        let last = change(11_000, "105");
        assert!(predates(Some(10_000), Some("999"), &last));
        let inside = change(10_999, "105");
        assert!(!predates(Some(10_000), Some("999"), &inside));
    }

    #[test]
    fn workload_without_a_creation_timestamp_or_created_after_the_change_is_not_older() {
        let last = change(10_100, "105");
        assert!(!predates(None, Some("1"), &last));
        assert!(!predates(Some(11_000), Some("1"), &last));
    }

    #[test]
    fn coalesced_first_indexings_keep_the_creation_rv_only_when_they_agree() {
        let mut live = first_seen(Some("7"));
        live.merge(by("a"));
        assert_eq!(live.creation_rv.as_deref(), Some("7"));
        let mut later = by("a");
        later.merge(first_seen(Some("7")));
        assert_eq!(later.creation_rv.as_deref(), Some("7"));
        assert!(later.first_index);
        let mut disagree = first_seen(Some("7"));
        disagree.merge(first_seen(None));
        assert_eq!(disagree.creation_rv, None);
        assert!(disagree.first_index);
    }

    proptest! {
        /// The tiebreak only ever turns a rollout of the timestamp rule into a baseline, and
        /// only inside the creation second with a creation resourceVersion above the change's.
        #[test]
        fn the_tiebreak_never_rolls_more_and_spares_only_proven_later_creations(
            created_s in 0i64..5,
            at_ms in 0i64..6_000,
            creation_rv in proptest::option::of(0u64..20),
            change_rv in 0u64..20,
        ) {
            let created = created_s * 1_000;
            let rv = creation_rv.map(|v| v.to_string());
            let last = change(at_ms, &change_rv.to_string());
            let timestamp_rule = created <= at_ms;
            let rolled = predates(Some(created), rv.as_deref(), &last);
            prop_assert!(!rolled || timestamp_rule);
            if timestamp_rule && !rolled {
                prop_assert!(at_ms < created + 1_000);
                prop_assert!(creation_rv.is_some_and(|v| v > change_rv));
            }
        }
    }
}
