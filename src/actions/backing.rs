//! Copy-on-write mode (`backingfile`, `stateless`, `copyindirs`): the
//! domain runs on a qcow2 overlay of a shared backing image, defined
//! persistently and started.
//!
//! Fixed against the anchor: the overlay is created with the backing
//! format (`-F`, which qemu-img ≥ 7 requires; a backing file `qemu-img
//! info` cannot read is an error, never guessed raw), its path is the
//! config's path with only the file name's extension replaced, an existing
//! file is only overwritten when it is an overlay of this backing file
//! (never the backing file itself, nor any other image), define leaves the
//! config file as it is, and define, start and `virt-copy-in` use the
//! configured hypervisor URI (a missing `virt-copy-in` is a clear error).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Request;
use crate::controller::DomainController;
use crate::host::command::run_bounded;
use crate::ocf::OcfError;

/// `/etc/libvirt/qemu/vm1.xml` → `/etc/libvirt/qemu/vm1.qcow2`.
pub fn overlay_path(config: &Path) -> PathBuf {
    config.with_extension("qcow2")
}

/// The format `qemu-img info` reports for an image (`raw`, `qcow2`, ...).
pub fn image_format(info_json: &str) -> Option<String> {
    json_string(info_json, "format")
}

/// A top-level string field of `qemu-img info --output=json`.
fn json_string(info_json: &str, key: &str) -> Option<String> {
    let after = info_json.split(&format!("\"{key}\":")).nth(1)?;
    let value = after.trim_start().strip_prefix('"')?;
    Some(value.split('"').next()?.to_string())
}

/// `qemu-img info` of an image, as JSON.
fn image_info(req: &Request, image: &Path) -> Result<String, String> {
    let mut info = Command::new("qemu-img");
    info.args(["info", "--output=json", "-U"]).arg(image);
    run(req, info)
}

/// Whether the existing `overlay` may be overwritten: empty, or a qcow2
/// overlay of `backing` (what this agent creates).
fn may_overwrite(req: &Request, overlay: &Path, backing: &str) -> Result<(), String> {
    if std::fs::metadata(overlay).map_or(true, |m| m.len() == 0) {
        return Ok(());
    }
    let same_file = std::fs::canonicalize(overlay)
        .ok()
        .zip(std::fs::canonicalize(backing).ok())
        .is_some_and(|(o, b)| o == b);
    if same_file {
        return Err(format!("{} is the backing file itself", overlay.display()));
    }
    let info = image_info(req, overlay)?;
    let ours = image_format(&info).as_deref() == Some("qcow2")
        && json_string(&info, "backing-filename").as_deref() == Some(backing);
    if ours {
        Ok(())
    } else {
        Err(format!(
            "{} is not a qcow2 overlay of {backing}",
            overlay.display()
        ))
    }
}

fn run(req: &Request, cmd: Command) -> Result<String, String> {
    match run_bounded(cmd, req.ctx.work_left()) {
        Ok(done) if done.success() => Ok(done.output),
        Ok(done) => Err(done.output),
        Err(e) => Err(e),
    }
}

fn create_overlay(req: &Request, overlay: &Path) -> Result<(), OcfError> {
    let backing = &req.params.backingfile;
    let failed = |why: String| {
        OcfError::generic(format!(
            "Failed qemu-img create {} with backing file {backing}: {why}",
            req.name
        ))
    };
    may_overwrite(req, overlay, backing)
        .map_err(|why| OcfError::generic(format!("{}: not overwritten: {why}", req.name)))?;
    let info = image_info(req, Path::new(backing))
        .map_err(|why| failed(format!("qemu-img info of the backing file: {}", why.trim())))?;
    let format = image_format(&info)
        .ok_or_else(|| failed("qemu-img info names no format for the backing file".into()))?;
    let mut create = Command::new("qemu-img");
    create
        .args(["create", "-f", "qcow2", "-F", &format, "-b"])
        .arg(backing)
        .arg(overlay);
    run(req, create)
        .map(|_| ())
        .map_err(|why| failed(why.trim().to_string()))
}

/// Creates the overlay when needed, defines the domain, copies files in,
/// and starts it.
pub fn define_and_start(req: &Request, ctl: &dyn DomainController) -> Result<(), OcfError> {
    let overlay = overlay_path(&req.config_path);
    let fresh = req.params.stateless || std::fs::metadata(&overlay).map_or(true, |m| m.len() == 0);
    // checked before anything is created or defined
    let copy_in_program = if fresh && !req.params.copyindirs.trim().is_empty() {
        Some(copy_in_program(req)?)
    } else {
        None
    };
    if fresh {
        create_overlay(req, &overlay)?;
    }
    let xml = req.config_xml()?;
    super::start::define(req, ctl, &xml)?;
    if let Some(program) = copy_in_program {
        copy_in(req, program)?;
    }
    ctl.start_defined(&req.name)
        .map_err(|e| OcfError::generic(format!("Failed to start virtual domain {}: {e}", req.name)))
}

/// libguestfs' `virt-copy-in`, or a clear error.
fn copy_in_program(req: &Request) -> Result<PathBuf, OcfError> {
    let env = crate::ocf::Env::from_process();
    super::find_in_path("virt-copy-in", &env).ok_or_else(|| {
        OcfError::new(
            crate::ocf::OcfRc::ErrInstalled,
            format!(
                "copyindirs needs virt-copy-in (libguestfs, Debian package libguestfs-tools), not installed; {} not started",
                req.name
            ),
        )
    })
}

/// `copyindirs` into the fresh overlay with `virt-copy-in`.
fn copy_in(req: &Request, program: PathBuf) -> Result<(), OcfError> {
    let mut copy = Command::new(program);
    if let Some(uri) = req.params.hypervisor.as_deref().filter(|h| !h.is_empty()) {
        copy.arg("-c").arg(uri);
    }
    copy.arg("-d")
        .arg(&req.name)
        .args(req.params.copyindirs.split_whitespace())
        .arg("/");
    run(req, copy).map(drop).map_err(|why| {
        OcfError::generic(format!(
            "Failed on virt-copy-in command {}: {}",
            req.name,
            why.trim()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_replaces_only_the_file_extension() {
        assert_eq!(
            overlay_path(Path::new("/etc/libvirt/qemu/vm1.xml")),
            PathBuf::from("/etc/libvirt/qemu/vm1.qcow2")
        );
        assert_eq!(
            overlay_path(Path::new("/srv/vm.d/vm1.xml")),
            PathBuf::from("/srv/vm.d/vm1.qcow2")
        );
    }

    #[test]
    fn format_from_qemu_img_json() {
        let json = "{\n    \"virtual-size\": 1048576,\n    \"filename\": \"/b.raw\",\n    \"format\": \"raw\",\n}";
        assert_eq!(image_format(json).as_deref(), Some("raw"));
        assert_eq!(image_format("{}"), None);
    }
}
