//! # reload-strategies
//!
//! Reloader's two reload strategies for [`reload_core::ReloadStrategy`], byte-compatible with
//! what Reloader writes, but idempotent: a change whose digest a workload already records
//! yields no plan, for every source.
//!
//! | strategy | Reloader flag | writes |
//! |---|---|---|
//! | [`EnvVarStrategy`] (default) | `--reload-strategy=env-vars` | `STAKATER_<NAME>_<TYPE>` on the chosen container ([`env_var_name`]) |
//! | [`AnnotationStrategy`] | `--reload-strategy=annotations` | [`LAST_RELOADED_FROM`] on the pod template |
//!
//! Both also keep our per-source trigger state
//! ([`reload_core::trigger::TRIGGER_ANNOTATION`], `reloader.rs/digests`) where Reloader's own
//! markers cannot tell sources apart: always for annotations (Reloader keeps only the last
//! source), and for env vars when a variable cannot be attributed to one source
//! ([`collisions`]) and on deletes (the [`DELETE_MARKER_DIGEST`]). Both read Reloader's markers as existing state, so replacing Reloader
//! restarts nothing, and both change only the pod template's annotations and the env of the
//! chosen container. Each passes the strategy-law checker of `reload-core`'s `testing` feature.
//!
//! ```
//! use std::sync::Arc;
//! use reload_core::ReloadStrategy;
//! use reload_strategies::{AnnotationStrategy, EnvVarStrategy};
//!
//! let strategies: [Arc<dyn ReloadStrategy>; 2] = [Arc::new(EnvVarStrategy), Arc::new(AnnotationStrategy)];
//! assert_eq!(strategies.map(|s| s.name().to_owned()), ["env-vars", "annotations"]);
//! ```

pub mod annotations;
mod env_name;
pub mod env_vars;

pub use annotations::{AnnotationStrategy, DELETE_MARKER_DIGEST, LAST_RELOADED_FROM, LastReloadedFrom};
pub use env_name::{convert_to_env_var_name, env_var_name};
pub use env_vars::{EnvVarCollision, EnvVarStrategy, collisions};

#[cfg(test)]
mod tests;
