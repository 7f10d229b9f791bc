//! Both built-in strategies through reload-core's strategy-law checker.

use reload_core::testing::{LawConfig, check_strategies_agree, check_strategy_laws};

use crate::{AnnotationStrategy, EnvVarStrategy};

const CASES: u32 = 512;

#[test]
fn env_var_strategy_satisfies_the_strategy_laws() {
    if let Err(failure) = check_strategy_laws(&EnvVarStrategy, &LawConfig::default().cases(CASES)) {
        panic!("{failure}");
    }
}

#[test]
fn annotation_strategy_satisfies_the_strategy_laws() {
    if let Err(failure) = check_strategy_laws(&AnnotationStrategy, &LawConfig::default().cases(CASES)) {
        panic!("{failure}");
    }
}

#[test]
fn env_var_and_annotation_strategies_agree_on_whether_to_reload() {
    if let Err(failure) = check_strategies_agree(&EnvVarStrategy, &AnnotationStrategy, CASES) {
        panic!("{failure}");
    }
}
