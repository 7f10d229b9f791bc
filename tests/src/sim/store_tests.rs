use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::sim::kinds::builtin_kinds;

fn store() -> (Store, KindId) {
    let store = Store::new(builtin_kinds().into(), 100);
    let cm = store.kind_id("", "configmaps").unwrap_or_default();
    (store, cm)
}

fn ctx() -> WriteContext {
    WriteContext::default()
}

fn cm(name: &str) -> serde_json::Value {
    json!({"metadata": {"name": name}})
}

#[test]
fn a_new_store_has_the_default_namespaces() {
    let (s, _) = store();
    let ns = s.kind_id("", "namespaces").unwrap_or_default();
    assert!(s.get(ns, None, "default").is_ok() && s.get(ns, None, "kube-system").is_ok());
    assert_eq!(s.current_rv(), 4);
}

#[test]
fn every_write_takes_the_next_cluster_wide_resource_version() {
    let (mut s, cm_kind) = store();
    let a = s
        .create(cm_kind, Some("default"), cm("a"), &ctx())
        .map(|o| o["metadata"]["resourceVersion"].clone());
    let b = s
        .create(cm_kind, Some("default"), cm("b"), &ctx())
        .map(|o| o["metadata"]["resourceVersion"].clone());
    assert_eq!((a.ok(), b.ok()), (Some(json!("5")), Some(json!("6"))));
}

#[test]
fn watch_replays_only_the_requested_kind_after_the_given_version() {
    let (mut s, cm_kind) = store();
    let _ = s.create(cm_kind, Some("default"), cm("a"), &ctx());
    let secrets = s.kind_id("", "secrets").unwrap_or_default();
    let _ = s.create(secrets, Some("default"), cm("s"), &ctx());
    let _ = s.create(cm_kind, Some("default"), cm("b"), &ctx());
    match s.watch(cm_kind, Some(5)) {
        Ok((WatchStart::Replay(events), _)) => {
            let names: Vec<_> = events
                .iter()
                .map(|e| objects::name_of(&e.object).to_string())
                .collect();
            assert_eq!(names, ["b"]);
        }
        other => panic!("expected a replay, got {other:?}"),
    }
}

#[test]
fn compaction_makes_older_watches_gone_but_not_the_current_version() {
    let (mut s, cm_kind) = store();
    let _ = s.create(cm_kind, Some("default"), cm("a"), &ctx());
    s.compact();
    assert_eq!(s.watch(cm_kind, Some(4)).err().map(|e| e.code), Some(410));
    assert!(s.watch(cm_kind, Some(5)).is_ok());
}

#[test]
fn deleting_a_namespace_deletes_its_objects_with_events() {
    let (mut s, cm_kind) = store();
    let ns = s.kind_id("", "namespaces").unwrap_or_default();
    let _ = s.create(ns, None, cm("team"), &ctx());
    let _ = s.create(cm_kind, Some("team"), cm("a"), &ctx());
    let mut rx = s.subscribe();
    assert!(s.delete(ns, None, "team", None, &ctx()).is_ok());
    let first = rx
        .try_recv()
        .map(|e| (e.event_type, objects::name_of(&e.object).to_string()));
    assert_eq!(first.ok(), Some((EventType::Deleted, "a".to_string())));
    assert_eq!(s.get(cm_kind, Some("team"), "a").err().map(|e| e.code), Some(404));
}

#[test]
fn creates_in_a_terminating_namespace_are_forbidden() {
    let (mut s, cm_kind) = store();
    let ns = s.kind_id("", "namespaces").unwrap_or_default();
    let _ = s.create(
        ns,
        None,
        json!({"metadata": {"name": "t", "finalizers": ["x/y"]}}),
        &ctx(),
    );
    let _ = s.delete(ns, None, "t", None, &ctx());
    assert_eq!(
        s.create(cm_kind, Some("t"), cm("a"), &ctx())
            .err()
            .map(|e| e.code),
        Some(403)
    );
}

#[test]
fn delete_with_a_stale_precondition_is_a_conflict() {
    let (mut s, cm_kind) = store();
    let _ = s.create(cm_kind, Some("default"), cm("a"), &ctx());
    assert_eq!(
        s.delete(cm_kind, Some("default"), "a", Some("1"), &ctx())
            .err()
            .map(|e| e.code),
        Some(409)
    );
}

#[test]
fn the_journal_lists_writes_after_a_version() {
    let (mut s, cm_kind) = store();
    let _ = s.create(cm_kind, Some("default"), cm("a"), &ctx());
    let _ = s.delete(cm_kind, Some("default"), "a", None, &ctx());
    let verbs: Vec<_> = s.journal().since(4).into_iter().map(|e| e.verb).collect();
    assert_eq!(verbs, ["create", "delete"]);
}

#[test]
fn paginated_lists_filter_and_count_the_remainder() {
    let (mut s, cm_kind) = store();
    for i in 0..5 {
        let _ = s.create(cm_kind, Some("default"), cm(&format!("c{i}")), &ctx());
    }
    let odd = |v: &serde_json::Value| objects::name_of(v).ends_with(['1', '3']);
    let q = ListQuery {
        namespace: Some("default"),
        filter: &odd,
        limit: Some(1),
        continue_token: None,
        exact_rv: None,
    };
    let page = s.list(cm_kind, &q).ok();
    assert_eq!(
        page.as_ref().map(|p| (p.items.len(), p.remaining)),
        Some((1, Some(1)))
    );
    let token = page.and_then(|p| p.continue_token).unwrap_or_default();
    let q2 = ListQuery {
        continue_token: Some(&token),
        ..q
    };
    let rest = s.list(cm_kind, &q2).ok();
    let names: Vec<String> = rest
        .iter()
        .flat_map(|p| p.items.iter())
        .map(|o: &Arc<serde_json::Value>| objects::name_of(o).to_string())
        .collect();
    assert_eq!(names, ["c3"]);
}

proptest! {
    #[test]
    fn arbitrary_continue_tokens_are_rejected_without_panicking(token in ".{0,80}") {
        let (mut s, cm_kind) = store();
        let all = |_: &serde_json::Value| true;
        let q = ListQuery { namespace: None, filter: &all, limit: Some(1), continue_token: Some(&token), exact_rv: None };
        if let Err(e) = s.list(cm_kind, &q) {
            prop_assert!(e.code == 400 || e.code == 410);
        }
    }
}
