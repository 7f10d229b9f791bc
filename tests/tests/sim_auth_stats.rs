//! Token authorization from Role YAML, request accounting and the write journal.

mod common;

use common::{code, deployment, reason};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use reload_tests::sim::{Rule, Simulator};
use serde_json::json;

const READ_CONFIGMAPS_PATCH_DEPLOYMENTS: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reloader}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, patch]
"#;

#[tokio::test]
async fn a_token_gets_exactly_the_rights_of_its_cluster_role() {
    let rules = Rule::from_yaml(READ_CONFIGMAPS_PATCH_DEPLOYMENTS).expect("rules");
    let sim = Simulator::config()
        .token("t0k3n", "system:serviceaccount:default:reloader", rules)
        .start()
        .await
        .expect("sim");
    let admin = sim.client().expect("admin");
    Api::<Deployment>::default_namespaced(admin.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(deployment("web")).expect("d"),
        )
        .await
        .expect("admin creates");

    let user = sim.client_with_token("t0k3n").expect("user client");
    let cms: Api<ConfigMap> = Api::default_namespaced(user.clone());
    cms.list(&ListParams::default()).await.expect("allowed list");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "x"}})).expect("cm");
    let denied = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect_err("create not granted");
    assert_eq!((code(&denied), reason(&denied)), (403, "Forbidden".to_string()));
    let kube::Error::Api(status) = &denied else {
        unreachable!()
    };
    assert!(
        status.message.contains(
            "User \"system:serviceaccount:default:reloader\" cannot create resource \"configmaps\""
        ),
        "{}",
        status.message
    );

    let deploys: Api<Deployment> = Api::default_namespaced(user);
    deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"a": "b"}}})),
        )
        .await
        .expect("allowed patch");
    assert_eq!(
        code(
            &deploys
                .delete("web", &Default::default())
                .await
                .expect_err("delete not granted")
        ),
        403
    );

    let stranger = sim.client_with_token("wrong").expect("client");
    let err = Api::<ConfigMap>::default_namespaced(stranger)
        .list(&ListParams::default())
        .await
        .expect_err("unknown token");
    assert_eq!(code(&err), 401);
}

#[tokio::test]
async fn stats_count_requests_by_verb_resource_namespace_and_user_agent() {
    let sim = Simulator::start().await.expect("sim");
    let mut config = sim.kube_config();
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static("reloader/0.1.0"),
    ));
    let client = kube::Client::try_from(config).expect("client");
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    deploys
        .create(
            &PostParams::default(),
            &serde_json::from_value(deployment("web")).expect("d"),
        )
        .await
        .expect("create");
    sim.reset_stats();
    for i in 0..3 {
        deploys
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Strategic(
                    json!({"spec": {"template": {"metadata": {"annotations": {"n": i.to_string()}}}}}),
                ),
            )
            .await
            .expect("patch");
    }
    let stats = sim.stats();
    let rows: Vec<_> = stats.requests.iter().filter(|r| r.verb == "patch").collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = rows[0];
    assert_eq!(
        (
            row.group.as_str(),
            row.resource.as_str(),
            row.namespace.as_str(),
            row.user_agent.as_str(),
            row.count
        ),
        ("apps", "deployments", "default", "reloader/0.1.0", 3)
    );
    assert_eq!(
        stats.count("get", "deployments") + stats.count("list", "deployments"),
        0
    );
}

#[tokio::test]
async fn stats_count_response_statuses_per_user_so_a_test_can_find_every_403() {
    let rules = Rule::from_yaml(READ_CONFIGMAPS_PATCH_DEPLOYMENTS).expect("rules");
    let user = "system:serviceaccount:reloader:reloader";
    let sim = Simulator::config()
        .token("t0k3n", user, rules)
        .start()
        .await
        .expect("sim");
    let kubeconfig = std::env::temp_dir().join(format!("sim-auth-stats-{}.yaml", std::process::id()));
    sim.write_kubeconfig_with_token(&kubeconfig, "t0k3n")
        .expect("kubeconfig written");
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig parses"),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("kubeconfig config");
    let _ = std::fs::remove_file(&kubeconfig);
    let client = kube::Client::try_from(config).expect("client from the token kubeconfig");

    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    cms.list(&ListParams::default()).await.expect("allowed list");
    cms.list(&ListParams::default()).await.expect("allowed list");
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client, "team");
    let denied = secrets
        .list(&ListParams::default())
        .await
        .expect_err("secrets are not granted");
    assert_eq!(code(&denied), 403);
    Api::<ConfigMap>::default_namespaced(sim.client().expect("admin"))
        .list(&ListParams::default())
        .await
        .expect("admin list");

    let stats = sim.stats();
    assert_eq!(stats.status_count(user, 200), 2);
    assert_eq!(stats.status_count(user, 403), 1);
    let forbidden: Vec<_> = stats
        .responses_with(user, 403)
        .map(|r| (r.verb.as_str(), r.resource.as_str(), r.namespace.as_str()))
        .collect();
    assert_eq!(forbidden, [("list", "secrets", "team")]);
    assert_eq!(stats.status_count("system:admin", 200), 1);
    assert_eq!(stats.status_count("system:admin", 403), 0);

    sim.reset_stats();
    assert!(sim.stats().responses.is_empty());
}

#[tokio::test]
async fn the_journal_records_each_committed_write_in_order_with_its_field_manager() {
    let sim = Simulator::start().await.expect("sim");
    let since = sim.current_resource_version();
    let cms: Api<ConfigMap> = Api::default_namespaced(sim.client().expect("client"));
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "a"}})).expect("cm");
    cms.create(&PostParams::default(), &cm).await.expect("create");
    let pp = PatchParams {
        field_manager: Some("reloader".into()),
        ..PatchParams::default()
    };
    cms.patch("a", &pp, &Patch::Merge(json!({"data": {"k": "v"}})))
        .await
        .expect("patch");
    cms.patch("a", &pp, &Patch::Merge(json!({"data": {"k": "v"}})))
        .await
        .expect("no-op patch");
    cms.delete("a", &Default::default()).await.expect("delete");

    let journal = sim.journal(since);
    let summary: Vec<_> = journal
        .iter()
        .map(|e| (e.verb.as_str(), e.name.as_str(), e.field_manager.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("create", "a", ""),
            ("patch", "a", "reloader"),
            ("delete", "a", "")
        ],
        "a no-op commits nothing"
    );
    assert!(
        journal
            .windows(2)
            .all(|w| w[0].resource_version < w[1].resource_version && w[0].at_nanos <= w[1].at_nanos)
    );

    let body = http_get(&format!(
        "{}/_sim/journal?since={}",
        sim.url(),
        journal[0].resource_version
    ))
    .await;
    let over_http: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(over_http.as_array().map(Vec::len), Some(2));
    let stats: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{}/_sim/stats", sim.url())).await).expect("json");
    assert!(
        stats["requests"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["verb"] == "delete" && r["count"] == 1))
    );
    assert_eq!(stats["open_watches"], 0);
}

async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("path");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    stream
        .write_all(format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("read");
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .expect("body")
}
