//! # reload-strategies
//!
//! Reloader's two reload strategies for [`reload_core::ReloadStrategy`]: env-vars and annotations.
