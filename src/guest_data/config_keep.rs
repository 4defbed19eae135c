//! libvirt calls that may touch the user's config file, made so that the
//! file stays exactly as it was.
//!
//! When the config lives in libvirt's own definition directory
//! (`/etc/libvirt/qemu/vm1.xml`), `undefine` deletes it and `define`
//! rewrites it (a new file renamed over it). A hard link taken first keeps
//! the very inode (content, owner, mode, labels): afterwards, a config that
//! is gone or is no longer that inode is put back. Only `save_config`
//! changes the user's file.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use tempfile::TempPath;

use crate::host::atomic_file;

/// Runs `call` and puts the config file back if it removed or replaced it.
pub fn keeping_config<T>(config: &Path, call: impl FnOnce() -> T) -> T {
    let before = std::fs::metadata(config).ok();
    let keep = keep_link(config);
    let saved = match keep {
        Some(_) => None,
        None => std::fs::read(config).ok(),
    };
    let out = call();
    if let Some(keep) = keep {
        put_back_link(config, keep);
    } else if let Some(bytes) = saved {
        put_back_bytes(config, &bytes, before.as_ref());
    }
    out
}

/// A hard link to the config under a random name beside it (created with
/// `link(2)`, which never follows nor replaces what is there), removed
/// when dropped.
fn keep_link(config: &Path) -> Option<TempPath> {
    let dir = config.parent().filter(|d| !d.as_os_str().is_empty());
    let name = config.file_name()?.to_string_lossy().into_owned();
    tempfile::Builder::new()
        .prefix(&format!(".{name}.vd-keep."))
        .make_in(dir.unwrap_or(Path::new(".")), |p| {
            std::fs::hard_link(config, p)
        })
        .ok()
        .map(|link| link.into_temp_path())
}

fn same_inode(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

fn put_back_link(config: &Path, keep: TempPath) {
    if same_inode(config, &keep) {
        return; // the link is removed as `keep` drops
    }
    match keep.persist(config) {
        Ok(()) => log::info!("Put back {} after libvirt changed it.", config.display()),
        Err(e) => {
            let original = e.path.keep().unwrap_or_default();
            log::warn!(
                "{} was changed by libvirt and could not be put back ({}); the original is {}",
                config.display(),
                e.error,
                original.display()
            );
        }
    }
}

/// Without a link: the saved content, written atomically with the
/// original's owner and mode (a link now at the config's path is
/// replaced, never written through).
fn put_back_bytes(config: &Path, bytes: &[u8], before: Option<&Metadata>) {
    if std::fs::read(config).is_ok_and(|now| now == bytes) {
        return;
    }
    let mode = before.map_or(0o644, |m| m.mode() & 0o7777);
    let owner = before.map(|m| (m.uid(), m.gid()));
    match atomic_file::put(config, bytes, mode, owner) {
        Ok(()) => log::info!("Put back {} after libvirt changed it.", config.display()),
        Err(e) => log::warn!(
            "{} was changed by libvirt and could not be put back: {e}",
            config.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_or_rewritten_config_is_put_back_as_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("vm1.xml");
        std::fs::write(&config, "<domain>mine</domain>").unwrap();
        let ino = std::fs::metadata(&config).unwrap().ino();
        keeping_config(&config, || std::fs::remove_file(&config).unwrap());
        assert_eq!(std::fs::metadata(&config).unwrap().ino(), ino);
        keeping_config(&config, || {
            let new = dir.path().join("vm1.xml.new");
            std::fs::write(&new, "<domain>libvirt's</domain>").unwrap();
            std::fs::rename(&new, &config).unwrap();
        });
        assert_eq!(std::fs::metadata(&config).unwrap().ino(), ino);
        assert_eq!(
            std::fs::read_to_string(&config).unwrap(),
            "<domain>mine</domain>"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no link left"
        );
    }

    #[test]
    fn a_file_planted_at_a_guessable_keep_name_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("vm1.xml");
        std::fs::write(&config, "<domain>mine</domain>").unwrap();
        let ino = std::fs::metadata(&config).unwrap().ino();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let guess = dir
            .path()
            .join(format!(".vm1.xml.vd-keep.{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &guess).unwrap();
        keeping_config(&config, || {
            let new = dir.path().join("vm1.xml.new");
            std::fs::write(&new, "<domain>libvirt's</domain>").unwrap();
            std::fs::rename(&new, &config).unwrap();
        });
        assert_eq!(
            std::fs::metadata(&config).unwrap().ino(),
            ino,
            "the very file"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&guess).is_ok(), "left alone");
    }

    #[test]
    fn the_content_is_put_back_atomically_never_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("vm1.xml");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, &config).unwrap();
        let was = std::fs::metadata(&victim).unwrap();
        put_back_bytes(&config, b"<domain>mine</domain>", Some(&was));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let now = std::fs::symlink_metadata(&config).unwrap();
        assert!(now.file_type().is_file(), "a regular file again");
        assert_eq!(now.mode() & 0o7777, was.mode() & 0o7777);
        assert_eq!(
            std::fs::read_to_string(&config).unwrap(),
            "<domain>mine</domain>"
        );
    }
}
