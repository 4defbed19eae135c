//! Small state files under `HA_RSCTMP` (cleared at reboot).
//!
//! They let a monitor skip work whose result it already knows (the
//! utilization last written to the CIB), and let a probe recognise a
//! running domain when its config file cannot be read. Failures to read
//! or write them never fail an action: they only cost the optimisation.

use std::fs;
use std::path::{Path, PathBuf};

use super::atomic_file;

/// A file name component: no `/`, never empty.
fn component(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c == '/' { '_' } else { c })
        .collect();
    if cleaned.is_empty() {
        "_".into()
    } else {
        cleaned
    }
}

/// The anchor's emulator cache (same path, so either agent can use it).
pub fn emulator_cache(rsctmp: &Path, domain: &str) -> PathBuf {
    rsctmp.join(format!("VirtualDomain-{}-emu.state", component(domain)))
}

/// The domain name last read from this resource's config.
pub fn remembered_domain(rsctmp: &Path, instance: &str) -> PathBuf {
    rsctmp.join(format!("VirtualDomain-{}.domain", component(instance)))
}

/// The utilization values last written to the CIB for this resource.
pub fn remembered_utilization(rsctmp: &Path, instance: &str) -> PathBuf {
    rsctmp.join(format!("VirtualDomain-{}.utilization", component(instance)))
}

/// When a guest's I/O-error pause was first seen and when this agent last
/// resumed it (`io_error_policy`).
pub fn io_error_record(rsctmp: &Path, domain: &str) -> PathBuf {
    rsctmp.join(format!("VirtualDomain-{}.ioerror", component(domain)))
}

/// Whether the guest agent answered since the guest started here, or
/// since when it has been silent (monitor depth 20).
pub fn guest_agent_record(rsctmp: &Path, domain: &str) -> PathBuf {
    rsctmp.join(format!("VirtualDomain-{}.agent", component(domain)))
}

/// The file's text without trailing newlines, `None` if absent or empty
/// (or a symbolic link: never followed).
pub fn read(path: &Path) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    let text = text.trim_end_matches('\n').to_string();
    (!text.is_empty()).then_some(text)
}

/// Writes `content` unless the file already holds it, with the atomic
/// writer ([`atomic_file::put`]: a random temporary name created with
/// `O_EXCL`, so nothing planted under a guessable name is followed; a link
/// at `path` itself is replaced). The file is 0644 (the anchor's files
/// are world-readable). Returns whether the file now holds `content`.
pub fn write_if_changed(path: &Path, content: &str) -> bool {
    if read(path).as_deref() == Some(content) {
        return true;
    }
    let Some(dir) = path.parent() else {
        return false;
    };
    if fs::create_dir_all(dir).is_err() {
        return false;
    }
    atomic_file::put(path, format!("{content}\n").as_bytes(), 0o644, None).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_anchor_for_the_emulator_cache() {
        assert_eq!(
            emulator_cache(Path::new("/run/resource-agents"), "vm1"),
            PathBuf::from("/run/resource-agents/VirtualDomain-vm1-emu.state")
        );
        assert_eq!(
            remembered_domain(Path::new("/r"), "a/b"),
            PathBuf::from("/r/VirtualDomain-a_b.domain")
        );
    }

    #[test]
    fn write_only_when_changed_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.state");
        assert_eq!(read(&p), None);
        assert!(write_if_changed(&p, "qemu-system-x86_64"));
        let before = fs::metadata(&p).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(write_if_changed(&p, "qemu-system-x86_64"));
        assert_eq!(
            fs::metadata(&p).unwrap().modified().unwrap(),
            before,
            "unchanged content is not rewritten"
        );
        assert_eq!(read(&p).as_deref(), Some("qemu-system-x86_64"));
        assert!(write_if_changed(&p, "libvirt_lxc"));
        assert_eq!(read(&p).as_deref(), Some("libvirt_lxc"));
    }

    #[test]
    fn a_planted_link_at_a_guessable_temporary_name_is_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious\n").unwrap();
        let p = dir.path().join("VirtualDomain-r.domain");
        // the name the writer used to take (pid of this process)
        let guess = dir
            .path()
            .join(format!(".VirtualDomain-r.domain.{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &guess).unwrap();
        assert!(write_if_changed(&p, "vm1"));
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(read(&p).as_deref(), Some("vm1"));
        assert_eq!(read(&guess), None, "a link is not read through");
        assert!(!fs::symlink_metadata(&p).unwrap().file_type().is_symlink());
        // readable by all, as the anchor's files (drop-ins: chmod o+r)
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 3, "victim, the planted link, the file");
    }

    #[test]
    fn unwritable_place_is_not_an_error() {
        assert!(!write_if_changed(Path::new("/proc/no/such/dir/f"), "x"));
    }
}
