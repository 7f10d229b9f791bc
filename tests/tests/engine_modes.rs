//! Every annotation mode of Reloader and the negative cases, through the engine and the
//! simulator: exactly the opted-in workloads roll, once each.

mod engine_support;

use engine_support::{
    Path, Strategy, assert_records, assert_untouched, auto, config, configmap, digest_of, reloaded, seed,
    set_data, start, template, workload,
};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use reload_core::matcher::MatcherConfig;
use reload_tests::sim::Simulator;
use serde_json::{Value, json};

fn cm_with(name: &str, annotations: Value) -> Value {
    let mut cm = configmap("modes", name, json!({"k": "v1"}));
    cm["metadata"]["annotations"] = annotations;
    cm
}

async fn annotation_modes(strategy: Strategy) {
    let sim = Simulator::start().await.expect("simulator");
    let none = json!({});
    for cm in [
        "m-auto",
        "m-typed",
        "m-named-1",
        "m-fallback",
        "m-ref8",
        "m-label",
        "m-unref",
        "m-excluded",
    ] {
        seed(&sim, cm_with(cm, json!({})));
    }
    seed(
        &sim,
        cm_with("m-search", json!({"reloader.stakater.com/match": "true"})),
    );
    seed(
        &sim,
        cm_with("m-ignored", json!({"reloader.stakater.com/ignore": "true"})),
    );
    let env_from = |cm: &str| Path::EnvFrom.pod_spec(cm);
    let d = |name: &str, annotations: Value, template_annotations: Value, spec: Value| {
        workload(
            "Deployment",
            "modes",
            name,
            annotations,
            template_annotations,
            spec,
        )
    };
    // Positive cases.
    seed(&sim, d("w-auto", auto(), none.clone(), env_from("m-auto")));
    seed(
        &sim,
        d(
            "w-typed",
            json!({"configmap.reloader.stakater.com/auto": "true"}),
            none.clone(),
            env_from("m-typed"),
        ),
    );
    seed(
        &sim,
        d(
            "w-named",
            json!({"configmap.reloader.stakater.com/reload": "nope, m-named-.*"}),
            none.clone(),
            env_from("unrelated"),
        ),
    );
    seed(
        &sim,
        d(
            "w-search",
            json!({"reloader.stakater.com/search": "true"}),
            none.clone(),
            env_from("m-search"),
        ),
    );
    seed(
        &sim,
        d("w-fallback", none.clone(), auto(), env_from("m-fallback")),
    );
    // Negative cases.
    seed(
        &sim,
        d(
            "w-excluded",
            json!({"reloader.stakater.com/auto": "true", "configmaps.exclude.reloader.stakater.com/reload": "m-excluded"}),
            none.clone(),
            env_from("m-excluded"),
        ),
    );
    seed(&sim, d("w-ignored", auto(), none.clone(), env_from("m-ignored")));
    seed(&sim, d("w-unref", auto(), none.clone(), env_from("m-ref8")));
    seed(&sim, d("w-label", auto(), none.clone(), env_from("m-label")));
    seed(
        &sim,
        workload(
            "Deployment",
            "other",
            "w-other-ns",
            auto(),
            none.clone(),
            env_from("m-auto"),
        ),
    );

    let engine = start(&sim, strategy, config(), MatcherConfig::default()).await;
    // Opted-in pairs get baselines: auto, typed, named, search, fallback, unref (m-ref8), label.
    engine.wait_baselined(7).await;
    sim.reset_stats();

    // Negative changes first: the ConfigMap watch delivers in order, so once the positive
    // rollouts are in, every negative change has been decided.
    for cm in ["m-excluded", "m-ignored", "m-unref"] {
        set_data(&sim, "modes", cm, json!({"k": "v2"})).await;
    }
    let api: Api<ConfigMap> = Api::namespaced(sim.client().expect("client"), "modes");
    api.patch(
        "m-label",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"new": "label"}}})),
    )
    .await
    .expect("label patched");
    for cm in ["m-auto", "m-typed", "m-named-1", "m-search", "m-fallback"] {
        set_data(&sim, "modes", cm, json!({"k": "v2"})).await;
    }
    engine.wait_reloaded(5).await;

    let stats = sim.stats();
    assert_eq!(
        stats.count("patch", "deployments"),
        5,
        "only the five opted-in workloads are written"
    );
    assert_eq!(
        stats.count("get", "deployments") + stats.count("list", "deployments"),
        0
    );
    assert_eq!(reloaded(&engine.events()), 5);
    let digest = digest_of(&[("k", "v2")]);
    for (w, cm) in [
        ("w-auto", "m-auto"),
        ("w-typed", "m-typed"),
        ("w-named", "m-named-1"),
        ("w-search", "m-search"),
        ("w-fallback", "m-fallback"),
    ] {
        assert_records(
            strategy,
            &template(&sim, "Deployment", "modes", w).await,
            cm,
            "modes",
            &digest,
        );
    }
    for (w, cm) in [
        ("w-excluded", "m-excluded"),
        ("w-ignored", "m-ignored"),
        ("w-unref", "m-unref"),
        ("w-label", "m-label"),
    ] {
        assert_untouched(strategy, &template(&sim, "Deployment", "modes", w).await, cm);
    }
    assert_untouched(
        strategy,
        &template(&sim, "Deployment", "other", "w-other-ns").await,
        "m-auto",
    );
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_var_strategy_follows_every_annotation_mode() {
    annotation_modes(Strategy::EnvVars).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotation_strategy_follows_every_annotation_mode() {
    annotation_modes(Strategy::Annotations).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_reload_all_rolls_unannotated_workloads_but_not_explicit_opt_outs() {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap("all", "cm", json!({"k": "v1"})));
    seed(
        &sim,
        workload(
            "Deployment",
            "all",
            "plain",
            json!({}),
            json!({}),
            Path::EnvFrom.pod_spec("cm"),
        ),
    );
    seed(
        &sim,
        workload(
            "Deployment",
            "all",
            "opted-out",
            json!({"reloader.stakater.com/auto": "false"}),
            json!({}),
            Path::EnvFrom.pod_spec("cm"),
        ),
    );
    let engine = start(
        &sim,
        Strategy::EnvVars,
        config(),
        MatcherConfig::default().auto_reload_all(true),
    )
    .await;
    engine.wait_baselined(1).await;
    set_data(&sim, "all", "cm", json!({"k": "v2"})).await;
    engine.wait_reloaded(1).await;
    let digest = digest_of(&[("k", "v2")]);
    assert_records(
        Strategy::EnvVars,
        &template(&sim, "Deployment", "all", "plain").await,
        "cm",
        "all",
        &digest,
    );
    assert_untouched(
        Strategy::EnvVars,
        &template(&sim, "Deployment", "all", "opted-out").await,
        "cm",
    );
    engine.stop().await;
}
