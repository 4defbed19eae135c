//! Ordering against libvirt at host shutdown, on systemd hosts.
//!
//! Pacemaker must stop (and migrate away) the guests before systemd stops
//! libvirt, so the anchor adds a drop-in ordering `resource-agents-deps.target`
//! (which Pacemaker is ordered after) after `libvirtd.service`. Hosts with
//! modular daemons run `virtqemud`/`virtproxyd` instead (anchor issue
//! #2081), so those are named too. Files are rewritten, and systemd
//! reloaded, only when their content changes.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::command::run_bounded;
use super::state_files;

pub const DROPIN_DIR: &str = "/run/systemd/system/resource-agents-deps.target.d";

/// The drop-ins: file name and content.
pub fn dropins() -> [(&'static str, &'static str); 2] {
    [
        (
            "99-VirtualDomain-libvirt.conf",
            "[Unit]\nAfter=libvirtd.service virtqemud.service virtproxyd.service virtlxcd.service",
        ),
        (
            "99-VirtualDomain-machines.conf",
            "[Unit]\nWants=virt-guest-shutdown.target",
        ),
    ]
}

/// Whether PID 1 is systemd.
pub fn is_systemd_host() -> bool {
    std::fs::read_to_string("/proc/1/comm").is_ok_and(|c| c.trim() == "systemd")
}

/// Installs the drop-ins and starts `virt-guest-shutdown.target`; every
/// failure is only logged (as the anchor ignores them).
pub fn ensure_shutdown_ordering(limit: Duration) {
    if !is_systemd_host() {
        return;
    }
    let mut changed = false;
    for (file, content) in dropins() {
        let path = Path::new(DROPIN_DIR).join(file);
        let before = state_files::read(&path);
        if before.as_deref() != Some(content) {
            changed |= state_files::write_if_changed(&path, content);
        }
    }
    let systemctl = |args: &[&str]| {
        let mut cmd = Command::new("systemctl");
        cmd.args(args);
        if let Err(e) = run_bounded(cmd, limit) {
            log::debug!("systemctl {}: {e}", args.join(" "));
        }
    };
    if changed {
        systemctl(&["daemon-reload"]);
    }
    systemctl(&["start", "virt-guest-shutdown.target"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The package's postrm removes exactly these drop-ins, by content.
    #[test]
    fn the_postrm_knows_every_drop_in() {
        let postrm = include_str!("../../packaging/debian/postrm");
        assert!(postrm.contains(&format!("DROPIN_DIR={DROPIN_DIR}\n")));
        for (file, content) in dropins() {
            let line = format!("remove_if_ours {file} '{}'\n", content.replace('\n', "\\n"));
            assert!(
                postrm.contains(&line),
                "packaging/debian/postrm lacks: {line}"
            );
        }
    }
}
