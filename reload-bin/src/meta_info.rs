//! Reloader's meta-info ConfigMap (`reloader-spec.md` §7.5): at start-up, when
//! `RELOADER_NAMESPACE` is set, `reloader-meta-info` is created (or updated) there with the
//! build, the options and the deployment. Failures only warn.
//!
//! [`document`] is pure; [`publish`] does the create-or-update.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tracing::{info, warn};

use reload_core::matcher::{CONFIGMAPS_EXCLUDE, ROLLOUT_STRATEGY, SECRETS_EXCLUDE};

use crate::cli::settings::{LogFormat, Scope, Settings, StrategyName};

/// The ConfigMap's name.
pub const NAME: &str = "reloader-meta-info";
/// Its label.
pub const LABEL: (&str, &str) = ("reloader.stakater.com/meta-info", "reloader");

/// `buildInfo`: Reloader's `goVersion` holds the compiler version (here `rustc`'s, taken by
/// `build.rs`), `commitHash`/`commitTime` the git commit built from (empty when the build had
/// no git; `RELOADER_COMMIT_HASH`/`RELOADER_COMMIT_TIME` at build time override them).
fn build_info() -> Value {
    json!({
        "goVersion": env!("RELOADER_RUSTC_VERSION"),
        "releaseVersion": env!("CARGO_PKG_VERSION"),
        "commitHash": env!("RELOADER_COMMIT_HASH"),
        "commitTime": env!("RELOADER_COMMIT_TIME"),
        "edition": "oss",
    })
}

/// `reloaderOptions`, with Reloader's option keys. A webhook URL can carry a token, so only
/// whether one is set is recorded.
fn options(settings: &Settings) -> Value {
    let keys = &settings.keys;
    let (namespace_selectors, namespaces_to_ignore) = match &settings.scope {
        Scope::Global {
            ignored_namespaces,
            namespace_selector,
        } => (namespace_selector.clone(), ignored_namespaces.clone()),
        _ => (None, Vec::new()),
    };
    let mut resources_to_ignore = Vec::new();
    if settings.ignore_configmaps {
        resources_to_ignore.push("configmaps");
    }
    if settings.ignore_secrets {
        resources_to_ignore.push("secrets");
    }
    let mut workload_types_to_ignore = Vec::new();
    if settings.ignore_jobs {
        workload_types_to_ignore.push("jobs");
    }
    if settings.ignore_cronjobs {
        workload_types_to_ignore.push("cronjobs");
    }
    json!({
        "autoReloadAll": settings.auto_reload_all,
        "configmapUpdateOnChangeAnnotation": keys.configmap_reload(),
        "secretUpdateOnChangeAnnotation": keys.secret_reload(),
        "reloaderAutoAnnotation": keys.auto(),
        "configmapReloaderAutoAnnotation": keys.configmap_auto(),
        "secretReloaderAutoAnnotation": keys.secret_auto(),
        "ignoreResourceAnnotation": keys.ignore(),
        "configmapExcludeReloaderAnnotation": CONFIGMAPS_EXCLUDE,
        "secretExcludeReloaderAnnotation": SECRETS_EXCLUDE,
        "autoSearchAnnotation": keys.search(),
        "searchMatchAnnotation": keys.search_match(),
        "rolloutStrategyAnnotation": ROLLOUT_STRATEGY,
        "pauseDeploymentAnnotation": keys.pause_period(),
        "pauseDeploymentTimeAnnotation": keys.paused_at(),
        "logFormat": match settings.log_format { LogFormat::Text => "", LogFormat::Json => "json" },
        "logLevel": settings.log_level.as_str().to_ascii_lowercase(),
        "isArgoRollouts": settings.argo_rollouts,
        "reloadStrategy": match settings.strategy {
            StrategyName::EnvVars => "env-vars",
            StrategyName::Annotations => "annotations",
        },
        "reloadOnCreate": settings.reload_on_create,
        "reloadOnDelete": settings.reload_on_delete,
        "syncAfterRestart": settings.sync_after_restart,
        "enableHA": settings.ha.is_some(),
        "enableCSIIntegration": settings.csi,
        "webhookUrl": if settings.webhook_url.is_some() { "<set>" } else { "" },
        "resourcesToIgnore": resources_to_ignore,
        "workloadTypesToIgnore": workload_types_to_ignore,
        "namespaceSelectors": namespace_selectors.into_iter().collect::<Vec<_>>(),
        "resourceSelectors": settings.resource_label_selector.iter().collect::<Vec<_>>(),
        "namespacesToIgnore": namespaces_to_ignore,
        "enablePProf": settings.pprof.0,
        "pprofAddr": settings.pprof.1,
    })
}

/// The meta-info ConfigMap for `settings` in `namespace`.
pub fn document(settings: &Settings, namespace: &str) -> ConfigMap {
    let build = build_info();
    let deployment = json!({
        "name": settings.deployment_name.clone().unwrap_or_default(),
        "namespace": namespace,
    });
    let data = BTreeMap::from([
        ("buildInfo".to_owned(), build.to_string()),
        ("reloaderOptions".to_owned(), options(settings).to_string()),
        ("deploymentInfo".to_owned(), deployment.to_string()),
    ]);
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(NAME.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([(LABEL.0.to_owned(), LABEL.1.to_owned())])),
            ..ObjectMeta::default()
        },
        data: Some(data),
        ..ConfigMap::default()
    }
}

/// Creates or updates the meta-info ConfigMap, or warns as Reloader does when
/// `RELOADER_NAMESPACE` is unset. Never fails.
pub async fn publish(client: kube::Client, settings: &Settings) {
    let Some(namespace) = &settings.reloader_namespace else {
        warn!("RELOADER_NAMESPACE is not set, skipping meta info configmap creation");
        return;
    };
    let document = document(settings, namespace);
    let api: Api<ConfigMap> = Api::namespaced(client, namespace);
    match api.create(&PostParams::default(), &document).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {
            info!("Meta info configmap already exists, updating it");
            let patch = json!({"metadata": {"labels": document.metadata.labels}, "data": document.data});
            if let Err(error) = api
                .patch(NAME, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                warn!("Failed to update meta info configmap: {error}");
            }
        }
        Err(error) => warn!("Failed to create meta info configmap: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::str::FromStr as _;

    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, settings::resolve};

    fn settings(args: &[&str]) -> Settings {
        let cli =
            Cli::try_parse_from(std::iter::once("reloader").chain(args.iter().copied())).expect("valid");
        let env: HashMap<&str, &str> = HashMap::from([
            ("RELOADER_NAMESPACE", "ops"),
            ("RELOADER_DEPLOYMENT_NAME", "reloader"),
        ]);
        resolve(&cli.run, &|k| env.get(k).map(|v| (*v).to_owned())).expect("valid settings")
    }

    fn data(cm: &ConfigMap, key: &str) -> Value {
        let text = cm.data.as_ref().and_then(|d| d.get(key)).expect("key present");
        serde_json::from_str(text).expect("JSON value")
    }

    #[test]
    fn the_document_holds_build_options_and_deployment_as_json_with_the_label() {
        let cm = document(
            &settings(&["--reload-strategy=annotations", "--reload-on-create=true"]),
            "ops",
        );
        assert_eq!(cm.metadata.name.as_deref(), Some(NAME));
        assert_eq!(
            cm.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL.0))
                .map(String::as_str),
            Some(LABEL.1)
        );
        assert_eq!(data(&cm, "buildInfo")["edition"], "oss");
        let options = data(&cm, "reloaderOptions");
        assert_eq!(options["reloadStrategy"], "annotations");
        assert_eq!(options["reloadOnCreate"], true);
        assert_eq!(options["autoReloadAll"], false);
        assert_eq!(
            data(&cm, "deploymentInfo"),
            json!({"name": "reloader", "namespace": "ops"})
        );
    }

    /// Reloader's `ReloaderOptions` JSON tags (`pkg/common/common.go`, v1.4).
    const RELOADER_OPTION_KEYS: &[&str] = &[
        "autoReloadAll",
        "configmapUpdateOnChangeAnnotation",
        "secretUpdateOnChangeAnnotation",
        "reloaderAutoAnnotation",
        "ignoreResourceAnnotation",
        "configmapReloaderAutoAnnotation",
        "secretReloaderAutoAnnotation",
        "configmapExcludeReloaderAnnotation",
        "secretExcludeReloaderAnnotation",
        "autoSearchAnnotation",
        "searchMatchAnnotation",
        "rolloutStrategyAnnotation",
        "pauseDeploymentAnnotation",
        "pauseDeploymentTimeAnnotation",
        "logFormat",
        "logLevel",
        "isArgoRollouts",
        "reloadStrategy",
        "reloadOnCreate",
        "reloadOnDelete",
        "syncAfterRestart",
        "enableHA",
        "webhookUrl",
        "resourcesToIgnore",
        "workloadTypesToIgnore",
        "namespaceSelectors",
        "resourceSelectors",
        "namespacesToIgnore",
        "enablePProf",
        "pprofAddr",
    ];

    #[test]
    fn every_reloader_option_key_is_present_and_only_the_csi_flag_is_extra() {
        let cm = document(&settings(&["--enable-pprof", "--pprof-addr=:7070"]), "ops");
        let options = data(&cm, "reloaderOptions");
        let keys: Vec<&str> = options
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        for key in RELOADER_OPTION_KEYS {
            assert!(keys.contains(key), "{key} missing from {keys:?}");
        }
        let extra: Vec<&&str> = keys
            .iter()
            .filter(|k| !RELOADER_OPTION_KEYS.contains(k))
            .collect();
        assert_eq!(extra, vec![&"enableCSIIntegration"]);
        assert_eq!(options["enablePProf"], true);
        assert_eq!(options["pprofAddr"], ":7070");
        assert_eq!(
            options["configmapExcludeReloaderAnnotation"],
            "configmaps.exclude.reloader.stakater.com/reload"
        );
        assert_eq!(
            options["rolloutStrategyAnnotation"],
            "reloader.stakater.com/rollout-strategy"
        );
    }

    #[test]
    fn build_info_names_the_rust_compiler_and_a_full_commit_hash_when_known() {
        let build = data(&document(&settings(&[]), "ops"), "buildInfo");
        let compiler = build["goVersion"].as_str().expect("a string");
        assert!(compiler.starts_with("rustc "), "{compiler}");
        let hash = build["commitHash"].as_str().expect("a string");
        assert!(
            hash.is_empty() || (hash.len() == 40 && hash.bytes().all(|b| b.is_ascii_hexdigit())),
            "{hash}"
        );
        let time = build["commitTime"].as_str().expect("a string");
        assert_eq!(hash.is_empty(), time.is_empty(), "both or neither: {hash} {time}");
        if !time.is_empty() {
            assert!(jiff::Timestamp::from_str(time).is_ok(), "RFC 3339: {time}");
        }
    }

    #[test]
    fn a_webhook_url_is_recorded_as_set_never_verbatim() {
        let cm = document(&settings(&["--webhook-url=https://hooks.example/T0KEN"]), "ops");
        let options = data(&cm, "reloaderOptions");
        assert_eq!(options["webhookUrl"], "<set>");
        assert!(!cm.data.expect("data").values().any(|v| v.contains("T0KEN")));
    }
}
