//! The kube edge: kube-runtime watchers turned into [`Watcher`]s of reduced records, and the
//! [`KubeWriter`] that PATCHes workloads. With the private `kube_batch` module (CronJob and Job writes),
//! the only files of the engine that call the API.

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ObjectMeta, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::hash::Hasher;
use crate::watch::{WatchEvent, Watcher};
use crate::workload::{Workload, WorkloadKind, WorkloadRef};

use super::apply::{WorkloadWriter, WriteError};
use super::batch::HOLDER_LABEL;
use super::config::{CronJobMode, EngineConfig, Namespaces};
use super::custom_kind::CustomKind;
use super::index::IndexedWorkload;
use super::kube_batch::{self, PendingRecreates};
use super::kube_csi;
use super::kube_rollout;
use super::observer::{EngineEvent, Recovery};
use super::run::{Engine, SourceWatcher, WorkloadWatcher};
use super::sources::SourceRecord;

/// A [`Watcher`] over a boxed stream of already converted events.
pub struct StreamWatcher<T> {
    stream: BoxStream<'static, crate::Result<WatchEvent<T>>>,
}

impl<T> StreamWatcher<T> {
    /// Wraps a stream.
    pub fn new(stream: BoxStream<'static, crate::Result<WatchEvent<T>>>) -> Self {
        StreamWatcher { stream }
    }
}

#[async_trait]
impl<T: Send> Watcher<T> for StreamWatcher<T> {
    async fn next_event(&mut self) -> Option<crate::Result<WatchEvent<T>>> {
        self.stream.next().await
    }
}

pub(super) fn watch<K, T>(
    api: Api<K>,
    config: watcher::Config,
    reduce: impl Fn(&K) -> Option<T> + Send + Sync + 'static,
) -> Box<dyn Watcher<T>>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
    K::DynamicType: Default,
    T: Send + 'static,
{
    let kind = K::kind(&K::DynamicType::default()).into_owned();
    watch_fallible(api, config, kind, move |k: &K| reduce(k).map(Ok))
}

/// Maps a kube-runtime event through a reducer that may reject an object with an error (an
/// object the engine reports and skips); a rejected delete is dropped.
fn map_fallible<K, T>(
    event: Event<K>,
    reduce: &impl Fn(&K) -> Option<crate::Result<T>>,
) -> Option<crate::Result<WatchEvent<T>>> {
    match event {
        Event::Apply(o) => reduce(&o).map(|r| r.map(WatchEvent::Applied)),
        Event::Delete(o) => reduce(&o)
            .and_then(Result::ok)
            .map(|t| Ok(WatchEvent::Deleted(t))),
        Event::Init => Some(Ok(WatchEvent::ResyncStarted)),
        Event::InitApply(o) => reduce(&o).map(|r| r.map(WatchEvent::ResyncItem)),
        Event::InitDone => Some(Ok(WatchEvent::ResyncDone)),
    }
}

/// A [`Watcher`] of `api` whose objects are reduced in the stream; `kind` names watch errors.
pub(super) fn watch_fallible<K, T>(
    api: Api<K>,
    config: watcher::Config,
    kind: String,
    reduce: impl Fn(&K) -> Option<crate::Result<T>> + Send + Sync + 'static,
) -> Box<dyn Watcher<T>>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
    T: Send + 'static,
{
    let stream = watcher::watcher(api, config)
        .default_backoff()
        .filter_map(move |item| {
            let mapped = match item {
                Ok(event) => map_fallible(event, &reduce),
                Err(error) => Some(Err(crate::Error::Watch {
                    kind: kind.clone(),
                    problem: error.to_string(),
                })),
            };
            std::future::ready(mapped)
        })
        .boxed();
    Box::new(StreamWatcher::new(stream))
}

fn apis<K>(client: &Client, namespaces: &Namespaces) -> Vec<Api<K>>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespaces {
        Namespaces::All => vec![Api::all(client.clone())],
        Namespaces::List(list) => list
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect(),
        // One set of watches per selected namespace, opened by the engine (`NamespaceScope`).
        Namespaces::Selector(_) => Vec::new(),
    }
}

/// The source watchers of `config`: ConfigMaps and Secrets, per namespace in list mode, with
/// the label selector, the Secret type exclusion as a field selector, bounded pages, and every
/// object reduced to a [`SourceRecord`] in the stream (data never leaves it); with
/// [`EngineConfig::csi`], the CSI pod statuses too (the private `kube_csi` module).
pub fn source_watchers(
    client: &Client,
    config: &EngineConfig,
    hasher: &Arc<dyn Hasher>,
) -> Vec<SourceWatcher> {
    let mut base = watcher::Config::default().page_size(config.get_source_page_size());
    if let Some(selector) = config.get_source_label_selector() {
        base = base.labels(selector);
    }
    let keep: Arc<[String]> = config.get_source_annotations().into();
    let labels: Arc<[String]> = config.get_source_labels().into();
    let mut out = Vec::new();
    if config.is_watching_configmaps() {
        for api in apis::<ConfigMap>(client, config.get_namespaces()) {
            let (hasher, keep, labels) = (hasher.clone(), keep.clone(), labels.clone());
            out.push(watch(api, base.clone(), move |cm: &ConfigMap| {
                SourceRecord::from_configmap(cm, hasher.as_ref(), &keep)
                    .map(|record| with_labels(record, &cm.metadata, &labels))
            }));
        }
    }
    if config.is_watching_secrets() {
        let mut secret_config = base.clone();
        if let Some(fields) = config.secret_field_selector() {
            secret_config = secret_config.fields(&fields);
        }
        for api in apis::<Secret>(client, config.get_namespaces()) {
            let (hasher, keep, labels) = (hasher.clone(), keep.clone(), labels.clone());
            out.push(watch(api, secret_config.clone(), move |s: &Secret| {
                SourceRecord::from_secret(s, hasher.as_ref(), &keep)
                    .map(|record| with_labels(record, &s.metadata, &labels))
            }));
        }
    }
    if config.is_csi() {
        out.extend(kube_csi::csi_watchers(client, config, hasher));
    }
    out
}

/// `record` with the labels of `meta` named in `keys` ([`EngineConfig::source_labels`]); every
/// other label is dropped in the stream, and with no keys nothing is kept or allocated.
fn with_labels(mut record: SourceRecord, meta: &ObjectMeta, keys: &[String]) -> SourceRecord {
    if !keys.is_empty() {
        record.labels = meta
            .labels
            .iter()
            .flatten()
            .filter(|(k, _)| keys.iter().any(|kept| kept == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    }
    record
}

/// The indexed form of a typed workload (core conversion plus server metadata); `None` when the
/// object cannot be read (no name, namespace or pod template).
fn indexed<K>(object: &K) -> Option<IndexedWorkload>
where
    K: Resource<DynamicType = ()>,
    for<'a> Workload: TryFrom<&'a K, Error = crate::Error>,
{
    let workload = Workload::try_from(object).ok()?;
    Some(IndexedWorkload::new(workload).with_metadata(object.meta()))
}

fn deployment(d: &Deployment) -> Option<IndexedWorkload> {
    let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    indexed(d).map(|w| w.with_paused(paused))
}

fn daemonset(d: &DaemonSet) -> Option<IndexedWorkload> {
    indexed(d)
}

fn statefulset(s: &StatefulSet) -> Option<IndexedWorkload> {
    indexed(s)
}

pub(super) fn cronjob(c: &CronJob) -> Option<IndexedWorkload> {
    indexed(c)
}

/// A Job as indexed; `None` for a holder Job (a copy kept by an interrupted reload, never a
/// workload of its own).
pub(super) fn job(j: &Job) -> Option<IndexedWorkload> {
    if j.metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(HOLDER_LABEL))
    {
        return None;
    }
    indexed(j)
}

/// The workload watchers of `config` (Deployment, DaemonSet, StatefulSet, CronJob, Job, Argo
/// Rollout, and every [`EngineConfig::custom_kind`]). Rollouts and custom kinds are watched as
/// given: [`Engine::run`] drops a kind first when the API server does not serve it.
pub fn workload_watchers(client: &Client, config: &EngineConfig) -> Vec<WorkloadWatcher> {
    let mut out = Vec::new();
    for kind in config.get_workload_kinds() {
        match kind {
            WorkloadKind::Deployment => {
                for api in apis::<Deployment>(client, config.get_namespaces()) {
                    out.push(watch(api, watcher::Config::default(), deployment));
                }
            }
            WorkloadKind::DaemonSet => {
                for api in apis::<DaemonSet>(client, config.get_namespaces()) {
                    out.push(watch(api, watcher::Config::default(), daemonset));
                }
            }
            WorkloadKind::StatefulSet => {
                for api in apis::<StatefulSet>(client, config.get_namespaces()) {
                    out.push(watch(api, watcher::Config::default(), statefulset));
                }
            }
            WorkloadKind::CronJob => {
                for api in apis::<CronJob>(client, config.get_namespaces()) {
                    out.push(watch(api, watcher::Config::default(), cronjob));
                }
            }
            WorkloadKind::Job => {
                // Holder Jobs (copies kept by interrupted reloads) are not workloads.
                let without_holders = watcher::Config::default().labels(&format!("!{HOLDER_LABEL}"));
                for api in apis::<Job>(client, config.get_namespaces()) {
                    out.push(watch(api, without_holders.clone(), job));
                }
            }
            WorkloadKind::Rollout => {
                for api in kube_rollout::rollout_kind().apis(client, config.get_namespaces()) {
                    out.push(watch_fallible(
                        api,
                        watcher::Config::default(),
                        "Rollout".to_owned(),
                        kube_rollout::rollout,
                    ));
                }
            }
            _ => {}
        }
    }
    for custom in config.get_custom_kinds() {
        out.extend(custom.watchers(client, config.get_namespaces()));
    }
    out
}

/// Writes Deployments, DaemonSets and StatefulSets with strategic-merge PATCHes, CronJobs by
/// creating a Job from their job template and Jobs by recreating them
/// (the private `kube_batch` module), Argo Rollouts and [`CustomKind`]s by merge patch (the
/// private `kube_rollout` module, [`CustomKind::write`]).
pub struct KubeWriter {
    client: Client,
    params: PatchParams,
    pending: Arc<PendingRecreates>,
    cronjob_mode: CronJobMode,
    custom_kinds: Vec<CustomKind>,
}

impl KubeWriter {
    /// A writer using `field_manager` for every PATCH.
    pub fn new(client: Client, field_manager: &str) -> Self {
        KubeWriter {
            client,
            params: PatchParams {
                field_manager: Some(field_manager.to_owned()),
                ..PatchParams::default()
            },
            pending: Arc::default(),
            cronjob_mode: CronJobMode::CreateJob,
            custom_kinds: Vec::new(),
        }
    }

    /// The custom kinds this writer writes; must match the engine's
    /// [`EngineConfig::custom_kind`]s (other `WorkloadKind::Custom` workloads get 422).
    #[must_use]
    pub fn custom_kinds(mut self, kinds: Vec<CustomKind>) -> Self {
        self.custom_kinds = kinds;
        self
    }

    fn custom(&self, id: &WorkloadRef) -> Result<&CustomKind, WriteError> {
        self.custom_kinds
            .iter()
            .find(|k| *k.kind() == id.kind)
            .ok_or_else(|| unsupported(id))
    }

    /// How CronJobs are written (default [`CronJobMode::CreateJob`]); must match the engine's
    /// [`EngineConfig::cronjob_mode`].
    #[must_use]
    pub fn cronjob_mode(mut self, mode: CronJobMode) -> Self {
        self.cronjob_mode = mode;
        self
    }
}

pub(super) fn write_error(error: kube::Error) -> WriteError {
    match error {
        kube::Error::Api(status) => WriteError {
            code: status.code,
            retry_after: status
                .details
                .as_ref()
                .filter(|d| d.retry_after_seconds > 0)
                .map(|d| std::time::Duration::from_secs(u64::from(d.retry_after_seconds))),
            message: status.message,
        },
        other => WriteError::new(0, other.to_string()),
    }
}

fn unsupported(id: &WorkloadRef) -> WriteError {
    WriteError::new(422, format!("the engine cannot write {}", id.kind))
}

#[async_trait]
impl WorkloadWriter for KubeWriter {
    async fn patch(&self, id: &WorkloadRef, body: &Value) -> Result<IndexedWorkload, WriteError> {
        let patch = Patch::Strategic(body);
        let (c, ns, name, p) = (
            self.client.clone(),
            id.namespace.as_str(),
            id.name.as_str(),
            &self.params,
        );
        let state = match id.kind {
            WorkloadKind::Deployment => deployment(
                &Api::namespaced(c, ns)
                    .patch(name, p, &patch)
                    .await
                    .map_err(write_error)?,
            ),
            WorkloadKind::DaemonSet => daemonset(
                &Api::namespaced(c, ns)
                    .patch(name, p, &patch)
                    .await
                    .map_err(write_error)?,
            ),
            WorkloadKind::StatefulSet => statefulset(
                &Api::namespaced(c, ns)
                    .patch(name, p, &patch)
                    .await
                    .map_err(write_error)?,
            ),
            WorkloadKind::CronJob if self.cronjob_mode == CronJobMode::PatchTemplate => cronjob(
                &Api::namespaced(c, ns)
                    .patch(name, p, &patch)
                    .await
                    .map_err(write_error)?,
            ),
            WorkloadKind::CronJob => {
                return kube_batch::write_cronjob(&self.client, &self.params, id, body).await;
            }
            WorkloadKind::Rollout => {
                return kube_rollout::write_rollout(&self.client, &self.params, id, body).await;
            }
            WorkloadKind::Job => {
                return Box::pin(kube_batch::write_job(
                    &self.client,
                    &self.params,
                    &self.pending,
                    id,
                    body,
                ))
                .await;
            }
            WorkloadKind::Custom(_) => {
                return self.custom(id)?.write(&self.client, &self.params, id, body).await;
            }
        };
        state.ok_or_else(|| WriteError::new(422, "the server returned a workload without a pod template"))
    }

    async fn get(&self, id: &WorkloadRef) -> Result<IndexedWorkload, WriteError> {
        let (c, ns, name) = (self.client.clone(), id.namespace.as_str(), id.name.as_str());
        let state = match id.kind {
            WorkloadKind::Deployment => {
                deployment(&Api::namespaced(c, ns).get(name).await.map_err(write_error)?)
            }
            WorkloadKind::DaemonSet => {
                daemonset(&Api::namespaced(c, ns).get(name).await.map_err(write_error)?)
            }
            WorkloadKind::StatefulSet => {
                statefulset(&Api::namespaced(c, ns).get(name).await.map_err(write_error)?)
            }
            WorkloadKind::CronJob => cronjob(&Api::namespaced(c, ns).get(name).await.map_err(write_error)?),
            WorkloadKind::Job => job(&Api::namespaced(c, ns).get(name).await.map_err(write_error)?),
            WorkloadKind::Rollout => return kube_rollout::rollout_kind().get(&self.client, id).await,
            WorkloadKind::Custom(_) => return self.custom(id)?.get(&self.client, id).await,
        };
        state.ok_or_else(|| WriteError::new(422, "the server returned a workload without a pod template"))
    }

    /// Finishes the Job reloads a killed process left half done (their holder Jobs), when the
    /// engine watches Jobs.
    async fn recover(&self, config: &EngineConfig) -> Vec<Recovery> {
        if !config.get_workload_kinds().contains(&WorkloadKind::Job) {
            return Vec::new();
        }
        Box::pin(kube_batch::recover_jobs(&self.client, config.get_namespaces())).await
    }
}

impl Engine {
    /// Runs the engine against a Kubernetes API through `client` until `shutdown` resolves:
    /// builds the watchers of the config and a [`KubeWriter`], then [`Engine::run_with`].
    ///
    /// ```no_run
    /// # async fn demo(client: kube::Client, engine: reload_core::engine::Engine) -> reload_core::Result<()> {
    /// engine.run(client, async { let _ = tokio::signal::ctrl_c().await; }).await
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Engine::run_with`].
    pub async fn run(
        self,
        client: Client,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> crate::Result<()> {
        let mut engine = self;
        if engine.config.is_watching_rollouts()
            && let Err(cause) = kube_rollout::check_served(&client, &kube_rollout::rollout_resource()).await
        {
            engine.observer.observe(&EngineEvent::KindUnavailable {
                kind: "Rollout".to_owned(),
                cause,
            });
            engine.config = engine.config.argo_rollouts(false);
        }
        if engine.config.is_csi()
            && let Err(cause) = kube_rollout::check_served(&client, &kube_csi::pod_status_resource()).await
        {
            engine.observer.observe(&EngineEvent::KindUnavailable {
                kind: "SecretProviderClassPodStatus".to_owned(),
                cause,
            });
            engine.config = engine.config.csi(false);
        }
        let mut unserved = Vec::new();
        for custom in engine.config.get_custom_kinds() {
            if let Err(cause) = kube_rollout::check_served(&client, custom.resource()).await {
                engine.observer.observe(&EngineEvent::KindUnavailable {
                    kind: custom.kind().to_string(),
                    cause,
                });
                unserved.push(custom.kind().clone());
            }
        }
        engine.config = engine
            .config
            .retain_custom_kinds(|k| !unserved.contains(k.kind()));
        let sources = source_watchers(&client, &engine.config, &engine.hasher);
        let workloads = workload_watchers(&client, &engine.config);
        let scope = super::namespaces::NamespaceScope::kube(&client, &engine.config, &engine.hasher);
        let writer = KubeWriter::new(client, engine.config.get_field_manager())
            .cronjob_mode(engine.config.get_cronjob_mode())
            .custom_kinds(engine.config.get_custom_kinds().to_vec());
        engine
            .run_scoped(sources, workloads, scope, Arc::new(writer), shutdown)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "reducers take watched objects by reference"
    )]
    fn reduce(n: &u32) -> Option<u32> {
        (*n != 0).then_some(*n * 10)
    }

    #[test]
    fn init_events_become_a_resync_bracket_and_objects_are_reduced() {
        assert_eq!(map_event(Event::Init, &reduce), Some(WatchEvent::ResyncStarted));
        assert_eq!(
            map_event(Event::InitApply(1), &reduce),
            Some(WatchEvent::ResyncItem(10))
        );
        assert_eq!(map_event(Event::InitDone, &reduce), Some(WatchEvent::ResyncDone));
        assert_eq!(map_event(Event::Apply(2), &reduce), Some(WatchEvent::Applied(20)));
        assert_eq!(
            map_event(Event::Delete(3), &reduce),
            Some(WatchEvent::Deleted(30))
        );
    }

    /// The infallible view the typed watches use.
    fn map_event(event: Event<u32>, reduce: &impl Fn(&u32) -> Option<u32>) -> Option<WatchEvent<u32>> {
        map_fallible(event, &|n: &u32| reduce(n).map(Ok)).map(|r| r.expect("infallible reducer"))
    }

    #[test]
    fn objects_the_reducer_fails_are_reported_except_on_delete() {
        let fail = |n: &u32| -> Option<crate::Result<u32>> {
            Some(Err(crate::Error::ReadObject {
                kind: "K".into(),
                namespace: "ns".into(),
                name: n.to_string(),
                problem: "no".into(),
            }))
        };
        assert!(matches!(map_fallible(Event::Apply(1), &fail), Some(Err(_))));
        assert!(matches!(map_fallible(Event::InitApply(1), &fail), Some(Err(_))));
        assert!(map_fallible(Event::Delete(1), &fail).is_none());
    }

    #[test]
    fn objects_the_reducer_rejects_are_dropped() {
        assert_eq!(map_event(Event::Apply(0), &reduce), None);
        assert_eq!(map_event(Event::InitApply(0), &reduce), None);
    }

    #[test]
    fn only_the_configured_source_labels_are_kept() {
        let cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "cfg", "namespace": "ns",
                         "labels": {"example.com/team": "payments", "app": "shop"}},
            "data": {"k": "v"}
        }))
        .expect("a valid ConfigMap");
        let record = SourceRecord::from_configmap(&cm, &crate::hash::ReloaderHasher, &[]).expect("named");
        let kept = with_labels(record.clone(), &cm.metadata, &["example.com/team".to_owned()]);
        assert_eq!(
            kept.meta().labels.into_iter().collect::<Vec<_>>(),
            vec![("example.com/team".to_owned(), "payments".to_owned())]
        );
        let none = with_labels(record, &cm.metadata, &[]);
        assert!(none.labels.is_empty(), "no keys configured: no labels kept");
        assert!(none.meta().labels.is_empty());
    }

    #[test]
    fn a_holder_job_is_never_indexed_and_a_plain_job_is() {
        let job_of = |labels: Value| -> Job {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "j", "namespace": "ns", "labels": labels},
                "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "x"}]}}}
            }))
            .expect("a valid Job")
        };
        assert!(job(&job_of(serde_json::json!({"app": "batch"}))).is_some());
        assert!(job(&job_of(serde_json::json!({HOLDER_LABEL: "once"}))).is_none());
    }

    #[test]
    fn api_errors_keep_their_code_and_retry_after() {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "code": 429, "reason": "TooManyRequests", "message": "slow down",
            "details": { "retryAfterSeconds": 3 }
        }))
        .expect("a valid Status");
        let error = write_error(kube::Error::Api(Box::new(status)));
        assert_eq!(error.code, 429);
        assert_eq!(error.retry_after, Some(std::time::Duration::from_secs(3)));
        assert!(error.is_retryable());
    }
}
