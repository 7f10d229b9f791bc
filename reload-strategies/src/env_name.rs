//! Reloader's env var names: `STAKATER_<NAME>_<CONFIGMAP|SECRET|SECRETPROVIDERCLASS>`.

use reload_core::SourceKind;

/// The env var the env-vars strategy sets for source `kind`/`name`: `STAKATER_` +
/// [`convert_to_env_var_name`]`(name)` + `_` + the kind's Reloader type
/// (`reloader-spec.md` §3.1).
///
/// Different names can give the same variable (`my.app` and `my-app`); see
/// [`crate::collisions`].
///
/// ```
/// use reload_core::SourceKind;
/// use reload_strategies::env_var_name;
///
/// assert_eq!(env_var_name(SourceKind::ConfigMap, "my-config"), "STAKATER_MY_CONFIG_CONFIGMAP");
/// assert_eq!(env_var_name(SourceKind::Secret, "my-secret"), "STAKATER_MY_SECRET_SECRET");
/// ```
#[doc(alias = "ConvertToEnvVarName")]
pub fn env_var_name(kind: SourceKind, name: &str) -> String {
    format!(
        "STAKATER_{}_{}",
        convert_to_env_var_name(name),
        kind.reloader_type()
    )
}

/// Reloader's `ConvertToEnvVarName`: upper-case, then walk the bytes keeping `A-Z` and `0-9`;
/// any other byte writes one `_`, but only right after a kept byte. So leading separators are
/// dropped, runs collapse to one `_`, and a trailing separator leaves a trailing `_`.
///
/// Go upper-cases Unicode-aware before the byte walk; we upper-case ASCII only. Every byte of a
/// non-ASCII character is a separator either way, and the names the API server accepts are
/// ASCII, so the results are identical for real object names.
///
/// ```
/// use reload_strategies::convert_to_env_var_name;
///
/// assert_eq!(convert_to_env_var_name("www.stakater.com"), "WWW_STAKATER_COM");
/// assert_eq!(convert_to_env_var_name("--x--"), "X_");
/// ```
#[doc(alias = "ConvertToEnvVarName")]
pub fn convert_to_env_var_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut previous_kept = false;
    for byte in name.bytes() {
        let byte = byte.to_ascii_uppercase();
        if byte.is_ascii_uppercase() || byte.is_ascii_digit() {
            out.push(char::from(byte));
            previous_kept = true;
        } else if previous_kept {
            out.push('_');
            previous_kept = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_reloaders_upstream_and_spec_vectors() {
        let vectors = [
            ("www.stakater.com", "WWW_STAKATER_COM"),
            ("a--b", "A_B"),
            ("--x--", "X_"),
            ("-", ""),
            ("9lives", "9LIVES"),
            ("cfg-", "CFG_"),
            ("-cfg", "CFG"),
            ("my.app.config", "MY_APP_CONFIG"),
            ("", ""),
        ];
        for (name, expected) in vectors {
            assert_eq!(convert_to_env_var_name(name), expected, "name {name:?}");
        }
    }

    #[test]
    fn env_var_names_are_pinned_for_every_kind() {
        assert_eq!(
            env_var_name(SourceKind::ConfigMap, "my-config"),
            "STAKATER_MY_CONFIG_CONFIGMAP"
        );
        assert_eq!(
            env_var_name(SourceKind::Secret, "my-secret"),
            "STAKATER_MY_SECRET_SECRET"
        );
        assert_eq!(
            env_var_name(SourceKind::SecretProviderClass, "vault-db"),
            "STAKATER_VAULT_DB_SECRETPROVIDERCLASS"
        );
        assert_eq!(env_var_name(SourceKind::ConfigMap, "-"), "STAKATER__CONFIGMAP");
        assert_eq!(
            env_var_name(SourceKind::ConfigMap, "cfg-"),
            "STAKATER_CFG__CONFIGMAP"
        );
        assert_eq!(
            env_var_name(SourceKind::ConfigMap, "-cfg"),
            "STAKATER_CFG_CONFIGMAP"
        );
    }

    #[test]
    fn dotted_and_dashed_names_collide_as_in_reloader() {
        assert_eq!(
            env_var_name(SourceKind::ConfigMap, "my-app-config"),
            "STAKATER_MY_APP_CONFIG_CONFIGMAP"
        );
        assert_eq!(
            env_var_name(SourceKind::ConfigMap, "my.app.config"),
            "STAKATER_MY_APP_CONFIG_CONFIGMAP"
        );
    }

    #[test]
    fn non_ascii_bytes_are_separators() {
        assert_eq!(convert_to_env_var_name("caf\u{e9}-x"), "CAF_X");
        assert_eq!(convert_to_env_var_name("\u{e9}a"), "A");
    }
}
