//! INTERIM stand-in for the `sim-patch` branch's patch module (removed when it is merged).
#![allow(missing_docs)]
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PatchError(String, u16);

impl PatchError {
    pub fn status_code(&self) -> u16 {
        self.1
    }
    pub fn reason(&self) -> &'static str {
        if self.1 == 422 { "Invalid" } else { "BadRequest" }
    }
}

pub fn apply_merge_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    json_patch::merge(target, patch);
    Ok(())
}

pub fn apply_json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let p: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(|e| PatchError(e.to_string(), 400))?;
    json_patch::patch(target, &p).map_err(|e| PatchError(e.to_string(), 422))
}

pub fn apply_strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    json_patch::merge(target, patch);
    Ok(())
}
