//! # demo: Reloader in one command
//!
//! Needs **no cluster**: starts the embedded Kubernetes API simulator (`kube-sim`, loopback
//! only), creates namespace `demo`, ConfigMap `app-config`, Secret `app-secret` and Deployment
//! `web` annotated `reloader.stakater.com/auto: "true"` (env from the ConfigMap, a volume from
//! the Secret), runs the reload engine, edits the ConfigMap and prints what a Reloader user
//! sees: the log line, the new `STAKATER_*` env var (or `last-reloaded-from` annotation), the
//! baseline and the API requests the change cost.
//!
//! ```sh
//! cargo run --release --example demo                          # env-vars strategy (default)
//! cargo run --release --example demo -- --strategy annotations
//! cargo run --release --example demo -- --strategy both
//! cargo run --release --example demo -- --kubeconfig ~/.kube/config   # a real cluster
//! ```
//!
//! Only an explicit `--kubeconfig PATH` runs against a real cluster (never `KUBECONFIG`); it then
//! works in a namespace `reloader-demo-<random>` it creates and deletes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use reload_core::engine::baseline::BASELINE_ANNOTATION;
use reload_core::engine::{Engine, EngineConfig, EngineEvent, Namespaces};
use reload_core::hash::ReloaderHasher;
use reload_core::matcher::{AnnotationMatcher, MatcherConfig};
use reload_core::{Digest, ReloadStrategy, SourceKind};
use reload_examples::{Recorder, check, reloader_line, say};
use reload_strategies::{AnnotationStrategy, EnvVarStrategy, LAST_RELOADED_FROM, env_var_name};
use reload_tests::sim::Simulator;
use serde_json::json;

/// Which reload strategy (or both, one pass each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Reloader's default: an env var on the container.
    EnvVars,
    /// Reloader's `--reload-strategy=annotations`.
    Annotations,
    /// One pass with each.
    Both,
}

/// The demo's command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The strategy pass(es) to run.
    pub strategy: Choice,
    /// A real cluster's kubeconfig; `None` runs on the simulator.
    pub kubeconfig: Option<PathBuf>,
}

impl Options {
    /// Parses `--strategy env-vars|annotations|both` and `--kubeconfig PATH`.
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Options> {
        let mut options = Options {
            strategy: Choice::EnvVars,
            kubeconfig: None,
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--strategy" => {
                    options.strategy = match args.next().as_deref() {
                        Some("env-vars") => Choice::EnvVars,
                        Some("annotations") => Choice::Annotations,
                        Some("both") => Choice::Both,
                        other => bail!("--strategy takes env-vars, annotations or both, not {other:?}"),
                    };
                }
                "--kubeconfig" => {
                    let path = args.next().context("--kubeconfig needs a path")?;
                    options.kubeconfig = Some(PathBuf::from(path));
                }
                other => bail!(
                    "unknown argument {other:?}; usage: demo [--strategy env-vars|annotations|both] [--kubeconfig PATH]"
                ),
            }
        }
        Ok(options)
    }

    fn passes(&self) -> Vec<Choice> {
        match self.strategy {
            Choice::Both => vec![Choice::EnvVars, Choice::Annotations],
            one => vec![one],
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    reload_examples::init_tracing();
    let options = Options::parse(std::env::args().skip(1))?;
    run(&options, &mut std::io::stdout()).await
}

/// Runs every pass of the demo, printing to `out`.
pub async fn run(options: &Options, out: &mut dyn Write) -> anyhow::Result<()> {
    for strategy in options.passes() {
        match &options.kubeconfig {
            None => {
                let sim = Simulator::start().await.context("starting the simulator")?;
                say(
                    out,
                    format!("== kube-sim listening on {} (no cluster needed)", sim.url()),
                )?;
                let result = pass(&Target::Simulator(&sim), strategy, out).await;
                sim.shutdown().await;
                result?;
            }
            Some(path) => {
                let client = cluster_client(path).await?;
                say(out, format!("== cluster from {}", path.display()))?;
                pass(&Target::Cluster(client), strategy, out).await?;
            }
        }
    }
    Ok(())
}

enum Target<'a> {
    Simulator(&'a Simulator),
    Cluster(kube::Client),
}

async fn cluster_client(path: &std::path::Path) -> anyhow::Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .context("loading the kubeconfig")?;
    kube::Client::try_from(config).context("building the client")
}

/// One strategy pass: objects, engine, edit, rollout, report, clean-up (real cluster).
async fn pass(target: &Target<'_>, choice: Choice, out: &mut dyn Write) -> anyhow::Result<()> {
    let (client, ns) = match target {
        Target::Simulator(sim) => (sim.client()?, "demo".to_owned()),
        Target::Cluster(client) => (client.clone(), random_namespace()),
    };
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(&PostParams::default(), &named::<Namespace>(&ns, None))
        .await
        .with_context(|| format!("creating namespace {ns}"))?;
    let result = scenario(target, &client, &ns, choice, out).await;
    if matches!(target, Target::Cluster(_)) {
        namespaces
            .delete(&ns, &DeleteParams::default())
            .await
            .with_context(|| format!("deleting namespace {ns}"))?;
        say(out, format!("deleted namespace {ns}"))?;
    }
    result
}

async fn scenario(
    target: &Target<'_>,
    client: &kube::Client,
    ns: &str,
    choice: Choice,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let strategy: Arc<dyn ReloadStrategy> = match choice {
        Choice::Annotations => Arc::new(AnnotationStrategy),
        _ => Arc::new(EnvVarStrategy),
    };
    say(out, format!("== strategy {} in namespace {ns}", strategy.name()))?;
    create_objects(client, ns).await?;
    say(
        out,
        "created ConfigMap app-config, Secret app-secret, Deployment web (reloader.stakater.com/auto: \"true\")",
    )?;

    let recorder = Recorder::new();
    let config = EngineConfig::default().namespaces(Namespaces::List(vec![ns.to_owned()]));
    let engine = Engine::new(
        config,
        Arc::new(AnnotationMatcher::new(MatcherConfig::default())),
        strategy,
        Arc::new(ReloaderHasher),
    )
    .observer(recorder.observer());
    let running = engine.spawn(client.clone());
    let result = watch_the_reload(target, client, ns, choice, &recorder, out).await;
    running.stop().await?;
    result
}

async fn watch_the_reload(
    target: &Target<'_>,
    client: &kube::Client,
    ns: &str,
    choice: Choice,
    recorder: &Recorder,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    recorder
        .wait_for("the engine to list everything", |e| {
            e.contains(&EngineEvent::Synced)
        })
        .await?;
    recorder
        .wait_for("the baseline of web", |e| {
            e.iter().any(|e| matches!(e, EngineEvent::Baselined { .. }))
        })
        .await?;
    let web = deployments.get("web").await.context("reading web")?;
    let baseline = web
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(BASELINE_ANNOTATION))
        .cloned()
        .unwrap_or_default();
    say(
        out,
        format!("baseline (metadata annotation, no restart): {BASELINE_ANNOTATION}={baseline}"),
    )?;

    if let Target::Simulator(sim) = target {
        sim.reset_stats();
    }
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    configmaps
        .patch(
            "app-config",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"GREETING": "hello, reloaded world"}})),
        )
        .await
        .context("editing app-config")?;
    say(out, "edited ConfigMap app-config (GREETING changed)")?;
    recorder
        .wait_for("the rollout of web", |e| {
            e.iter().any(|e| reloader_line(e).is_some())
        })
        .await?;
    for line in recorder.events().iter().filter_map(reloader_line) {
        say(out, format!("level=info msg=\"{line}\""))?;
    }

    // Counted before our own GET below, so they are the engine's requests only.
    if let Target::Simulator(sim) = target {
        let stats = sim.stats();
        let reads = |resource: &str| stats.count("get", resource) + stats.count("list", resource);
        say(
            out,
            format!(
                "API requests for the change: PATCH deployments {}, GET/LIST deployments {}, GET/LIST configmaps {}, GET/LIST secrets {}",
                stats.count("patch", "deployments"),
                reads("deployments"),
                reads("configmaps"),
                reads("secrets"),
            ),
        )?;
        check(
            out,
            reads("deployments") + reads("configmaps") + reads("secrets") == 0,
            "no GET or LIST per change (watches and the in-memory index only)",
        )?;
    }
    let new_digest = recorder
        .events()
        .into_iter()
        .find_map(|e| match e {
            EngineEvent::Reloaded { new_digest, .. } => Some(new_digest),
            _ => None,
        })
        .context("a Reloaded event")?;
    show_recorded_digest(&deployments, choice, &new_digest, out).await?;
    let rollouts = recorder.count(|e| reloader_line(e).is_some());
    say(
        out,
        format!("rollouts of web: {rollouts} (one pod-template write)"),
    )?;
    check(out, rollouts == 1, "exactly one rollout for one change")?;

    Ok(())
}

/// Prints what the strategy wrote on `web`'s pod template and checks it is `new_digest`.
async fn show_recorded_digest(
    deployments: &Api<Deployment>,
    choice: Choice,
    new_digest: &Digest,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let web = deployments.get("web").await.context("reading web")?;
    let template = web.spec.map(|s| s.template).unwrap_or_default();
    if choice == Choice::Annotations {
        let value = template
            .metadata
            .and_then(|m| m.annotations)
            .and_then(|a| a.get(LAST_RELOADED_FROM).cloned());
        say(
            out,
            format!(
                "pod template annotation {LAST_RELOADED_FROM}={}",
                value.as_deref().unwrap_or_default()
            ),
        )?;
        check(
            out,
            value.is_some_and(|v| v.contains(new_digest.as_str())),
            "last-reloaded-from records the new digest",
        )?;
    } else {
        let name = env_var_name(SourceKind::ConfigMap, "app-config");
        let value = template
            .spec
            .and_then(|s| s.containers.into_iter().find(|c| c.name == "app"))
            .and_then(|c| c.env)
            .and_then(|env| env.into_iter().find(|e| e.name == name))
            .and_then(|e| e.value);
        say(
            out,
            format!(
                "container app env {name}={}",
                value.as_deref().unwrap_or_default()
            ),
        )?;
        check(
            out,
            value.as_deref() == Some(new_digest.as_str()),
            "the env var holds the new digest of app-config",
        )?;
    }
    Ok(())
}

/// ConfigMap `app-config`, Secret `app-secret` and Deployment `web` using both.
async fn create_objects(client: &kube::Client, ns: &str) -> anyhow::Result<()> {
    let post = PostParams::default();
    let configmap = ConfigMap {
        metadata: named::<ConfigMap>("app-config", Some(ns)).metadata,
        data: Some(BTreeMap::from([("GREETING".to_owned(), "hello".to_owned())])),
        ..ConfigMap::default()
    };
    Api::<ConfigMap>::namespaced(client.clone(), ns)
        .create(&post, &configmap)
        .await
        .context("creating app-config")?;
    let secret = Secret {
        metadata: named::<Secret>("app-secret", Some(ns)).metadata,
        data: Some(BTreeMap::from([(
            "password".to_owned(),
            ByteString(b"demo-only".to_vec()),
        )])),
        ..Secret::default()
    };
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&post, &secret)
        .await
        .context("creating app-secret")?;
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns,
                     "annotations": {"reloader.stakater.com/auto": "true"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "app", "image": "nginx:1.27",
                        "envFrom": [{"configMapRef": {"name": "app-config"}}],
                        "volumeMounts": [{"name": "secret", "mountPath": "/etc/secret", "readOnly": true}]
                    }],
                    "volumes": [{"name": "secret", "secret": {"secretName": "app-secret"}}]
                }
            }
        }
    }))
    .context("the Deployment manifest")?;
    Api::<Deployment>::namespaced(client.clone(), ns)
        .create(&post, &deployment)
        .await
        .context("creating web")?;
    Ok(())
}

fn named<K: kube::Resource + Default>(name: &str, namespace: Option<&str>) -> K {
    let mut object = K::default();
    *object.meta_mut() = ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        ..ObjectMeta::default()
    };
    object
}

/// `reloader-demo-<8 hex digits>` from the clock and the process id.
fn random_namespace() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("reloader-demo-{:08x}", nanos ^ std::process::id().rotate_left(16))
}
