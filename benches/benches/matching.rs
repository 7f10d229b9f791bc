//! Matching one source change against a namespace of 2,000 Deployments
//! ([`NamespaceFixture`]'s mix: 60 % auto, 10 % typed auto on the template, 10 % named regex
//! lists, 5 % search, 15 % not opted in).
//!
//! - `match/brute-force/*`: [`AnnotationMatcher::decide`] on every workload of the namespace,
//!   the upper bound of what a change can cost without an index.
//! - `match/candidates/*`: look the source up in a [`CandidateIndex`] (workloads referencing it
//!   plus those with a named-reload list) and decide on those only.
//! - `app-config`: `app-1230-config`, referenced by one auto workload: 201 candidates (it plus
//!   the 200 workloads with named lists), 1 reload.
//! - `shared-config`: `shared-7`, mounted by 100 workloads: 290 candidates (10 mounters have
//!   named lists), 70 reloads.
//! - `index/build`: indexing the 2,000 workloads (once per sync, then per workload event).
//! - `convert/deployment`: `Workload::try_from(&Deployment)` for one realistic Deployment.
//!
//! The matcher's named-pattern cache is warm (criterion's warm-up fills it), as in a running
//! controller.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use reload_benches::fixtures::{BENCH_WORKLOADS, CandidateIndex, NamespaceFixture};
use reload_core::matcher::AnnotationMatcher;
use reload_core::{Decision, Matcher, SourceMeta, SourceRef, Workload};

/// Decides on `positions` and returns the reloads (position and decision), as an engine would
/// collect them before planning.
fn decide_all(
    matcher: &AnnotationMatcher,
    workloads: &[Workload],
    positions: impl Iterator<Item = usize>,
    source: &SourceMeta,
) -> Vec<(usize, Decision)> {
    positions
        .filter_map(|i| {
            let decision = matcher.decide(&workloads[i], source).decision;
            decision.is_reload().then_some((i, decision))
        })
        .collect()
}

fn match_namespace(c: &mut Criterion) {
    let namespace = NamespaceFixture::new("shop");
    let workloads = namespace
        .workloads_converted()
        .expect("fixture Deployments convert");
    let matcher = AnnotationMatcher::default();
    let index = CandidateIndex::build(&matcher, &workloads);
    let changes: [(&str, SourceRef); 2] = [
        ("app-config", namespace.app_config_map(1_230)),
        ("shared-config", namespace.shared_config_map(7)),
    ];

    let mut group = c.benchmark_group(format!("match/{BENCH_WORKLOADS}-workloads"));
    // A brute-force pass takes about a millisecond: 50 samples fit the measurement time.
    group.sample_size(50);
    for (label, source) in &changes {
        let meta = SourceMeta::new(source.clone());
        group.bench_with_input(BenchmarkId::new("brute-force", label), &meta, |b, meta| {
            b.iter(|| decide_all(&matcher, black_box(&workloads), 0..workloads.len(), meta));
        });
        group.bench_with_input(BenchmarkId::new("candidates", label), &meta, |b, meta| {
            b.iter(|| {
                let candidates = index.candidates(black_box(source));
                decide_all(&matcher, &workloads, candidates.into_iter(), meta)
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("index");
    group.sample_size(20);
    group.bench_function(BenchmarkId::new("build", BENCH_WORKLOADS), |b| {
        b.iter(|| CandidateIndex::build(&matcher, black_box(&workloads)));
    });
    group.finish();
}

fn convert_deployment(c: &mut Criterion) {
    // Workload 0: auto, four references, an `app` container and a sidecar.
    let deployment = NamespaceFixture::new("shop").deployment(0);
    let mut group = c.benchmark_group("convert");
    group.bench_function("deployment", |b| {
        b.iter(|| Workload::try_from(black_box(&deployment)));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Short but stable on a shared 2-core machine; command-line options override these.
    config = Criterion::default().warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(3));
    targets = match_namespace, convert_deployment
}
criterion_main!(benches);
