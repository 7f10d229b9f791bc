//! Reference detection and container choice (`reloader-spec.md` §5), through the matcher.

use super::*;

fn auto() -> Fixture {
    deployment().meta(AUTO, "true")
}

#[test]
fn configmap_volume_picks_the_first_container_mounting_it() {
    let workload = auto()
        .volume("config", VolumeSource::ConfigMap("cfg".into()))
        .container("sidecar")
        .mounting("app", "config")
        .mounting("other", "config");
    assert_eq!(
        decide(&workload, &cm("cfg")),
        reload(ReloadReason::AutoAnnotation, "app")
    );
}

#[test]
fn secret_volume_picks_the_container_mounting_it() {
    let workload = auto()
        .volume("creds", VolumeSource::Secret("db".into()))
        .container("sidecar")
        .mounting("app", "creds");
    assert_eq!(
        decide(&workload, &secret("db")),
        reload(ReloadReason::AutoAnnotation, "app")
    );
}

#[test]
fn projected_volume_sources_count_as_references() {
    let workload = auto()
        .volume(
            "bundle",
            VolumeSource::Projected(vec![
                NamedSource::new(SourceKind::ConfigMap, "cfg"),
                NamedSource::new(SourceKind::Secret, "db"),
            ]),
        )
        .container("sidecar")
        .mounting("app", "bundle");
    assert_eq!(
        decide(&workload, &secret("db")),
        reload(ReloadReason::AutoAnnotation, "app")
    );
    assert_eq!(
        decide(&workload, &cm("cfg")),
        reload(ReloadReason::AutoAnnotation, "app")
    );
}

#[test]
fn csi_volume_references_its_secret_provider_class() {
    let workload = auto()
        .volume("vault", VolumeSource::Csi("vault-spc".into()))
        .container("sidecar")
        .mounting("app", "vault");
    assert_eq!(
        decide(&workload, &source(SourceKind::SecretProviderClass, "vault-spc")),
        reload(ReloadReason::AutoAnnotation, "app")
    );
}

#[test]
fn volume_of_another_kind_with_the_same_name_is_not_a_reference() {
    let workload = auto()
        .volume("creds", VolumeSource::Secret("shared".into()))
        .mounting("app", "creds");
    assert_eq!(decide(&workload, &cm("shared")), skip(SkipReason::NotReferenced));
}

#[test]
fn volume_mounted_only_by_an_init_container_picks_the_first_regular_container() {
    let workload = auto()
        .volume("config", VolumeSource::ConfigMap("cfg".into()))
        .container("first")
        .container("second")
        .init_mounting("init", "config");
    assert_eq!(
        decide(&workload, &cm("cfg")),
        reload(ReloadReason::AutoAnnotation, "first")
    );
}

#[test]
fn unmounted_volume_falls_through_to_env_references() {
    let workload = auto()
        .volume("config", VolumeSource::ConfigMap("cfg".into()))
        .container("first")
        .env_from("user", SourceKind::ConfigMap, "cfg");
    assert_eq!(
        decide(&workload, &cm("cfg")),
        reload(ReloadReason::AutoAnnotation, "user")
    );
}

#[test]
fn only_the_first_matching_volume_is_considered() {
    // Reloader stops at the first volume backed by the source: a second, mounted volume of
    // the same ConfigMap is never looked at.
    let workload = auto()
        .volume("unused", VolumeSource::ConfigMap("cfg".into()))
        .volume("used", VolumeSource::ConfigMap("cfg".into()))
        .mounting("app", "used");
    assert_eq!(decide(&workload, &cm("cfg")), skip(SkipReason::NotReferenced));
}

#[test]
fn env_value_from_picks_the_referencing_container() {
    let workload = auto()
        .container("sidecar")
        .env_value_from("app", SourceKind::Secret, "db");
    assert_eq!(
        decide(&workload, &secret("db")),
        reload(ReloadReason::AutoAnnotation, "app")
    );
}

#[test]
fn env_from_picks_the_referencing_container() {
    let workload = auto()
        .container("sidecar")
        .env_from("app", SourceKind::ConfigMap, "cfg");
    assert_eq!(
        decide(&workload, &cm("cfg")),
        reload(ReloadReason::AutoAnnotation, "app")
    );
}

#[test]
fn env_reference_of_another_kind_is_not_a_reference() {
    let workload = auto().env_from("app", SourceKind::Secret, "shared");
    assert_eq!(decide(&workload, &cm("shared")), skip(SkipReason::NotReferenced));
}

#[test]
fn init_container_env_reference_picks_the_first_regular_container() {
    let workload = auto()
        .container("first")
        .init_env_from("init", SourceKind::ConfigMap, "cfg");
    assert_eq!(
        decide(&workload, &cm("cfg")),
        reload(ReloadReason::AutoAnnotation, "first")
    );
}

#[test]
fn volume_mount_wins_over_an_earlier_env_reference() {
    let workload = auto()
        .volume("config", VolumeSource::ConfigMap("cfg".into()))
        .env_from("env-user", SourceKind::ConfigMap, "cfg")
        .mounting("mounter", "config");
    assert_eq!(
        decide(&workload, &cm("cfg")),
        reload(ReloadReason::AutoAnnotation, "mounter")
    );
}

#[test]
fn reference_only_from_init_containers_without_regular_containers_has_no_container() {
    let workload = auto().init_env_from("init", SourceKind::ConfigMap, "cfg");
    assert_eq!(decide(&workload, &cm("cfg")), skip(SkipReason::NoContainer));
}

#[test]
fn named_reload_without_any_container_has_no_container() {
    let workload = deployment().meta(CM_RELOAD, "cfg");
    assert_eq!(decide(&workload, &cm("cfg")), skip(SkipReason::NoContainer));
}
