//! Reading back what happened, from the simulator: the state when the drive began (one LIST
//! per kind), the journal of committed writes (times), and every later version of each object
//! (one watch per kind from the starting resourceVersion, after the drive). Turns them into the
//! [`Observed`] input of the accounting.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec, Secret};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::{Client, Resource, ResourceExt as _};
use reload_core::hash::{Hasher as _, ReloaderHasher};
use reload_core::{SourceContent, SourceKind, trigger};
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

/// The pod-template annotation prefix the bare loop (`bare_loop`) records a ConfigMap's
/// resourceVersion under: `floor.loadtest/<configmap name>: "<rv>"`.
pub const FLOOR_ANNOTATION_PREFIX: &str = "floor.loadtest/";

/// A workload kind with a pod template.
trait Templated: Resource<DynamicType = ()> {
    fn template(&self) -> Option<&PodTemplateSpec>;
    fn paused(&self) -> bool {
        false
    }
}

impl Templated for Deployment {
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref().map(|s| &s.template)
    }
    fn paused(&self) -> bool {
        self.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
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
    let mut sources: Vec<_> = versions::<ConfigMap>(client, start_rv, writes)
        .await?
        .iter()
        .filter_map(|(cm, _)| config_map_version(cm))
        .collect();
    sources.extend(
        versions::<Secret>(client, start_rv, writes)
            .await?
            .iter()
            .filter_map(|(secret, _)| secret_version(secret)),
    );
    for (key, mut version) in sources {
        version.at_nanos = at.get(&version.rv).copied().unwrap_or(0);
        observed.sources.entry(key).or_default().push(version);
    }
    for list in observed.sources.values_mut() {
        list.sort_by_key(|v| v.rv);
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
        for version in list.iter_mut() {
            resolve_floor_records(&mut version.recorded, &observed.sources);
        }
    }
    Ok(observed)
}

/// The bare loop records resourceVersions (`rv:N`), not digests: replaces each with the digest
/// the source had at that version (left as is when no version of the source had it).
fn resolve_floor_records(
    recorded: &mut BTreeMap<String, String>,
    sources: &BTreeMap<String, Vec<SourceVersion>>,
) {
    for (source, value) in recorded.iter_mut() {
        let Some(rv) = value.strip_prefix("rv:").and_then(|v| v.parse::<u64>().ok()) else {
            continue;
        };
        if let Some(version) = sources.get(source).into_iter().flatten().find(|v| v.rv == rv) {
            value.clone_from(&version.digest);
        }
    }
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
    for (key, version) in cms.items.iter().filter_map(config_map_version) {
        observed.sources.entry(key).or_default().push(version);
    }
    let lp = ListParams::default();
    let secrets = Api::<Secret>::all(client.clone()).list(&lp).await?;
    for (key, version) in secrets.items.iter().filter_map(secret_version) {
        observed.sources.entry(key).or_default().push(version);
    }
    let mut found = workload_versions(&live(
        Api::<Deployment>::all(client.clone()).list(&lp).await?.items,
    ));
    found.extend(workload_versions(&live(
        Api::<StatefulSet>::all(client.clone()).list(&lp).await?.items,
    )));
    found.extend(workload_versions(&live(
        Api::<DaemonSet>::all(client.clone()).list(&lp).await?.items,
    )));
    for (key, version) in found {
        observed.workloads.entry(key).or_default().push(version);
    }
    for list in observed.workloads.values_mut() {
        for version in list.iter_mut() {
            resolve_floor_records(&mut version.recorded, &observed.sources);
        }
    }
    Ok((observed, rv))
}

/// Objects of a LIST, none deleted.
fn live<K>(items: Vec<K>) -> Vec<(K, bool)> {
    items.into_iter().map(|o| (o, false)).collect()
}

/// Every version of `K` written after `start_rv` up to the last write of its resource in
/// `writes`, from one watch; `true` marks a deletion.
async fn versions<K>(client: &Client, start_rv: u64, writes: &[Write]) -> anyhow::Result<Vec<(K, bool)>>
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
        let (object, deleted) = match event? {
            WatchEvent::Added(o) | WatchEvent::Modified(o) => (o, false),
            WatchEvent::Deleted(o) => (o, true),
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(e) => anyhow::bail!("watch of {plural} failed: {e:?}"),
        };
        let rv: u64 = object
            .resource_version()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        out.push((object, deleted));
        if rv >= end {
            break;
        }
    }
    Ok(out)
}

fn config_map_version(cm: &ConfigMap) -> Option<(String, SourceVersion)> {
    source_version(cm, SourceKind::ConfigMap, &SourceContent::from_config_map(cm))
}

fn secret_version(secret: &Secret) -> Option<(String, SourceVersion)> {
    source_version(secret, SourceKind::Secret, &SourceContent::from_secret(secret))
}

/// The accounting key and version of a source; only its digest is kept, never its values.
fn source_version<K: Resource>(
    object: &K,
    kind: SourceKind,
    content: &SourceContent,
) -> Option<(String, SourceVersion)> {
    let key = format!(
        "{}/{}",
        object.meta().namespace.as_deref()?,
        env_var_name(kind, object.meta().name.as_deref()?)
    );
    let digest = ReloaderHasher.digest(content).to_string();
    let rv = object.meta().resource_version.as_deref()?.parse().ok()?;
    Some((
        key,
        SourceVersion {
            rv,
            at_nanos: 0,
            digest,
        },
    ))
}

fn workload_versions<K: Templated>(objects: &[(K, bool)]) -> Vec<(String, WorkloadVersion)> {
    objects
        .iter()
        .filter_map(|(object, deleted)| {
            let (key, mut version) = workload_version(object)?;
            version.deleted = *deleted;
            Some((key, version))
        })
        .collect()
}

/// The digests a template records: the env-vars strategy's `STAKATER_*` variables, our trigger
/// state annotation (annotations strategy), and the bare loop's `rv:N` annotations.
fn workload_version<K: Templated>(object: &K) -> Option<(String, WorkloadVersion)> {
    let ns = object.meta().namespace.clone()?;
    let key = format!("{ns}/{}/{}", K::plural(&()), object.meta().name.as_deref()?);
    let template = object.template()?;
    let spec = template.spec.as_ref()?;
    let mut recorded: BTreeMap<String, String> = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .flat_map(|c| c.env.iter().flatten())
        .filter(|e| e.name.starts_with("STAKATER_"))
        .filter_map(|e| Some((format!("{ns}/{}", e.name), e.value.clone()?)))
        .collect();
    let annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    for (kind, name, digest) in trigger::read(&annotations).sources() {
        recorded.insert(format!("{ns}/{}", env_var_name(kind, name)), digest.to_string());
    }
    for (key, rv) in &annotations {
        if let Some(name) = key.strip_prefix(FLOOR_ANNOTATION_PREFIX) {
            recorded.insert(
                format!("{ns}/{}", env_var_name(SourceKind::ConfigMap, name)),
                format!("rv:{rv}"),
            );
        }
    }
    let rv = object.meta().resource_version.as_deref()?.parse().ok()?;
    let template = serde_json::to_string(template).ok()?;
    Some((
        key,
        WorkloadVersion {
            rv,
            at_nanos: 0,
            template,
            recorded,
            paused: object.paused(),
            deleted: false,
        },
    ))
}
