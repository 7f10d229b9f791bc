//! Nothing leaked: a unique marker planted in Secret values never appears in any output of
//! the real binary (every log line at debug level, text and JSON; `/metrics`; `/debug/cache`
//! when served; the `hash` command; error messages) nor in any object it writes (Events,
//! workloads). The keyed digest (`--hash-key-file`) differs from SHA-1, is stable for a key,
//! and is what the controller records.

use std::process::Command;

use base64::Engine as _;
use reload_tests::binaries::reloader_path;
use reload_tests::sim::{FailureRule, Simulator};
use serde_json::{Value, json};

use crate::binary_support::{Launch, eventually, http_get, temp_path};
use crate::faults_support::Seed;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn secret(name: &str, marker: &str, round: u32) -> Value {
    let mut raw = marker.as_bytes().to_vec();
    raw.extend([0xff, 0xfe]);
    json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": "sec"},
        "data": {"password": b64(format!("{marker}-{round}").as_bytes()), "raw": b64(&raw)}})
}

fn deployment(name: &str, annotations: Value, secret: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "sec", "annotations": annotations},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": "nginx",
                "envFrom": [{"secretRef": {"name": secret}}]}]}}}})
}

/// The forms of the marker that would betray a leak: as is, and base64 of the value.
fn leaks(marker: &str, round: u32) -> Vec<String> {
    vec![marker.to_owned(), b64(format!("{marker}-{round}").as_bytes())]
}

async fn replace_secret(sim: &Simulator, marker: &str, round: u32) {
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(sim.client().expect("client"), "sec");
    let patch = json!({"data": secret("creds", marker, round)["data"].clone()});
    api.patch(
        "creds",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(patch),
    )
    .await
    .expect("secret patched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_planted_in_secret_values_never_appears_in_logs_events_metrics_or_errors() {
    let seed = Seed::new("secret marker");
    let marker = format!("LEAKMARK{}x{}", seed.0, std::process::id());
    let sim = Simulator::start().await.expect("simulator");
    let _ = sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sec"}}));
    sim.seed(secret("creds", &marker, 0)).expect("secret seeded");
    sim.seed(deployment(
        "web",
        json!({"reloader.stakater.com/auto": "true"}),
        "creds",
    ))
    .expect("seeded");
    sim.seed(deployment(
        "denied",
        json!({"reloader.stakater.com/auto": "true"}),
        "creds",
    ))
    .expect("seeded");
    sim.seed(deployment(
        "broken",
        json!({"secret.reloader.stakater.com/reload": "creds,[bad"}),
        "creds",
    ))
    .expect("seeded");

    let mut outputs = Vec::new();
    for (round, format) in [(1_u32, None), (2, Some("json"))] {
        let mut launch = Launch::new(&sim).arg("--log-level=debug");
        if let Some(format) = format {
            launch = launch.arg(&format!("--log-format={format}"));
        }
        let mut reloader = launch.start();
        reloader.wait_synced().await;
        let addr = reloader.http_addr().await;
        // One write fails (an error path that logs the API server's message), the rest roll.
        sim.fail_next(FailureRule::new(422, 1).verb("patch").resource("deployments"));
        replace_secret(&sim, &marker, round).await;
        eventually(
            &format!("secret marker ({seed}) round {round}: a rollout"),
            || async { reloader.count("Changes detected in 'creds' of type 'SECRET'") > 0 },
        )
        .await;
        crate::faults_support::wait_quiet(
            &sim,
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(10),
        )
        .await;
        let (status, metrics) = http_get(addr, "/metrics").await;
        assert_eq!(status, 200, "secret marker ({seed})");
        let (_, cache) = http_get(addr, "/debug/cache").await;
        reloader.sigterm();
        let status = reloader.wait_exit().await;
        assert!(status.success(), "secret marker ({seed}): {}", reloader.output());
        outputs.push((format!("round {round} output"), reloader.output()));
        outputs.push((format!("round {round} /metrics"), metrics));
        outputs.push((format!("round {round} /debug/cache"), cache));
    }

    // The hash command reads the Secret and prints digests only.
    let file = temp_path("secret.json");
    std::fs::write(&file, secret("creds", &marker, 9).to_string()).expect("file written");
    let hash = Command::new(reloader_path().expect("binary"))
        .args(["hash", "-f"])
        .arg(&file)
        .output()
        .expect("hash runs");
    let _ = std::fs::remove_file(&file);
    outputs.push((
        "hash".to_owned(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&hash.stdout),
            String::from_utf8_lossy(&hash.stderr)
        ),
    ));

    // Every object in the cluster but the Secret itself: Events, workloads, Leases, ...
    for entry in sim.journal(0) {
        if entry.resource != "secrets"
            && let Some(object) = entry.object
        {
            outputs.push((
                format!(
                    "{} {}/{} rv {}",
                    entry.resource, entry.namespace, entry.name, entry.resource_version
                ),
                object.to_string(),
            ));
        }
    }
    let events = outputs
        .iter()
        .filter(|(what, _)| what.starts_with("events"))
        .count();
    assert!(
        events > 0,
        "secret marker ({seed}): the controller wrote Events to check"
    );
    for (what, text) in &outputs {
        for round in 0..=9 {
            for leak in leaks(&marker, round) {
                assert!(
                    !text.contains(&leak),
                    "secret marker ({seed}): {what} leaks a Secret value ({leak}):\n{text}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyed_digest_differs_from_sha1_is_stable_for_a_key_and_is_what_the_controller_records() {
    let seed = Seed::new("keyed digest");
    let binary = reloader_path().expect("binary");
    let object = secret("creds", &format!("value{}", seed.0), 0);
    let file = temp_path("keyed.json");
    std::fs::write(&file, object.to_string()).expect("file written");
    let key_one = temp_path("key-one");
    let key_two = temp_path("key-two");
    std::fs::write(&key_one, format!("first-key-{}", seed.0)).expect("key written");
    std::fs::write(&key_two, format!("second-key-{}", seed.0)).expect("key written");
    let hash = |key: Option<&std::path::Path>| {
        let mut command = Command::new(&binary);
        command.args(["hash", "-f"]).arg(&file);
        if let Some(key) = key {
            command.arg("--hash-key-file").arg(key);
        }
        let out = command.output().expect("hash runs");
        assert!(out.status.success(), "keyed digest ({seed}): {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let plain = hash(None);
    let sha1 = plain.split_whitespace().next().expect("a digest").to_owned();
    let keyed = |key| {
        hash(Some(key))
            .split_whitespace()
            .find(|w| w.starts_with("hmac-sha256:"))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("keyed digest ({seed}): no keyed digest printed"))
    };
    let one = keyed(key_one.as_path());
    assert_eq!(
        one,
        keyed(key_one.as_path()),
        "keyed digest ({seed}): stable for a key"
    );
    assert_ne!(
        one,
        keyed(key_two.as_path()),
        "keyed digest ({seed}): depends on the key"
    );
    assert!(
        !one.contains(&sha1),
        "keyed digest ({seed}): differs from SHA-1 {sha1}"
    );

    // The controller started with the key records exactly that digest.
    let sim = Simulator::start().await.expect("simulator");
    let _ = sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sec"}}));
    sim.seed(secret("creds", "initial", 0)).expect("secret seeded");
    sim.seed(deployment(
        "web",
        json!({"reloader.stakater.com/auto": "true"}),
        "creds",
    ))
    .expect("seeded");
    let reloader = Launch::new(&sim)
        .arg(&format!("--hash-key-file={}", key_one.display()))
        .start();
    reloader.wait_synced().await;
    crate::faults_support::wait_quiet(
        &sim,
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(10),
    )
    .await;
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(sim.client().expect("client"), "sec");
    api.patch(
        "creds",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"data": object["data"].clone()})),
    )
    .await
    .expect("secret patched");
    let var = reload_strategies::env_var_name(reload_core::SourceKind::Secret, "creds");
    eventually(&format!("keyed digest ({seed}): web records {one}"), || async {
        crate::binary_support::env_value(&sim, "sec", "web", &var)
            .await
            .as_deref()
            == Some(one.as_str())
    })
    .await;
    reloader.stop().await;
    for path in [&file, &key_one, &key_two] {
        let _ = std::fs::remove_file(path);
    }
}
