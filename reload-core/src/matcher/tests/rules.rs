//! One table of tests per rule of `reloader-spec.md` §1.4 and §1.5.

use super::*;
use crate::decision::MatchProblem;
use crate::matcher::AnnotationKeys;

// --- rule 0: namespace scope --------------------------------------------------------------

#[test]
fn source_in_another_namespace_never_reloads_the_workload() {
    let workload = deployment()
        .meta(AUTO, "true")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    let elsewhere = SourceMeta::new(SourceRef::new(SourceKind::ConfigMap, "other", "cfg"));
    assert_eq!(decide(&workload, &elsewhere), skip(SkipReason::OtherNamespace));
}

#[test]
fn source_without_identity_is_treated_as_foreign() {
    let workload = deployment().meta(CM_RELOAD, ".*").container("app");
    assert_eq!(
        decide(&workload, &SourceMeta::default()),
        skip(SkipReason::OtherNamespace)
    );
}

// --- rule 1: ignored workload kinds --------------------------------------------------------

#[test]
fn ignored_workload_kind_is_skipped_even_when_auto_is_true() {
    let config = MatcherConfig::default().ignore_workload_kind(WorkloadKind::CronJob);
    let cronjob = deployment()
        .kind(WorkloadKind::CronJob)
        .meta(AUTO, "true")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(
        decide_with(config, &cronjob, &cm("cfg")),
        skip(SkipReason::IgnoredWorkloadKind)
    );
}

#[test]
fn ignoring_jobs_does_not_affect_deployments() {
    let config = MatcherConfig::default().ignored_workload_kinds([WorkloadKind::Job, WorkloadKind::CronJob]);
    let workload = deployment()
        .meta(AUTO, "true")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    assert!(decide_with(config, &workload, &cm("cfg")).is_reload());
}

// --- rule 2: ignore on the source ----------------------------------------------------------

#[test]
fn source_with_ignore_true_never_reloads_even_when_named() {
    let workload = deployment().meta(CM_RELOAD, "cfg").container("app");
    let ignored = cm("cfg").with_annotation(IGNORE, "true");
    assert_eq!(decide(&workload, &ignored), skip(SkipReason::SourceIgnored));
}

#[test]
fn ignore_must_be_exactly_the_string_true() {
    let workload = deployment().meta(CM_RELOAD, "cfg").container("app");
    for value in ["True", "1", "TRUE", " true", "yes"] {
        let source = cm("cfg").with_annotation(IGNORE, value);
        assert_eq!(
            decide(&workload, &source),
            named("cfg", "app"),
            "ignore: {value:?}"
        );
    }
}

#[test]
fn renamed_ignore_key_replaces_the_default_one() {
    let config = MatcherConfig::default()
        .annotation_keys(AnnotationKeys::default().ignore_annotation("example.com/ignore"));
    let workload = deployment().meta(CM_RELOAD, "cfg").container("app");
    let custom = cm("cfg").with_annotation("example.com/ignore", "true");
    let default = cm("cfg").with_annotation(IGNORE, "true");
    assert_eq!(
        decide_with(config.clone(), &workload, &custom),
        skip(SkipReason::SourceIgnored)
    );
    assert!(decide_with(config, &workload, &default).is_reload());
}

// --- rule 3: metadata versus pod template ---------------------------------------------------

#[test]
fn template_annotations_are_read_when_metadata_has_none_of_the_four_keys() {
    let workload = deployment()
        .meta("unrelated", "x")
        .template(AUTO, "true")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(
        decide(&workload, &cm("cfg")),
        reload(ReloadReason::AutoAnnotation, "app")
    );
}

#[test]
fn metadata_auto_false_hides_template_auto_true() {
    let workload =
        deployment()
            .meta(AUTO, "false")
            .template(AUTO, "true")
            .env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(decide(&workload, &cm("cfg")), skip(SkipReason::NotOptedIn));
}

#[test]
fn presence_of_an_empty_metadata_search_key_hides_the_template() {
    let workload =
        deployment()
            .meta(SEARCH, "")
            .template(AUTO, "true")
            .env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(decide(&workload, &cm("cfg")), skip(SkipReason::NotOptedIn));
}

#[test]
fn another_kinds_reload_key_in_metadata_does_not_hide_the_template() {
    // Only the typed keys of the changed source's kind count for the fallback.
    let workload = deployment()
        .meta(SECRET_RELOAD, "other")
        .meta(SECRET_AUTO, "true")
        .template(CM_AUTO, "true")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(
        decide(&workload, &cm("cfg")),
        reload(ReloadReason::TypedAutoAnnotation, "app")
    );
}

#[test]
fn named_reload_is_read_from_the_template_when_metadata_is_silent() {
    let workload = deployment().template(CM_RELOAD, "cfg").container("app");
    assert_eq!(decide(&workload, &cm("cfg")), named("cfg", "app"));
}

// --- rule 4: exclude --------------------------------------------------------------------------

#[test]
fn exclude_list_beats_named_reload_and_auto() {
    let workload = deployment()
        .meta(AUTO, "true")
        .meta(CM_RELOAD, "cfg")
        .meta(CM_EXCLUDE, "cfg")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(decide(&workload, &cm("cfg")), skip(SkipReason::Excluded));
}

#[test]
fn exclude_entries_are_trimmed_exact_names_not_regexes() {
    let workload = deployment()
        .meta(AUTO, "true")
        .meta(CM_EXCLUDE, " app-.* , cfg ,")
        .env_from("a", SourceKind::ConfigMap, "cfg")
        .env_from("b", SourceKind::ConfigMap, "app-config");
    assert_eq!(decide(&workload, &cm("cfg")), skip(SkipReason::Excluded));
    assert_eq!(
        decide(&workload, &cm("app-config")),
        reload(ReloadReason::AutoAnnotation, "b")
    );
}

#[test]
fn exclude_is_read_from_workload_metadata_only() {
    let workload = deployment()
        .template(AUTO, "true")
        .template(CM_EXCLUDE, "cfg")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(
        decide(&workload, &cm("cfg")),
        reload(ReloadReason::AutoAnnotation, "app")
    );
}

#[test]
fn configmap_exclude_never_affects_secrets() {
    let workload = deployment()
        .meta(AUTO, "true")
        .meta(CM_EXCLUDE, "shared")
        .env_from("app", SourceKind::Secret, "shared");
    assert!(decide(&workload, &secret("shared")).is_reload());
    let workload = workload.meta(SECRET_EXCLUDE, "shared");
    assert_eq!(decide(&workload, &secret("shared")), skip(SkipReason::Excluded));
}

#[test]
fn excluded_source_reports_no_regex_problems() {
    let workload = deployment()
        .meta(CM_RELOAD, "bad[")
        .meta(CM_EXCLUDE, "cfg")
        .container("app");
    let outcome = outcome_with(MatcherConfig::default(), &workload, &cm("cfg"));
    assert_eq!(outcome.decision, skip(SkipReason::Excluded));
    assert!(outcome.problems.is_empty());
}

// --- rule 5: named reload -----------------------------------------------------------------

#[test]
fn named_reload_needs_no_reference_and_falls_back_to_the_first_container() {
    let workload = deployment()
        .meta(CM_RELOAD, "cfg")
        .container("first")
        .container("second");
    assert_eq!(decide(&workload, &cm("cfg")), named("cfg", "first"));
}

#[test]
fn named_reload_prefers_the_container_that_references_the_source() {
    let workload =
        deployment()
            .meta(CM_RELOAD, "cfg")
            .container("first")
            .env_from("user", SourceKind::ConfigMap, "cfg");
    assert_eq!(decide(&workload, &cm("cfg")), named("cfg", "user"));
}

#[test]
fn named_reload_entries_are_anchored_regexes() {
    let workload = deployment().meta(CM_RELOAD, "app-.*, other").container("app");
    let table = [
        ("app-config", Some("app-.*")),
        ("other", Some("other")),
        ("my-app-config", None),
        ("others", None),
        ("app", None),
    ];
    for (name, expected) in table {
        let expected = expected.map_or(skip(SkipReason::NotOptedIn), |p| named(p, "app"));
        assert_eq!(decide(&workload, &cm(name)), expected, "{name}");
    }
}

#[test]
fn an_invalid_entry_is_skipped_and_reported_while_valid_entries_still_match() {
    let workload = deployment()
        .meta(SECRET_RELOAD, "bad[,my-secret")
        .container("app");
    let outcome = outcome_with(MatcherConfig::default(), &workload, &secret("my-secret"));
    assert_eq!(outcome.decision, named("my-secret", "app"));
    assert_eq!(outcome.problems.len(), 1);
    let MatchProblem::InvalidRegex {
        annotation, entry, ..
    } = &outcome.problems[0]
    else {
        panic!("expected an invalid regex, got {:?}", outcome.problems[0]);
    };
    assert_eq!((annotation.as_str(), entry.as_str()), (SECRET_RELOAD, "bad["));
    assert!(outcome.problems[0].to_string().starts_with(
        "invalid regex \"bad[\" in reload annotation \"secret.reloader.stakater.com/reload\": "
    ));
}

#[test]
fn invalid_entries_are_reported_even_when_nothing_matches() {
    let workload = deployment().meta(CM_RELOAD, "(oops, [x").container("app");
    let outcome = outcome_with(MatcherConfig::default(), &workload, &cm("cfg"));
    assert_eq!(outcome.decision, skip(SkipReason::NotOptedIn));
    assert_eq!(outcome.problems.len(), 2);
}

#[test]
fn top_level_alternation_matches_prefixes_and_suffixes_like_reloader() {
    // `^foo|bar$`: Reloader's literal anchoring, copied on purpose.
    let workload = deployment().meta(CM_RELOAD, "foo|bar").container("app");
    for name in ["foo", "food", "bar", "crowbar"] {
        assert_eq!(decide(&workload, &cm(name)), named("foo|bar", "app"), "{name}");
    }
    assert_eq!(decide(&workload, &cm("xfoox")), skip(SkipReason::NotOptedIn));
}

#[test]
fn named_reload_of_secrets_does_not_apply_to_configmaps() {
    let workload = deployment().meta(SECRET_RELOAD, "shared").container("app");
    assert_eq!(decide(&workload, &cm("shared")), skip(SkipReason::NotOptedIn));
    assert_eq!(decide(&workload, &secret("shared")), named("shared", "app"));
}

#[test]
fn secret_provider_class_reload_key_names_classes() {
    let workload = deployment()
        .meta("secretproviderclass.reloader.stakater.com/reload", "vault-.*")
        .container("app");
    assert_eq!(
        decide(&workload, &source(SourceKind::SecretProviderClass, "vault-db")),
        named("vault-.*", "app")
    );
}

#[test]
fn renamed_configmap_reload_key_replaces_the_default_one() {
    let config = MatcherConfig::default()
        .annotation_keys(AnnotationKeys::default().configmap_annotation("example.com/configmaps"));
    let custom = deployment()
        .meta("example.com/configmaps", "cfg")
        .container("app");
    let default = deployment().meta(CM_RELOAD, "cfg").container("app");
    assert_eq!(
        decide_with(config.clone(), &custom, &cm("cfg")),
        named("cfg", "app")
    );
    assert_eq!(
        decide_with(config, &default, &cm("cfg")),
        skip(SkipReason::NotOptedIn)
    );
}

// --- rule 6: search / match ---------------------------------------------------------------

#[test]
fn search_reloads_for_a_referenced_source_tagged_match() {
    let workload = deployment()
        .meta(SEARCH, "true")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    let tagged = cm("cfg").with_annotation(MATCH, "true");
    assert_eq!(
        decide(&workload, &tagged),
        reload(ReloadReason::SearchMatch, "app")
    );
}

#[test]
fn search_ignores_sources_without_an_exact_match_true() {
    let workload = deployment()
        .meta(SEARCH, "true")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    for value in [None, Some("True"), Some("1")] {
        let source = value.map_or(cm("cfg"), |v| cm("cfg").with_annotation(MATCH, v));
        assert_eq!(
            decide(&workload, &source),
            skip(SkipReason::NotOptedIn),
            "{value:?}"
        );
    }
}

#[test]
fn search_needs_a_reference_to_the_source() {
    let workload = deployment().meta(SEARCH, "true").container("app");
    let tagged = cm("cfg").with_annotation(MATCH, "true");
    assert_eq!(decide(&workload, &tagged), skip(SkipReason::NotReferenced));
}

#[test]
fn search_value_must_be_exactly_true() {
    let workload = deployment()
        .meta(SEARCH, "True")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    let tagged = cm("cfg").with_annotation(MATCH, "true");
    assert_eq!(decide(&workload, &tagged), skip(SkipReason::NotOptedIn));
}

#[test]
fn auto_still_reloads_untagged_sources_of_a_searching_workload() {
    let workload =
        deployment()
            .meta(SEARCH, "true")
            .meta(AUTO, "true")
            .env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(
        decide(&workload, &cm("cfg")),
        reload(ReloadReason::AutoAnnotation, "app")
    );
}

// --- rule 7: auto, typed auto, auto-reload-all --------------------------------------------

#[test]
fn auto_accepts_exactly_gos_true_spellings() {
    let base = deployment().env_from("app", SourceKind::ConfigMap, "cfg");
    for value in ["1", "t", "T", "TRUE", "true", "True"] {
        let workload = base.clone().meta(AUTO, value);
        assert_eq!(
            decide(&workload, &cm("cfg")),
            reload(ReloadReason::AutoAnnotation, "app"),
            "{value}"
        );
    }
    for value in ["yes", "on", "tRUE", " true", "2", "", "false"] {
        let workload = base.clone().meta(AUTO, value);
        assert_eq!(
            decide(&workload, &cm("cfg")),
            skip(SkipReason::NotOptedIn),
            "{value:?}"
        );
    }
}

#[test]
fn auto_needs_a_reference_to_the_source() {
    let workload = deployment().meta(AUTO, "true").container("app");
    assert_eq!(decide(&workload, &cm("cfg")), skip(SkipReason::NotReferenced));
}

#[test]
fn typed_auto_applies_only_to_its_own_kind() {
    let workload = deployment()
        .meta(SECRET_AUTO, "true")
        .env_from("a", SourceKind::ConfigMap, "shared")
        .env_from("b", SourceKind::Secret, "shared");
    assert_eq!(decide(&workload, &cm("shared")), skip(SkipReason::NotOptedIn));
    assert_eq!(
        decide(&workload, &secret("shared")),
        reload(ReloadReason::TypedAutoAnnotation, "b")
    );
}

#[test]
fn secret_provider_class_typed_auto_reloads_on_a_csi_reference() {
    let workload = deployment()
        .meta("secretproviderclass.reloader.stakater.com/auto", "true")
        .volume("secrets", VolumeSource::Csi("vault".into()))
        .mounting("app", "secrets");
    assert_eq!(
        decide(&workload, &source(SourceKind::SecretProviderClass, "vault")),
        reload(ReloadReason::TypedAutoAnnotation, "app")
    );
}

#[test]
fn auto_reload_all_reloads_referenced_sources_of_unannotated_workloads() {
    let config = MatcherConfig::default().auto_reload_all(true);
    let workload = deployment().env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(
        decide_with(config.clone(), &workload, &cm("cfg")),
        reload(ReloadReason::AutoReloadAll, "app")
    );
    assert_eq!(
        decide_with(config, &workload, &cm("unused")),
        skip(SkipReason::NotReferenced)
    );
}

#[test]
fn auto_reload_all_treats_empty_auto_values_as_absent() {
    let config = MatcherConfig::default().auto_reload_all(true);
    let workload =
        deployment()
            .meta(AUTO, "")
            .meta(CM_AUTO, "")
            .env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(
        decide_with(config, &workload, &cm("cfg")),
        reload(ReloadReason::AutoReloadAll, "app")
    );
}

#[test]
fn any_non_empty_auto_value_opts_out_of_auto_reload_all() {
    let config = MatcherConfig::default().auto_reload_all(true);
    for (key, value) in [(AUTO, "false"), (AUTO, "nope"), (CM_AUTO, "false")] {
        let workload = deployment()
            .meta(key, value)
            .env_from("app", SourceKind::ConfigMap, "cfg");
        assert_eq!(
            decide_with(config.clone(), &workload, &cm("cfg")),
            skip(SkipReason::NotOptedIn),
            "{key}: {value}"
        );
    }
}

#[test]
fn another_kinds_typed_auto_does_not_opt_out_of_auto_reload_all() {
    let config = MatcherConfig::default().auto_reload_all(true);
    let workload = deployment()
        .meta(SECRET_AUTO, "false")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(
        decide_with(config, &workload, &cm("cfg")),
        reload(ReloadReason::AutoReloadAll, "app")
    );
}

#[test]
fn renamed_auto_key_replaces_the_default_one() {
    let config = MatcherConfig::default()
        .annotation_keys(AnnotationKeys::default().auto_annotation("example.com/auto"));
    let custom = deployment()
        .meta("example.com/auto", "true")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    let default = deployment()
        .meta(AUTO, "true")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    assert!(decide_with(config.clone(), &custom, &cm("cfg")).is_reload());
    assert_eq!(
        decide_with(config, &default, &cm("cfg")),
        skip(SkipReason::NotOptedIn)
    );
}

// --- rule 8 and helpers -------------------------------------------------------------------

#[test]
fn workload_without_annotations_is_not_opted_in() {
    let workload = deployment().env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(decide(&workload, &cm("cfg")), skip(SkipReason::NotOptedIn));
}

#[test]
fn has_named_reload_follows_the_template_fallback_per_kind() {
    let matcher = AnnotationMatcher::default();
    let in_template = deployment().template(CM_RELOAD, "x").build();
    let hidden = deployment().meta(AUTO, "true").template(CM_RELOAD, "x").build();
    assert!(matcher.has_named_reload(&in_template, SourceKind::ConfigMap));
    assert!(!matcher.has_named_reload(&in_template, SourceKind::Secret));
    assert!(!matcher.has_named_reload(&hidden, SourceKind::ConfigMap));
}

#[test]
fn a_named_list_is_compiled_once_for_many_workloads() {
    let matcher = AnnotationMatcher::default();
    for name in ["a", "b", "c"] {
        let workload = deployment().meta(CM_RELOAD, "app-.*,cfg").container(name).build();
        assert!(matcher.decide(&workload, &cm("cfg")).decision.is_reload());
    }
    assert_eq!(matcher.patterns.len(), 1);
}

#[test]
fn a_missing_named_list_is_reloaders_empty_pattern_which_matches_only_an_empty_name() {
    // Go splits "" into [""] and compiles `^$`; real names are never empty.
    let workload = deployment().container("app");
    assert_eq!(decide(&workload, &cm("")), named("", "app"));
    assert_eq!(decide(&workload, &cm("cfg")), skip(SkipReason::NotOptedIn));
}

#[test]
fn workloads_without_a_named_list_never_touch_the_pattern_cache() {
    let matcher = AnnotationMatcher::default();
    let workload = deployment()
        .meta(AUTO, "true")
        .env_from("app", SourceKind::ConfigMap, "cfg")
        .build();
    assert!(matcher.decide(&workload, &cm("cfg")).decision.is_reload());
    assert_eq!(matcher.patterns.len(), 0);
}

#[test]
fn matcher_closure_can_stand_in_for_the_annotation_matcher() {
    let always = |_: &Workload, _: &SourceMeta| MatchOutcome::new(skip(SkipReason::NotOptedIn));
    assert_eq!(
        always.decide(&deployment().build(), &cm("cfg")).decision,
        skip(SkipReason::NotOptedIn)
    );
}
