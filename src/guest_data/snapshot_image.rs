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

use crate::controller::{ControllerError, DomainController};
use crate::domain_xml::DomainConfig;
use crate::request::Request;

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

/// `Ok(Ok(()))`: restore it; `Ok(Err(_))`: never (proven incomplete,
/// foreign or stale); `Err(_)`: libvirt cannot be asked now, or its error
/// proves nothing about the file (nothing decided, the file is kept).
pub fn check(
    req: &Request,
    ctl: &dyn DomainController,
    file: &Path,
) -> Result<Result<(), Unusable>, ControllerError> {
    let saved_at = match std::fs::metadata(file).and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(e) => return Ok(Err(Unusable::Unreadable(e.to_string()))),
    };
    let xml = match ctl.save_image_xml(file, req.ctx.work_end()) {
        Ok(xml) => xml,
        Err(ControllerError::Failed(why)) if not_a_complete_image(&why) => {
            return Ok(Err(Unusable::Unreadable(why)))
        }
        // cannot open it, a newer image version, ...: nothing proven
        Err(e) => return Err(e),
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

/// libvirt's own verdicts on a save image's header (qemu driver,
/// `qemuSaveImageReadHeader`, libvirt 9.0: each an "operation failed"):
/// the file is not a complete save image, whatever is retried.
const NOT_A_COMPLETE_IMAGE: &[&str] = &[
    "save image is incomplete",   // a save that never finished
    "failed to read qemu header", // cut short inside the header
    "image magic is incorrect",   // not a save image at all
    "failed to read domain XML",  // cut short inside the domain XML
    "invalid header data length", // a header without XML
    "invalid XML length",         // the same, libvirt before 8.x
];

/// Whether libvirt's error proves the file is no complete save image.
fn not_a_complete_image(why: &str) -> bool {
    NOT_A_COMPLETE_IMAGE.iter().any(|m| why.contains(m))
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

/// Moves the file out of the way, to `<file>.<tag>-<unix time>` (then
/// `….1`, `….2`, …): never over an existing file (an earlier set-aside of
/// the same second), and never following a link planted at that name. A
/// hard link (which never replaces) then the removal of the old name;
/// where the file system has no hard links, `renameat2(RENAME_NOREPLACE)`.
pub fn set_aside(file: &Path, tag: &str) -> std::io::Result<PathBuf> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for n in 0..100 {
        let mut name = file.as_os_str().to_owned();
        name.push(format!(".{tag}-{secs}"));
        if n > 0 {
            name.push(format!(".{n}"));
        }
        let aside = PathBuf::from(name);
        match move_without_replacing(file, &aside) {
            Ok(()) => return Ok(aside),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free name to set it aside"))
}

fn move_without_replacing(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => std::fs::remove_file(from).inspect_err(|_| {
            let _ = std::fs::remove_file(to);
        }),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => {
            use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
            renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE)
                .map_err(std::io::Error::from)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_aside_never_replaces_an_earlier_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vm1.state");
        let mut asides = Vec::new();
        for content in ["first", "second", "third"] {
            std::fs::write(&file, content).unwrap();
            asides.push(set_aside(&file, "stale").unwrap());
        }
        assert!(!file.exists());
        let kept: Vec<String> = asides
            .iter()
            .map(|a| std::fs::read_to_string(a).unwrap())
            .collect();
        assert_eq!(kept, ["first", "second", "third"], "{asides:?}");
    }
}
