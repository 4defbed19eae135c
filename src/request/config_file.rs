//! Reading the domain XML the `config` parameter names, bounded in time (a
//! config on storage that stopped answering must not hang the action) and
//! in size, never opening what is not a regular file (opening a FIFO
//! blocks until a writer comes).

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use super::setup::ConfigFile;
use crate::domain_xml::DomainConfig;
use crate::host::bounded;

/// Domain XML files larger than this are not read (a config pointing at a
/// device or a huge file must not stall the agent).
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Reads and parses the domain XML, by `until`. Unreadable: `test -r`
/// fails, or the read did not answer in time (storage that stopped
/// answering). Readable but not a file (a directory, a FIFO, a device):
/// read as a document without a name, never opened.
pub fn read_config(path: &Path, until: Instant) -> ConfigFile {
    use nix::unistd::{access, AccessFlags};
    let owned = path.to_path_buf();
    let read = bounded::run_until(until, move || {
        if access(&owned, AccessFlags::R_OK).is_err() {
            return None;
        }
        Some(read_regular_file(&owned).unwrap_or_default())
    });
    match read {
        Some(Some(bytes)) => {
            ConfigFile::Read(DomainConfig::parse(&String::from_utf8_lossy(&bytes)))
        }
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

/// The config as text, by `until`, or why it cannot be had.
pub fn read_text(path: &Path, until: Instant) -> Result<String, String> {
    let owned = path.to_path_buf();
    let read = bounded::run_until(until, move || {
        read_regular_file(&owned).map_err(|e| e.to_string())
    });
    match read {
        Some(Ok(bytes)) => String::from_utf8(bytes).map_err(|e| e.to_string()),
        Some(Err(why)) => Err(why),
        None => Err("the read did not answer in time".into()),
    }
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
