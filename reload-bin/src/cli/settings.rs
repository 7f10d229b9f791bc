//! Validated settings: the command line and Reloader's environment variables, checked once at
//! start-up. Where Reloader only warns (cosmetic), we warn the same way; where Reloader silently
//! ignores what the operator asked, we fail with a message naming the flag.

use reload_core::engine::CronJobMode;
use std::net::SocketAddr;
use std::time::Duration;

use super::RunArgs;
use super::values::parse_csv_occurrences;

/// Where the controller watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// All namespaces (`KUBERNETES_NAMESPACE` unset, no `--namespaces`).
    Global {
        /// `--namespaces-to-ignore`.
        ignored_namespaces: Vec<String>,
        /// `--namespace-selector`, normalised and joined.
        namespace_selector: Option<String>,
    },
    /// `--namespaces a,b`: one watch per namespace.
    Namespaces(Vec<String>),
    /// `KUBERNETES_NAMESPACE`: one namespace.
    Single(String),
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// logrus-style `time=... level=... msg=...`.
    Text,
    /// One JSON object per line.
    Json,
}

/// Which Reloader strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyName {
    /// `env-vars` (default).
    EnvVars,
    /// `annotations`.
    Annotations,
}

/// HA identity from `POD_NAME` / `POD_NAMESPACE`, and the Lease timings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaIdentity {
    /// This replica's identity.
    pub pod_name: String,
    /// Namespace of the Lease.
    pub pod_namespace: String,
    /// Lease name.
    pub lease_name: String,
    /// Lease validity without renewal.
    pub lease_duration: Duration,
    /// How long the leader tries to renew before stepping down.
    pub renew_deadline: Duration,
    /// Acquire/renew period.
    pub retry_period: Duration,
    /// Release the Lease on shutdown.
    pub release_on_cancel: bool,
}

/// Alerting from `ALERT_*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSettings {
    /// `ALERT_WEBHOOK_URL`, trimmed.
    pub webhook_url: String,
    /// `ALERT_SINK`, lower-cased and trimmed (`slack`, `teams`, `gchat`, else raw).
    pub sink: String,
    /// `ALERT_WEBHOOK_PROXY`.
    pub proxy: Option<String>,
    /// `ALERT_ADDITIONAL_INFO`.
    pub additional_info: Option<String>,
}

/// Everything the controller needs from its command line and environment, validated.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "mirrors Reloader's boolean options one to one"
)]
pub struct Settings {
    /// Watch scope.
    pub scope: Scope,
    /// `--resource-label-selector`, normalised and joined.
    pub resource_label_selector: Option<String>,
    /// `--resources-to-ignore=configmaps`.
    pub ignore_configmaps: bool,
    /// `--resources-to-ignore=secrets`.
    pub ignore_secrets: bool,
    /// `--ignored-workload-types` contains `jobs`.
    pub ignore_jobs: bool,
    /// `--ignored-workload-types` contains `cronjobs`.
    pub ignore_cronjobs: bool,
    /// `--reload-strategy`.
    pub strategy: StrategyName,
    /// `--is-Argo-Rollouts=true`.
    pub argo_rollouts: bool,
    /// `--reload-on-create=true`.
    pub reload_on_create: bool,
    /// `--reload-on-delete=true`.
    pub reload_on_delete: bool,
    /// `--sync-after-restart`.
    pub sync_after_restart: bool,
    /// `--enable-csi-integration`.
    pub csi: bool,
    /// `--cronjob-reload`.
    pub cronjob_mode: CronJobMode,
    /// `--auto-reload-all`.
    pub auto_reload_all: bool,
    /// `--webhook-url`, when set.
    pub webhook_url: Option<String>,
    /// `--enable-ha` with its identity.
    pub ha: Option<HaIdentity>,
    /// Log format.
    pub log_format: LogFormat,
    /// Log level filter (`trace` .. `error`).
    pub log_level: tracing::Level,
    /// HTTP listen address.
    pub http_addr: SocketAddr,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--debounce`, when non-zero.
    pub debounce: Option<Duration>,
    /// `--resync-period`, when non-zero.
    pub resync_period: Option<Duration>,
    /// `--write-qps` and `--write-burst`.
    pub write_rate: (f64, u32),
    /// `--concurrency`: workload writes in flight at once.
    pub concurrency: usize,
    /// `--rollout-rate`, when non-zero.
    pub rollout_rate: Option<f64>,
    /// Secret types excluded server-side.
    pub exclude_secret_types: Vec<String>,
    /// `--baselines`.
    pub baselines: bool,
    /// `RELOADER_NAMESPACE`, for the meta-info ConfigMap.
    pub reloader_namespace: Option<String>,
    /// `--enable-debug-endpoints`: serve `/debug/cache`.
    pub debug_endpoints: bool,
    /// `RELOADER_DEPLOYMENT_NAME`.
    pub deployment_name: Option<String>,
    /// `--enable-pprof` and `--pprof-addr` (accepted, recorded in the meta-info ConfigMap).
    pub pprof: (bool, String),
    /// `METRICS_COUNT_BY_NAMESPACE=enabled`.
    pub metrics_by_namespace: bool,
    /// `ALERT_ON_RELOAD=true` with its sink.
    pub alerts: Option<AlertSettings>,
    /// Annotation keys, with the operator's `--*-annotation` overrides.
    pub keys: reload_core::matcher::AnnotationKeys,
    /// `--hash-key-file`: digests become keyed HMAC-SHA-256.
    pub hash_key_file: Option<std::path::PathBuf>,
    /// Warnings to log once logging is set up (Reloader's texts where it has them).
    pub warnings: Vec<String>,
}

impl Settings {
    /// The effective configuration as JSON (`reloader config`). Holds no secret: alert webhook
    /// URLs can carry tokens, so only whether one is set is shown.
    pub fn to_json(&self) -> serde_json::Value {
        let scope = match &self.scope {
            Scope::Global {
                ignored_namespaces,
                namespace_selector,
            } => serde_json::json!({
                "mode": "global", "namespacesToIgnore": ignored_namespaces, "namespaceSelector": namespace_selector,
            }),
            Scope::Namespaces(namespaces) => {
                serde_json::json!({ "mode": "namespaces", "namespaces": namespaces })
            }
            Scope::Single(namespace) => serde_json::json!({ "mode": "single", "namespace": namespace }),
        };
        serde_json::json!({
            "scope": scope,
            "resourceLabelSelector": self.resource_label_selector,
            "ignoreConfigMaps": self.ignore_configmaps,
            "ignoreSecrets": self.ignore_secrets,
            "ignoreJobs": self.ignore_jobs,
            "ignoreCronJobs": self.ignore_cronjobs,
            "reloadStrategy": match self.strategy { StrategyName::EnvVars => "env-vars", StrategyName::Annotations => "annotations" },
            "isArgoRollouts": self.argo_rollouts,
            "reloadOnCreate": self.reload_on_create,
            "reloadOnDelete": self.reload_on_delete,
            "syncAfterRestart": self.sync_after_restart,
            "enableCSIIntegration": self.csi,
            "cronjobReload": match self.cronjob_mode { CronJobMode::PatchTemplate => "patch-template", CronJobMode::CreateJob => "create-job" },
            "autoReloadAll": self.auto_reload_all,
            "webhookUrlSet": self.webhook_url.is_some(),
            "ha": self.ha.as_ref().map(|ha| serde_json::json!({ "podName": ha.pod_name, "podNamespace": ha.pod_namespace })),
            "logFormat": match self.log_format { LogFormat::Text => "text", LogFormat::Json => "json" },
            "logLevel": self.log_level.as_str().to_ascii_lowercase(),
            "httpAddr": self.http_addr.to_string(),
            "dryRun": self.dry_run,
            "debounceSeconds": self.debounce.map(|d| d.as_secs_f64()),
            "resyncPeriodSeconds": self.resync_period.map(|d| d.as_secs_f64()),
            "rolloutRate": self.rollout_rate,
            "writeQps": self.write_rate.0,
            "writeBurst": self.write_rate.1,
            "concurrency": self.concurrency,
            "excludeSecretTypes": self.exclude_secret_types,
            "baselines": self.baselines,
            "debugEndpoints": self.debug_endpoints,
            "reloaderNamespace": self.reloader_namespace,
            "deploymentName": self.deployment_name,
            "metricsByNamespace": self.metrics_by_namespace,
            "alerts": self.alerts.as_ref().map(|a| serde_json::json!({ "sink": a.sink, "webhookUrlSet": !a.webhook_url.is_empty() })),
            "annotations": {
                "auto": self.keys.auto(), "configmapAuto": self.keys.configmap_auto(), "secretAuto": self.keys.secret_auto(),
                "configmapReload": self.keys.configmap_reload(), "secretReload": self.keys.secret_reload(),
                "search": self.keys.search(), "match": self.keys.search_match(), "ignore": self.keys.ignore(),
                "pausePeriod": self.keys.pause_period(), "pausedAt": self.keys.paused_at(),
            },
            "hashKeyFileSet": self.hash_key_file.is_some(),
            "warnings": self.warnings,
        })
    }
}

/// A start-up error; the message names the flag and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

/// `--write-qps` must be positive, `--concurrency` at least 1, `--rollout-rate` non-negative.
fn check_rates(args: &RunArgs) -> Result<(), SettingsError> {
    if !(args.write_qps.is_finite() && args.write_qps > 0.0) {
        return Err(SettingsError(format!(
            "invalid --write-qps {}: must be a number > 0",
            args.write_qps
        )));
    }
    if args.concurrency == 0 {
        return Err(SettingsError(
            "invalid --concurrency 0: must be at least 1".to_owned(),
        ));
    }
    if !(args.rollout_rate.is_finite() && args.rollout_rate >= 0.0) {
        return Err(SettingsError(format!(
            "invalid --rollout-rate {}: must be a number >= 0",
            args.rollout_rate
        )));
    }
    Ok(())
}

/// `--cronjob-reload`: `create-job` or `patch-template`.
fn cronjob_mode(text: &str) -> Result<CronJobMode, SettingsError> {
    match text {
        "create-job" => Ok(CronJobMode::CreateJob),
        "patch-template" => Ok(CronJobMode::PatchTemplate),
        other => Err(SettingsError(format!(
            "invalid --cronjob-reload {other:?}: must be one of: create-job, patch-template"
        ))),
    }
}

/// Validates `args` and the environment (read through `env`, so tests need no process env).
pub fn resolve(args: &RunArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
    let mut warnings = Vec::new();
    let list = |flag: &str, occurrences: &[String]| {
        parse_csv_occurrences(occurrences).map_err(|e| SettingsError(format!("invalid --{flag}: {e}")))
    };

    let (ignore_configmaps, ignore_secrets) =
        resources_to_ignore(&list("resources-to-ignore", &args.resources_to_ignore)?)?;
    let (ignore_jobs, ignore_cronjobs) =
        ignored_workload_types(&list("ignored-workload-types", &args.ignored_workload_types)?)?;

    let strategy = match args.reload_strategy.as_str() {
        "env-vars" => StrategyName::EnvVars,
        "annotations" => StrategyName::Annotations,
        _ => {
            return Err(SettingsError(
                "reload-strategy must be one of: env-vars, annotations".into(),
            ));
        }
    };

    let namespaces: Vec<String> = list("namespaces", &args.namespaces)?
        .into_iter()
        .filter(|n| !n.trim().is_empty())
        .collect();
    let namespaces_to_ignore = list("namespaces-to-ignore", &args.namespaces_to_ignore)?;
    let namespace_selector = normalise_selector(&list("namespace-selector", &args.namespace_selector)?);
    let resource_label_selector =
        normalise_selector(&list("resource-label-selector", &args.resource_label_selector)?);
    let scope = resolve_scope(
        namespaces,
        namespaces_to_ignore,
        namespace_selector,
        env,
        &mut warnings,
    );

    let ha = resolve_ha(args, env)?;

    let (log_format, log_level) = resolve_logging(args, &mut warnings);
    let http_addr = parse_listen_addr(&args.http_addr).ok_or_else(|| {
        SettingsError(format!(
            "invalid --http-addr {:?}: expected [host]:port",
            args.http_addr
        ))
    })?;
    let debounce = reload_core::go_duration::parse(&args.debounce)
        .map_err(|e| SettingsError(format!("invalid --debounce: {e}")))?;
    let resync_period = reload_core::go_duration::parse(&args.resync_period)
        .map_err(|e| SettingsError(format!("invalid --resync-period: {e}")))?;
    check_rates(args)?;
    let webhook_url = Some(args.webhook_url.clone()).filter(|u| !u.is_empty());
    mode_warnings(
        args,
        webhook_url.is_some(),
        resource_label_selector.as_deref(),
        &mut warnings,
    );

    Ok(Settings {
        scope,
        resource_label_selector,
        ignore_configmaps,
        ignore_secrets,
        ignore_jobs,
        ignore_cronjobs,
        strategy,
        argo_rollouts: args.is_argo_rollouts == "true",
        reload_on_create: args.reload_on_create == "true",
        reload_on_delete: args.reload_on_delete == "true",
        sync_after_restart: args.sync_after_restart,
        csi: args.enable_csi_integration,
        cronjob_mode: cronjob_mode(&args.cronjob_reload)?,
        auto_reload_all: args.auto_reload_all,
        webhook_url,
        ha,
        log_format,
        log_level,
        http_addr,
        dry_run: args.dry_run,
        debounce: Some(debounce).filter(|d| !d.is_zero()),
        resync_period: Some(resync_period).filter(|d| !d.is_zero()),
        rollout_rate: Some(args.rollout_rate).filter(|r| *r > 0.0),
        write_rate: (args.write_qps, args.write_burst.max(1)),
        concurrency: args.concurrency,
        exclude_secret_types: list("exclude-secret-types", &args.exclude_secret_types)?
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect(),
        baselines: args.baselines,
        debug_endpoints: args.enable_debug_endpoints,
        reloader_namespace: env("RELOADER_NAMESPACE").filter(|v| !v.is_empty()),
        deployment_name: env("RELOADER_DEPLOYMENT_NAME").filter(|v| !v.is_empty()),
        pprof: (args.enable_pprof, args.pprof_addr.clone()),
        metrics_by_namespace: env("METRICS_COUNT_BY_NAMESPACE").as_deref() == Some("enabled"),
        alerts: alert_settings(env),
        keys: annotation_keys(args),
        hash_key_file: args.hash_key_file.clone(),
        warnings,
    })
}

/// Start-up warnings: `--enable-pprof`, and Reloader's for the resource label selector and webhook mode (§2.3).
fn mode_warnings(
    args: &RunArgs,
    webhook: bool,
    resource_label_selector: Option<&str>,
    warnings: &mut Vec<String>,
) {
    if args.enable_pprof {
        warnings.push(format!(
            "--enable-pprof is accepted for compatibility; this controller has no Go pprof (requested at {})",
            args.pprof_addr
        ));
    }
    if let Some(selector) = resource_label_selector {
        warnings.push(format!(
            "resource-label-selector is set, will only detect changes on resources with these labels: {selector}."
        ));
    }
    if webhook {
        warnings.push("webhook-url is set, will only send webhook, no resources will be reloaded".into());
    }
}

/// Reloader's scoping modes (§2.3): `--namespaces` beats `KUBERNETES_NAMESPACE`, else global.
fn resolve_scope(
    namespaces: Vec<String>,
    namespaces_to_ignore: Vec<String>,
    namespace_selector: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Scope {
    let single = env("KUBERNETES_NAMESPACE").filter(|n| !n.is_empty());
    if !namespaces.is_empty() || single.is_some() {
        if !namespaces_to_ignore.is_empty() {
            warnings.push(
                "namespaces-to-ignore is set but is only honored in global mode (watchGlobally=true); ignoring it."
                    .to_owned(),
            );
        }
        if namespaces.is_empty() {
            Scope::Single(single.unwrap_or_default())
        } else {
            Scope::Namespaces(namespaces)
        }
    } else {
        if let Some(selector) = &namespace_selector {
            warnings.push(format!(
                "namespace-selector is set, will only detect changes in namespaces with these labels: {selector}."
            ));
        }
        Scope::Global {
            ignored_namespaces: namespaces_to_ignore,
            namespace_selector,
        }
    }
}

/// `--enable-ha` needs `POD_NAME` and `POD_NAMESPACE` (Reloader's messages).
fn resolve_ha(
    args: &RunArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<HaIdentity>, SettingsError> {
    if !args.enable_ha {
        return Ok(None);
    }
    let pod_name = env("POD_NAME").filter(|v| !v.is_empty()).ok_or_else(|| {
        SettingsError("POD_NAME not set, cannot run in HA mode without POD_NAME set".into())
    })?;
    let pod_namespace = env("POD_NAMESPACE").filter(|v| !v.is_empty()).ok_or_else(|| {
        SettingsError("POD_NAMESPACE not set, cannot run in HA mode without POD_NAMESPACE set".into())
    })?;
    let duration = |flag: &str, text: &str| {
        reload_core::go_duration::parse(text).map_err(|e| SettingsError(format!("invalid --{flag}: {e}")))
    };
    Ok(Some(HaIdentity {
        pod_name,
        pod_namespace,
        lease_name: args.leader_election_lease_name.clone(),
        lease_duration: duration(
            "leader-election-lease-duration",
            &args.leader_election_lease_duration,
        )?,
        renew_deadline: duration(
            "leader-election-renew-deadline",
            &args.leader_election_renew_deadline,
        )?,
        retry_period: duration("leader-election-retry-period", &args.leader_election_retry_period)?,
        release_on_cancel: args.leader_election_release_on_cancel,
    }))
}

/// `--log-format` and `--log-level`: unknown values warn and fall back, as in Reloader.
fn resolve_logging(args: &RunArgs, warnings: &mut Vec<String>) -> (LogFormat, tracing::Level) {
    let format = match args.log_format.as_str() {
        "" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            warnings.push(format!("unsupported logging formatter: {other:?}"));
            LogFormat::Text
        }
    };
    let level = match args.log_level.to_ascii_lowercase().as_str() {
        "trace" => tracing::Level::TRACE,
        "debug" => tracing::Level::DEBUG,
        "info" => tracing::Level::INFO,
        "warn" | "warning" => tracing::Level::WARN,
        "error" | "fatal" | "panic" => tracing::Level::ERROR,
        other => {
            warnings.push(format!("not a valid logrus Level: {other:?}"));
            tracing::Level::INFO
        }
    };

    (format, level)
}

/// The annotation keys with the operator's overrides.
fn annotation_keys(args: &RunArgs) -> reload_core::matcher::AnnotationKeys {
    reload_core::matcher::AnnotationKeys::default()
        .auto_annotation(&args.auto_annotation)
        .configmap_auto_annotation(&args.configmap_auto_annotation)
        .secret_auto_annotation(&args.secret_auto_annotation)
        .configmap_annotation(&args.configmap_annotation)
        .secret_annotation(&args.secret_annotation)
        .auto_search_annotation(&args.auto_search_annotation)
        .search_match_annotation(&args.search_match_annotation)
        .ignore_annotation(&args.ignore_annotation)
        .pause_deployment_annotation(&args.pause_deployment_annotation)
        .pause_deployment_time_annotation(&args.pause_deployment_time_annotation)
}

/// `--resources-to-ignore`: Reloader's fatal messages, case-insensitive values.
fn resources_to_ignore(values: &[String]) -> Result<(bool, bool), SettingsError> {
    let (mut configmaps, mut secrets) = (false, false);
    for value in values {
        match value.to_ascii_lowercase().as_str() {
            "configmaps" => configmaps = true,
            "secrets" => secrets = true,
            _ => {
                return Err(SettingsError(format!(
                    "'resources-to-ignore' only accepts 'configmaps' or 'secrets', not '{value}'"
                )));
            }
        }
    }
    if configmaps && secrets {
        return Err(SettingsError(
            "'resources-to-ignore' only accepts 'configmaps' or 'secrets', not both".into(),
        ));
    }
    Ok((configmaps, secrets))
}

/// `--ignored-workload-types`. Reloader logs an error and then reloads Jobs anyway; we refuse
/// to start instead, since the operator asked for something we would not do.
fn ignored_workload_types(values: &[String]) -> Result<(bool, bool), SettingsError> {
    let (mut jobs, mut cronjobs) = (false, false);
    for value in values {
        match value.as_str() {
            "jobs" => jobs = true,
            "cronjobs" => cronjobs = true,
            _ => {
                return Err(SettingsError(format!(
                    "'ignored-workload-types' accepts 'jobs', 'cronjobs', or both, not '{value}'"
                )));
            }
        }
    }
    Ok((jobs, cronjobs))
}

/// Reloader's selector normalisation (§6.3): `k:v` → `k=v`, `k:*` and `k=*` → `k`; joined by `,`.
pub fn normalise_selector(items: &[String]) -> Option<String> {
    let normalised: Vec<String> = items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| {
            let item = item.replacen(':', "=", 1);
            match item.strip_suffix("=*") {
                Some(key) => key.to_owned(),
                None => item,
            }
        })
        .collect();
    (!normalised.is_empty()).then(|| normalised.join(","))
}

/// `:9090` (all interfaces, as Go), `127.0.0.1:0`, `[::1]:9090`.
fn parse_listen_addr(text: &str) -> Option<SocketAddr> {
    if let Some(port) = text.strip_prefix(':') {
        return Some(SocketAddr::from(([0, 0, 0, 0], port.parse().ok()?)));
    }
    text.parse().ok()
}

fn alert_settings(env: &dyn Fn(&str) -> Option<String>) -> Option<AlertSettings> {
    if env("ALERT_ON_RELOAD").as_deref() != Some("true") {
        return None;
    }
    Some(AlertSettings {
        webhook_url: env("ALERT_WEBHOOK_URL").unwrap_or_default().trim().to_owned(),
        sink: env("ALERT_SINK").unwrap_or_default().trim().to_ascii_lowercase(),
        proxy: env("ALERT_WEBHOOK_PROXY").filter(|v| !v.is_empty()),
        additional_info: env("ALERT_ADDITIONAL_INFO").filter(|v| !v.is_empty()),
    })
}

#[cfg(test)]
mod tests;
