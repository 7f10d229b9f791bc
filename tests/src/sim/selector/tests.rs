use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::{FieldSelector, LabelSelector};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn label_selector(s: &str) -> LabelSelector {
    s.parse().unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

#[test]
fn label_selectors_match_like_the_real_server() {
    let web = labels(&[("app", "web"), ("tier", "front"), ("replicas", "3")]);
    let cases: &[(&str, bool)] = &[
        ("", true),
        ("   ", true),
        ("app=web", true),
        ("app==web", true),
        ("app = web", true),
        ("app=api", false),
        ("app!=api", true),
        ("app!=web", false),
        ("missing!=x", true),
        ("app in (web,api)", true),
        ("app in ( api , web )", true),
        ("app in (api)", false),
        ("missing in (x)", false),
        ("app notin (api)", true),
        ("app notin (web)", false),
        ("missing notin (x)", true),
        ("app", true),
        ("missing", false),
        ("!missing", true),
        ("!app", false),
        ("app=web,tier=front", true),
        ("app=web,tier=back", false),
        ("app=web, !canary, tier in (front)", true),
        ("replicas>2", true),
        ("replicas<3", false),
        ("app>1", false),
        ("missing=", false),
        ("in=in", false),
    ];
    let web_object = json!({"metadata": {"labels": {"app": "web", "tier": "front", "replicas": "3"}}});
    for (selector, expected) in cases {
        assert_eq!(label_selector(selector).matches(&web), *expected, "{selector:?}");
        assert_eq!(
            label_selector(selector).matches_object(&web_object),
            *expected,
            "{selector:?} on JSON"
        );
    }
    assert!(label_selector("!app").matches_object(&json!({"metadata": {}})));
    assert!(label_selector("empty=").matches(&labels(&[("empty", "")])));
    assert!(label_selector("a in ()").matches(&labels(&[("a", "")])));
    assert!(label_selector("in in (notin)").matches(&labels(&[("in", "notin")])));
}

#[test]
fn label_selector_parse_errors_read_like_the_real_servers() {
    let cases: &[(&str, &str)] = &[
        ("app=", ""),
        ("=web", "found '=', expected: !, identifier, or 'end of string'"),
        ("app,", "found '', expected: identifier after ','"),
        ("app=web,,b", "found ',', expected: identifier after ','"),
        (
            "app web",
            "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt",
        ),
        (
            "app in web",
            "unable to parse requirement: found 'web' expected: '('",
        ),
        (
            "app in (a b)",
            "unable to parse requirement: found 'b', expected: ',' or ')'",
        ),
        (
            "app in (a",
            "unable to parse requirement: found '', expected: ',' or ')'",
        ),
        (
            "app=(",
            "unable to parse requirement: found '(', expected: identifier",
        ),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("!app=web", "found '=', expected: ',' or 'end of string'"),
        ("app=a b", "found 'b', expected: ',' or 'end of string'"),
        (
            "replicas>x",
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value \
             must be an integer",
        ),
        (
            "/a=b",
            "unable to parse requirement: key: Invalid value: \"/a\": prefix part must be non-empty",
        ),
    ];
    for (selector, message) in cases {
        let result = selector.parse::<LabelSelector>();
        if message.is_empty() {
            assert!(result.is_ok(), "{selector:?} should parse: {result:?}");
            continue;
        }
        let err = result.expect_err(selector);
        assert_eq!(err.to_string(), *message, "{selector:?}");
        assert_eq!((err.status_code(), err.reason()), (400, "BadRequest"));
    }
}

#[test]
fn label_keys_and_values_are_validated() {
    let long = "a".repeat(64);
    for bad in [
        "-app=x",
        "app=-x",
        "a/b/c=x",
        "APP.example.com/a=x",
        "app=a/b",
        "app in (ok, no!)",
    ] {
        assert!(bad.parse::<LabelSelector>().is_err(), "{bad:?}");
    }
    assert!(format!("{long}=x").parse::<LabelSelector>().is_err());
    assert!(format!("app={long}").parse::<LabelSelector>().is_err());
    let err = "app=-x".parse::<LabelSelector>().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unable to parse requirement: values[0][app]: Invalid value: \"-x\": a valid label")
    );
    assert!(
        "app.kubernetes.io/name=web,x_y.z=A-1"
            .parse::<LabelSelector>()
            .is_ok()
    );
}

#[test]
fn label_selector_display_is_canonical() {
    assert_eq!(
        label_selector("b=1, a in (y,x,x), !c, d").to_string(),
        "a in (x,y),b=1,!c,d"
    );
    assert_eq!(
        label_selector("a==1,b!=2,c notin (z),n>1,m<2").to_string(),
        "a==1,b!=2,c notin (z),m<2,n>1"
    );
    assert_eq!(LabelSelector::everything().to_string(), "");
}

fn object() -> serde_json::Value {
    json!({"metadata": {"name": "a", "namespace": "ns"}, "type": "Opaque", "spec": {"nodeName": "n1", "replicas": 2, "paused": false}})
}

#[test]
fn field_selectors_match_dotted_paths() {
    let cases: &[(&str, bool)] = &[
        ("", true),
        ("metadata.name=a", true),
        ("metadata.name==a", true),
        ("metadata.name!=a", false),
        ("metadata.name=a,metadata.namespace=ns", true),
        ("metadata.name=a,metadata.namespace=other", false),
        ("type=Opaque", true),
        ("type!=helm.sh/release.v1", true),
        ("spec.nodeName=n1", true),
        ("spec.replicas=2", true),
        ("spec.paused=false", true),
        ("spec.missing=", true),
        ("spec.missing!=", false),
        ("spec.missing=x", false),
        ("metadata.name=a,,", true),
        ("metadata.name =a", false),
    ];
    for (selector, expected) in cases {
        let parsed: FieldSelector = selector.parse().unwrap_or_else(|e| panic!("{selector:?}: {e}"));
        assert_eq!(parsed.matches(&object()), *expected, "{selector:?}");
    }
}

#[test]
fn field_selector_values_use_backslash_escapes() {
    let selector: FieldSelector = r"metadata.name=a\,b\=c\\d".parse().unwrap();
    assert!(selector.matches(&json!({"metadata": {"name": r"a,b=c\d"}})));
    assert_eq!(selector.to_string(), r"metadata.name=a\,b\=c\\d");
}

#[test]
fn field_selector_parse_errors_read_like_the_real_servers() {
    let cases: &[(&str, &str)] = &[
        (
            "metadata.name",
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'",
        ),
        ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
        ("a=b=c", "invalid field selector: unescaped character in value: ="),
        (r"a=b\x", r"invalid field selector: invalid escape sequence: \x"),
        ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ];
    for (selector, message) in cases {
        let err = selector.parse::<FieldSelector>().expect_err(selector);
        assert_eq!(err.to_string(), *message, "{selector:?}");
    }
}

#[test]
fn field_selectors_on_unsupported_fields_are_rejected() {
    let selector: FieldSelector = "metadata.name=a,spec.foo=b".parse().unwrap();
    assert_eq!(
        selector
            .check_supported(&["metadata.name", "metadata.namespace"])
            .unwrap_err()
            .to_string(),
        "field label not supported: spec.foo"
    );
    assert!(selector.check_supported(&["metadata.name", "spec.foo"]).is_ok());
    assert!(FieldSelector::everything().check_supported(&[]).is_ok());
}

fn selector_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(
            prop::sample::select(vec![
                "a", "b", "in", "notin", "=", "==", "!=", "!", "(", ")", ",", ">", "<", " ", "1", "x.y/z",
                "-", "\\", "\\,", "é",
            ]),
            0..12
        )
        .prop_map(|parts| parts.concat()),
    ]
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9]([a-z0-9._-]{0,6}[a-z0-9])?",
        Just("in".to_owned())
    ]
}

fn requirement() -> impl Strategy<Value = String> {
    let key = prop_oneof!["[a-z]([a-z0-9._-]{0,6}[a-z0-9])?", "[a-z]{1,5}\\.io/[a-z]{1,5}"];
    (
        key,
        0..7usize,
        prop::collection::vec(label_value(), 1..3),
        0..100i64,
    )
        .prop_map(|(key, op, values, n)| match op {
            0 => format!("{key}={}", values[0]),
            1 => format!("{key} == {}", values[0]),
            2 => format!("{key}!={}", values[0]),
            3 => format!("{key} in ({})", values.join(", ")),
            4 => format!("{key} notin ({})", values.join(",")),
            5 => format!("!{key}"),
            _ => format!("{key}>{n}"),
        })
}

proptest! {
    #[test]
    fn label_selector_parsing_never_panics_and_display_round_trips(text in selector_text()) {
        if let Ok(selector) = text.parse::<LabelSelector>() {
            let shown = selector.to_string();
            let reparsed: LabelSelector = shown.parse().expect("display output parses");
            prop_assert_eq!(reparsed, selector);
        }
    }

    #[test]
    fn generated_label_selectors_parse_and_round_trip(parts in prop::collection::vec(requirement(), 0..4)) {
        let selector: LabelSelector = parts.join(",").parse().expect("generated selectors are valid");
        prop_assert_eq!(selector.to_string().parse::<LabelSelector>().expect("display parses"), selector);
    }

    #[test]
    fn field_selector_parsing_never_panics_and_display_round_trips(text in selector_text()) {
        if let Ok(selector) = text.parse::<FieldSelector>() {
            let reparsed: FieldSelector = selector.to_string().parse().expect("display output parses");
            prop_assert_eq!(reparsed, selector);
        }
    }

    #[test]
    fn generated_field_selectors_round_trip_and_match_their_own_values(
        terms in prop::collection::vec(("[a-z]{1,4}(\\.[a-z]{1,4})?", any::<bool>(), "[a-z,=\\\\ ]{0,5}"), 0..4),
    ) {
        let text: Vec<String> = terms
            .iter()
            .map(|(field, negated, value)| {
                let escaped: String = value.chars().flat_map(|c| {
                    if matches!(c, ',' | '=' | '\\') { vec!['\\', c] } else { vec![c] }
                }).collect();
                format!("{field}{}{escaped}", if *negated { "!=" } else { "=" })
            })
            .collect();
        let selector: FieldSelector = text.join(",").parse().expect("generated selectors are valid");
        prop_assert_eq!(selector.to_string().parse::<FieldSelector>().expect("display parses"), selector);
    }
}
