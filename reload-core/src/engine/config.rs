//! [`EngineConfig`]: every knob of the engine, as a builder.

use std::time::Duration;

use super::custom_kind::CustomKind;
use crate::matcher::AnnotationKeys;
use crate::source::SourceKind;
use crate::workload::WorkloadKind;

/// Which namespaces the engine watches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Namespaces {
    /// Every namespace, with one cluster-wide watch per kind.
    All,
    /// Exactly these namespaces, with one watch per namespace and kind (Reloader's scoped mode).
    List(Vec<String>),
    /// Namespaces matching this label selector (Reloader's `--namespace-selector`), followed
    /// live: one set of watches per selected namespace, opened and closed as namespaces gain
    /// or lose the labels (see `NamespaceScope`).
    Selector(String),
}

/// How a CronJob is reloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CronJobMode {
    /// Reloader's behaviour: create one Job from the job template (an off-schedule run); the
    /// CronJob's template is never written, the applied digest is recorded in its metadata.
    #[default]
    CreateJob,
    /// Patch the CronJob's job template like a Deployment's pod template: the next scheduled
    /// run picks the change up, no Job is created.
    PatchTemplate,
}

/// A token-bucket rate: `per_second` tokens refill continuously, at most `burst` are banked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Sustained rate, in tokens per second. Must be positive to ever refill.
    pub per_second: f64,
    /// Bucket size: how many operations may happen back to back.
    pub burst: u32,
}

impl Rate {
    /// A rate of `per_second` with a bucket of `burst`.
    pub fn new(per_second: f64, burst: u32) -> Self {
        Rate { per_second, burst }
    }
}

/// The default [`EngineConfig::resync_period`]: 5 minutes. The check reads no API object and
/// costs one pure decision per workload (about 1–3 µs per workload and source in
/// BENCHMARKS.md's planning figures: tens of milliseconds at 20,000 workloads), negligible
/// every few minutes; and a change lost to a cause nobody foresaw stays lost no longer than a
/// deploy takes to be looked at. Shorter periods buy little: retries and the reconnect check
/// cover the known causes within seconds.
pub const DEFAULT_RESYNC_PERIOD: Duration = Duration::from_secs(300);

/// The configuration of the reload engine.
///
/// Private fields and consuming setters, so adding an option never breaks callers. The library
/// never reads environment variables: the binary maps its flags onto this builder.
///
/// ```
/// use std::time::Duration;
/// use reload_core::engine::{EngineConfig, Namespaces, Rate};
///
/// let config = EngineConfig::default()
///     .namespaces(Namespaces::List(vec!["team-a".into(), "team-b".into()]))
///     .reload_on_delete(true)
///     .debounce(Some(Duration::from_secs(5)))
///     .rollout_rate(Some(Rate::new(1.0, 20)));
/// assert!(config.is_reload_on_delete());
/// ```
///
/// The defaults of the annotation keys follow Reloader's; with overridden keys, pass the
/// matcher's keys too: `EngineConfig::default().matcher_keys(matcher_config.keys())`.
#[derive(Debug, Clone)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent on/off options of a builder, as Reloader's flags"
)]
pub struct EngineConfig {
    namespaces: Namespaces,
    source_label_selector: Option<String>,
    excluded_secret_types: Vec<String>,
    workload_kinds: Vec<WorkloadKind>,
    custom_kinds: Vec<CustomKind>,
    watch_configmaps: bool,
    watch_secrets: bool,
    reload_on_create: bool,
    reload_on_delete: bool,
    baselines: bool,
    concurrency: usize,
    write_rate: Rate,
    debounce: Option<Duration>,
    rollout_rate: Option<Rate>,
    namespace_rollout_rate: Option<Rate>,
    dry_run: bool,
    field_manager: String,
    source_page_size: u32,
    source_annotations: Vec<String>,
    source_labels: Vec<String>,
    named_reload_annotations: Vec<String>,
    max_attempts: u32,
    resync_period: Option<Duration>,
    revert_fight_limit: u32,
    ignored_namespaces: Vec<String>,
    cronjob_mode: CronJobMode,
    csi: bool,
    pause_period_annotation: String,
    paused_at_annotation: String,
    notify_only: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            namespaces: Namespaces::All,
            ignored_namespaces: Vec::new(),
            notify_only: false,
            source_label_selector: None,
            excluded_secret_types: vec!["helm.sh/release.v1".to_owned()],
            workload_kinds: vec![
                WorkloadKind::Deployment,
                WorkloadKind::DaemonSet,
                WorkloadKind::StatefulSet,
                WorkloadKind::CronJob,
                WorkloadKind::Job,
            ],
            custom_kinds: Vec::new(),
            watch_configmaps: true,
            watch_secrets: true,
            reload_on_create: false,
            reload_on_delete: false,
            baselines: true,
            concurrency: 64,
            write_rate: Rate::new(100.0, 200),
            debounce: None,
            rollout_rate: None,
            namespace_rollout_rate: None,
            dry_run: false,
            field_manager: "Reloader".to_owned(),
            source_page_size: 50,
            source_annotations: vec![
                "reloader.stakater.com/ignore".to_owned(),
                "reloader.stakater.com/match".to_owned(),
            ],
            source_labels: Vec::new(),
            named_reload_annotations: vec![
                "configmap.reloader.stakater.com/reload".to_owned(),
                "secret.reloader.stakater.com/reload".to_owned(),
                "secretproviderclass.reloader.stakater.com/reload".to_owned(),
            ],
            max_attempts: 5,
            resync_period: Some(DEFAULT_RESYNC_PERIOD),
            revert_fight_limit: 3,
            cronjob_mode: CronJobMode::CreateJob,
            csi: false,
            pause_period_annotation: "deployment.reloader.stakater.com/pause-period".to_owned(),
            paused_at_annotation: "deployment.reloader.stakater.com/paused-at".to_owned(),
        }
    }
}

impl EngineConfig {
    /// Which namespaces to watch (default: all).
    #[must_use]
    pub fn namespaces(mut self, namespaces: Namespaces) -> Self {
        self.namespaces = namespaces;
        self
    }

    /// Server-side label selector for ConfigMaps and Secrets (Reloader's `--resource-label-selector`).
    #[must_use]
    pub fn source_label_selector(mut self, selector: Option<String>) -> Self {
        self.source_label_selector = selector;
        self
    }

    /// Secret types excluded server-side with `fieldSelector=type!=...` (default: `helm.sh/release.v1`).
    #[must_use]
    pub fn excluded_secret_types(mut self, types: Vec<String>) -> Self {
        self.excluded_secret_types = types;
        self
    }

    /// Workload kinds to watch and reload (default: Deployment, DaemonSet, StatefulSet,
    /// CronJob, Job, as Reloader; Reloader's `--ignored-workload-types` removes kinds here).
    #[must_use]
    pub fn workload_kinds(mut self, kinds: Vec<WorkloadKind>) -> Self {
        self.workload_kinds = kinds;
        self
    }

    /// Watch and reload Argo Rollouts (`argoproj.io/v1alpha1`; Reloader's `--is-Argo-Rollouts`,
    /// default off). When the API server does not serve the kind, the engine reports
    /// [`super::EngineEvent::KindUnavailable`] once and runs without it.
    #[must_use]
    pub fn argo_rollouts(mut self, on: bool) -> Self {
        self.workload_kinds.retain(|k| *k != WorkloadKind::Rollout);
        if on {
            self.workload_kinds.push(WorkloadKind::Rollout);
        }
        self
    }

    /// Watch and reload a custom workload kind (your CRD with a pod template), next to
    /// [`EngineConfig::workload_kinds`]; registering the same kind again replaces it. When the
    /// API server does not serve it, [`super::Engine::run`] reports
    /// [`super::EngineEvent::KindUnavailable`] once and runs without it. See [`CustomKind`].
    #[must_use]
    pub fn custom_kind(mut self, kind: CustomKind) -> Self {
        self.custom_kinds.retain(|k| k.kind() != kind.kind());
        self.custom_kinds.push(kind);
        self
    }

    /// Keeps only the custom kinds `keep` accepts (the engine drops kinds the server lacks).
    pub(super) fn retain_custom_kinds(mut self, keep: impl Fn(&CustomKind) -> bool) -> Self {
        self.custom_kinds.retain(keep);
        self
    }

    /// How CronJobs are reloaded (default [`CronJobMode::CreateJob`], as Reloader).
    #[must_use]
    pub fn cronjob_mode(mut self, mode: CronJobMode) -> Self {
        self.cronjob_mode = mode;
        self
    }

    /// Watch CSI `SecretProviderClassPodStatus` objects as the source of
    /// `SecretProviderClass` changes (Reloader's `--enable-csi-integration`, default off).
    /// When the API server does not serve the kinds, the engine reports
    /// [`super::EngineEvent::KindUnavailable`] once and runs without them.
    #[must_use]
    pub fn csi(mut self, on: bool) -> Self {
        self.csi = on;
        self
    }

    /// Whether ConfigMaps are watched (Reloader's `--resources-to-ignore=configmaps` turns it off).
    #[must_use]
    pub fn watch_configmaps(mut self, on: bool) -> Self {
        self.watch_configmaps = on;
        self
    }

    /// Whether Secrets are watched (Reloader's `--resources-to-ignore=secrets` turns it off).
    #[must_use]
    pub fn watch_secrets(mut self, on: bool) -> Self {
        self.watch_secrets = on;
        self
    }

    /// Roll workloads when a source they use is created (default off, as in Reloader).
    #[must_use]
    pub fn reload_on_create(mut self, on: bool) -> Self {
        self.reload_on_create = on;
        self
    }

    /// Roll workloads when a source they use is deleted (default off, as in Reloader).
    #[must_use]
    pub fn reload_on_delete(mut self, on: bool) -> Self {
        self.reload_on_delete = on;
        self
    }

    /// Record metadata-only baselines for (workload, source) pairs with no recorded digest
    /// (default on). Off gives Reloader's exact write footprint, and then a change made while
    /// the engine was not running is lost, as in Reloader.
    #[must_use]
    pub fn baselines(mut self, on: bool) -> Self {
        self.baselines = on;
        self
    }

    /// How many workloads may be written concurrently (default 64; at least 1). The write rate
    /// limit ([`Self::write_rate`]) caps the request rate; this caps requests in flight.
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Client-side limit on write requests (default 100/s, burst 200: client-go's 5/s would
    /// coalesce Reloader's one-reload-per-change under upstream's load scenarios S1/S7).
    #[must_use]
    pub fn write_rate(mut self, rate: Rate) -> Self {
        self.write_rate = rate;
        self
    }

    /// Per-workload quiet window: triggers within it become one reconcile (default none).
    #[must_use]
    pub fn debounce(mut self, window: Option<Duration>) -> Self {
        self.debounce = window;
        self
    }

    /// Cluster-wide limit on rollouts (default none).
    #[must_use]
    pub fn rollout_rate(mut self, rate: Option<Rate>) -> Self {
        self.rollout_rate = rate;
        self
    }

    /// Per-namespace limit on rollouts (default none).
    #[must_use]
    pub fn namespace_rollout_rate(mut self, rate: Option<Rate>) -> Self {
        self.namespace_rollout_rate = rate;
        self
    }

    /// Decide and report, never write (default off).
    #[must_use]
    pub fn dry_run(mut self, on: bool) -> Self {
        self.dry_run = on;
        self
    }

    /// Field manager of every write (default `Reloader`, as upstream).
    #[must_use]
    pub fn field_manager(mut self, manager: impl Into<String>) -> Self {
        self.field_manager = manager.into();
        self
    }

    /// Page size of source LISTs (default 50: a page of large Secrets is decoded at once).
    #[must_use]
    pub fn source_page_size(mut self, size: u32) -> Self {
        self.source_page_size = size.max(1);
        self
    }

    /// The source annotations the matcher reads (default Reloader's `ignore` and `match`
    /// keys); every other annotation is dropped in the watch stream.
    #[must_use]
    pub fn source_annotations(mut self, keys: Vec<String>) -> Self {
        self.source_annotations = keys;
        self
    }

    /// The source label keys whose values the engine keeps per source and passes to the
    /// matcher in [`crate::SourceMeta::labels`] (default none: the matcher sees no labels).
    /// Only these keys are kept, so memory stays proportional to what is asked.
    ///
    /// ```
    /// use reload_core::engine::EngineConfig;
    ///
    /// let config = EngineConfig::default().source_labels(vec!["example.com/team".into()]);
    /// assert_eq!(config.get_source_labels(), ["example.com/team"]);
    /// ```
    #[must_use]
    pub fn source_labels(mut self, keys: Vec<String>) -> Self {
        self.source_labels = keys;
        self
    }

    /// The workload annotations that name sources without a reference (Reloader's typed
    /// `reload` keys); workloads carrying one are candidates for every source of their namespace.
    #[must_use]
    pub fn named_reload_annotations(mut self, keys: Vec<String>) -> Self {
        self.named_reload_annotations = keys;
        self
    }

    /// Namespaces whose sources and workloads are ignored entirely (Reloader's
    /// `--namespaces-to-ignore`): their events are dropped as they arrive, so nothing there is
    /// baselined, matched or rolled.
    #[must_use]
    pub fn ignored_namespaces(mut self, namespaces: Vec<String>) -> Self {
        self.ignored_namespaces = namespaces;
        self
    }

    /// Report source changes instead of reloading (Reloader's `--webhook-url` mode): each
    /// content change (and create/delete with reload-on-create/-delete) becomes one
    /// `EngineEvent::SourceChanged`, and no workload is ever written (default off).
    #[must_use]
    pub fn notify_only(mut self, on: bool) -> Self {
        self.notify_only = on;
        self
    }

    /// Whether source changes are only reported (see [`EngineConfig::notify_only`]).
    pub fn is_notify_only(&self) -> bool {
        self.notify_only
    }

    /// Whether events of `namespace` are dropped (see [`EngineConfig::ignored_namespaces`]).
    pub fn is_namespace_ignored(&self, namespace: &str) -> bool {
        self.ignored_namespaces.iter().any(|ignored| ignored == namespace)
    }

    /// Takes the source annotations and named-reload keys from the matcher's keys, so an
    /// operator's `--*-annotation` overrides reach the watch and the index too.
    #[must_use]
    pub fn matcher_keys(self, keys: &AnnotationKeys) -> Self {
        let named = SourceKind::ALL
            .iter()
            .map(|k| keys.reload_for(*k).to_owned())
            .collect();
        let source = keys.source_keys().iter().map(|k| (*k).to_owned()).collect();
        let mut config = self.named_reload_annotations(named).source_annotations(source);
        keys.pause_period()
            .clone_into(&mut config.pause_period_annotation);
        keys.paused_at().clone_into(&mut config.paused_at_annotation);
        config
    }

    /// Decisions per workload write before a persisting conflict (409) is reported failed
    /// (default 5). Retryable errors (transport, 429, 5xx) are not counted: they are retried,
    /// with backoff, until the write lands or is no longer wanted.
    #[must_use]
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// How often the engine compares, from its caches alone (no API reads), the digest every
    /// workload records with its sources' current digests, and queues a normal reload for any
    /// that is out of date (default [`DEFAULT_RESYNC_PERIOD`], 5 minutes; `None` or zero turns
    /// it off). The same check also runs after a watch reconnects or re-lists.
    ///
    /// It is a safety net: retries and watch replays already cover the failures we know of,
    /// so this only bounds how long a change lost to an unknown cause can go unnoticed.
    #[must_use]
    pub fn resync_period(mut self, period: Option<Duration>) -> Self {
        self.resync_period = period.filter(|p| !p.is_zero());
        self
    }

    /// How many times the same digest may be re-applied to the same workload before the
    /// engine calls it a revert fight and stops (default 3).
    #[must_use]
    pub fn revert_fight_limit(mut self, n: u32) -> Self {
        self.revert_fight_limit = n.max(1);
        self
    }

    /// Watched namespaces.
    pub fn get_namespaces(&self) -> &Namespaces {
        &self.namespaces
    }

    /// The source label selector, if any.
    pub fn get_source_label_selector(&self) -> Option<&str> {
        self.source_label_selector.as_deref()
    }

    /// Excluded Secret types.
    pub fn get_excluded_secret_types(&self) -> &[String] {
        &self.excluded_secret_types
    }

    /// The server-side field selector for Secrets (`type!=a,type!=b`), if any type is excluded.
    pub fn secret_field_selector(&self) -> Option<String> {
        if self.excluded_secret_types.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .excluded_secret_types
            .iter()
            .map(|t| format!("type!={t}"))
            .collect();
        Some(parts.join(","))
    }

    /// Watched workload kinds.
    pub fn get_workload_kinds(&self) -> &[WorkloadKind] {
        &self.workload_kinds
    }

    /// Registered custom workload kinds (see [`EngineConfig::custom_kind`]).
    pub fn get_custom_kinds(&self) -> &[CustomKind] {
        &self.custom_kinds
    }

    /// Whether ConfigMaps are watched.
    pub fn is_watching_configmaps(&self) -> bool {
        self.watch_configmaps
    }

    /// Whether Secrets are watched.
    pub fn is_watching_secrets(&self) -> bool {
        self.watch_secrets
    }

    /// Whether creates reload.
    pub fn is_reload_on_create(&self) -> bool {
        self.reload_on_create
    }

    /// Whether deletes reload.
    pub fn is_reload_on_delete(&self) -> bool {
        self.reload_on_delete
    }

    /// Whether baselines are written.
    pub fn has_baselines(&self) -> bool {
        self.baselines
    }

    /// Concurrent workload writes.
    pub fn get_concurrency(&self) -> usize {
        self.concurrency
    }

    /// Write rate limit.
    pub fn get_write_rate(&self) -> Rate {
        self.write_rate
    }

    /// Debounce window.
    pub fn get_debounce(&self) -> Option<Duration> {
        self.debounce
    }

    /// Global rollout rate.
    pub fn get_rollout_rate(&self) -> Option<Rate> {
        self.rollout_rate
    }

    /// Per-namespace rollout rate.
    pub fn get_namespace_rollout_rate(&self) -> Option<Rate> {
        self.namespace_rollout_rate
    }

    /// Whether this is a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// Field manager.
    pub fn get_field_manager(&self) -> &str {
        &self.field_manager
    }

    /// Source LIST page size.
    pub fn get_source_page_size(&self) -> u32 {
        self.source_page_size
    }

    /// Source annotations kept.
    pub fn get_source_annotations(&self) -> &[String] {
        &self.source_annotations
    }

    /// Source label keys kept (see [`EngineConfig::source_labels`]).
    pub fn get_source_labels(&self) -> &[String] {
        &self.source_labels
    }

    /// Named-reload annotation keys.
    pub fn get_named_reload_annotations(&self) -> &[String] {
        &self.named_reload_annotations
    }

    /// Attempts per write.
    pub fn get_max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// How CronJobs are reloaded.
    pub fn get_cronjob_mode(&self) -> CronJobMode {
        self.cronjob_mode
    }

    /// Whether Argo Rollouts are watched.
    pub fn is_watching_rollouts(&self) -> bool {
        self.workload_kinds.contains(&WorkloadKind::Rollout)
    }

    /// Whether CSI `SecretProviderClassPodStatus` objects are watched.
    pub fn is_csi(&self) -> bool {
        self.csi
    }

    /// The pause-period annotation key (Deployment metadata).
    pub fn get_pause_period_annotation(&self) -> &str {
        &self.pause_period_annotation
    }

    /// The paused-at annotation key (Deployment metadata, written while paused).
    pub fn get_paused_at_annotation(&self) -> &str {
        &self.paused_at_annotation
    }

    /// The periodic resync, if on ([`EngineConfig::resync_period`]).
    pub fn get_resync_period(&self) -> Option<Duration> {
        self.resync_period
    }

    /// Revert-fight limit.
    pub fn get_revert_fight_limit(&self) -> u32 {
        self.revert_fight_limit
    }
}

#[cfg(test)]
mod tests;
