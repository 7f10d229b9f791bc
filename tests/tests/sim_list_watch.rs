//! Lists (selectors, pagination, resourceVersion) and raw watches (replay, bookmarks, 410,
//! selector transitions, timeoutSeconds).

mod common;

use std::time::Duration;

use common::{code, sim, wait_for};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::{Client, ResourceExt};
use reload_tests::sim::Simulator;
use serde_json::json;

async fn create_cm(api: &Api<ConfigMap>, name: &str, labels: serde_json::Value) -> ConfigMap {
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).expect("cm");
    api.create(&PostParams::default(), &cm).await.expect("create")
}

fn names(list: &[ConfigMap]) -> Vec<String> {
    list.iter().map(ResourceExt::name_any).collect()
}

#[tokio::test]
async fn label_selectors_filter_lists_with_equality_and_set_based_terms() {
    let (_sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    create_cm(&cms, "a", json!({"tier": "web", "env": "prod"})).await;
    create_cm(&cms, "b", json!({"tier": "db", "env": "prod"})).await;
    create_cm(&cms, "c", json!({"tier": "web"})).await;
    let list = |sel: &'static str| {
        let cms = cms.clone();
        async move {
            names(
                &cms.list(&ListParams::default().labels(sel))
                    .await
                    .expect(sel)
                    .items,
            )
        }
    };
    assert_eq!(list("tier=web").await, ["a", "c"]);
    assert_eq!(list("tier!=web").await, ["b"]);
    assert_eq!(list("env").await, ["a", "b"]);
    assert_eq!(list("!env").await, ["c"]);
    assert_eq!(list("tier=web,env=prod").await, ["a"]);
}

#[tokio::test]
async fn field_selectors_filter_by_name_and_secret_type() {
    let (_sim, client) = sim().await;
    let secrets: Api<Secret> = Api::default_namespaced(client);
    for (name, ty) in [("a", "Opaque"), ("b", "kubernetes.io/tls")] {
        let s: Secret =
            serde_json::from_value(json!({"metadata": {"name": name}, "type": ty})).expect("secret");
        secrets.create(&PostParams::default(), &s).await.expect("create");
    }
    let by = |sel: &'static str| {
        let secrets = secrets.clone();
        async move {
            secrets
                .list(&ListParams::default().fields(sel))
                .await
                .expect(sel)
                .items
                .iter()
                .map(ResourceExt::name_any)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(by("metadata.name=b").await, ["b"]);
    assert_eq!(by("type==Opaque").await, ["a"]);
    assert_eq!(by("type!=Opaque").await, ["b"]);
    let err = secrets
        .list(&ListParams::default().fields("data.x=1"))
        .await
        .expect_err("unsupported field");
    assert_eq!(code(&err), 400);
}

#[tokio::test]
async fn pagination_serves_a_consistent_snapshot_across_pages() {
    let (_sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    for i in 0..25 {
        create_cm(&cms, &format!("cm-{i:02}"), json!({})).await;
    }
    let first = cms.list(&ListParams::default().limit(10)).await.expect("page 1");
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.metadata.remaining_item_count, Some(15));
    // Writes between pages must not show up in the paginated result.
    create_cm(&cms, "cm-99", json!({})).await;
    cms.delete("cm-20", &Default::default()).await.expect("delete");
    let mut all = names(&first.items);
    let mut token = first.metadata.continue_.clone();
    while let Some(t) = token.filter(|t| !t.is_empty()) {
        let page = cms
            .list(&ListParams::default().limit(10).continue_token(&t))
            .await
            .expect("page");
        assert_eq!(page.metadata.resource_version, first.metadata.resource_version);
        all.extend(names(&page.items));
        token = page.metadata.continue_;
    }
    let expected: Vec<String> = (0..25).map(|i| format!("cm-{i:02}")).collect();
    assert_eq!(all, expected);
}

#[tokio::test]
async fn a_continue_token_older_than_compaction_is_gone() {
    let (sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    for i in 0..3 {
        create_cm(&cms, &format!("c{i}"), json!({})).await;
    }
    let first = cms.list(&ListParams::default().limit(1)).await.expect("page 1");
    sim.compact();
    let token = first.metadata.continue_.expect("continue token");
    let err = cms
        .list(&ListParams::default().limit(1).continue_token(&token))
        .await
        .expect_err("expired");
    assert_eq!(code(&err), 410);
}

async fn next_event(
    stream: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Unpin),
) -> WatchEvent<ConfigMap> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event within 10 s")
        .expect("stream open")
        .expect("event decodes")
}

fn describe(e: &WatchEvent<ConfigMap>) -> String {
    match e {
        WatchEvent::Added(o) => format!("ADDED {}", o.name_any()),
        WatchEvent::Modified(o) => format!("MODIFIED {}", o.name_any()),
        WatchEvent::Deleted(o) => format!("DELETED {}", o.name_any()),
        WatchEvent::Bookmark(_) => "BOOKMARK".to_string(),
        WatchEvent::Error(s) => format!("ERROR {}", s.code),
    }
}

async fn quiet_sim() -> (Simulator, Client) {
    let sim = Simulator::config()
        .bookmark_interval(Duration::from_secs(3600))
        .start()
        .await
        .expect("sim");
    let client = sim.client().expect("client");
    (sim, client)
}

#[tokio::test]
async fn watch_from_a_resource_version_replays_retained_history_in_order() {
    let (_sim, client) = quiet_sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let a = create_cm(&cms, "a", json!({})).await;
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .expect("patch");
    cms.delete("a", &Default::default()).await.expect("delete");
    let rv = a.resource_version().expect("rv");
    let mut stream = cms
        .watch(&WatchParams::default(), &rv)
        .await
        .expect("watch")
        .boxed();
    assert_eq!(describe(&next_event(&mut stream).await), "MODIFIED a");
    assert_eq!(describe(&next_event(&mut stream).await), "DELETED a");
    create_cm(&cms, "b", json!({})).await;
    assert_eq!(describe(&next_event(&mut stream).await), "ADDED b");
}

#[tokio::test]
async fn watch_without_resource_version_starts_with_current_objects() {
    let (_sim, client) = quiet_sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    create_cm(&cms, "a", json!({})).await;
    let mut stream = cms
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    assert_eq!(describe(&next_event(&mut stream).await), "ADDED a");
}

#[tokio::test]
async fn watches_send_bookmarks_when_allowed() {
    let sim = Simulator::config()
        .bookmark_interval(Duration::from_millis(50))
        .start()
        .await
        .expect("sim");
    let cms: Api<ConfigMap> = Api::default_namespaced(sim.client().expect("client"));
    let current = sim.current_resource_version().to_string();
    let mut stream = cms
        .watch(&WatchParams::default(), &current)
        .await
        .expect("watch")
        .boxed();
    match next_event(&mut stream).await {
        WatchEvent::Bookmark(b) => assert_eq!(b.metadata.resource_version, current),
        other => panic!("expected a bookmark, got {}", describe(&other)),
    }
}

#[tokio::test]
async fn watch_from_a_compacted_resource_version_gets_410_gone() {
    let (sim, client) = quiet_sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let a = create_cm(&cms, "a", json!({})).await;
    create_cm(&cms, "b", json!({})).await;
    sim.compact();
    let mut stream = cms
        .watch(&WatchParams::default(), &a.resource_version().expect("rv"))
        .await
        .expect("watch")
        .boxed();
    assert_eq!(describe(&next_event(&mut stream).await), "ERROR 410");
}

#[tokio::test]
async fn history_beyond_the_retention_limit_is_gone_too() {
    let sim = Simulator::config().history_limit(2).start().await.expect("sim");
    let cms: Api<ConfigMap> = Api::default_namespaced(sim.client().expect("client"));
    let a = create_cm(&cms, "a", json!({})).await;
    for name in ["b", "c", "d"] {
        create_cm(&cms, name, json!({})).await;
    }
    let mut stream = cms
        .watch(&WatchParams::default(), &a.resource_version().expect("rv"))
        .await
        .expect("watch")
        .boxed();
    assert_eq!(describe(&next_event(&mut stream).await), "ERROR 410");
}

#[tokio::test]
async fn label_selected_watch_sees_objects_start_and_stop_matching() {
    let (_sim, client) = quiet_sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let a = create_cm(&cms, "a", json!({"watched": "no"})).await;
    let wp = WatchParams::default().labels("watched=yes");
    let mut stream = cms
        .watch(&wp, &a.resource_version().expect("rv"))
        .await
        .expect("watch")
        .boxed();
    let relabel = |v: &'static str| {
        let cms = cms.clone();
        async move {
            cms.patch(
                "a",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"watched": v}}})),
            )
            .await
            .expect("relabel")
        }
    };
    relabel("yes").await;
    assert_eq!(describe(&next_event(&mut stream).await), "ADDED a");
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .expect("patch");
    assert_eq!(describe(&next_event(&mut stream).await), "MODIFIED a");
    relabel("no").await;
    assert_eq!(describe(&next_event(&mut stream).await), "DELETED a");
    create_cm(&cms, "b", json!({"watched": "yes"})).await;
    assert_eq!(
        describe(&next_event(&mut stream).await),
        "ADDED b",
        "unmatched changes to a are not sent"
    );
}

#[tokio::test]
async fn the_server_ends_a_watch_after_timeout_seconds() {
    let (sim, client) = quiet_sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let rv = sim.current_resource_version().to_string();
    let stream = cms
        .watch(&WatchParams::default().timeout(1), &rv)
        .await
        .expect("watch");
    let events: Vec<_> = tokio::time::timeout(Duration::from_secs(10), stream.try_collect::<Vec<_>>())
        .await
        .expect("the stream ends by itself")
        .expect("no error");
    assert!(events.is_empty());
    wait_for("the watch to be counted as closed", || async {
        (sim.stats().open_watches == 0).then_some(())
    })
    .await;
}
