//! The I/O edge of `reloader explain`: GETs of the workload and of each source it references
//! (reduced to digests at once), and the scope checks that need the API server: the namespace
//! selector is evaluated by the server with a name field selector, the resource label selector
//! with one metadata LIST per source kind in the workload's namespace (not one per source).

use std::collections::HashSet;

use anyhow::{Context as _, bail};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DynamicObject, ListParams};
use kube::{Client, Resource};
use reload_core::engine::{SourceRecord, class_resource, pod_status_resource};
use reload_core::source::SecretProviderClassPodStatus;
use reload_core::{Hasher, SourceKind, SourceRef, Workload, WorkloadKind};
use serde::de::DeserializeOwned;

use super::{Context, FoundSource, SourceFacts, explain, text};
use crate::cli::ExplainArgs;
use crate::cli::settings::{Scope, Settings};
use crate::{compose, controller, hash_cmd};

/// Parses `<kind>/<name>` (kinds as kubectl spells them, singular, plural or short).
pub fn parse_target(target: &str) -> anyhow::Result<(WorkloadKind, String)> {
    let Some((kind, name)) = target.split_once('/') else {
        bail!("expected <kind>/<name>, e.g. deployment/web; got {target:?}");
    };
    let kind = match kind.to_ascii_lowercase().as_str() {
        "deployment" | "deployments" | "deploy" => WorkloadKind::Deployment,
        "daemonset" | "daemonsets" | "ds" => WorkloadKind::DaemonSet,
        "statefulset" | "statefulsets" | "sts" => WorkloadKind::StatefulSet,
        "cronjob" | "cronjobs" | "cj" => WorkloadKind::CronJob,
        "job" | "jobs" => WorkloadKind::Job,
        other => {
            bail!("unsupported kind {other:?}: expected deployment, daemonset, statefulset, cronjob or job")
        }
    };
    if name.is_empty() {
        bail!("expected <kind>/<name>; the name is empty");
    }
    Ok((kind, name.to_owned()))
}

async fn get_workload<K>(client: &Client, namespace: &str, name: &str) -> anyhow::Result<Workload>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    for<'a> Workload: TryFrom<&'a K, Error = reload_core::Error>,
{
    let object: K = Api::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .with_context(|| format!("cannot get {} {namespace}/{name}", K::kind(&())))?;
    Ok(Workload::try_from(&object)?)
}

async fn workload(
    client: &Client,
    kind: &WorkloadKind,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Workload> {
    match kind {
        WorkloadKind::Deployment => get_workload::<Deployment>(client, namespace, name).await,
        WorkloadKind::DaemonSet => get_workload::<DaemonSet>(client, namespace, name).await,
        WorkloadKind::StatefulSet => get_workload::<StatefulSet>(client, namespace, name).await,
        WorkloadKind::CronJob => get_workload::<CronJob>(client, namespace, name).await,
        WorkloadKind::Job => get_workload::<Job>(client, namespace, name).await,
        other => bail!("unsupported kind {other}"),
    }
}

/// Whether an object named `name` matches `selector` (evaluated by the server).
async fn selected<K>(api: Api<K>, name: &str, selector: &str) -> anyhow::Result<bool>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let params = ListParams::default()
        .labels(selector)
        .fields(&format!("metadata.name={name}"));
    let list = api
        .list_metadata(&params)
        .await
        .context("cannot evaluate a label selector")?;
    Ok(!list.items.is_empty())
}

/// The names of the objects of `api` that match `selector`: one metadata-only LIST.
async fn selected_names<K>(api: Api<K>, selector: &str) -> anyhow::Result<HashSet<String>>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let list = api
        .list_metadata(&ListParams::default().labels(selector))
        .await
        .context("cannot evaluate --resource-label-selector")?;
    Ok(list.items.into_iter().filter_map(|o| o.metadata.name).collect())
}

/// The ConfigMaps and Secrets of `namespace` that `--resource-label-selector` selects, listed
/// once per kind the workload references (`None` without a selector).
pub(super) async fn label_selected(
    client: &Client,
    settings: &Settings,
    namespace: &str,
    referenced: &[SourceRef],
) -> anyhow::Result<Option<(HashSet<String>, HashSet<String>)>> {
    let Some(selector) = &settings.resource_label_selector else {
        return Ok(None);
    };
    let uses = |kind| referenced.iter().any(|id| id.kind == kind);
    let configmaps = if uses(SourceKind::ConfigMap) {
        selected_names(Api::<ConfigMap>::namespaced(client.clone(), namespace), selector).await?
    } else {
        HashSet::new()
    };
    let secrets = if uses(SourceKind::Secret) {
        selected_names(Api::<Secret>::namespaced(client.clone(), namespace), selector).await?
    } else {
        HashSet::new()
    };
    Ok(Some((configmaps, secrets)))
}

async fn namespace_scope(
    client: &Client,
    settings: &Settings,
    namespace: &str,
) -> anyhow::Result<Result<(), String>> {
    Ok(match &settings.scope {
        Scope::Namespaces(list) if !list.iter().any(|n| n == namespace) => {
            Err(format!("not in --namespaces ({})", list.join(", ")))
        }
        Scope::Single(single) if single != namespace => Err(format!("KUBERNETES_NAMESPACE is {single:?}")),
        Scope::Global {
            ignored_namespaces, ..
        } if ignored_namespaces.iter().any(|n| n == namespace) => {
            Err("listed in --namespaces-to-ignore".to_owned())
        }
        Scope::Global {
            namespace_selector: Some(selector),
            ..
        } => {
            if selected(Api::<Namespace>::all(client.clone()), namespace, selector).await? {
                Ok(())
            } else {
                Err(format!(
                    "the namespace's labels do not match --namespace-selector {selector:?}"
                ))
            }
        }
        _ => Ok(()),
    })
}

pub(super) async fn source(
    client: &Client,
    selected: Option<&(HashSet<String>, HashSet<String>)>,
    hasher: &dyn Hasher,
    keep: &[String],
    id: SourceRef,
) -> anyhow::Result<SourceFacts> {
    let ns = id.namespace.as_str();
    let (record, secret_type) = match id.kind {
        SourceKind::ConfigMap => {
            let found = Api::<ConfigMap>::namespaced(client.clone(), ns)
                .get_opt(&id.name)
                .await
                .with_context(|| format!("cannot get ConfigMap {ns}/{}", id.name))?;
            (
                found.and_then(|cm| SourceRecord::from_configmap(&cm, hasher, keep)),
                None,
            )
        }
        SourceKind::Secret => {
            let found = Api::<Secret>::namespaced(client.clone(), ns)
                .get_opt(&id.name)
                .await
                .with_context(|| format!("cannot get Secret {ns}/{}", id.name))?;
            // Reduced to its digest here: the data is dropped with `secret`.
            match found {
                Some(secret) => (
                    SourceRecord::from_secret(&secret, hasher, keep),
                    secret.type_.clone(),
                ),
                None => (None, None),
            }
        }
        SourceKind::SecretProviderClass => (csi_class(client, hasher, keep, &id).await?, None),
    };
    let Some(record) = record else {
        return Ok(SourceFacts { id, found: None });
    };
    let selected_by_labels = match (selected, id.kind) {
        (Some((configmaps, _)), SourceKind::ConfigMap) => configmaps.contains(&id.name),
        (Some((_, secrets)), SourceKind::Secret) => secrets.contains(&id.name),
        _ => true,
    };
    Ok(SourceFacts {
        id,
        found: Some(FoundSource {
            record,
            secret_type,
            selected_by_labels,
        }),
    })
}

/// A `SecretProviderClass` as the engine holds it: the digest of the newest pod status
/// reporting on it (highest resourceVersion), with the class's kept annotations. `None` when no
/// pod status reports on it yet, or the CSI driver's kinds are not served.
async fn csi_class(
    client: &Client,
    hasher: &dyn Hasher,
    keep: &[String],
    id: &SourceRef,
) -> anyhow::Result<Option<SourceRecord>> {
    let ns = id.namespace.as_str();
    let statuses = Api::<DynamicObject>::namespaced_with(client.clone(), ns, &pod_status_resource());
    let list = match statuses.list(&ListParams::default()).await {
        Ok(list) => list,
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(None),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot list SecretProviderClassPodStatuses in {ns}"));
        }
    };
    let newest = list
        .items
        .iter()
        .filter_map(|object| {
            let status = SecretProviderClassPodStatus::from_json(&serde_json::to_value(object).ok()?).ok()?;
            (status.source_ref() == *id).then(|| (object.metadata.resource_version.clone(), status))
        })
        .max_by(|(a, _), (b, _)| newer_version(a.as_deref(), b.as_deref()));
    let Some((resource_version, status)) = newest else {
        return Ok(None);
    };
    let class = Api::<DynamicObject>::namespaced_with(client.clone(), ns, &class_resource())
        .get_opt(&id.name)
        .await
        .with_context(|| format!("cannot get SecretProviderClass {ns}/{}", id.name))?;
    let annotations = class
        .and_then(|class| class.metadata.annotations)
        .unwrap_or_default()
        .into_iter()
        .filter(|(key, _)| keep.contains(key))
        .collect();
    Ok(Some(SourceRecord::from_pod_status(
        &status,
        resource_version,
        hasher,
        annotations,
    )))
}

/// Orders resourceVersions numerically (as the API server issues them), text as a fallback.
fn newer_version(a: Option<&str>, b: Option<&str>) -> std::cmp::Ordering {
    let number = |v: Option<&str>| v.and_then(|v| v.parse::<u64>().ok());
    match (number(a), number(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => a.cmp(&b),
    }
}

/// `reloader explain`: fetches, explains, prints (text or `-o json`).
///
/// # Errors
/// Invalid flags, an unreachable API server, a missing workload.
pub fn run(args: &ExplainArgs) -> anyhow::Result<()> {
    let env = |key: &str| std::env::var(key).ok();
    let settings = crate::cli::settings::resolve(&args.run, &env)?;
    let (kind, name) = parse_target(&args.target)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let explanation = runtime.block_on(async {
        let client = controller::connect().await?;
        let workload = workload(&client, &kind, &args.namespace, &name).await?;
        let hasher: Box<dyn Hasher> = match &settings.hash_key_file {
            Some(path) => Box::new(hash_cmd::read_hash_key(path)?),
            None => Box::new(reload_core::hash::ReloaderHasher),
        };
        let config = compose::engine_config(&settings);
        let referenced = workload.referenced_sources();
        let selected = label_selected(&client, &settings, &args.namespace, &referenced).await?;
        let mut sources = Vec::new();
        for id in referenced {
            sources.push(
                source(
                    &client,
                    selected.as_ref(),
                    hasher.as_ref(),
                    config.get_source_annotations(),
                    id,
                )
                .await?,
            );
        }
        let matcher = compose::matcher(&settings);
        let strategy = compose::strategy(&settings);
        let context = Context {
            config: &config,
            matcher: &matcher,
            strategy: strategy.as_ref(),
            keys: &settings.keys,
            namespace_scope: namespace_scope(&client, &settings, &args.namespace).await?,
        };
        anyhow::Ok(explain(&workload, &sources, &context))
    })?;
    if args.output == "json" {
        println!("{}", serde_json::to_string_pretty(&explanation)?);
    } else {
        print!("{}", text(&explanation));
    }
    Ok(())
}
