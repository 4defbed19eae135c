//! Ordering against libvirt at host shutdown, on systemd hosts.
//!
//! Pacemaker must stop (and migrate away) the guests before systemd stops
//! libvirt, so the anchor adds a drop-in ordering `resource-agents-deps.target`
//! (which Pacemaker is ordered after) after `libvirtd.service`. Hosts with
//! modular daemons run `virtqemud`/`virtproxyd` instead (anchor issue
//! #2081), so those are named too — in a file of this agent's own: the
//! anchor's files are written exactly as the anchor writes them, so that
//! in a cluster running both agents (switching one resource at a time)
//! neither start undoes the other's and reloads systemd, and the extra
//! ordering is never lost when a heartbeat resource starts last. Files are
//! rewritten, and systemd reloaded, only when their content changes; all
//! are world-readable, as the anchor makes them (systemd warns about every
//! other file at each reload, and Pacemaker's umask is 0027).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::command::run_bounded;
use super::state_files;

pub const DROPIN_DIR: &str = "/run/systemd/system/resource-agents-deps.target.d";

/// The drop-ins: file name and content (without the final newline). The
/// first two are the anchor's (`systemd_drop_in` of ocf-shellfuncs), the
/// last this agent's own.
pub fn dropins() -> [(&'static str, &'static str); 3] {
    [
        (
            "99-VirtualDomain-libvirt.conf",
            "[Unit]\nAfter=libvirtd.service",
        ),
        (
            "99-VirtualDomain-machines.conf",
            "[Unit]\nWants=virt-guest-shutdown.target",
        ),
        (
            OWN_DROPIN,
            "[Unit]\nAfter=virtqemud.service virtproxyd.service virtlxcd.service",
        ),
    ]
}

/// The drop-in only this agent writes.
pub const OWN_DROPIN: &str = "99-ocf-rust-VirtualDomain-libvirt.conf";

/// The mode of every drop-in (the anchor's `chmod o+r`).
const DROPIN_MODE: u32 = 0o644;

/// Writes the drop-ins into `dir` where their content differs, and makes
/// them world-readable; whether a content changed (systemd must reload).
pub fn install_dropins(dir: &Path) -> bool {
    let mut changed = false;
    for (file, content) in dropins() {
        let path = dir.join(file);
        if state_files::read(&path).as_deref() != Some(content) {
            changed |= state_files::write_if_changed(&path, content);
        }
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o7777);
        if mode.is_ok_and(|m| m & DROPIN_MODE != DROPIN_MODE) {
            let readable = std::fs::Permissions::from_mode(DROPIN_MODE);
            if let Err(e) = std::fs::set_permissions(&path, readable) {
                log::debug!("chmod {}: {e}", path.display());
            }
        }
    }
    changed
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
    let changed = install_dropins(Path::new(DROPIN_DIR));
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

    /// A cluster running both agents: the anchor's files stay as the
    /// anchor wrote them (no rewrite, no reload), the extra ordering is in
    /// this agent's own file, every file world-readable under
    /// Pacemaker's umask.
    #[test]
    fn the_anchors_drop_ins_are_kept_and_the_extra_ordering_is_ours() {
        let dir = tempfile::tempdir().unwrap();
        let anchor_wrote = [
            (
                "99-VirtualDomain-libvirt.conf",
                "[Unit]\nAfter=libvirtd.service\n",
            ),
            (
                "99-VirtualDomain-machines.conf",
                "[Unit]\nWants=virt-guest-shutdown.target\n",
            ),
        ];
        for (file, content) in anchor_wrote {
            std::fs::write(dir.path().join(file), content).unwrap();
        }
        // SAFETY: umask has no preconditions; restored below
        let old = unsafe { nix::libc::umask(0o027) };
        let first = install_dropins(dir.path());
        let second = install_dropins(dir.path());
        unsafe { nix::libc::umask(old) };
        assert!(first, "this agent's own file is new");
        assert!(!second, "nothing rewritten: no reload");
        for (file, content) in anchor_wrote {
            assert_eq!(
                std::fs::read_to_string(dir.path().join(file)).unwrap(),
                content,
                "{file} as the anchor wrote it"
            );
        }
        let own = dir.path().join(OWN_DROPIN);
        assert_eq!(
            std::fs::read_to_string(&own).unwrap(),
            "[Unit]\nAfter=virtqemud.service virtproxyd.service virtlxcd.service\n"
        );
        for (file, _) in dropins() {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644, "{file}");
        }
        // the anchor's start after ours (its systemd_drop_in) changes nothing
        assert!(!install_dropins(dir.path()));
    }

    /// The anchor's content is what its ocf-shellfuncs writes.
    #[test]
    fn the_anchors_content_is_the_anchors() {
        let Ok(funcs) = std::fs::read_to_string("/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs") else {
            return;
        };
        assert!(funcs.contains("cat >\"$conf_file\" <<EOF\n[Unit]\n$2=$3\nEOF"));
        let agent = std::fs::read_to_string("/usr/lib/ocf/resource.d/heartbeat/VirtualDomain")
            .unwrap_or_default();
        assert!(agent.contains(
            "systemd_drop_in \"99-VirtualDomain-libvirt\" \"After\" \"libvirtd.service\""
        ));
        assert!(agent.contains(
            "systemd_drop_in \"99-VirtualDomain-machines\" \"Wants\" \"virt-guest-shutdown.target\""
        ));
    }

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
