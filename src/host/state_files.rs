//! Small state files under `HA_RSCTMP` (cleared at reboot).
//!
//! They let a monitor skip work whose result it already knows (the
//! utilization last written to the CIB), and let a probe recognise a
//! running domain when its config file cannot be read. Failures to read
//! or write them never fail an action: they only cost the optimisation.

use std::fs;
use std::path::{Path, PathBuf};

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

/// The file's text without trailing newlines, `None` if absent or empty.
pub fn read(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let text = text.trim_end_matches('\n').to_string();
    (!text.is_empty()).then_some(text)
}

/// Writes `content` unless the file already holds it (atomic replace).
/// Returns whether the file now holds `content`.
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
    let tmp = dir.join(format!(
        ".{}.{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    let written = fs::write(&tmp, format!("{content}\n")).is_ok() && fs::rename(&tmp, path).is_ok();
    if !written {
        let _ = fs::remove_file(&tmp);
    }
    written
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
    fn unwritable_place_is_not_an_error() {
        assert!(!write_if_changed(Path::new("/proc/no/such/dir/f"), "x"));
    }
}
