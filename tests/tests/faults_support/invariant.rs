//! The invariant every fault scenario ends with, checked from the simulator's journal alone
//! (every committed write since resourceVersion 0, seeds included, each with the object as
//! committed, so the journal replays to the final state):
//!
//! 1. **Nothing lost**: for every managed workload and every source it references that exists
//!    at the end, the digest the workload finally records (the strategy's trigger state, else
//!    the metadata baseline) equals the source's final digest. A managed workload that records
//!    nothing for an existing source is a lost change too (the engine baselines every pair).
//! 2. **Nothing duplicated**: per (workload, source) the sequence of recorded digests (in the
//!    pod template, i.e. rollouts) never goes back to a digest more often than the source's own
//!    history went back to it, and every write that changed a pod template changed at least
//!    one recorded digest.
//! 3. **One Job per change**: every change of the digests a CronJob records on its metadata
//!    has a Job created for it (owner reference) whose template records that digest, no digest
//!    of a source has more Jobs than the source went to it, and no Job records nothing (a run
//!    for no change); a Job is re-created (delete, then create with the same name) only with a
//!    new recorded digest, and never left deleted. (A change superseded before the CronJob
//!    recorded it, e.g. by a crash between the Job's create and the record, keeps its Job: it
//!    may have run on the older data.)
//! 4. **Never left paused**: a Deployment with a `pause-period` ends resumed (`spec.paused`
//!    not `true`).
//!
//! A workload is managed when `reloader.stakater.com/auto` is `"true"` (the scenarios use that).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use reload_core::engine::baseline;
use reload_core::hash::ReloaderHasher;
use reload_core::{
    Digest, Hasher, ReloadStrategy, SourceContent, SourceKind, SourceRef, Workload, WorkloadKind,
};
use reload_tests::sim::JournalEntry;
use serde_json::Value;

/// What a check found: the violations and a few counts for the scenario's own assertions.
#[derive(Debug, Default)]
pub struct Report {
    /// Each broken promise, in words naming the workload, the source and the digests.
    pub violations: Vec<String>,
    /// (workload, source) pairs compared at the end.
    pub pairs_checked: usize,
    /// Writes that changed a workload's pod template (rollouts), any writer.
    pub rollouts: usize,
    /// Jobs created with a CronJob owner.
    pub jobs_created: usize,
    /// Jobs deleted and created again (Job reloads).
    pub jobs_recreated: usize,
}

impl Report {
    /// Whether every promise held.
    pub fn holds(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} pairs checked, {} rollouts, {} jobs created, {} jobs recreated, {} violations",
            self.pairs_checked,
            self.rollouts,
            self.jobs_created,
            self.jobs_recreated,
            self.violations.len()
        )?;
        for v in &self.violations {
            writeln!(f, "  - {v}")?;
        }
        Ok(())
    }
}

type Key = (String, String, String);

/// Every committed version of one workload: the verb and the object (`None`: deleted).
type Versions = Vec<(String, Option<Arc<Value>>)>;

fn workload_kind(entry: &JournalEntry) -> Option<WorkloadKind> {
    match (entry.group.as_str(), entry.resource.as_str()) {
        ("apps", "deployments") => Some(WorkloadKind::Deployment),
        ("apps", "daemonsets") => Some(WorkloadKind::DaemonSet),
        ("apps", "statefulsets") => Some(WorkloadKind::StatefulSet),
        ("batch", "cronjobs") => Some(WorkloadKind::CronJob),
        ("batch", "jobs") => Some(WorkloadKind::Job),
        _ => None,
    }
}

fn source_kind(entry: &JournalEntry) -> Option<SourceKind> {
    match (entry.group.as_str(), entry.resource.as_str()) {
        ("", "configmaps") => Some(SourceKind::ConfigMap),
        ("", "secrets") => Some(SourceKind::Secret),
        _ => None,
    }
}

/// Reloader's digest of a ConfigMap or Secret object (JSON as the API serves it).
pub fn source_digest(kind: SourceKind, object: &Value) -> Option<Digest> {
    match kind {
        SourceKind::ConfigMap => {
            let cm: ConfigMap = serde_json::from_value(object.clone()).ok()?;
            Some(ReloaderHasher.digest(&SourceContent::from_config_map(&cm)))
        }
        SourceKind::Secret => {
            let secret: Secret = serde_json::from_value(object.clone()).ok()?;
            Some(ReloaderHasher.digest(&SourceContent::from_secret(&secret)))
        }
        SourceKind::SecretProviderClass => None,
    }
}

fn is_managed(object: &Value) -> bool {
    object["metadata"]["annotations"]["reloader.stakater.com/auto"].as_str() == Some("true")
}

fn template_of<'a>(kind: &WorkloadKind, object: &'a Value) -> &'a Value {
    kind.template_path()
        .iter()
        .fold(object, |value, key| &value[*key])
}

fn owner_cronjob(object: &Value) -> Option<String> {
    object["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["kind"] == "CronJob")
        .and_then(|o| o["name"].as_str())
        .map(str::to_owned)
}

/// The digest history of each source and the snapshots of each workload, from the journal.
#[derive(Default)]
struct Replay {
    /// Per source key: its digests in commit order (consecutive repeats dropped), and whether
    /// it exists at the end.
    sources: BTreeMap<Key, (Vec<Digest>, bool)>,
    /// Per workload key: its kind and every committed object in order (`None`: deleted).
    workloads: BTreeMap<Key, (WorkloadKind, Versions)>,
    /// Jobs created per owning CronJob (namespace, name), as created.
    jobs: BTreeMap<(String, String), Vec<Arc<Value>>>,
}

fn replay(journal: &[JournalEntry]) -> Replay {
    let mut r = Replay::default();
    for entry in journal {
        let Some(object) = entry.object.clone() else {
            continue;
        };
        let deleted = entry.verb == "delete";
        if let Some(kind) = source_kind(entry) {
            let key = (
                kind.kube_kind().to_owned(),
                entry.namespace.clone(),
                entry.name.clone(),
            );
            let slot = r.sources.entry(key).or_default();
            slot.1 = !deleted;
            if !deleted
                && let Some(digest) = source_digest(kind, &object)
                && slot.0.last() != Some(&digest)
            {
                slot.0.push(digest);
            }
        } else if let Some(kind) = workload_kind(entry) {
            if kind == WorkloadKind::Job
                && entry.verb == "create"
                && let Some(owner) = owner_cronjob(&object)
            {
                r.jobs
                    .entry((entry.namespace.clone(), owner))
                    .or_default()
                    .push(object.clone());
            }
            let key = (
                kind.as_str().to_owned(),
                entry.namespace.clone(),
                entry.name.clone(),
            );
            let slot = r.workloads.entry(key).or_insert_with(|| (kind, Vec::new()));
            slot.1.push((entry.verb.clone(), (!deleted).then_some(object)));
        }
    }
    r
}

/// Checks the invariant on `journal` (every write since resourceVersion 0) for workloads
/// reloaded with `strategy`.
pub fn check(journal: &[JournalEntry], strategy: &dyn ReloadStrategy) -> Report {
    let r = replay(journal);
    let mut report = Report {
        jobs_created: r.jobs.values().map(Vec::len).sum(),
        ..Report::default()
    };
    for ((kind_name, ns, name), (kind, history)) in &r.workloads {
        let what = format!("{kind_name} {ns}/{name}");
        let last = walk_history(&what, kind, history, strategy, &r, &mut report);
        if *kind == WorkloadKind::CronJob {
            let jobs = r
                .jobs
                .get(&(ns.clone(), name.clone()))
                .map_or(&[][..], Vec::as_slice);
            check_cronjob_runs(&what, &last.metadata_records, jobs, strategy, &r, &mut report);
        }
        if *kind == WorkloadKind::Job && last.current.is_none() && last.was_managed {
            report
                .violations
                .push(format!("{what}: deleted and never created again (lost Job)"));
        }
        if let Some((object, workload)) = last.current
            && is_managed(&object)
        {
            if *kind == WorkloadKind::Deployment
                && object["metadata"]["annotations"][PAUSE_PERIOD].is_string()
                && object["spec"]["paused"] == Value::Bool(true)
            {
                report
                    .violations
                    .push(format!("{what}: left paused (pause-period never resumed)"));
            }
            check_final(&what, ns, &workload, strategy, &r, &mut report);
        }
    }
    report
}

/// Reloader's pause-period annotation.
const PAUSE_PERIOD: &str = "deployment.reloader.stakater.com/pause-period";

/// What walking a workload's history leaves: its records on metadata, its final version, and
/// whether any version was managed.
struct Walked {
    metadata_records: BTreeMap<SourceRef, Vec<Digest>>,
    current: Option<(Value, Workload)>,
    was_managed: bool,
}

/// Walks one workload's versions: counts rollouts, flags rollouts without a new digest and
/// digests recorded more often than the source had them.
fn walk_history(
    what: &str,
    kind: &WorkloadKind,
    history: &Versions,
    strategy: &dyn ReloadStrategy,
    r: &Replay,
    report: &mut Report,
) -> Walked {
    let mut recorded: BTreeMap<SourceRef, Vec<Digest>> = BTreeMap::new();
    let mut metadata_records: BTreeMap<SourceRef, Vec<Digest>> = BTreeMap::new();
    let mut previous: Option<(Value, Workload, Value)> = None;
    let mut deleted = false;
    let mut was_managed = false;
    for (verb, object) in history {
        let Some(object) = object else {
            previous = None;
            deleted = true;
            continue;
        };
        was_managed |= is_managed(object);
        let Ok(workload) = Workload::from_json(kind.clone(), object) else {
            report
                .violations
                .push(format!("{what}: a committed version does not parse"));
            continue;
        };
        let template = template_of(kind, object).clone();
        let mut changed_any = false;
        for source in workload.referenced_sources() {
            if let Some(d) = strategy.recorded_digest(&workload, &source) {
                let seq = recorded.entry(source.clone()).or_default();
                if seq.last() != Some(&d) {
                    seq.push(d);
                    changed_any = true;
                }
            }
            if let Some(d) = baseline::get(&workload, &source) {
                let seq = metadata_records.entry(source).or_default();
                if seq.last() != Some(&d) {
                    seq.push(d);
                }
            }
        }
        if verb == "create" && std::mem::take(&mut deleted) {
            // A Job reload: deleted, then created again with the same name.
            report.rollouts += 1;
            report.jobs_recreated += 1;
            if !changed_any {
                report.violations.push(format!(
                    "{what}: re-created without recording a new digest (duplicate Job)"
                ));
            }
        }
        if let Some((before, _, _)) = &previous
            && verb != "create"
            && *before != template
        {
            report.rollouts += 1;
            if !changed_any {
                report.violations.push(format!(
                    "{what}: a {verb} changed the pod template without recording a new digest (duplicate rollout)"
                ));
            }
        }
        previous = Some((template, workload, (**object).clone()));
    }
    for (source, seq) in &recorded {
        let source_history = source_history(r, source);
        let mut seen: BTreeMap<&Digest, usize> = BTreeMap::new();
        for d in seq {
            *seen.entry(d).or_default() += 1;
        }
        for (digest, times) in seen {
            let allowed = source_history.iter().filter(|d| *d == digest).count().max(1);
            if times > allowed {
                report.violations.push(format!(
                    "{what}: {} {} recorded digest {digest} {times} times but the source had it {allowed} time(s) (duplicate rollout)",
                    source.kind.kube_kind(),
                    source.name
                ));
            }
        }
    }
    Walked {
        metadata_records,
        current: previous.map(|(_, workload, object)| (object, workload)),
        was_managed,
    }
}

/// Rule 3 for one CronJob: a Job recording each change of its metadata records, no digest
/// with more Jobs than its source had it, no Job recording nothing.
fn check_cronjob_runs(
    what: &str,
    metadata_records: &BTreeMap<SourceRef, Vec<Digest>>,
    jobs: &[Arc<Value>],
    strategy: &dyn ReloadStrategy,
    r: &Replay,
    report: &mut Report,
) {
    let mut runs: BTreeMap<(SourceRef, Digest), usize> = BTreeMap::new();
    for job in jobs {
        let name = job["metadata"]["name"].as_str().unwrap_or("?");
        let Ok(workload) = Workload::from_json(WorkloadKind::Job, job) else {
            report
                .violations
                .push(format!("{what}: its Job {name} does not parse"));
            continue;
        };
        let recorded: Vec<_> = (workload.referenced_sources().into_iter())
            .filter_map(|source| Some((strategy.recorded_digest(&workload, &source)?, source)))
            .collect();
        if recorded.is_empty() {
            report.violations.push(format!(
                "{what}: its Job {name} records no digest (a run for no change)"
            ));
        }
        for (digest, source) in recorded {
            *runs.entry((source, digest)).or_default() += 1;
        }
    }
    for (source, seq) in metadata_records {
        for digest in seq.iter().skip(1) {
            if !runs.contains_key(&(source.clone(), digest.clone())) {
                report.violations.push(format!(
                    "{what}: no Job for its change of {} {} to {digest} (lost run)",
                    source.kind.kube_kind(),
                    source.name
                ));
            }
        }
    }
    for ((source, digest), times) in runs {
        let allowed = source_history(r, &source)
            .iter()
            .filter(|d| **d == digest)
            .count()
            .max(1);
        if times > allowed {
            report.violations.push(format!(
                "{what}: {times} Jobs for {} {} at {digest}, which the source had {allowed} time(s) (duplicate run)",
                source.kind.kube_kind(),
                source.name
            ));
        }
    }
}

/// The digests `source` went through (consecutive repeats dropped).
fn source_history<'a>(r: &'a Replay, source: &SourceRef) -> &'a [Digest] {
    let key = (
        source.kind.kube_kind().to_owned(),
        source.namespace.clone(),
        source.name.clone(),
    );
    r.sources.get(&key).map(|s| &s.0[..]).unwrap_or_default()
}

/// Compares the final records of a managed workload with its sources' final digests.
fn check_final(
    what: &str,
    ns: &str,
    workload: &Workload,
    strategy: &dyn ReloadStrategy,
    r: &Replay,
    report: &mut Report,
) {
    let mut checked: BTreeSet<SourceRef> = BTreeSet::new();
    for source in workload.referenced_sources() {
        if !checked.insert(source.clone()) {
            continue;
        }
        let key = (
            source.kind.kube_kind().to_owned(),
            ns.to_owned(),
            source.name.clone(),
        );
        let Some((digests, true)) = r.sources.get(&key) else {
            continue;
        };
        let Some(want) = digests.last() else { continue };
        report.pairs_checked += 1;
        let got = strategy
            .recorded_digest(workload, &source)
            .or_else(|| baseline::get(workload, &source));
        match got {
            Some(got) if got == *want => {}
            Some(got) => report.violations.push(format!(
                "{what}: records {got} for {} {} whose final digest is {want} (lost change)",
                source.kind.kube_kind(),
                source.name
            )),
            None => report.violations.push(format!(
                "{what}: records nothing for {} {} (final digest {want}; lost change)",
                source.kind.kube_kind(),
                source.name
            )),
        }
    }
}
