//! Engine-side helpers of the fault suite: a world that Reloader already reconciled.

use rand::Rng as _;
use rand::rngs::StdRng;
use reload_core::SourceKind;
use reload_strategies::{LAST_RELOADED_FROM, LastReloadedFrom, env_var_name};
use reload_tests::sim::Simulator;
use serde_json::json;

use super::invariant::source_digest;
use super::{Source, World, source_object, workload_object};
use crate::engine_support::Strategy;

/// `count` auto workloads in namespace `m`, each using one source whose data is not the
/// initial one, and each carrying Reloader's own record of that data (the `STAKATER_*` env var,
/// or `last-reloaded-from`), as Reloader leaves a cluster it reconciled.
pub fn seed_migrated_world(sim: &Simulator, rng: &mut StdRng, strategy: Strategy, count: usize) -> World {
    let _ = sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "m"}}));
    let mut world = World {
        sources: Vec::new(),
        workloads: Vec::new(),
    };
    for i in 0..count {
        let source = Source {
            secret: rng.random_bool(0.3),
            namespace: "m".to_owned(),
            name: format!("app.{i}"),
        };
        let object = source_object(&source, &format!("current-{i}"));
        sim.seed(object.clone()).expect("source seeded");
        let kind = if source.secret {
            SourceKind::Secret
        } else {
            SourceKind::ConfigMap
        };
        let digest = source_digest(kind, &object).expect("digest");
        let name = format!("w-{i}");
        let mut workload = workload_object("Deployment", "m", &name, &[&source], rng);
        match strategy {
            Strategy::EnvVars => {
                workload["spec"]["template"]["spec"]["containers"][0]["env"] =
                    json!([{"name": env_var_name(kind, &source.name), "value": digest.as_str()}]);
            }
            Strategy::Annotations => {
                let record = LastReloadedFrom {
                    kind: kind.reloader_type().to_owned(),
                    name: source.name.clone(),
                    namespace: "m".to_owned(),
                    hash: digest.as_str().to_owned(),
                    container_refs: vec!["app".to_owned()],
                    observed_at: 1_714_557_600,
                };
                workload["spec"]["template"]["metadata"]["annotations"] =
                    json!({LAST_RELOADED_FROM: record.to_json()});
            }
        }
        sim.seed(workload).expect("workload seeded");
        world.sources.push(source);
        world
            .workloads
            .push(("Deployment".to_owned(), "m".to_owned(), name));
    }
    world
}
