//! Notify-only mode (Reloader's `--webhook-url`): source changes are reported as
//! [`EngineEvent::SourceChanged`] and never turned into workload writes.

use crate::plan::ChangeKind;

use super::super::observer::EngineEvent;
use super::super::sources::SourceDelta;
use super::State;

/// The change to report for `delta` under Reloader's gates: content updates always, creates
/// only with reload-on-create, deletes only with reload-on-delete; metadata-only edits never.
pub(super) fn reported_change(
    delta: &SourceDelta,
    reload_on_create: bool,
    reload_on_delete: bool,
) -> Option<ChangeKind> {
    match delta {
        SourceDelta::Updated(_) => Some(ChangeKind::Updated),
        SourceDelta::Created(_) if reload_on_create => Some(ChangeKind::Created),
        SourceDelta::Deleted(_) if reload_on_delete => Some(ChangeKind::Deleted),
        _ => None,
    }
}

impl State {
    pub(super) fn notify(&mut self, delta: SourceDelta) {
        if !self.engine.writes_open() {
            // A standby reports nothing: the leader reports this change.
            return;
        }
        let config = &self.engine.config;
        let change = reported_change(&delta, config.is_reload_on_create(), config.is_reload_on_delete());
        let source = match delta {
            SourceDelta::Created(source) | SourceDelta::Updated(source) => source,
            SourceDelta::Unchanged(source) => {
                self.emit(&EngineEvent::SourceUnchanged { source });
                return;
            }
            SourceDelta::Deleted(record) => record.id,
        };
        if let Some(change) = change {
            self.emit(&EngineEvent::SourceChanged { source, change });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fixtures::cm_record;

    #[test]
    fn updates_are_reported_and_creates_and_deletes_only_when_enabled() {
        let record = cm_record("cm", "v1");
        let id = record.id.clone();
        let updated = SourceDelta::Updated(id.clone());
        let created = SourceDelta::Created(id.clone());
        let deleted = SourceDelta::Deleted(record);
        let unchanged = SourceDelta::Unchanged(id);
        assert_eq!(reported_change(&updated, false, false), Some(ChangeKind::Updated));
        assert_eq!(reported_change(&created, false, false), None);
        assert_eq!(reported_change(&created, true, false), Some(ChangeKind::Created));
        assert_eq!(reported_change(&deleted, false, false), None);
        assert_eq!(reported_change(&deleted, false, true), Some(ChangeKind::Deleted));
        assert_eq!(reported_change(&unchanged, true, true), None);
    }
}
