//! Fault injection, from Rust and over the `/_sim/` HTTP endpoints.

mod common;

use std::time::{Duration, Instant};

use common::{code, reason, sim};
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchParams};
use reload_tests::sim::FailureRule;
use serde_json::json;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}})).expect("cm")
}

#[tokio::test]
async fn the_next_n_matching_requests_fail_with_the_injected_status() {
    let (sim, _) = sim().await;
    // kube retries 429/503/504 by default; turn that off to see each injected failure.
    let mut config = sim.kube_config();
    config.default_retry = false;
    let cms: Api<ConfigMap> = Api::default_namespaced(kube::Client::try_from(config).expect("client"));
    cms.create(&PostParams::default(), &cm("a"))
        .await
        .expect("create");
    for status in [500, 503, 409] {
        sim.fail_next(FailureRule::new(status, 2).verb("patch").resource("configmaps"));
        let patch = Patch::Merge(json!({"data": {"s": status.to_string()}}));
        for _ in 0..2 {
            let err = cms
                .patch("a", &PatchParams::default(), &patch)
                .await
                .expect_err("injected");
            assert_eq!(code(&err), status);
        }
        cms.get("a").await.expect("other verbs are unaffected");
        cms.patch("a", &PatchParams::default(), &patch)
            .await
            .expect("the third patch succeeds");
    }
}

#[tokio::test]
async fn kube_default_retry_rides_out_injected_503s() {
    let (sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    cms.create(&PostParams::default(), &cm("a"))
        .await
        .expect("create");
    sim.fail_next(FailureRule::new(503, 2).verb("patch"));
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .expect("retried");
    assert_eq!(
        sim.stats().count("patch", "configmaps"),
        3,
        "two failed attempts and the successful one"
    );
}

#[tokio::test]
async fn too_many_requests_carries_retry_after() {
    let (sim, _client) = sim().await;
    sim.fail_next(FailureRule::new(429, 1).verb("list").retry_after(7));
    let resp = reqwest_like_get(&format!("{}/api/v1/namespaces/default/configmaps", sim.url())).await;
    assert!(resp.starts_with("HTTP/1.1 429"), "{resp}");
    assert!(resp.to_ascii_lowercase().contains("retry-after: 7"), "{resp}");
    assert!(resp.contains("\"reason\":\"TooManyRequests\""), "{resp}");
}

/// A minimal raw HTTP GET over loopback, to look at headers kube does not expose.
async fn reqwest_like_get(url: &str) -> String {
    http_request("GET", url, "").await
}

async fn http_request(method: &str, url: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test]
async fn added_latency_delays_responses_until_cleared() {
    let (sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    sim.set_latency(Duration::from_millis(200));
    let started = Instant::now();
    cms.list(&ListParams::default()).await.expect("list");
    // A lower bound only: the server sleeps at least the latency before answering.
    assert!(started.elapsed() >= Duration::from_millis(200));
    sim.clear_faults();
    cms.list(&ListParams::default())
        .await
        .expect("list after clearing");
}

#[tokio::test]
async fn closing_watches_ends_every_open_stream() {
    let (sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let rv = sim.current_resource_version().to_string();
    let mut a = cms
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .expect("watch a")
        .boxed();
    let mut b = cms
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .expect("watch b")
        .boxed();
    common::wait_for("two open watches", || async {
        (sim.stats().open_watches == 2).then_some(())
    })
    .await;
    sim.close_watches();
    for s in [&mut a, &mut b] {
        let end = tokio::time::timeout(Duration::from_secs(10), s.next())
            .await
            .expect("stream ends within 10 s");
        assert!(end.is_none(), "stream ended without further events");
    }
}

#[tokio::test]
async fn admin_endpoints_inject_the_same_faults_over_http() {
    let (sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let rule = r#"{"verb":"create","resource":"configmaps","count":1,"status":500}"#;
    let resp = http_request("POST", &format!("{}/_sim/faults/fail", sim.url()), rule).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let err = cms
        .create(&PostParams::default(), &cm("a"))
        .await
        .expect_err("injected");
    assert_eq!((code(&err), reason(&err)), (500, "InternalError".to_string()));
    cms.create(&PostParams::default(), &cm("a"))
        .await
        .expect("second create succeeds");

    let old_rv = cms
        .get("a")
        .await
        .expect("get")
        .metadata
        .resource_version
        .expect("rv");
    cms.create(&PostParams::default(), &cm("b"))
        .await
        .expect("create b");
    http_request("POST", &format!("{}/_sim/faults/compact", sim.url()), "").await;
    let mut stream = cms
        .watch(&WatchParams::default(), &old_rv)
        .await
        .expect("watch")
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("event")
        .expect("open")
        .expect("decodes");
    assert!(
        matches!(first, kube::api::WatchEvent::Error(ref s) if s.code == 410),
        "{first:?}"
    );

    let resp = http_request(
        "POST",
        &format!("{}/_sim/faults/latency", sim.url()),
        r#"{"millis": 1}"#,
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    http_request("POST", &format!("{}/_sim/faults/clear", sim.url()), "").await;
    assert_eq!(sim.state().faults.latency(), Duration::ZERO);

    let rv = sim.current_resource_version().to_string();
    let mut open = cms
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .boxed();
    http_request("POST", &format!("{}/_sim/faults/close-watches", sim.url()), "").await;
    let end = tokio::time::timeout(Duration::from_secs(10), open.next())
        .await
        .expect("ends within 10 s");
    assert!(end.is_none());
}

#[tokio::test]
async fn restart_over_http_keeps_state_and_port() {
    let (sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    cms.create(&PostParams::default(), &cm("a"))
        .await
        .expect("create");
    let resp = http_request("POST", &format!("{}/_sim/restart?downtime_ms=100", sim.url()), "").await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let fresh: Api<ConfigMap> = Api::default_namespaced(sim.client().expect("client"));
    let got = common::wait_for("the server back after restart", || {
        let fresh = fresh.clone();
        async move { fresh.get("a").await.ok() }
    })
    .await;
    assert_eq!(got.metadata.name.as_deref(), Some("a"));
}

#[tokio::test]
async fn a_stalled_user_is_delayed_alone_and_a_request_it_abandons_is_never_committed() {
    let sim = reload_tests::sim::Simulator::config()
        .token("slow", "stalled", vec![reload_tests::sim::Rule::everything()])
        .token("fast", "healthy", vec![reload_tests::sim::Rule::everything()])
        .start()
        .await
        .expect("sim");
    let resp = http_request(
        "POST",
        &format!("{}/_sim/faults/latency", sim.url()),
        r#"{"millis": 1500, "user": "stalled"}"#,
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let healthy: Api<ConfigMap> = Api::default_namespaced(sim.client_with_token("fast").expect("client"));
    let stalled: Api<ConfigMap> = Api::default_namespaced(sim.client_with_token("slow").expect("client"));
    healthy
        .create(&PostParams::default(), &cm("a"))
        .await
        .expect("the healthy user is not stalled");
    let patch = Patch::Merge(json!({"data": {"from": "stalled"}}));
    let abandoned = tokio::time::timeout(
        Duration::from_millis(200),
        stalled.patch("a", &PatchParams::default(), &patch),
    )
    .await;
    assert!(
        abandoned.is_err(),
        "the stalled request cannot answer before its latency"
    );
    // Past the moment the abandoned request would have been served: it never is.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let a = healthy.get("a").await.expect("get");
    assert_eq!(a.data, None, "the abandoned patch was not committed");
    let writers: Vec<String> = sim
        .journal(0)
        .into_iter()
        .filter(|e| e.resource == "configmaps")
        .map(|e| e.user)
        .collect();
    assert_eq!(writers, vec!["healthy".to_owned()], "the journal names who wrote");
    sim.set_user_latency("stalled", Duration::ZERO);
    stalled
        .patch("a", &PatchParams::default(), &patch)
        .await
        .expect("served again once the stall ends");
}

/// Whether a kube error is a transport failure (no HTTP answer), not an API status.
fn is_transport(err: &kube::Error) -> bool {
    !matches!(err, kube::Error::Api(_))
}

#[tokio::test]
async fn refused_connections_fail_in_transport_for_the_window_then_the_server_is_back_with_its_state() {
    let (sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    cms.create(&PostParams::default(), &cm("a"))
        .await
        .expect("create");
    // The client's pooled connection is cut too: no request gets through it.
    sim.refuse_connections(Duration::from_secs(2)).await;
    let refused = tokio::net::TcpStream::connect(sim.addr())
        .await
        .expect_err("the port refuses connections");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    let patch = Patch::Merge(json!({"data": {"k": "lost"}}));
    let err = cms
        .patch("a", &PatchParams::default(), &patch)
        .await
        .expect_err("no server");
    assert!(is_transport(&err), "{err:?}");
    let back = common::wait_for("the server back on its port", || {
        let cms = cms.clone();
        async move { cms.get("a").await.ok() }
    })
    .await;
    assert_eq!(back.data, None, "the refused patch was never applied");
    assert_eq!(sim.stats().count("patch", "configmaps"), 0);
}

#[tokio::test]
async fn a_reset_rule_cuts_the_chosen_patches_without_applying_them() {
    let (sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    for name in ["a", "b"] {
        cms.create(&PostParams::default(), &cm(name))
            .await
            .expect("create");
    }
    sim.fail_next(
        FailureRule::reset(2)
            .verb("patch")
            .resource("configmaps")
            .name("a"),
    );
    let patch = Patch::Merge(json!({"data": {"k": "v"}}));
    for _ in 0..2 {
        let err = cms
            .patch("a", &PatchParams::default(), &patch)
            .await
            .expect_err("cut");
        assert!(is_transport(&err), "{err:?}");
    }
    assert_eq!(cms.get("a").await.expect("get").data, None, "not applied");
    cms.patch("b", &PatchParams::default(), &patch)
        .await
        .expect("another object is not cut");
    cms.patch("a", &PatchParams::default(), &patch)
        .await
        .expect("the third patch of a is served");
    assert_eq!(
        sim.stats().status_count("system:admin", 0),
        2,
        "two answered nothing"
    );
}

/// Opens a raw watch of ConfigMaps in `default` and returns the connection once the
/// response head is in.
async fn raw_watch(sim: &reload_tests::sim::Simulator) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rv = sim.current_resource_version();
    let mut stream = tokio::net::TcpStream::connect(sim.addr()).await.expect("connect");
    let req = format!(
        "GET /api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        sim.addr()
    );
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.expect("response head");
    assert_eq!(&head, b"HTTP/1.1 200");
    stream
}

/// Reads a raw watch connection to its end; whether the body ended with the final
/// (zero-length) chunk of a chunked response.
async fn ends_with_final_chunk(mut stream: tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut body = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the connection ends within 10 s")
        {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    body.ends_with(b"\r\n0\r\n\r\n")
}

#[tokio::test]
async fn aborted_watches_end_without_their_final_chunk_and_closed_ones_with_it() {
    let (sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let closed = raw_watch(&sim).await;
    common::wait_for("an open watch", || async {
        (sim.stats().open_watches == 1).then_some(())
    })
    .await;
    sim.close_watches();
    assert!(
        ends_with_final_chunk(closed).await,
        "a close ends the body cleanly"
    );

    let aborted = raw_watch(&sim).await;
    let rv = sim.current_resource_version().to_string();
    let mut through_kube = cms
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .boxed();
    common::wait_for("two open watches", || async {
        (sim.stats().open_watches == 2).then_some(())
    })
    .await;
    sim.abort_watches();
    assert!(!ends_with_final_chunk(aborted).await, "an abort cuts the body");
    // kube's watch stream treats a body cut short as its end (kube-runtime then re-watches
    // from its resourceVersion): it ends, without any further event.
    let end = tokio::time::timeout(Duration::from_secs(10), through_kube.next())
        .await
        .expect("the stream ends within 10 s");
    assert!(
        matches!(end, None | Some(Err(_))),
        "no event after the abort: {end:?}"
    );
}

#[tokio::test]
async fn a_killed_server_cuts_open_watches_without_their_final_chunk() {
    let (sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let raw = raw_watch(&sim).await;
    let rv = sim.current_resource_version().to_string();
    let mut through_kube = cms
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .boxed();
    common::wait_for("two open watches", || async {
        (sim.stats().open_watches == 2).then_some(())
    })
    .await;
    sim.refuse_connections(Duration::from_millis(300)).await;
    assert!(!ends_with_final_chunk(raw).await, "the body is cut");
    let end = tokio::time::timeout(Duration::from_secs(10), through_kube.next())
        .await
        .expect("the stream ends within 10 s");
    assert!(matches!(end, None | Some(Err(_))), "{end:?}");
    common::wait_for("the server back", || {
        let cms = cms.clone();
        async move { cms.list(&ListParams::default()).await.ok() }
    })
    .await;
}

#[tokio::test]
async fn reset_abort_and_refuse_are_injected_over_http_too() {
    let (sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    cms.create(&PostParams::default(), &cm("a"))
        .await
        .expect("create");
    let rule = r#"{"verb":"patch","resource":"configmaps","count":1,"reset":true}"#;
    let resp = http_request("POST", &format!("{}/_sim/faults/fail", sim.url()), rule).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let patch = Patch::Merge(json!({"data": {"k": "v"}}));
    let err = cms
        .patch("a", &PatchParams::default(), &patch)
        .await
        .expect_err("cut");
    assert!(is_transport(&err), "{err:?}");

    let rv = sim.current_resource_version().to_string();
    let mut open = cms
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .boxed();
    let raw = raw_watch(&sim).await;
    common::wait_for("two open watches", || async {
        (sim.stats().open_watches == 2).then_some(())
    })
    .await;
    http_request("POST", &format!("{}/_sim/faults/abort-watches", sim.url()), "").await;
    assert!(!ends_with_final_chunk(raw).await, "the body is cut");
    let end = tokio::time::timeout(Duration::from_secs(10), open.next())
        .await
        .expect("ends within 10 s");
    assert!(matches!(end, None | Some(Err(_))), "{end:?}");

    let resp = http_request(
        "POST",
        &format!("{}/_sim/faults/refuse?window_ms=500", sim.url()),
        "",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    common::wait_for("connections refused", || async {
        tokio::net::TcpStream::connect(sim.addr()).await.err()
    })
    .await;
    common::wait_for("the server back", || {
        let cms = cms.clone();
        async move { cms.get("a").await.ok() }
    })
    .await;
}
