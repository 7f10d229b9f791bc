//! Reloader's annotation keys: the ten operators can rename by flag, and the fixed ones.

use crate::source::SourceKind;

/// `secretproviderclass.reloader.stakater.com/reload` (no flag overrides it).
pub const SECRET_PROVIDER_CLASS_RELOAD: &str = "secretproviderclass.reloader.stakater.com/reload";
/// `secretproviderclass.reloader.stakater.com/auto` (no flag overrides it).
pub const SECRET_PROVIDER_CLASS_AUTO: &str = "secretproviderclass.reloader.stakater.com/auto";
/// `configmaps.exclude.reloader.stakater.com/reload` (no flag overrides it).
pub const CONFIGMAPS_EXCLUDE: &str = "configmaps.exclude.reloader.stakater.com/reload";
/// `secrets.exclude.reloader.stakater.com/reload` (no flag overrides it).
pub const SECRETS_EXCLUDE: &str = "secrets.exclude.reloader.stakater.com/reload";
/// `secretproviderclasses.exclude.reloader.stakater.com/reload` (no flag overrides it).
pub const SECRET_PROVIDER_CLASSES_EXCLUDE: &str =
    "secretproviderclasses.exclude.reloader.stakater.com/reload";
/// `reloader.stakater.com/rollout-strategy` on Argo Rollouts (no flag overrides it).
pub const ROLLOUT_STRATEGY: &str = "reloader.stakater.com/rollout-strategy";
/// `reloader.stakater.com/last-reloaded-from`, written by the annotations strategy (fixed).
pub const LAST_RELOADED_FROM: &str = "reloader.stakater.com/last-reloaded-from";

/// The annotation keys the rules read, with Reloader's defaults.
///
/// Every key Reloader lets operators rename by flag has a setter named after that flag
/// (`--auto-annotation` → [`AnnotationKeys::auto_annotation`], ...). The keys no flag can
/// rename (the `secretproviderclass.*` keys, the three `*.exclude.*` keys, `rollout-strategy`)
/// are the constants of this module.
///
/// ```
/// use reload_core::matcher::AnnotationKeys;
/// use reload_core::SourceKind;
///
/// let keys = AnnotationKeys::default().auto_annotation("example.com/auto");
/// assert_eq!(keys.auto(), "example.com/auto");
/// assert_eq!(keys.reload_for(SourceKind::Secret), "secret.reloader.stakater.com/reload");
/// ```
#[doc(alias = "reloader")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationKeys {
    auto: String,
    configmap_auto: String,
    secret_auto: String,
    configmap_reload: String,
    secret_reload: String,
    search: String,
    search_match: String,
    ignore: String,
    pause_period: String,
    paused_at: String,
}

impl Default for AnnotationKeys {
    fn default() -> Self {
        AnnotationKeys {
            auto: "reloader.stakater.com/auto".into(),
            configmap_auto: "configmap.reloader.stakater.com/auto".into(),
            secret_auto: "secret.reloader.stakater.com/auto".into(),
            configmap_reload: "configmap.reloader.stakater.com/reload".into(),
            secret_reload: "secret.reloader.stakater.com/reload".into(),
            search: "reloader.stakater.com/search".into(),
            search_match: "reloader.stakater.com/match".into(),
            ignore: "reloader.stakater.com/ignore".into(),
            pause_period: "deployment.reloader.stakater.com/pause-period".into(),
            paused_at: "deployment.reloader.stakater.com/paused-at".into(),
        }
    }
}

impl AnnotationKeys {
    /// `--auto-annotation` (default `reloader.stakater.com/auto`).
    #[must_use]
    pub fn auto_annotation(mut self, key: impl Into<String>) -> Self {
        self.auto = key.into();
        self
    }

    /// `--configmap-auto-annotation` (default `configmap.reloader.stakater.com/auto`).
    #[must_use]
    pub fn configmap_auto_annotation(mut self, key: impl Into<String>) -> Self {
        self.configmap_auto = key.into();
        self
    }

    /// `--secret-auto-annotation` (default `secret.reloader.stakater.com/auto`).
    #[must_use]
    pub fn secret_auto_annotation(mut self, key: impl Into<String>) -> Self {
        self.secret_auto = key.into();
        self
    }

    /// `--configmap-annotation` (default `configmap.reloader.stakater.com/reload`).
    #[must_use]
    pub fn configmap_annotation(mut self, key: impl Into<String>) -> Self {
        self.configmap_reload = key.into();
        self
    }

    /// `--secret-annotation` (default `secret.reloader.stakater.com/reload`).
    #[must_use]
    pub fn secret_annotation(mut self, key: impl Into<String>) -> Self {
        self.secret_reload = key.into();
        self
    }

    /// `--auto-search-annotation` (default `reloader.stakater.com/search`).
    #[must_use]
    pub fn auto_search_annotation(mut self, key: impl Into<String>) -> Self {
        self.search = key.into();
        self
    }

    /// `--search-match-annotation` (default `reloader.stakater.com/match`).
    #[must_use]
    pub fn search_match_annotation(mut self, key: impl Into<String>) -> Self {
        self.search_match = key.into();
        self
    }

    /// `--ignore-annotation` (default `reloader.stakater.com/ignore`).
    #[must_use]
    pub fn ignore_annotation(mut self, key: impl Into<String>) -> Self {
        self.ignore = key.into();
        self
    }

    /// `--pause-deployment-annotation` (default `deployment.reloader.stakater.com/pause-period`).
    #[must_use]
    pub fn pause_deployment_annotation(mut self, key: impl Into<String>) -> Self {
        self.pause_period = key.into();
        self
    }

    /// `--pause-deployment-time-annotation` (default `deployment.reloader.stakater.com/paused-at`).
    #[must_use]
    pub fn pause_deployment_time_annotation(mut self, key: impl Into<String>) -> Self {
        self.paused_at = key.into();
        self
    }

    /// The global auto key (workload).
    pub fn auto(&self) -> &str {
        &self.auto
    }

    /// The ConfigMap typed auto key (workload).
    pub fn configmap_auto(&self) -> &str {
        &self.configmap_auto
    }

    /// The Secret typed auto key (workload).
    pub fn secret_auto(&self) -> &str {
        &self.secret_auto
    }

    /// The ConfigMap named-reload key (workload).
    pub fn configmap_reload(&self) -> &str {
        &self.configmap_reload
    }

    /// The Secret named-reload key (workload).
    pub fn secret_reload(&self) -> &str {
        &self.secret_reload
    }

    /// The search key (workload; exactly `"true"` turns search mode on).
    pub fn search(&self) -> &str {
        &self.search
    }

    /// The match key (source; exactly `"true"` makes it visible to search mode).
    pub fn search_match(&self) -> &str {
        &self.search_match
    }

    /// The ignore key (source; exactly `"true"` stops every reload).
    pub fn ignore(&self) -> &str {
        &self.ignore
    }

    /// The pause-period key (Deployment metadata).
    pub fn pause_period(&self) -> &str {
        &self.pause_period
    }

    /// The paused-at key (Deployment metadata, written while paused).
    pub fn paused_at(&self) -> &str {
        &self.paused_at
    }

    /// The named-reload key for sources of `kind`.
    pub fn reload_for(&self, kind: SourceKind) -> &str {
        match kind {
            SourceKind::ConfigMap => &self.configmap_reload,
            SourceKind::Secret => &self.secret_reload,
            SourceKind::SecretProviderClass => SECRET_PROVIDER_CLASS_RELOAD,
        }
    }

    /// The typed auto key for sources of `kind`.
    pub fn typed_auto_for(&self, kind: SourceKind) -> &str {
        match kind {
            SourceKind::ConfigMap => &self.configmap_auto,
            SourceKind::Secret => &self.secret_auto,
            SourceKind::SecretProviderClass => SECRET_PROVIDER_CLASS_AUTO,
        }
    }

    /// The exclude key for sources of `kind` (never renamed).
    pub fn exclude_for(kind: SourceKind) -> &'static str {
        match kind {
            SourceKind::ConfigMap => CONFIGMAPS_EXCLUDE,
            SourceKind::Secret => SECRETS_EXCLUDE,
            SourceKind::SecretProviderClass => SECRET_PROVIDER_CLASSES_EXCLUDE,
        }
    }

    /// The source annotations the rules read (`ignore` and `match`): all a watch needs to keep
    /// of a ConfigMap's or Secret's annotations (see [`crate::SourceMeta::from_metadata`]).
    pub fn source_keys(&self) -> [&str; 2] {
        [&self.ignore, &self.search_match]
    }

    /// Every workload annotation key the rules read for any source kind (metadata or pod
    /// template), so an index can keep just these.
    pub fn workload_keys(&self) -> Vec<&str> {
        let mut keys = vec![self.auto.as_str(), self.search.as_str()];
        for kind in SourceKind::ALL {
            keys.extend([
                self.reload_for(kind),
                self.typed_auto_for(kind),
                Self::exclude_for(kind),
            ]);
        }
        keys
    }
}
