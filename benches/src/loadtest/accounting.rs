//! Journal → reload accounting: which changes each workload should have rolled for, which it
//! did, and how long each took. Pure: the harness collects the versions, this module judges.
//!
//! A *source version* is one committed state of a ConfigMap or Secret (its digest, as Reloader
//! computes it); a *workload version* is one committed state of a workload (a fingerprint of its
//! pod template and the digests its template records, e.g. the `STAKATER_*_CONFIGMAP` values).
//! Both lists start with the state at the start of the drive, then every write in
//! resourceVersion order, each stamped with the simulator's commit time.

use std::collections::{BTreeMap, BTreeSet};

/// One committed state of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceVersion {
    /// resourceVersion of the write.
    pub rv: u64,
    /// Simulator commit time (nanoseconds, monotonic).
    pub at_nanos: u64,
    /// The source's digest in this state.
    pub digest: String,
}

/// One committed state of a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadVersion {
    /// resourceVersion of the write.
    pub rv: u64,
    /// Simulator commit time (nanoseconds, monotonic).
    pub at_nanos: u64,
    /// A fingerprint of the pod template (its serialised JSON): a change is a rollout.
    pub template: String,
    /// Digest recorded in the template per source key.
    pub recorded: BTreeMap<String, String>,
    /// `spec.paused` (Deployments): template changes wait for the resume to roll pods.
    pub paused: bool,
    /// This version is the workload's deletion (its last).
    pub deleted: bool,
}

/// Everything observed during one drive.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Versions per source key, oldest first; the first is the state when the drive began.
    pub sources: BTreeMap<String, Vec<SourceVersion>>,
    /// Versions per workload key, oldest first; the first is the state when the drive began.
    pub workloads: BTreeMap<String, Vec<WorkloadVersion>>,
    /// Source keys each workload references (and is opted in to reload for).
    pub references: BTreeMap<String, Vec<String>>,
}

/// The verdict on one drive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Source writes that changed the digest (data changes).
    pub data_changes: u64,
    /// Σ over (workload, referenced source) of that source's data changes: what upstream
    /// expects when no update is coalesced.
    pub naive_expected: u64,
    /// Distinct digest states the workloads' templates moved through: the reloads expected.
    pub expected: u64,
    /// Pod template changes observed (rollouts).
    pub rollouts: u64,
    /// Rollouts that did not move a template to a new digest state.
    pub duplicated: u64,
    /// (workload, source) pairs whose final recorded digest is not the source's final digest.
    pub lost: u64,
    /// Data changes superseded before a rollout recorded them (`naive_expected` minus the
    /// digests actually recorded).
    pub coalesced: u64,
    /// Rollouts that recorded a digest no version of the source ever had.
    pub unknown_digests: u64,
    /// Rollouts whose newly recorded digests were all committed before the workload's first
    /// version: the workload started with that content already, so the rollout was not needed.
    pub stale_rollouts: u64,
    /// Pod rollouts a real cluster would run: template changes of an unpaused workload, plus one
    /// per resume after template changes made while paused (`pause-period`).
    pub pod_rollouts: u64,
    /// Times a workload went from running to paused.
    pub pauses: u64,
    /// Change → rollout latencies in nanoseconds: for each digest a rollout recorded, from the
    /// commit of the source version that first had that digest to the rollout's commit.
    pub latencies_nanos: Vec<u64>,
}

impl Accounting {
    /// True when no change was lost and none duplicated.
    pub fn is_exact(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.unknown_digests == 0 && self.rollouts == self.expected
    }
}

/// Judges one drive.
///
/// A workload is judged over its own lifetime: source changes committed before its first
/// version or after its deletion are not expected of it, and a deleted workload cannot be lost.
pub fn account(observed: &Observed) -> Accounting {
    let mut out = Accounting::default();
    // The commit time at which each source first reached each digest during the drive.
    // (resourceVersion, commit time) at which each source first reached each digest.
    let mut first_seen: BTreeMap<&str, BTreeMap<&str, (u64, u64)>> = BTreeMap::new();
    for (key, versions) in &observed.sources {
        let seen = first_seen.entry(key).or_default();
        for version in versions {
            seen.entry(&version.digest)
                .or_insert((version.rv, version.at_nanos));
        }
        out.data_changes += changes_between(versions, 0, u64::MAX);
    }

    for (workload, versions) in &observed.workloads {
        let references = observed.references.get(workload).map_or(&[][..], Vec::as_slice);
        let Some((start, rest)) = versions.split_first() else {
            continue;
        };
        let end = versions.last().filter(|v| v.deleted).map_or(u64::MAX, |v| v.rv);
        let changes = |source: &str| {
            observed
                .sources
                .get(source)
                .map_or(0, |s| changes_between(s, start.rv, end))
        };
        out.naive_expected += references.iter().map(|s| changes(s)).sum::<u64>();
        let mut states: BTreeSet<&BTreeMap<String, String>> = BTreeSet::from([&start.recorded]);
        let mut recorded_digests: BTreeSet<(&str, &str)> = BTreeSet::new();
        let mut previous = start;
        let mut rolled_while_paused = false;
        for version in rest {
            if version.paused && !previous.paused {
                out.pauses += 1;
            }
            let template_changed = version.template != previous.template;
            if template_changed && version.paused {
                rolled_while_paused = true;
            } else if template_changed || (previous.paused && !version.paused && rolled_while_paused) {
                out.pod_rollouts += 1;
                rolled_while_paused = false;
            }
            if template_changed {
                out.rollouts += 1;
                if states.insert(&version.recorded) {
                    out.expected += 1;
                } else {
                    out.duplicated += 1;
                }
                let mut fresh = false;
                for (source, digest) in &version.recorded {
                    if previous.recorded.get(source) == Some(digest) {
                        continue;
                    }
                    if let Some(&(rv, at)) = first_seen
                        .get(source.as_str())
                        .and_then(|s| s.get(digest.as_str()))
                    {
                        fresh |= rv > start.rv;
                        recorded_digests.insert((source, digest));
                        out.latencies_nanos.push(version.at_nanos.saturating_sub(at));
                    } else {
                        fresh = true;
                        out.unknown_digests += 1;
                    }
                }
                if !fresh {
                    out.stale_rollouts += 1;
                }
            }
            previous = version;
        }
        for source in references {
            let landed = recorded_digests.iter().filter(|(s, _)| s == source).count() as u64;
            out.coalesced += changes(source).saturating_sub(landed);
            if previous.deleted {
                continue;
            }
            let Some(source_versions) = observed.sources.get(source) else {
                continue;
            };
            let initial = source_versions
                .iter()
                .take_while(|v| v.rv <= start.rv)
                .last()
                .or_else(|| source_versions.first());
            let (Some(initial), Some(last)) = (initial, source_versions.last()) else {
                continue;
            };
            let recorded = previous.recorded.get(source);
            let in_sync = if initial.digest == last.digest {
                recorded.is_none_or(|d| *d == last.digest)
            } else {
                recorded == Some(&last.digest)
            };
            if !in_sync {
                out.lost += 1;
            }
        }
    }
    out
}

/// Digest changes among `versions` committed after `after` and before `before`.
fn changes_between(versions: &[SourceVersion], after: u64, before: u64) -> u64 {
    versions
        .windows(2)
        .filter(|pair| pair[1].rv > after && pair[1].rv < before && pair[0].digest != pair[1].digest)
        .count() as u64
}

#[cfg(test)]
#[path = "accounting_tests.rs"]
mod tests;
