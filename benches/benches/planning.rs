//! Planning each strategy for a typical workload ([`typical_deployment`]: auto, four
//! references, a sidecar) and building the strategic-merge patch body.
//!
//! - `plan/<strategy>/fresh`: the workload has never been reloaded.
//! - `plan/<strategy>/with-state`: it was reloaded once for each of its four sources (the
//!   env-vars strategy then carries four `STAKATER_*` variables, the annotations strategy
//!   `last-reloaded-from` and a four-entry `reloader.rs/digests`), and one source changes.
//! - `plan/<strategy>/already-recorded`: the change is already recorded (a replay): no plan.
//! - `patch/<strategy>/body` builds the patch `serde_json::Value` for the with-state plan;
//!   `patch/<strategy>/bytes` also serialises it, as it is sent.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use reload_benches::fixtures::{digest_text, typical_deployment, typical_sources, update, with_history};
use reload_core::{ReloadStrategy, Workload, WorkloadKind};
use reload_strategies::{AnnotationStrategy, EnvVarStrategy};

fn plan_and_patch(c: &mut Criterion) {
    let workload = Workload::try_from(&typical_deployment()).expect("fixture Deployment converts");
    let sources = typical_sources();
    let change = update(sources[0].clone(), &digest_text(2));
    let strategies: [&dyn ReloadStrategy; 2] = [&EnvVarStrategy, &AnnotationStrategy];
    for strategy in strategies {
        let name = strategy.name();
        let seasoned = with_history(strategy, &workload, &sources);
        let plan = strategy.plan(&seasoned, &change).expect("a new digest plans");
        let mut recorded = seasoned.clone();
        plan.apply(&mut recorded);
        assert!(
            strategy.plan(&recorded, &change).is_none(),
            "{name}: replay is a no-op"
        );

        let mut group = c.benchmark_group(format!("plan/{name}"));
        for (label, target) in [
            ("fresh", &workload),
            ("with-state", &seasoned),
            ("already-recorded", &recorded),
        ] {
            group.bench_function(label, |b| {
                b.iter(|| strategy.plan(black_box(target), black_box(&change)));
            });
        }
        group.finish();

        let mut group = c.benchmark_group(format!("patch/{name}"));
        group.bench_function("body", |b| {
            b.iter(|| black_box(&plan).strategic_merge_patch(&WorkloadKind::Deployment));
        });
        group.bench_function("bytes", |b| {
            b.iter(|| serde_json::to_vec(&black_box(&plan).strategic_merge_patch(&WorkloadKind::Deployment)));
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Short but stable on a shared 2-core machine; command-line options override these.
    config = Criterion::default().warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(3));
    targets = plan_and_patch
}
criterion_main!(benches);
