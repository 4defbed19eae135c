//! libvirt calls that may touch the user's config file, made so that the
//! file stays exactly as it was.
//!
//! When the config lives in libvirt's own definition directory
//! (`/etc/libvirt/qemu/vm1.xml`), `undefine` deletes it and `define`
//! rewrites it (a new file renamed over it). A hard link taken first keeps
//! the very inode (content, owner, mode, labels): afterwards, a config that
//! is gone or is no longer that inode is put back. Only `save_config`
//! changes the user's file.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Runs `call` and puts the config file back if it removed or replaced it.
pub fn keeping_config<T>(config: &Path, call: impl FnOnce() -> T) -> T {
    let keep = keep_path(config);
    let linked = std::fs::hard_link(config, &keep).is_ok();
    let saved = if linked {
        None
    } else {
        std::fs::read(config).ok()
    };
    let out = call();
    if linked {
        put_back_link(config, &keep);
    } else if let Some(bytes) = saved {
        put_back_bytes(config, &bytes);
    }
    out
}

fn keep_path(config: &Path) -> PathBuf {
    let file_name = config
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    config.with_file_name(format!(".{file_name}.vd-keep.{}", std::process::id()))
}

fn same_inode(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

fn put_back_link(config: &Path, keep: &Path) {
    if same_inode(config, keep) {
        let _ = std::fs::remove_file(keep);
        return;
    }
    match std::fs::rename(keep, config) {
        Ok(()) => log::info!("Put back {} after libvirt changed it.", config.display()),
        Err(e) => log::warn!(
            "{} was changed by libvirt and could not be put back ({e}); the original is {}",
            config.display(),
            keep.display()
        ),
    }
}

fn put_back_bytes(config: &Path, bytes: &[u8]) {
    if std::fs::read(config).is_ok_and(|now| now == bytes) {
        return;
    }
    match std::fs::write(config, bytes) {
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
}
