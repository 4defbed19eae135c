//! `save_config_on_stop` / `sync_config_on_stop`: write libvirt's current
//! definition back into the config file (in place, keeping owner, mode and
//! labels) and optionally push it to the other nodes with csync2.

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use super::Request;
use crate::controller::DomainController;
use crate::host::command::run_bounded;

/// The anchor's `save_config`. Never changes the action's result.
pub fn save_config(req: &Request, ctl: &dyn DomainController) {
    let config = req.config_path.display().to_string();
    let xml = match ctl.inactive_xml(&req.name) {
        Ok(xml) if !xml.trim().is_empty() => xml,
        _ => {
            log::warn!(
                "Domain {} config has 0 size. Skipping config update.",
                req.name
            );
            return;
        }
    };
    if std::fs::read(&req.config_path).is_ok_and(|current| current == xml.as_bytes()) {
        return;
    }
    let limit = req.ctx.work_left().min(Duration::from_secs(30));
    if !validates(&xml, limit) {
        log::warn!(
            "Domain {} config failed to validate after dump. Skipping config update.",
            req.name
        );
        return;
    }
    log::info!(
        "Saving domain {} to {config}. Please make sure it's present on all nodes or sync_config_on_stop is on.",
        req.name
    );
    let written = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&req.config_path)
        .and_then(|mut f| f.write_all(xml.as_bytes()));
    if let Err(e) = written {
        log::warn!(
            "Writing domain {}'s configuration to {config} failed: {e}",
            req.name
        );
        return;
    }
    log::info!("Saved {} domain's configuration to {config}.", req.name);
    if req.params.sync_config_on_stop {
        log::info!("Syncing {} config file with csync2 -x {config}", req.name);
        let mut cmd = Command::new("csync2");
        cmd.arg("-x").arg(&req.config_path);
        if !run_bounded(cmd, limit).is_ok_and(|done| done.success()) {
            log::warn!("Syncing {config} failed.");
        }
    }
}

/// `virt-xml-validate FILE domain` on the dumped XML.
fn validates(xml: &str, limit: Duration) -> bool {
    let Ok(mut tmp) = tempfile_in_tmp() else {
        return false;
    };
    if tmp.1.write_all(xml.as_bytes()).is_err() {
        return false;
    }
    let mut cmd = Command::new("virt-xml-validate");
    cmd.arg(&tmp.0).arg("domain");
    let ok = run_bounded(cmd, limit).is_ok_and(|done| done.success());
    let _ = std::fs::remove_file(&tmp.0);
    ok
}

fn tempfile_in_tmp() -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let dir = std::env::temp_dir();
    for n in 0..100u32 {
        let path = dir.join(format!("vmcfgsave.{}.{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no temporary file name free"))
}
