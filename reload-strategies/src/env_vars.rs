//! Reloader's `env-vars` strategy (the default): a `STAKATER_*` variable on the chosen
//! container, whose value is the source's digest.
//!
//! # Trigger state
//!
//! The variable records the digest of *one* source only when it can be attributed to it: the
//! source is referenced by the pod template and no other known source (referenced, or present
//! in our trigger state) maps to the same variable name. That is Reloader's own convention, so
//! taking over from Reloader is a no-op. Otherwise (colliding names such as `my.app` and
//! `my-app`, a source the template does not reference, a source already in our state, or an
//! earlier container carrying the variable with another value) the plan also writes the
//! per-source digest to [`reload_core::trigger::TRIGGER_ANNOTATION`]. When it does, the
//! sources whose variable it overwrites keep the digest they had, copied into that annotation.
//! [`collisions`] lists the colliding names; [`EnvVarStrategy`] reports each as a
//! [`MatchProblem::EnvVarCollision`] (through [`ReloadStrategy::problems`]) when a colliding
//! source is first seen or rolls, and the binary logs it and emits a Warning Event.
//!
//! # Deletes
//!
//! A delete of a source with a recorded digest removes the variable from the chosen container
//! (as Reloader does) and records [`DELETE_MARKER_DIGEST`] for the source in our
//! trigger state, so replaying the delete is a no-op and re-creating the source reloads. Entries
//! are never removed from our state: a source leaving it could make a shared variable look
//! attributable again and change what another source records. A delete of a source with no
//! recorded digest (including an ambiguous, colliding variable Reloader wrote) does nothing.
//!
//! Reloader ignores delete events of `SecretProviderClassPodStatus` objects (§3.3); that filter
//! belongs to the engine, the strategy plans any delete it is given.
//!
//! # CSI
//!
//! For `SecretProviderClass` sources Reloader scans the regular containers in order and lets the
//! first one carrying the variable decide whether it is up to date (`reloader-spec.md` §3.1).
//! [`EnvVarStrategy::recorded_digest`] reads the variable the same way for every kind. For
//! ConfigMaps and Secrets Reloader looks at the chosen container only; the two differ only when
//! the variable sits on several containers with different values, where we write our own state
//! as well, so a replay is still a no-op.

use std::collections::BTreeMap;

use reload_core::trigger::{self, TRIGGER_ANNOTATION, TriggerState};
use reload_core::{
    Change, ChangeKind, Digest, Edit, MatchProblem, NamedSource, Plan, ReloadStrategy, SourceKind, SourceRef,
    Workload,
};

use crate::annotations::DELETE_MARKER_DIGEST;
use crate::env_name::env_var_name;

/// Reloader's `env-vars` strategy; see the [module documentation](self).
///
/// ```
/// use reload_core::{Change, ChangeKind, Container, Digest, Edit, ReloadStrategy, SourceKind, SourceRef};
/// use reload_core::{Volume, VolumeSource, Workload, WorkloadKind, WorkloadRef};
/// use reload_strategies::EnvVarStrategy;
///
/// let mut workload = Workload::new(WorkloadRef::new(WorkloadKind::Deployment, "default", "web"));
/// workload.template.containers.push(Container { name: "app".into(), ..Container::default() });
/// workload.template.volumes.push(Volume {
///     name: "config".into(),
///     source: VolumeSource::ConfigMap("my-config".into()),
/// });
/// let change = Change {
///     source: SourceRef::new(SourceKind::ConfigMap, "default", "my-config"),
///     digest: Digest::new("3c9a892aeaedc759abc3df9884a37b8be5680382"),
///     kind: ChangeKind::Updated,
///     container: "app".into(),
///     observed_at: 1_714_557_600,
/// };
/// let plan = EnvVarStrategy.plan(&workload, &change).expect("not recorded yet");
/// assert_eq!(
///     plan.edits,
///     vec![Edit::SetEnv {
///         container: "app".into(),
///         name: "STAKATER_MY_CONFIG_CONFIGMAP".into(),
///         value: "3c9a892aeaedc759abc3df9884a37b8be5680382".into(),
///     }]
/// );
/// plan.apply(&mut workload);
/// assert_eq!(EnvVarStrategy.plan(&workload, &change), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[doc(alias = "env-vars")]
pub struct EnvVarStrategy;

/// Several sources referenced by one workload map to the same `STAKATER_*` variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVarCollision {
    /// The shared variable name.
    pub env_var: String,
    /// The sources that map to it, in the template's reference order.
    pub sources: Vec<NamedSource>,
}

/// The env var name collisions among the sources `workload` references, sorted by variable
/// name. For each, the env-vars strategy keeps per-source state in
/// [`TRIGGER_ANNOTATION`] instead of trusting the
/// variable; the engine should report them (a Warning event), since Reloader would roll such a
/// workload back and forth.
pub fn collisions(workload: &Workload) -> Vec<EnvVarCollision> {
    let mut by_name: BTreeMap<String, Vec<NamedSource>> = BTreeMap::new();
    for source in workload.template.references() {
        by_name
            .entry(env_var_name(source.kind, &source.name))
            .or_default()
            .push(source);
    }
    by_name
        .into_iter()
        .filter(|(_, sources)| sources.len() > 1)
        .map(|(env_var, sources)| EnvVarCollision { env_var, sources })
        .collect()
}

/// The sources other than `kind`/`name` that the workload knows (references and trigger-state
/// entries) and whose variable is `var`.
fn rivals(
    workload: &Workload,
    state: &TriggerState,
    kind: SourceKind,
    name: &str,
    var: &str,
) -> Vec<NamedSource> {
    let mut found: Vec<NamedSource> = Vec::new();
    let known = workload.template.references().into_iter().chain(
        state
            .sources()
            .map(|(kind, name, _)| NamedSource::new(kind, name)),
    );
    for source in known {
        let is_self = source.kind == kind && source.name == name;
        if !is_self && env_var_name(source.kind, &source.name) == var && !found.contains(&source) {
            found.push(source);
        }
    }
    found
}

/// Whether the variable alone records the digest of `kind`/`name` (see the module docs).
fn attributable(workload: &Workload, state: &TriggerState, kind: SourceKind, name: &str, var: &str) -> bool {
    let referenced = workload
        .template
        .references()
        .iter()
        .any(|source| source.kind == kind && source.name == name);
    referenced && rivals(workload, state, kind, name, var).is_empty()
}

/// The literal value of `var` on the first regular container that has it (`None` when no
/// container has it, or the first one sets it through `valueFrom`).
fn first_value<'a>(workload: &'a Workload, var: &str) -> Option<&'a str> {
    workload
        .template
        .containers
        .iter()
        .find_map(|c| c.env.iter().find(|e| e.name == var))
        .and_then(|e| e.value.as_deref())
}

/// The digest recorded for `kind`/`name`: our state first, else the attributable variable.
fn recorded(workload: &Workload, state: &TriggerState, kind: SourceKind, name: &str) -> Option<Digest> {
    if let Some(digest) = state.get(kind, name) {
        return Some(digest.clone());
    }
    let var = env_var_name(kind, name);
    if !attributable(workload, state, kind, name, &var) {
        return None;
    }
    first_value(workload, &var).map(Digest::new)
}

/// `state` plus, for every rival of `kind`/`name` missing from it, the digest the rival records
/// now, so overwriting or removing the shared variable does not lose it.
fn adopt_rivals(
    workload: &Workload,
    state: &TriggerState,
    kind: SourceKind,
    name: &str,
    var: &str,
) -> TriggerState {
    let mut adopted = state.clone();
    for rival in rivals(workload, state, kind, name, var) {
        if !state.contains(rival.kind, &rival.name)
            && let Some(digest) = recorded(workload, state, rival.kind, &rival.name)
        {
            adopted.insert(rival.kind, &rival.name, digest);
        }
    }
    adopted
}

fn set_state(state: &TriggerState) -> Edit {
    Edit::SetTemplateAnnotation {
        key: TRIGGER_ANNOTATION.to_owned(),
        value: trigger::render(state),
    }
}

impl EnvVarStrategy {
    fn plan_update(workload: &Workload, change: &Change, index: usize) -> Option<Plan> {
        let source = &change.source;
        let state = trigger::read(&workload.template.annotations);
        if recorded(workload, &state, source.kind, &source.name).as_ref() == Some(&change.digest) {
            return None;
        }
        let var = env_var_name(source.kind, &source.name);
        let digest = change.digest.as_str();
        let containers = &workload.template.containers;
        let mut edits = Vec::new();
        let up_to_date = containers[index]
            .env
            .iter()
            .find(|e| e.name == var)
            .is_some_and(|e| e.value.as_deref() == Some(digest) && e.value_from.is_none());
        if !up_to_date {
            edits.push(Edit::SetEnv {
                container: change.container.clone(),
                name: var.clone(),
                value: digest.to_owned(),
            });
        }
        // After the edit the first container carrying the variable must show the new digest,
        // or the variable cannot serve as this source's record.
        let shadowed = containers[..index]
            .iter()
            .find_map(|c| c.env.iter().find(|e| e.name == var))
            .is_some_and(|e| e.value.as_deref() != Some(digest));
        if shadowed
            || state.contains(source.kind, &source.name)
            || !attributable(workload, &state, source.kind, &source.name, &var)
        {
            let mut next = adopt_rivals(workload, &state, source.kind, &source.name, &var);
            next.insert(source.kind, &source.name, change.digest.clone());
            edits.push(set_state(&next));
        }
        Some(Plan {
            source: source.clone(),
            digest: change.digest.clone(),
            edits,
        })
    }

    fn plan_delete(workload: &Workload, change: &Change, index: usize) -> Option<Plan> {
        let source = &change.source;
        let state = trigger::read(&workload.template.annotations);
        let marker = Digest::new(DELETE_MARKER_DIGEST);
        match recorded(workload, &state, source.kind, &source.name) {
            None => return None,
            Some(digest) if digest == marker => return None,
            Some(_) => {}
        }
        let var = env_var_name(source.kind, &source.name);
        let mut edits = Vec::new();
        if workload.template.containers[index]
            .env
            .iter()
            .any(|e| e.name == var)
        {
            edits.push(Edit::RemoveEnv {
                container: change.container.clone(),
                name: var.clone(),
            });
        }
        let mut next = adopt_rivals(workload, &state, source.kind, &source.name, &var);
        next.insert(source.kind, &source.name, marker.clone());
        edits.push(set_state(&next));
        Some(Plan {
            source: source.clone(),
            digest: marker,
            edits,
        })
    }
}

impl ReloadStrategy for EnvVarStrategy {
    fn name(&self) -> &'static str {
        "env-vars"
    }

    /// Sets (or, for a delete, removes) the source's `STAKATER_*` variable on the container
    /// named by the change, plus our trigger state where the variable cannot record it.
    ///
    /// `None` when the digest is already recorded, when a delete concerns a source with no
    /// recorded digest (or one already recorded as deleted), or when the template has no
    /// regular container of that name (Reloader's `NoContainerFound`).
    fn plan(&self, workload: &Workload, change: &Change) -> Option<Plan> {
        let index = workload
            .template
            .containers
            .iter()
            .position(|c| c.name == change.container)?;
        match change.kind {
            ChangeKind::Deleted => Self::plan_delete(workload, change, index),
            ChangeKind::Updated | ChangeKind::Created => Self::plan_update(workload, change, index),
        }
    }

    /// Our trigger state for `source` if present; else the value of its `STAKATER_*` variable
    /// on the first regular container carrying it, when the variable is attributable to
    /// `source` alone (see the module docs).
    fn recorded_digest(&self, workload: &Workload, source: &SourceRef) -> Option<Digest> {
        let state = trigger::read(&workload.template.annotations);
        recorded(workload, &state, source.kind, &source.name)
    }

    /// One [`MatchProblem::EnvVarCollision`] per variable name shared by several sources the
    /// workload references, when one of `sources` is among them.
    fn problems(&self, workload: &Workload, sources: &[SourceRef]) -> Vec<MatchProblem> {
        let concerned = |s: &NamedSource| sources.iter().any(|r| r.kind == s.kind && r.name == s.name);
        collisions(workload)
            .into_iter()
            .filter(|c| c.sources.iter().any(concerned))
            .map(|c| MatchProblem::EnvVarCollision {
                env_var: c.env_var,
                sources: c
                    .sources
                    .iter()
                    .map(|s| format!("{} '{}'", s.kind, s.name))
                    .collect(),
            })
            .collect()
    }
}
