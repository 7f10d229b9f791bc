use std::collections::HashMap;

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};

fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
    let cli = Cli::try_parse_from(std::iter::once("reloader").chain(args.iter().copied()))?;
    Ok(match cli.command {
        Some(Command::Run(run) | Command::Config(run)) => run,
        Some(Command::Explain(explain)) => explain.run,
        None => cli.run,
        Some(Command::Hash(_)) => panic!("`hash` has no controller settings"),
    })
}

fn settings(args: &[&str], env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    resolve(&parse(args).expect("arguments parse"), &|key| {
        env.get(key).cloned()
    })
}

#[test]
fn defaults_are_reloaders_global_env_vars_mode() {
    let s = settings(&[], &[]).unwrap();
    assert_eq!(
        s.scope,
        Scope::Global {
            ignored_namespaces: vec![],
            namespace_selector: None
        }
    );
    assert_eq!(s.strategy, StrategyName::EnvVars);
    assert_eq!(s.log_level, tracing::Level::INFO);
    assert_eq!(s.log_format, LogFormat::Text);
    assert_eq!(s.http_addr, "0.0.0.0:9090".parse().unwrap());
    assert_eq!(s.exclude_secret_types, ["helm.sh/release.v1"]);
    assert!(s.baselines && !s.dry_run && !s.argo_rollouts && !s.reload_on_create && s.ha.is_none());
}

#[test]
fn reference_users_helm_values_parse() {
    let s = settings(&["--reload-strategy=annotations", "--log-level=debug"], &[]).unwrap();
    assert_eq!(s.strategy, StrategyName::Annotations);
    assert_eq!(s.log_level, tracing::Level::DEBUG);
}

#[test]
fn bool_flags_accept_bare_and_go_parsebool_forms() {
    assert!(settings(&["--auto-reload-all"], &[]).unwrap().auto_reload_all);
    assert!(settings(&["--auto-reload-all=T"], &[]).unwrap().auto_reload_all);
    assert!(settings(&["--auto-reload-all=1"], &[]).unwrap().auto_reload_all);
    assert!(
        !settings(&["--auto-reload-all=False"], &[])
            .unwrap()
            .auto_reload_all
    );
    assert!(parse(&["--auto-reload-all=yes"]).is_err());
}

#[test]
fn bool_flags_never_take_the_next_argument_as_their_value() {
    // `--enable-csi-integration false` is a bare boolean followed by a stray argument.
    assert!(parse(&["--enable-csi-integration", "false"]).is_err());
    let run = parse(&["--enable-csi-integration", "--auto-reload-all"]).unwrap();
    assert!(run.enable_csi_integration && run.auto_reload_all);
}

#[test]
fn string_valued_switches_count_only_when_exactly_true() {
    let s = settings(
        &[
            "--is-Argo-Rollouts=true",
            "--reload-on-create=true",
            "--reload-on-delete",
            "True",
        ],
        &[],
    );
    // `--reload-on-delete True` is a string flag taking the next argument, as in pflag.
    let s = s.unwrap();
    assert!(s.argo_rollouts && s.reload_on_create);
    assert!(!s.reload_on_delete, "only the exact string \"true\" enables it");
    assert!(
        parse(&["--is-argo-rollouts=true"]).is_err(),
        "the flag name is case-sensitive, as in Reloader"
    );
}

#[test]
fn slice_flags_are_csv_and_repeatable() {
    let s = settings(&["--namespaces=a,b", "--namespaces", "c"], &[]).unwrap();
    assert_eq!(
        s.scope,
        Scope::Namespaces(vec!["a".into(), "b".into(), "c".into()])
    );
    let s = settings(&["--namespace-selector=\"env in (prod,stage)\",team:x"], &[]).unwrap();
    assert_eq!(
        s.scope,
        Scope::Global {
            ignored_namespaces: vec![],
            namespace_selector: Some("env in (prod,stage),team=x".into())
        }
    );
}

#[test]
fn selectors_are_normalised_like_reloader() {
    let items = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(normalise_selector(&items(&["k:v"])).as_deref(), Some("k=v"));
    assert_eq!(normalise_selector(&items(&["k:*"])).as_deref(), Some("k"));
    assert_eq!(
        normalise_selector(&items(&["k=*", "a!=b"])).as_deref(),
        Some("k,a!=b")
    );
    assert_eq!(normalise_selector(&items(&[])), None);
}

#[test]
fn namespaces_beat_kubernetes_namespace_and_ignore_list_warns_outside_global_mode() {
    let s = settings(
        &["--namespaces=a", "--namespaces-to-ignore=x"],
        &[("KUBERNETES_NAMESPACE", "k")],
    )
    .unwrap();
    assert_eq!(s.scope, Scope::Namespaces(vec!["a".into()]));
    assert!(
        s.warnings
            .iter()
            .any(|w| w.starts_with("namespaces-to-ignore is set but is only honored in global mode"))
    );
    let s = settings(&[], &[("KUBERNETES_NAMESPACE", "k")]).unwrap();
    assert_eq!(s.scope, Scope::Single("k".into()));
}

#[test]
fn invalid_strategy_fails_with_reloaders_message() {
    let e = settings(&["--reload-strategy=restart"], &[]).unwrap_err();
    assert_eq!(e.0, "reload-strategy must be one of: env-vars, annotations");
}

#[test]
fn resources_to_ignore_accepts_one_kind_case_insensitively_and_rejects_both() {
    let s = settings(&["--resources-to-ignore=ConfigMaps"], &[]).unwrap();
    assert!(s.ignore_configmaps && !s.ignore_secrets);
    let e = settings(&["--resources-to-ignore=configmaps,secrets"], &[]).unwrap_err();
    assert_eq!(
        e.0,
        "'resources-to-ignore' only accepts 'configmaps' or 'secrets', not both"
    );
    let e = settings(&["--resources-to-ignore=pods"], &[]).unwrap_err();
    assert_eq!(
        e.0,
        "'resources-to-ignore' only accepts 'configmaps' or 'secrets', not 'pods'"
    );
}

#[test]
fn invalid_ignored_workload_type_is_a_startup_error_not_silently_ignored() {
    let s = settings(&["--ignored-workload-types=jobs,cronjobs"], &[]).unwrap();
    assert!(s.ignore_jobs && s.ignore_cronjobs);
    let e = settings(&["--ignored-workload-types=Jobs"], &[]).unwrap_err();
    assert!(
        e.0.contains("'ignored-workload-types' accepts 'jobs', 'cronjobs', or both, not 'Jobs'"),
        "{e}"
    );
}

#[test]
fn ha_needs_pod_name_and_namespace() {
    let e = settings(&["--enable-ha"], &[]).unwrap_err();
    assert_eq!(
        e.0,
        "POD_NAME not set, cannot run in HA mode without POD_NAME set"
    );
    let e = settings(&["--enable-ha=true"], &[("POD_NAME", "p")]).unwrap_err();
    assert_eq!(
        e.0,
        "POD_NAMESPACE not set, cannot run in HA mode without POD_NAMESPACE set"
    );
    let s = settings(&["--enable-ha"], &[("POD_NAME", "p"), ("POD_NAMESPACE", "n")]).unwrap();
    let ha = s.ha.unwrap();
    assert_eq!((ha.pod_name.as_str(), ha.pod_namespace.as_str()), ("p", "n"));
    assert_eq!(ha.lease_name, "stakater-reloader-lock");
    let timings = (ha.lease_duration, ha.renew_deadline, ha.retry_period);
    assert_eq!(
        timings,
        (
            Duration::from_secs(15),
            Duration::from_secs(10),
            Duration::from_secs(2)
        )
    );
    assert!(ha.release_on_cancel);
    let env = [("POD_NAME", "p"), ("POD_NAMESPACE", "n")];
    let e = settings(&["--enable-ha", "--leader-election-retry-period=often"], &env).unwrap_err();
    assert!(e.0.starts_with("invalid --leader-election-retry-period"), "{e}");
}

#[test]
fn cosmetic_mistakes_warn_like_reloader_and_keep_defaults() {
    let s = settings(&["--log-format=xml", "--log-level=loud"], &[]).unwrap();
    assert_eq!(s.log_format, LogFormat::Text);
    assert_eq!(s.log_level, tracing::Level::INFO);
    assert!(
        s.warnings
            .contains(&"unsupported logging formatter: \"xml\"".to_owned())
    );
    assert_eq!(s.warnings.len(), 2);
}

#[test]
fn additions_read_flags_and_parse_durations() {
    let s = settings(
        &[
            "--debounce=1m30s",
            "--rollout-rate=2.5",
            "--http-addr=127.0.0.1:0",
            "--dry-run",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(s.debounce, Some(Duration::from_secs(90)));
    assert_eq!(s.rollout_rate, Some(2.5));
    assert_eq!(s.write_rate, (100.0, 200));
    assert_eq!(s.concurrency, 64);
    assert_eq!(settings(&["--concurrency=16"], &[]).unwrap().concurrency, 16);
    assert!(
        settings(&["--concurrency=0"], &[])
            .unwrap_err()
            .0
            .starts_with("invalid --concurrency")
    );
    assert!(
        settings(&["--write-qps=0"], &[])
            .unwrap_err()
            .0
            .starts_with("invalid --write-qps")
    );
    assert_eq!(s.http_addr, "127.0.0.1:0".parse().unwrap());
    assert!(s.dry_run);
    assert!(
        settings(&["--debounce=soon"], &[])
            .unwrap_err()
            .0
            .starts_with("invalid --debounce")
    );
    assert!(settings(&["--http-addr=nowhere"], &[]).is_err());
}

#[test]
fn resync_period_defaults_to_five_minutes_and_zero_turns_it_off() {
    assert_eq!(
        settings(&[], &[]).unwrap().resync_period,
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        settings(&["--resync-period=30s"], &[]).unwrap().resync_period,
        Some(Duration::from_secs(30))
    );
    assert_eq!(settings(&["--resync-period=0"], &[]).unwrap().resync_period, None);
    assert!(
        settings(&["--resync-period=often"], &[])
            .unwrap_err()
            .0
            .starts_with("invalid --resync-period")
    );
}

#[test]
fn environment_switches_follow_reloaders_exact_values() {
    let s = settings(
        &[],
        &[
            ("METRICS_COUNT_BY_NAMESPACE", "enabled"),
            ("ALERT_ON_RELOAD", "true"),
            ("ALERT_SINK", " Slack "),
            ("ALERT_WEBHOOK_URL", " http://127.0.0.1:1/hook "),
            ("RELOADER_NAMESPACE", "reloader"),
        ],
    )
    .unwrap();
    assert!(s.metrics_by_namespace);
    let alerts = s.alerts.unwrap();
    assert_eq!(alerts.sink, "slack");
    assert_eq!(alerts.webhook_url, "http://127.0.0.1:1/hook");
    assert_eq!(s.reloader_namespace.as_deref(), Some("reloader"));
    assert!(
        settings(&[], &[("ALERT_ON_RELOAD", "TRUE")])
            .unwrap()
            .alerts
            .is_none()
    );
}

#[test]
fn run_subcommand_takes_the_same_flags() {
    let cli = Cli::try_parse_from(["reloader", "run", "--reload-strategy=annotations"]).unwrap();
    assert!(matches!(cli.command, Some(Command::Run(ref r)) if r.reload_strategy == "annotations"));
}

#[test]
fn config_json_shows_the_effective_settings_and_hides_alert_urls() {
    let s = settings(
        &["--reload-strategy=annotations", "--namespaces=a,b"],
        &[
            ("ALERT_ON_RELOAD", "true"),
            ("ALERT_WEBHOOK_URL", "https://hooks.example/T0KEN"),
        ],
    )
    .unwrap();
    let json = s.to_json();
    assert_eq!(json["reloadStrategy"], "annotations");
    assert_eq!(json["scope"]["namespaces"], serde_json::json!(["a", "b"]));
    assert_eq!(json["alerts"]["webhookUrlSet"], true);
    assert!(!json.to_string().contains("T0KEN"));
}
