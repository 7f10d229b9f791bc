//! The annotation parsers: examples, and fuzz-style properties (any string, never a panic).

use proptest::prelude::*;

use super::*;
use crate::matcher::parse::PatternCache;
use crate::matcher::{NamedPatterns, comma_items, parse_go_bool, parse_ignored_workload_types};

#[test]
fn comma_items_trims_each_entry_and_keeps_empty_ones() {
    assert_eq!(
        comma_items("\ta ,b\n,, c ").collect::<Vec<_>>(),
        ["a", "b", "", "c"]
    );
}

#[test]
fn go_parse_bool_rejects_everything_but_six_spellings_of_true() {
    let trues = ["1", "t", "T", "TRUE", "true", "True"];
    for value in trues {
        assert!(parse_go_bool(value), "{value}");
    }
    for value in ["", "0", "f", "false", "yes", "y", "on", "tRUE", "true ", "01"] {
        assert!(!parse_go_bool(value), "{value:?}");
    }
}

#[test]
fn ignored_workload_types_accept_jobs_and_cronjobs_only() {
    assert_eq!(
        parse_ignored_workload_types(["jobs", "cronjobs", "jobs"]),
        Ok(vec![WorkloadKind::Job, WorkloadKind::CronJob])
    );
    assert_eq!(parse_ignored_workload_types(Vec::<String>::new()), Ok(vec![]));
    assert_eq!(
        parse_ignored_workload_types(["jobs", "Jobs"]),
        Err(
            "Failed to parse ignored workload types: 'ignored-workload-types' accepts 'jobs', \
             'cronjobs', or both, not 'Jobs'"
                .to_string()
        )
    );
}

#[test]
fn empty_named_list_only_matches_the_empty_name() {
    let patterns = NamedPatterns::parse("");
    assert_eq!(patterns.first_match("cfg"), None);
    assert_eq!(patterns.first_match(""), Some(""));
    assert!(patterns.problems("k").is_empty());
}

#[test]
fn dot_star_entry_matches_every_name() {
    let patterns = NamedPatterns::parse(".*");
    for name in ["a", "app-config", "x.y"] {
        assert_eq!(patterns.first_match(name), Some(".*"));
    }
}

#[test]
fn the_first_matching_entry_is_the_reported_pattern() {
    let patterns = NamedPatterns::parse("app-.*, app-config");
    assert_eq!(patterns.first_match("app-config"), Some("app-.*"));
}

#[test]
fn pattern_cache_stays_within_its_capacity() {
    let cache = PatternCache::new(2);
    for value in ["a", "b", "c", "d", "e"] {
        assert_eq!(cache.get(value).first_match(value), Some(value));
        assert!(cache.len() <= 2);
    }
}

#[test]
fn pattern_cache_returns_the_same_result_as_a_fresh_parse() {
    let cache = PatternCache::new(8);
    let value = "bad[, app-.*";
    for _ in 0..2 {
        let cached = cache.get(value);
        let fresh = NamedPatterns::parse(value);
        assert_eq!(cached.first_match("app-x"), fresh.first_match("app-x"));
        assert_eq!(cached.problems("k"), fresh.problems("k"));
    }
    assert_eq!(cache.len(), 1);
}

proptest! {
    #[test]
    fn comma_items_never_panics_and_yields_one_trimmed_item_per_comma_plus_one(value in any::<String>()) {
        let items: Vec<&str> = comma_items(&value).collect();
        prop_assert_eq!(items.len(), value.matches(',').count() + 1);
        for item in items {
            prop_assert_eq!(item, item.trim());
            prop_assert!(!item.contains(','));
        }
    }

    #[test]
    fn go_parse_bool_never_panics_and_is_true_only_for_its_six_spellings(value in any::<String>()) {
        let expected = ["1", "t", "T", "TRUE", "true", "True"].contains(&value.as_str());
        prop_assert_eq!(parse_go_bool(&value), expected);
    }

    #[test]
    fn named_patterns_accept_any_value_and_any_name_without_panicking(
        value in any::<String>(),
        name in any::<String>(),
    ) {
        let patterns = NamedPatterns::parse(&value);
        let problems = patterns.problems("k");
        prop_assert!(problems.len() <= value.matches(',').count() + 1);
        if let Some(pattern) = patterns.first_match(&name) {
            prop_assert!(comma_items(&value).any(|entry| entry == pattern));
        }
    }

    #[test]
    fn named_patterns_built_from_regex_syntax_never_panic(
        value in "[a-z.*+?()\\[\\]|^$\\\\{},0-9 -]{0,24}",
        name in "[a-z0-9.-]{0,12}",
    ) {
        let patterns = NamedPatterns::parse(&value);
        let _ = patterns.first_match(&name);
        let _ = patterns.problems("k");
    }

    #[test]
    fn a_plain_name_entry_matches_exactly_that_name(
        entries in prop::collection::vec("[a-z0-9-]{1,8}", 1..4),
        name in "[a-z0-9-]{1,8}",
    ) {
        let value = entries.join(" , ");
        let expected = entries.iter().find(|e| **e == name).map(String::as_str);
        let patterns = NamedPatterns::parse(&value);
        prop_assert_eq!(patterns.first_match(&name), expected);
    }

    #[test]
    fn the_matcher_never_panics_on_arbitrary_annotation_values(
        values in prop::collection::vec(any::<String>(), 8),
        name in any::<String>(),
    ) {
        let keys = [AUTO, CM_AUTO, CM_RELOAD, SEARCH, CM_EXCLUDE];
        let mut workload = deployment().container("app");
        for (key, value) in keys.iter().zip(&values) {
            workload = workload.meta(key, value).template(key, value);
        }
        let source = cm(&name).with_annotation(MATCH, &values[6]).with_annotation(IGNORE, &values[7]);
        let _ = decide_with(MatcherConfig::default().auto_reload_all(true), &workload, &source);
    }
}
