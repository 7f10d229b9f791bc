//! Reading back what happened, from the simulator: the state when the drive began (one LIST
//! per kind), the journal of committed writes (times), and every later version of each object
//! (one watch per kind from the starting resourceVersion, after the drive). Turns them into the
//! [`Observed`] input of the accounting.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::{Client, Resource, ResourceExt as _};
use reload_core::hash::{Hasher as _, ReloaderHasher};
use reload_core::{SourceContent, SourceKind};
use reload_strategies::env_var_name;
use serde::de::DeserializeOwned;

use super::accounting::{Observed, SourceVersion, WorkloadVersion};
use super::procs::http;

/// One committed write from `GET /_sim/journal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Verb (`create`, `update`, `patch`, `delete`).
    pub verb: String,
    /// Plural resource.
    pub resource: String,
    /// resourceVersion produced.
    pub rv: u64,
    /// Commit time, nanoseconds.
    pub at_nanos: u64,
}

/// The committed writes after `since`.
pub async fn journal(sim: &str, since: u64) -> anyhow::Result<Vec<Write>> {
    let (_, body) = http(sim, "GET", &format!("/_sim/journal?since={since}")).await?;
    let entries: Vec<serde_json::Value> = serde_json::from_str(&body).context("journal JSON")?;
    Ok(entries
        .iter()
        .filter_map(|e| {
            Some(Write {
                verb: e.get("verb")?.as_str()?.to_owned(),
                resource: e.get("resource")?.as_str()?.to_owned(),
                rv: e.get("resource_version")?.as_u64()?,
                at_nanos: e.get("at_nanos")?.as_u64()?,
            })
        })
        .collect())
}

/// Waits until no write has been committed for `quiet`; returns the last resourceVersion.
pub async fn wait_for_quiet(sim: &str, quiet: Duration, limit: Duration) -> anyhow::Result<u64> {
    let mut last = journal(sim, 0).await?.last().map_or(0, |w| w.rv);
    let mut since = Instant::now();
    let started = Instant::now();
    while since.elapsed() < quiet && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(w) = journal(sim, last).await?.last() {
            last = w.rv;
            since = Instant::now();
        }
    }
    Ok(last)
}

/// A workload kind with a pod template.
trait Templated: Resource<DynamicType = ()> {
    fn template(&self) -> Option<&PodTemplateSpec>;
}

impl Templated for Deployment {
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref().map(|s| &s.template)
    }
}

impl Templated for StatefulSet {
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref().map(|s| &s.template)
    }
}

impl Templated for DaemonSet {
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref().map(|s| &s.template)
    }
}

/// Builds the accounting input: versions of every ConfigMap and workload from the state at
/// `start` (taken by [`snapshot`]) through every write in `writes`.
pub async fn observe(
    client: &Client,
    start: Observed,
    start_rv: u64,
    writes: &[Write],
) -> anyhow::Result<Observed> {
    let at: BTreeMap<u64, u64> = writes.iter().map(|w| (w.rv, w.at_nanos)).collect();
    let mut observed = start;
    for cm in versions::<ConfigMap>(client, start_rv, writes).await? {
        if let Some((key, mut version)) = source_version(&cm) {
            version.at_nanos = at.get(&version.rv).copied().unwrap_or(0);
            observed.sources.entry(key).or_default().push(version);
        }
    }
    let mut workloads = workload_versions(&versions::<Deployment>(client, start_rv, writes).await?);
    workloads.extend(workload_versions(
        &versions::<StatefulSet>(client, start_rv, writes).await?,
    ));
    workloads.extend(workload_versions(
        &versions::<DaemonSet>(client, start_rv, writes).await?,
    ));
    for (key, mut version) in workloads {
        version.at_nanos = at.get(&version.rv).copied().unwrap_or(0);
        observed.workloads.entry(key).or_default().push(version);
    }
    for list in observed.workloads.values_mut() {
        list.sort_by_key(|v| v.rv);
    }
    Ok(observed)
}

/// The state of every ConfigMap and workload now, and the resourceVersion it was read at.
pub async fn snapshot(
    client: &Client,
    references: BTreeMap<String, Vec<String>>,
) -> anyhow::Result<(Observed, u64)> {
    let cms = Api::<ConfigMap>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    let rv = cms
        .metadata
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut observed = Observed {
        references,
        ..Observed::default()
    };
    for (key, version) in cms.items.iter().filter_map(source_version) {
        observed.sources.entry(key).or_default().push(version);
    }
    let lp = ListParams::default();
    let mut found = workload_versions(&Api::<Deployment>::all(client.clone()).list(&lp).await?.items);
    found.extend(workload_versions(
        &Api::<StatefulSet>::all(client.clone()).list(&lp).await?.items,
    ));
    found.extend(workload_versions(
        &Api::<DaemonSet>::all(client.clone()).list(&lp).await?.items,
    ));
    for (key, version) in found {
        observed.workloads.entry(key).or_default().push(version);
    }
    Ok((observed, rv))
}

/// Every version of `K` written after `start_rv` up to the last write of its resource in
/// `writes`, from one watch.
async fn versions<K>(client: &Client, start_rv: u64, writes: &[Write]) -> anyhow::Result<Vec<K>>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let plural = K::plural(&());
    let Some(end) = writes
        .iter()
        .filter(|w| w.resource == plural.as_ref())
        .map(|w| w.rv)
        .max()
    else {
        return Ok(Vec::new());
    };
    let api = Api::<K>::all(client.clone());
    let mut stream = api
        .watch(&WatchParams::default().timeout(60), &start_rv.to_string())
        .await?
        .boxed();
    let mut out = Vec::new();
    while let Some(event) = stream.next().await {
        let object = match event? {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => o,
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(e) => anyhow::bail!("watch of {plural} failed: {e:?}"),
        };
        let rv: u64 = object
            .resource_version()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        out.push(object);
        if rv >= end {
            break;
        }
    }
    Ok(out)
}

fn source_version(cm: &ConfigMap) -> Option<(String, SourceVersion)> {
    let key = format!(
        "{}/{}",
        cm.namespace()?,
        env_var_name(SourceKind::ConfigMap, &cm.name_any())
    );
    let digest = ReloaderHasher
        .digest(&SourceContent::from_config_map(cm))
        .to_string();
    let rv = cm.resource_version()?.parse().ok()?;
    Some((
        key,
        SourceVersion {
            rv,
            at_nanos: 0,
            digest,
        },
    ))
}

fn workload_versions<K: Templated>(objects: &[K]) -> Vec<(String, WorkloadVersion)> {
    objects.iter().filter_map(workload_version).collect()
}

fn workload_version<K: Templated>(object: &K) -> Option<(String, WorkloadVersion)> {
    let ns = object.meta().namespace.clone()?;
    let key = format!("{ns}/{}/{}", K::plural(&()), object.meta().name.as_deref()?);
    let template = object.template()?;
    let spec = template.spec.as_ref()?;
    let recorded = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .flat_map(|c| c.env.iter().flatten())
        .filter(|e| e.name.starts_with("STAKATER_"))
        .filter_map(|e| Some((format!("{ns}/{}", e.name), e.value.clone()?)))
        .collect();
    let rv = object.meta().resource_version.as_deref()?.parse().ok()?;
    let template = serde_json::to_string(template).ok()?;
    Some((
        key,
        WorkloadVersion {
            rv,
            at_nanos: 0,
            template,
            recorded,
        },
    ))
}
