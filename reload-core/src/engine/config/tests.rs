//! [`EngineConfig`] defaults and option mapping.

use super::*;

#[test]
fn defaults_match_the_matchers_default_keys_and_exclude_helm_secrets() {
    let from_keys = EngineConfig::default().matcher_keys(&AnnotationKeys::default());
    let defaults = EngineConfig::default();
    assert_eq!(
        from_keys.get_named_reload_annotations(),
        defaults.get_named_reload_annotations()
    );
    let mut a = from_keys.get_source_annotations().to_vec();
    let mut b = defaults.get_source_annotations().to_vec();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(
        defaults.secret_field_selector().as_deref(),
        Some("type!=helm.sh/release.v1")
    );
    assert_eq!(defaults.get_write_rate(), Rate::new(100.0, 200));
}

#[test]
fn the_resync_period_defaults_to_five_minutes_and_zero_turns_it_off() {
    assert_eq!(
        EngineConfig::default().get_resync_period(),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        EngineConfig::default()
            .resync_period(Some(Duration::ZERO))
            .get_resync_period(),
        None
    );
    assert_eq!(
        EngineConfig::default()
            .resync_period(Some(Duration::from_secs(30)))
            .get_resync_period(),
        Some(Duration::from_secs(30))
    );
}
