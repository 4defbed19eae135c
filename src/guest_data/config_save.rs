//! `save_config_on_stop` / `sync_config_on_stop`: write libvirt's current
//! definition back into the config file and optionally push it to the
//! other nodes with csync2.
//!
//! Fixed against the anchor: the definition is dumped while the domain is
//! still defined (before stop and migrate_to; the anchor's stop dumps it
//! after a transient domain is gone and saves nothing), and the file is
//! replaced atomically with its owner, mode and labels
//! ([`atomic_file`](crate::host::atomic_file)), never truncated in place.
//! For a transient domain libvirt's inactive XML is its live definition
//! without runtime details: what `setmem`/`attach-device --live` changed
//! while it ran is saved.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::NamedTempFile;

use crate::controller::tag::without_tag;
use crate::controller::{ControllerError, DomainController};
use crate::host::atomic_file;
use crate::host::command::run_bounded;
use crate::request::Request;
use crate::timing::VALIDATE_CAP;

/// The anchor's `save_config`, every step done by `until`. Never changes
/// the action's result.
pub fn save_config(req: &Request, ctl: &dyn DomainController, until: Instant) {
    let config = req.config_path.display().to_string();
    let xml = match ctl.inactive_xml(&req.name, until) {
        // the agent's resource tag stays in libvirt, out of the user's file
        Ok(xml) if !xml.trim().is_empty() => without_tag(&xml),
        Err(ControllerError::NoDomain) => {
            log::info!(
                "Domain {} is not defined here: its config is not saved.",
                req.name
            );
            return;
        }
        Err(e) => {
            log::warn!("Cannot dump domain {}'s config: {e}", req.name);
            return;
        }
        Ok(_) => {
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
    let limit = until
        .saturating_duration_since(Instant::now())
        .min(VALIDATE_CAP);
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
    if let Err(e) = atomic_file::replace(&req.config_path, xml.as_bytes()) {
        log::warn!(
            "Writing domain {}'s configuration to {config} failed (the file is unchanged): {e}",
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

/// The dump in a temporary file of the system's temp directory, created
/// 0600 (it holds `--security-info` XML: console passwords), removed when
/// dropped.
pub fn private_dump(xml: &str) -> std::io::Result<NamedTempFile> {
    let mut tmp = tempfile::Builder::new().prefix("vmcfgsave.").tempfile()?;
    tmp.write_all(xml.as_bytes())?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// `virt-xml-validate FILE domain` on the dumped XML.
fn validates(xml: &str, limit: Duration) -> bool {
    let Ok(tmp) = private_dump(xml) else {
        return false;
    };
    let mut cmd = Command::new("virt-xml-validate");
    cmd.arg(tmp.path()).arg("domain");
    run_bounded(cmd, limit).is_ok_and(|done| done.success())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_security_dump_is_private() {
        let tmp = super::private_dump("<domain><graphics passwd='secret'/></domain>").unwrap();
        let mode = std::fs::metadata(tmp.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
