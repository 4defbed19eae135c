//! `snapshot`: keep the guest's memory across a stop/start cycle by saving
//! its RAM state to `<snapshot>/<domain>.state` on stop and restoring it on
//! start. Unlike the anchor, both use the configured `hypervisor` URI; the
//! state file is kept 0600 (it is the guest's RAM); a save that fails
//! leaves no partial file behind and is reported; a state file is only
//! restored when [`snapshot_image::check`] finds it complete, this
//! domain's and newer than its disks (one proven otherwise is set aside and
//! the domain boots afresh); a restore that fails for any other reason
//! fails the start with libvirt's message and keeps the file; it is
//! removed only after a successful restore.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::controller::DomainController;
use crate::guest_data::snapshot_image::{self, Unusable};
use crate::ocf::{OcfError, OcfRc, OcfResult};
use crate::request::Request;

/// `<snapshot>/<domain>.state`.
pub fn state_file(req: &Request) -> PathBuf {
    PathBuf::from(&req.params.snapshot).join(format!("{}.state", req.name))
}

/// Saves the domain's state (which stops it). On failure (the reason is
/// returned) the caller stops the domain normally, then calls
/// [`after_failed_save`].
pub fn save(req: &Request, ctl: &dyn DomainController, by: Instant) -> Result<(), String> {
    let file = state_file(req);
    match ctl.save(&req.name, &file, by) {
        Ok(()) => {
            keep_private(&file);
            log::info!("Saved the state of {} to {}.", req.name, file.display());
            Ok(())
        }
        Err(e) => {
            log::error!("Failed to save snapshot state of {} on stop: {e}", req.name);
            Err(e.to_string())
        }
    }
}

/// The guest's RAM is readable by root only (libvirt creates it so; a
/// wider mode left by a hook or an old file is narrowed). The file is
/// opened without following a link and changed through its descriptor:
/// a link planted at its name is never followed.
fn keep_private(file: &Path) {
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(file);
    let narrowed = opened.and_then(|f| {
        let meta = f.metadata()?;
        if !meta.is_file() || meta.permissions().mode() & 0o077 == 0 {
            return Ok(());
        }
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
    });
    if let Err(e) = narrowed {
        log::warn!("Cannot make {} private: {e}", file.display());
    }
}

/// After a failed save and the normal stop (`stopped`): once the domain
/// is stopped no libvirt job writes the file any more, so a leftover that
/// is not a complete image of this domain (a save cut off by the graceful
/// window, a full disk) is removed; one libvirt cannot be asked about is
/// set aside. A stopped domain is a successful stop (0); the failed save
/// is its exit reason and an error in the log.
pub fn after_failed_save(
    req: &Request,
    ctl: &dyn DomainController,
    stopped: OcfResult,
    why: &str,
) -> OcfResult {
    let rc = stopped?;
    let file = state_file(req);
    let mut next = "the next start boots it afresh";
    if std::fs::symlink_metadata(&file).is_ok() {
        match snapshot_image::check(req, ctl, &file) {
            Ok(Ok(())) => next = "the state file is complete nevertheless and kept",
            Ok(Err(_)) => match std::fs::remove_file(&file) {
                Ok(()) => log::info!("Removed the partial state file {}.", file.display()),
                Err(e) => log::error!("Cannot remove partial {}: {e}", file.display()),
            },
            Err(e) => {
                let aside = snapshot_image::set_aside(&file, "unverified");
                log::error!(
                    "{} cannot be checked ({e}); set aside: {aside:?}",
                    file.display()
                );
            }
        }
    }
    Err(OcfError::new(
        rc,
        format!(
            "{} stopped, but saving its state to {} failed ({why}); {next}",
            req.name,
            file.display()
        ),
    ))
}

/// On start: restores from the state file when there is a usable one.
/// `None`: start normally (no state file, or it was set aside).
pub fn restore(req: &Request, ctl: &dyn DomainController) -> Option<OcfResult> {
    if req.params.snapshot.is_empty() {
        return None;
    }
    let file = state_file(req);
    std::fs::symlink_metadata(&file).ok()?;
    match snapshot_image::check(req, ctl, &file) {
        Err(e) => {
            return Some(Err(OcfError::generic(format!(
                "Cannot check the state file {} of {}: {e}",
                file.display(),
                req.name
            ))))
        }
        Ok(Err(unusable)) => return set_aside_and_boot(req, &file, &unusable),
        Ok(Ok(())) => {}
    }
    log::info!("Restoring {} from {}.", req.name, file.display());
    match ctl.restore(&file, req.ctx.work_end()) {
        Ok(()) => {
            if let Err(e) = std::fs::remove_file(&file) {
                log::warn!(
                    "Restored {} but could not remove {}: {e}",
                    req.name,
                    file.display()
                );
            }
            Some(Ok(OcfRc::Success))
        }
        // the image was checked: a failure here (a storage pool not active
        // yet, a missing disk, qemu refusing) says nothing against the file
        Err(e) => Some(Err(OcfError::generic(format!(
            "Failed to restore {} from state file in {} directory: {e} (the state file {} is kept)",
            req.name,
            req.params.snapshot,
            file.display()
        )))),
    }
}

/// The file is renamed out of the way and the start goes on afresh; a
/// file that cannot be moved fails the start (it must not be restored).
fn set_aside_and_boot(req: &Request, file: &Path, unusable: &Unusable) -> Option<OcfResult> {
    match snapshot_image::set_aside(file, unusable.tag()) {
        Ok(aside) => {
            log::error!(
                "State file {} of {} is not restored ({}): set aside as {}; the domain boots afresh.",
                file.display(),
                req.name,
                unusable.why(),
                aside.display()
            );
            None
        }
        Err(e) => Some(Err(OcfError::generic(format!(
            "State file {} of {} cannot be restored ({}) nor set aside: {e}",
            file.display(),
            req.name,
            unusable.why()
        )))),
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
