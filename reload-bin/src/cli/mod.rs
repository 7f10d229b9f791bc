//! The `reloader` command line: every flag of stakater/Reloader with its names, defaults and
//! value syntax, plus our additions (which also read `RELOADER_*` environment variables).
//!
//! Boolean flags behave like Go's pflag: `--flag`, `--flag=true|false` and the other
//! `strconv.ParseBool` forms; `--flag value` never takes `value` as the flag's value.
//! Slice flags are CSV per occurrence and may repeat. `--is-Argo-Rollouts`,
//! `--reload-on-create` and `--reload-on-delete` are strings that count only when exactly
//! `"true"`, as in Reloader.

pub mod settings;
pub mod values;

use clap::{ArgAction, Args, Parser, Subcommand};

/// Rolls Kubernetes workloads when the ConfigMaps and Secrets they use change.
/// A drop-in replacement for stakater/Reloader.
#[derive(Debug, Parser)]
#[command(name = "reloader", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; without a subcommand, run the controller.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Controller flags (when no subcommand is given).
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controller (the default).
    Run(RunArgs),
    /// Check the flags and environment and print the effective configuration as JSON, without
    /// contacting the cluster. Exits non-zero with the start-up error on invalid input.
    Config(RunArgs),
    /// Print the Reloader-compatible digest of ConfigMaps, Secrets and
    /// SecretProviderClassPodStatus objects from YAML or JSON files (values are never printed).
    Hash(HashArgs),
    /// Explain why a workload would or would not reload: the sources it references and how,
    /// which annotations apply, and its recorded digests against the sources' current ones.
    /// Takes the controller's flags, so it explains what that configuration would do.
    Explain(ExplainArgs),
}

/// `reloader explain`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// `<kind>/<name>`: deployment, daemonset, statefulset, cronjob or job (kubectl's short
    /// forms too), e.g. `deployment/web`.
    pub target: String,
    /// Namespace of the workload.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    pub namespace: String,
    /// Output format.
    #[arg(short = 'o', long = "output", default_value = "text", value_parser = ["text", "json"])]
    pub output: String,
    /// The controller's flags, as it runs.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `reloader hash`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct HashArgs {
    /// A YAML or JSON file with one or more objects (`-` for standard input); repeatable.
    #[arg(short = 'f', long = "filename", required = true, action = ArgAction::Append)]
    pub files: Vec<String>,
    /// File holding a key: also print the keyed digest (HMAC-SHA-256) the controller records with it.
    #[arg(long, env = "RELOADER_HASH_KEY_FILE")]
    pub hash_key_file: Option<std::path::PathBuf>,
}

/// The controller's flags.
#[derive(Debug, Clone, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one field per Reloader boolean flag"
)]
pub struct RunArgs {
    /// Reload every workload that references a changed ConfigMap/Secret, unless it sets an auto annotation.
    #[arg(long, value_parser = values::parse_go_bool, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true")]
    pub auto_reload_all: bool,

    /// Annotation listing the ConfigMaps (regexes) a workload reloads for.
    #[arg(long, default_value = "configmap.reloader.stakater.com/reload")]
    pub configmap_annotation: String,
    /// Annotation listing the Secrets (regexes) a workload reloads for.
    #[arg(long, default_value = "secret.reloader.stakater.com/reload")]
    pub secret_annotation: String,
    /// Annotation that opts a workload in for every referenced source.
    #[arg(long, default_value = "reloader.stakater.com/auto")]
    pub auto_annotation: String,
    /// Annotation on a source that stops it from reloading anything.
    #[arg(long, default_value = "reloader.stakater.com/ignore")]
    pub ignore_annotation: String,
    /// Annotation that opts a workload in for every referenced ConfigMap.
    #[arg(long, default_value = "configmap.reloader.stakater.com/auto")]
    pub configmap_auto_annotation: String,
    /// Annotation that opts a workload in for every referenced Secret.
    #[arg(long, default_value = "secret.reloader.stakater.com/auto")]
    pub secret_auto_annotation: String,
    /// Annotation that turns on search mode on a workload.
    #[arg(long, default_value = "reloader.stakater.com/search")]
    pub auto_search_annotation: String,
    /// Annotation that makes a source eligible for search mode.
    #[arg(long, default_value = "reloader.stakater.com/match")]
    pub search_match_annotation: String,
    /// Annotation holding a Deployment's pause period (Go duration).
    #[arg(long, default_value = "deployment.reloader.stakater.com/pause-period")]
    pub pause_deployment_annotation: String,
    /// Annotation where the pause start time is recorded.
    #[arg(long, default_value = "deployment.reloader.stakater.com/paused-at")]
    pub pause_deployment_time_annotation: String,

    /// Log format: empty for text, `json` for JSON. Anything else warns and uses text.
    #[arg(long, default_value = "")]
    pub log_format: String,
    /// Log level: trace, debug, info, warn/warning, error, fatal, panic. A bad value warns and uses info.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Send a webhook for every change instead of reloading workloads.
    #[arg(long, default_value = "")]
    pub webhook_url: String,

    /// `configmaps` or `secrets`: the source kind not to watch (CSV, repeatable).
    #[arg(long, action = ArgAction::Append)]
    pub resources_to_ignore: Vec<String>,
    /// `jobs`, `cronjobs`: workload kinds never reloaded (CSV, repeatable).
    #[arg(long, action = ArgAction::Append)]
    pub ignored_workload_types: Vec<String>,
    /// Watch exactly these namespaces (CSV, repeatable). Beats `KUBERNETES_NAMESPACE`.
    #[arg(long, action = ArgAction::Append)]
    pub namespaces: Vec<String>,
    /// Global mode only: namespaces whose events are ignored (CSV, repeatable).
    #[arg(long, action = ArgAction::Append)]
    pub namespaces_to_ignore: Vec<String>,
    /// Global mode only: watch only namespaces with these labels (CSV, repeatable).
    #[arg(long, action = ArgAction::Append)]
    pub namespace_selector: Vec<String>,
    /// Watch only ConfigMaps/Secrets with these labels (CSV, repeatable).
    #[arg(long, action = ArgAction::Append)]
    pub resource_label_selector: Vec<String>,

    /// Process Argo Rollouts when exactly `true`.
    #[arg(long = "is-Argo-Rollouts", default_value = "false")]
    pub is_argo_rollouts: String,
    /// `env-vars` or `annotations`.
    #[arg(long, default_value = "env-vars")]
    pub reload_strategy: String,
    /// Reload on source creation when exactly `true`.
    #[arg(long, default_value = "false")]
    pub reload_on_create: String,
    /// Reload on source deletion when exactly `true`.
    #[arg(long, default_value = "false")]
    pub reload_on_delete: String,
    /// Leader election (needs `POD_NAME` and `POD_NAMESPACE`).
    #[arg(long, value_parser = values::parse_go_bool, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true")]
    pub enable_ha: bool,
    /// Treat pre-existing sources as created at start-up (with `--reload-on-create=true`).
    #[arg(long, value_parser = values::parse_go_bool, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true")]
    pub sync_after_restart: bool,
    /// Accepted for compatibility: Go's pprof has no equivalent here; logs a notice.
    #[arg(long, value_parser = values::parse_go_bool, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true")]
    pub enable_pprof: bool,
    /// Accepted for compatibility with `--enable-pprof`.
    #[arg(long, default_value = ":6060")]
    pub pprof_addr: String,
    /// Watch CSI `SecretProviderClassPodStatus` objects.
    #[arg(long, value_parser = values::parse_go_bool, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true")]
    pub enable_csi_integration: bool,

    // ----- additions (not in Reloader) -----
    /// Address of the HTTP server for /metrics, /live, /ready.
    #[arg(long, env = "RELOADER_HTTP_ADDR", default_value = ":9090")]
    pub http_addr: String,
    /// Decide and report, never write to the cluster.
    #[arg(long, env = "RELOADER_DRY_RUN", value_parser = values::parse_go_bool, num_args = 0..=1,
          require_equals = true, default_value = "false", default_missing_value = "true")]
    pub dry_run: bool,
    /// Per-workload quiet window (Go duration, e.g. `5s`): changes within it become one rollout. Off by default.
    #[arg(long, env = "RELOADER_DEBOUNCE", default_value = "0s")]
    pub debounce: String,
    /// How often every workload's recorded digests are compared with its sources' current
    /// ones, from the caches (no API reads), and whatever is out of date is reloaded (Go
    /// duration; `0` turns it off). The same check runs after a watch reconnects. A safety
    /// net: failed writes are retried anyway; this bounds how long a change lost to an
    /// unforeseen cause stays lost.
    #[arg(long, env = "RELOADER_RESYNC_PERIOD", default_value = "5m")]
    pub resync_period: String,
    /// Global rollout rate limit, rollouts per second (0 = unlimited).
    #[arg(long, env = "RELOADER_ROLLOUT_RATE", default_value = "0")]
    pub rollout_rate: f64,
    /// Client-side limit on workload writes per second (protects the API server; client-go's
    /// default of 5 would coalesce changes under load).
    #[arg(long, env = "RELOADER_WRITE_QPS", default_value = "100")]
    pub write_qps: f64,
    /// Burst allowed above `--write-qps`.
    #[arg(long, env = "RELOADER_WRITE_BURST", default_value = "200")]
    pub write_burst: u32,
    /// How many workloads may be written at once (at least 1). `--write-qps` stays the cap on
    /// the request rate; this bounds requests in flight, so a change fanning out to many
    /// workloads is not written a few at a time.
    #[arg(long, env = "RELOADER_CONCURRENCY", default_value = "64")]
    pub concurrency: usize,
    /// Secret types never watched, excluded server-side (CSV, repeatable).
    #[arg(long, env = "RELOADER_EXCLUDE_SECRET_TYPES", action = ArgAction::Append,
          default_value = "helm.sh/release.v1")]
    pub exclude_secret_types: Vec<String>,
    /// Serve `/debug/cache` (objects and approximate bytes held per kind and namespace; it
    /// reveals namespace names, so it is off by default).
    #[arg(long, env = "RELOADER_ENABLE_DEBUG_ENDPOINTS", value_parser = values::parse_go_bool,
          num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true")]
    pub enable_debug_endpoints: bool,
    /// File holding a key: digests become HMAC-SHA-256 instead of Reloader's SHA-1 (changes every hash).
    #[arg(long, env = "RELOADER_HASH_KEY_FILE")]
    pub hash_key_file: Option<std::path::PathBuf>,
    /// HA: name of the Lease (in `POD_NAMESPACE`).
    #[arg(
        long,
        env = "RELOADER_LEADER_ELECTION_LEASE_NAME",
        default_value = "stakater-reloader-lock"
    )]
    pub leader_election_lease_name: String,
    /// HA: how long a Lease is valid without renewal (Go duration).
    #[arg(long, env = "RELOADER_LEADER_ELECTION_LEASE_DURATION", default_value = "15s")]
    pub leader_election_lease_duration: String,
    /// HA: how long the leader keeps trying to renew before it steps down (Go duration).
    #[arg(long, env = "RELOADER_LEADER_ELECTION_RENEW_DEADLINE", default_value = "10s")]
    pub leader_election_renew_deadline: String,
    /// HA: how often replicas try to acquire or renew (Go duration).
    #[arg(long, env = "RELOADER_LEADER_ELECTION_RETRY_PERIOD", default_value = "2s")]
    pub leader_election_retry_period: String,
    /// HA: release the Lease on shutdown so a standby takes over at once.
    #[arg(long, env = "RELOADER_LEADER_ELECTION_RELEASE_ON_CANCEL", value_parser = values::parse_go_bool,
          num_args = 0..=1, require_equals = true, default_value = "true", default_missing_value = "true")]
    pub leader_election_release_on_cancel: bool,
    /// Record a metadata baseline digest on workloads that have none, so changes made while the
    /// controller is down are not lost. `false` gives Reloader's exact write footprint.
    #[arg(long, env = "RELOADER_BASELINES", value_parser = values::parse_go_bool, num_args = 0..=1,
          require_equals = true, default_value = "true", default_missing_value = "true")]
    pub baselines: bool,
    /// How a CronJob is reloaded: `create-job` (Reloader's off-schedule Job from the job
    /// template) or `patch-template` (write the job template; the next scheduled run picks the
    /// change up, no Job is created).
    #[arg(long, env = "RELOADER_CRONJOB_RELOAD", default_value = "create-job")]
    pub cronjob_reload: String,
}
