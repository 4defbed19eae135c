//! Reading the domain XML the `config` parameter names, bounded in time (a
//! config on storage that stopped answering must not hang the action: read
//! on a thread of its own where it may stall, [`crate::host::mounts`]) and
//! in size, never opening what is not a regular file (opening a FIFO
//! blocks until a writer comes).

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use super::setup::ConfigFile;
use crate::domain_xml::DomainConfig;
use crate::host::{bounded, mounts};

/// Domain XML files larger than this are not read (a config pointing at a
/// device or a huge file must not stall the agent).
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Reads and parses the domain XML, by `until`. Unreadable: `test -r`
/// fails, or the read did not answer in time (storage that stopped
/// answering). Readable but not a file (a directory, a FIFO, a device):
/// read as a document without a name, never opened.
pub fn read_config(path: &Path, until: Instant) -> ConfigFile {
    use nix::unistd::{access, AccessFlags};
    let read = within_bound(path, until, |path| {
        if access(path, AccessFlags::R_OK).is_err() {
            return None;
        }
        Some(read_regular_file(path).unwrap_or_default())
    });
    match read {
        Some(Some(bytes)) => ConfigFile::Read(DomainConfig::parse(&config_text(&bytes))),
        Some(None) => ConfigFile::Unreadable,
        None => {
            log::warn!(
                "Reading {} did not answer in time: treated as unreadable.",
                path.display()
            );
            ConfigFile::Unreadable
        }
    }
}

/// `read(path)` by `until`: on a thread of its own where the file may
/// stall (a network or FUSE file system), at once on a local one (a
/// steady-state monitor starts no thread); `None`: no answer in time.
fn within_bound<T: Send + 'static>(path: &Path, until: Instant, read: fn(&Path) -> T) -> Option<T> {
    if !mounts::may_stall(path) {
        return Some(read(path));
    }
    let owned = path.to_path_buf();
    bounded::run_until(until, move || read(&owned))
}

/// The config's text as libvirt reads it; what cannot be decoded is read
/// leniently here (the name is still found) and refused, with its reason,
/// where libvirt is to be given the document (`Request::config_xml`).
fn config_text(bytes: &[u8]) -> String {
    crate::domain_xml::decode_document(bytes)
        .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned())
}

/// The config's bytes, by `until`, or why they cannot be had.
pub fn read_bytes(path: &Path, until: Instant) -> Result<Vec<u8>, String> {
    within_bound(path, until, |path| {
        read_regular_file(path).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|| Err("the read did not answer in time".into()))
}

/// The bytes of a regular file (at most [`MAX_CONFIG_BYTES`]); an error for
/// anything else, which is never opened.
fn read_regular_file(path: &Path) -> std::io::Result<Vec<u8>> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
