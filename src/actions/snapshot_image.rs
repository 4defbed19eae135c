//! Whether a state file may be restored: the anchor restores whatever
//! `<snapshot>/<domain>.state` holds, so a state file left on a node while
//! the guest ran elsewhere brings back RAM older than the disks (silent
//! corruption), and a file cut short blocks every later start.
//!
//! A state file is restored only when libvirt reads it as a complete save
//! image ([`DomainController::save_image_xml`]: a save that did not finish
//! is marked incomplete in its header), of this domain (name, and UUID
//! when the config has one), newer than every disk image it uses. One
//! that is not is set aside (renamed `<file>.<why>-<unix time>`, never
//! deleted) and the domain boots afresh.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::Request;
use crate::controller::{ControllerError, DomainController};
use crate::domain_xml::DomainConfig;

/// Why a state file is not restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// libvirt cannot read it as a complete save image (cut short, not a
    /// save image, a save that never finished).
    Unreadable(String),
    /// It is another domain's.
    Foreign(String),
    /// A disk changed after it was saved: the guest ran since.
    Stale(String),
}

impl Unusable {
    /// The word in the set-aside file's name.
    pub fn tag(&self) -> &'static str {
        match self {
            Unusable::Unreadable(_) => "unreadable",
            Unusable::Foreign(_) => "foreign",
            Unusable::Stale(_) => "stale",
        }
    }

    pub fn why(&self) -> &str {
        match self {
            Unusable::Unreadable(w) | Unusable::Foreign(w) | Unusable::Stale(w) => w,
        }
    }
}

/// `Ok(Ok(()))`: restore it; `Ok(Err(_))`: never; `Err(_)`: libvirt
/// cannot be asked now (nothing decided).
pub fn check(
    req: &Request,
    ctl: &dyn DomainController,
    file: &Path,
) -> Result<Result<(), Unusable>, ControllerError> {
    let saved_at = match std::fs::metadata(file).and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(e) => return Ok(Err(Unusable::Unreadable(e.to_string()))),
    };
    let xml = match ctl.save_image_xml(file) {
        Ok(xml) => xml,
        Err(e @ ControllerError::Unreachable(_)) => return Err(e),
        Err(e) => return Ok(Err(Unusable::Unreadable(e.to_string()))),
    };
    let image = DomainConfig::parse(&xml);
    if image.name.as_deref() != Some(req.name.as_str()) {
        return Ok(Err(Unusable::Foreign(format!(
            "it holds domain {}",
            image.name.as_deref().unwrap_or("(no name)")
        ))));
    }
    if let (Some(ours), Some(theirs)) = (&req.domain.uuid, &image.uuid) {
        if !ours.eq_ignore_ascii_case(theirs) {
            return Ok(Err(Unusable::Foreign(format!(
                "it holds UUID {theirs}, the config {ours}"
            ))));
        }
    }
    Ok(newer_than_disks(&image.disk_files, saved_at))
}

/// A disk image modified after the save means the guest ran since.
fn newer_than_disks(disks: &[String], saved_at: SystemTime) -> Result<(), Unusable> {
    for disk in disks {
        let modified = std::fs::metadata(disk).and_then(|m| m.modified());
        if modified.is_ok_and(|m| m > saved_at) {
            return Err(Unusable::Stale(format!(
                "disk {disk} was written after the state was saved"
            )));
        }
    }
    Ok(())
}

/// Renames the file out of the way (`<file>.<tag>-<unix time>`).
pub fn set_aside(file: &Path, tag: &str) -> std::io::Result<PathBuf> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = file.as_os_str().to_owned();
    name.push(format!(".{tag}-{secs}"));
    let aside = PathBuf::from(name);
    std::fs::rename(file, &aside)?;
    Ok(aside)
}
