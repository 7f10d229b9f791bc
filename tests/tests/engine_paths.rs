//! Every reference path × every workload kind × both strategies: one data change rolls each
//! workload exactly once, with no GET or LIST of workloads, and writes Reloader's format.

mod engine_support;

use engine_support::{
    Path, Strategy, assert_records, auto, config, configmap, digest_of, seed, set_data, start, template,
    workload,
};
use reload_core::matcher::MatcherConfig;
use reload_tests::sim::Simulator;
use serde_json::json;

const KINDS: [&str; 3] = ["Deployment", "DaemonSet", "StatefulSet"];

fn name(kind: &str, path: Path) -> String {
    format!("{}-{:?}", kind.to_lowercase(), path).to_lowercase()
}

async fn every_path_and_kind_rolls_once(strategy: Strategy) {
    let sim = Simulator::start().await.expect("simulator");
    for kind in KINDS {
        for path in Path::ALL {
            let n = name(kind, path);
            seed(&sim, configmap("app", &format!("cm-{n}"), json!({"k": "v1"})));
            seed(
                &sim,
                workload(
                    kind,
                    "app",
                    &n,
                    auto(),
                    json!({}),
                    path.pod_spec(&format!("cm-{n}")),
                ),
            );
        }
    }
    let engine = start(&sim, strategy, config(), MatcherConfig::default()).await;
    let total = KINDS.len() * Path::ALL.len();
    engine.wait_baselined(total).await;
    sim.reset_stats();

    for kind in KINDS {
        for path in Path::ALL {
            set_data(
                &sim,
                "app",
                &format!("cm-{}", name(kind, path)),
                json!({"k": "v2"}),
            )
            .await;
        }
    }
    engine.wait_reloaded(total).await;

    let stats = sim.stats();
    for plural in ["deployments", "daemonsets", "statefulsets"] {
        assert_eq!(stats.count("get", plural), 0, "no GET of {plural} per change");
        assert_eq!(stats.count("list", plural), 0, "no LIST of {plural} per change");
        assert_eq!(stats.count("patch", plural), 5, "one PATCH per {plural} workload");
    }
    let digest = digest_of(&[("k", "v2")]);
    for kind in KINDS {
        for path in Path::ALL {
            let n = name(kind, path);
            let t = template(&sim, kind, "app", &n).await;
            assert_records(strategy, &t, &format!("cm-{n}"), "app", &digest);
            if path == Path::ValueFrom && strategy == Strategy::EnvVars {
                let env = t
                    .spec
                    .as_ref()
                    .map(|s| s.containers[0].env.clone().unwrap_or_default())
                    .unwrap_or_default();
                let keep = env
                    .iter()
                    .find(|e| e.name == "KEEP")
                    .and_then(|e| e.value.clone());
                assert_eq!(
                    keep.as_deref(),
                    Some("me"),
                    "untouched env entries survive the strategic merge"
                );
                let x = env
                    .iter()
                    .find(|e| e.name == "X")
                    .and_then(|e| e.value_from.clone());
                assert!(x.is_some(), "the valueFrom reference survives");
                assert_eq!(env.len(), 3);
            }
        }
    }
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_var_strategy_rolls_every_reference_path_of_every_kind_once() {
    every_path_and_kind_rolls_once(Strategy::EnvVars).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotation_strategy_rolls_every_reference_path_of_every_kind_once() {
    every_path_and_kind_rolls_once(Strategy::Annotations).await;
}
