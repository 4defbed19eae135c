//! Copy-on-write mode (`backingfile`, `stateless`, `copyindirs`): the
//! domain runs on a qcow2 overlay of a shared backing image, defined
//! persistently and started.
//!
//! Fixed against the anchor: the overlay is created with the backing
//! format (`-F`, which qemu-img ≥ 7 requires), its path is the config's
//! path with only the file name's extension replaced, and define/start use
//! the configured hypervisor URI.

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
    let after = info_json.split("\"format\":").nth(1)?;
    let value = after.trim_start().strip_prefix('"')?;
    Some(value.split('"').next()?.to_string())
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
    let mut info = Command::new("qemu-img");
    info.args(["info", "--output=json", "-U"]).arg(backing);
    let format = run(req, info)
        .ok()
        .and_then(|j| image_format(&j))
        .unwrap_or_else(|| "raw".into());
    let mut create = Command::new("qemu-img");
    create
        .args(["create", "-f", "qcow2", "-F", &format, "-b"])
        .arg(backing)
        .arg(overlay);
    run(req, create).map(|_| ()).map_err(failed)
}

/// Creates the overlay when needed, defines the domain, copies files in,
/// and starts it.
pub fn define_and_start(req: &Request, ctl: &dyn DomainController) -> Result<(), OcfError> {
    let overlay = overlay_path(&req.config_path);
    let fresh = req.params.stateless || std::fs::metadata(&overlay).map_or(true, |m| m.len() == 0);
    if fresh {
        create_overlay(req, &overlay)?;
    }
    let xml = req.config_xml()?;
    ctl.define(&xml).map_err(|e| {
        OcfError::generic(format!("Failed to define virtual domain {}: {e}", req.name))
    })?;
    if fresh && !req.params.copyindirs.trim().is_empty() {
        let mut copy = Command::new("virt-copy-in");
        copy.arg("-d")
            .arg(&req.name)
            .args(req.params.copyindirs.split_whitespace())
            .arg("/");
        run(req, copy).map_err(|why| {
            OcfError::generic(format!(
                "Failed on virt-copy-in command {}: {why}",
                req.name
            ))
        })?;
    }
    ctl.start_defined(&req.name)
        .map_err(|e| OcfError::generic(format!("Failed to start virtual domain {}: {e}", req.name)))
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
