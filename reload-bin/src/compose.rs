//! Maps validated [`Settings`] onto the library's builders. Pure: no I/O, no decisions of its
//! own — every behaviour lives in `reload-core` / `reload-strategies`.

use std::sync::Arc;

use reload_core::engine::{EngineConfig, Namespaces, Rate};
use reload_core::matcher::{AnnotationMatcher, MatcherConfig};
use reload_core::{ReloadStrategy, WorkloadKind};
use reload_strategies::{AnnotationStrategy, EnvVarStrategy};

use crate::cli::settings::{Scope, Settings, StrategyName};

/// The matcher configuration of `settings`.
pub fn matcher_config(settings: &Settings) -> MatcherConfig {
    let mut ignored = Vec::new();
    if settings.ignore_jobs {
        ignored.push(WorkloadKind::Job);
    }
    if settings.ignore_cronjobs {
        ignored.push(WorkloadKind::CronJob);
    }
    MatcherConfig::default()
        .annotation_keys(settings.keys.clone())
        .auto_reload_all(settings.auto_reload_all)
        .ignored_workload_kinds(ignored)
}

/// The matcher of `settings`.
pub fn matcher(settings: &Settings) -> AnnotationMatcher {
    AnnotationMatcher::new(matcher_config(settings))
}

/// The strategy `--reload-strategy` names.
pub fn strategy(settings: &Settings) -> Arc<dyn ReloadStrategy> {
    match settings.strategy {
        StrategyName::EnvVars => Arc::new(EnvVarStrategy),
        StrategyName::Annotations => Arc::new(AnnotationStrategy),
    }
}

/// The engine configuration of `settings`.
pub fn engine_config(settings: &Settings) -> EngineConfig {
    let mut ignored_namespaces = Vec::new();
    let namespaces = match &settings.scope {
        Scope::Global {
            ignored_namespaces: ignored,
            namespace_selector,
        } => {
            ignored_namespaces.clone_from(ignored);
            match namespace_selector {
                Some(selector) => Namespaces::Selector(selector.clone()),
                None => Namespaces::All,
            }
        }
        Scope::Namespaces(list) => Namespaces::List(list.clone()),
        Scope::Single(namespace) => Namespaces::List(vec![namespace.clone()]),
    };
    // Reloader watches every kind it writes; `--ignored-workload-types` drops Jobs/CronJobs
    // from the watches as well as from the matcher.
    let mut kinds = vec![
        WorkloadKind::Deployment,
        WorkloadKind::DaemonSet,
        WorkloadKind::StatefulSet,
    ];
    if !settings.ignore_cronjobs {
        kinds.push(WorkloadKind::CronJob);
    }
    if !settings.ignore_jobs {
        kinds.push(WorkloadKind::Job);
    }
    let webhook_mode = settings.webhook_url.is_some();
    if webhook_mode {
        // Reloader's webhook mode never reloads: no workload needs watching.
        kinds.clear();
    }
    EngineConfig::default()
        .notify_only(webhook_mode)
        .namespaces(namespaces)
        .ignored_namespaces(ignored_namespaces)
        .workload_kinds(kinds)
        .source_label_selector(settings.resource_label_selector.clone())
        .excluded_secret_types(settings.exclude_secret_types.clone())
        .watch_configmaps(!settings.ignore_configmaps)
        .watch_secrets(!settings.ignore_secrets)
        .reload_on_create(settings.reload_on_create)
        .reload_on_delete(settings.reload_on_delete)
        .baselines(settings.baselines)
        .debounce(settings.debounce)
        .resync_period(settings.resync_period)
        .write_rate(Rate::new(settings.write_rate.0, settings.write_rate.1))
        .concurrency(settings.concurrency)
        .rollout_rate(settings.rollout_rate.map(|per_second| Rate::new(per_second, 1)))
        .dry_run(settings.dry_run)
        .field_manager("Reloader")
        .matcher_keys(&settings.keys)
        .argo_rollouts(settings.argo_rollouts)
        .csi(settings.csi)
        .cronjob_mode(settings.cronjob_mode)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use clap::Parser;
    use reload_core::engine::CronJobMode;

    use super::*;
    use crate::cli::{Cli, settings::resolve};

    fn settings(args: &[&str], env: &[(&str, &str)]) -> Settings {
        let cli = Cli::try_parse_from(std::iter::once("reloader").chain(args.iter().copied())).unwrap();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        resolve(&cli.run, &|k| env.get(k).cloned()).unwrap()
    }

    #[test]
    fn rollouts_csi_and_the_cronjob_mode_reach_the_engine() {
        let defaults = engine_config(&settings(&[], &[]));
        assert!(!defaults.is_watching_rollouts());
        assert!(!defaults.is_csi());
        assert_eq!(defaults.get_cronjob_mode(), CronJobMode::CreateJob);
        let on = engine_config(&settings(
            &[
                "--is-Argo-Rollouts=true",
                "--enable-csi-integration",
                "--cronjob-reload=patch-template",
            ],
            &[],
        ));
        assert!(on.is_watching_rollouts());
        assert!(on.is_csi());
        assert_eq!(on.get_cronjob_mode(), CronJobMode::PatchTemplate);
    }

    #[test]
    fn the_resync_period_reaches_the_engine_and_zero_turns_it_off() {
        assert_eq!(
            engine_config(&settings(&[], &[])).get_resync_period(),
            Some(std::time::Duration::from_secs(300))
        );
        assert_eq!(
            engine_config(&settings(&["--resync-period=0s"], &[])).get_resync_period(),
            None
        );
    }

    #[test]
    fn an_unknown_cronjob_mode_is_a_start_up_error() {
        let cli = Cli::try_parse_from(["reloader", "--cronjob-reload=sometimes"]).unwrap();
        let error = resolve(&cli.run, &|_| None).unwrap_err();
        assert!(error.to_string().contains("--cronjob-reload"), "{error}");
    }

    #[test]
    fn scoping_modes_become_engine_namespaces() {
        assert_eq!(
            engine_config(&settings(&[], &[])).get_namespaces(),
            &Namespaces::All
        );
        assert_eq!(
            engine_config(&settings(&["--namespaces=a,b"], &[])).get_namespaces(),
            &Namespaces::List(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            engine_config(&settings(&[], &[("KUBERNETES_NAMESPACE", "k")])).get_namespaces(),
            &Namespaces::List(vec!["k".into()])
        );
        assert_eq!(
            engine_config(&settings(&["--namespace-selector=team:x"], &[])).get_namespaces(),
            &Namespaces::Selector("team=x".into())
        );
    }

    #[test]
    fn namespaces_to_ignore_reach_the_engine_in_global_mode() {
        let engine = engine_config(&settings(&["--namespaces-to-ignore=kube-system,b"], &[]));
        assert!(engine.is_namespace_ignored("b") && !engine.is_namespace_ignored("a"));
    }

    #[test]
    fn ignored_resources_and_workload_types_reach_the_library() {
        let s = settings(
            &["--resources-to-ignore=secrets", "--ignored-workload-types=jobs"],
            &[],
        );
        let engine = engine_config(&s);
        assert!(engine.is_watching_configmaps() && !engine.is_watching_secrets());
        let matcher = matcher_config(&s);
        assert!(matcher.is_ignored(&WorkloadKind::Job) && !matcher.is_ignored(&WorkloadKind::CronJob));
        assert!(!engine.get_workload_kinds().contains(&WorkloadKind::Job));
        assert!(engine.get_workload_kinds().contains(&WorkloadKind::CronJob));
    }

    #[test]
    fn cronjobs_and_jobs_are_watched_unless_ignored() {
        let engine = engine_config(&settings(&[], &[]));
        for kind in [WorkloadKind::CronJob, WorkloadKind::Job, WorkloadKind::Deployment] {
            assert!(engine.get_workload_kinds().contains(&kind), "{kind}");
        }
        let engine = engine_config(&settings(&["--ignored-workload-types=jobs,cronjobs"], &[]));
        assert!(!engine.get_workload_kinds().contains(&WorkloadKind::CronJob));
        assert!(!engine.get_workload_kinds().contains(&WorkloadKind::Job));
    }

    #[test]
    fn custom_annotation_keys_reach_matcher_and_watch() {
        let s = settings(
            &[
                "--ignore-annotation=corp.io/ignore",
                "--secret-annotation=corp.io/secrets",
            ],
            &[],
        );
        assert_eq!(matcher_config(&s).keys().ignore(), "corp.io/ignore");
        let engine = engine_config(&s);
        assert!(
            engine
                .get_source_annotations()
                .iter()
                .any(|k| k == "corp.io/ignore")
        );
        assert!(
            engine
                .get_named_reload_annotations()
                .iter()
                .any(|k| k == "corp.io/secrets")
        );
    }

    #[test]
    fn strategy_flag_picks_the_strategy() {
        assert_eq!(strategy(&settings(&[], &[])).name(), "env-vars");
        assert_eq!(
            strategy(&settings(&["--reload-strategy=annotations"], &[])).name(),
            "annotations"
        );
    }
}
