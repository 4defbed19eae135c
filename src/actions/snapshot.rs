//! `snapshot`: keep the guest's memory across a stop/start cycle by saving
//! its RAM state to `<snapshot>/<domain>.state` on stop and restoring it on
//! start. Unlike the anchor, both use the configured `hypervisor` URI.

use std::path::PathBuf;

use super::Request;
use crate::controller::DomainController;
use crate::ocf::{OcfError, OcfRc};

/// `<snapshot>/<domain>.state`.
pub fn state_file(req: &Request) -> PathBuf {
    PathBuf::from(&req.params.snapshot).join(format!("{}.state", req.name))
}

/// Saves the domain's state (which stops it). Returns whether it worked;
/// on failure the caller shuts down normally, as the anchor.
pub fn save(req: &Request, ctl: &dyn DomainController) -> bool {
    let file = state_file(req);
    match ctl.save(&req.name, &file) {
        Ok(()) => {
            log::info!("Saved the state of {} to {}.", req.name, file.display());
            true
        }
        Err(e) => {
            log::error!("Failed to save snapshot state of {} on stop: {e}", req.name);
            false
        }
    }
}

/// On start: restores from the state file when there is one.
/// `None`: no state file, start normally. The file is removed only after a
/// successful restore; a failed restore keeps it and fails the start.
pub fn restore(req: &Request, ctl: &dyn DomainController) -> Option<Result<OcfRc, OcfError>> {
    if req.params.snapshot.is_empty() {
        return None;
    }
    let file = state_file(req);
    if !file.is_file() {
        return None;
    }
    log::info!("Restoring {} from {}.", req.name, file.display());
    Some(match ctl.restore(&file) {
        Ok(()) => {
            if let Err(e) = std::fs::remove_file(&file) {
                log::warn!(
                    "Restored {} but could not remove {}: {e}",
                    req.name,
                    file.display()
                );
            }
            Ok(OcfRc::Success)
        }
        Err(e) => Err(OcfError::generic(format!(
            "Failed to restore {} from state file in {} directory: {e}",
            req.name, req.params.snapshot
        ))),
    })
}
