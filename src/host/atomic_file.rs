//! Replacing a file that other nodes read (the domain's config, often on
//! shared storage) so that no crash, kill, full disk or stalled NFS can
//! leave it empty or half written.
//!
//! The anchor rewrites the file in place (`cat tmp > config`): the inode,
//! and so its owner, mode, SELinux label and ACLs, are kept, but a write
//! cut short leaves a truncated config on every node. Here the new content
//! goes to a temporary file in the same directory (the `tempfile` crate:
//! an unpredictable name, created 0600), is flushed, takes over the old
//! file's owner, mode and extended attributes (`security.selinux`,
//! `system.posix_acl_access`, `user.*`, …), and is renamed over the old
//! file; the directory is flushed last. Readers see the old file or the
//! new one, whole. When an attribute cannot be carried over the old file
//! is left as it is (a config whose label changed may become unreadable
//! for the hypervisor): the error says which.

use std::ffi::{CStr, CString};
use std::fs::{File, Metadata};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{fchown, MetadataExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use nix::libc;

/// Replaces `path` with `content` atomically (a symbolic link: its
/// target). The file must exist: its attributes are the new file's.
pub fn replace(path: &Path, content: &[u8]) -> io::Result<()> {
    let path = std::fs::canonicalize(path)?;
    let old = std::fs::metadata(&path)?;
    write_new(&path, content, |new| carry_over(&path, &old, new))
}

/// Puts `content` at `path` atomically, whether a file is there or not: a
/// symbolic link at `path` is replaced, never followed. The new file has
/// `mode` (set on its descriptor) and, when given, `owner` (uid, gid).
pub fn put(path: &Path, content: &[u8], mode: u32, owner: Option<(u32, u32)>) -> io::Result<()> {
    write_new(path, content, |new| {
        if let Some((uid, gid)) = owner {
            fchown(new, Some(uid), Some(gid))?;
        }
        new.set_permissions(std::fs::Permissions::from_mode(mode))
    })
}

/// A temporary file beside `path` (unpredictable name, created with
/// `O_EXCL` and 0600), written, given its attributes by `finish`, flushed
/// and renamed over `path`; then the directory is flushed.
fn write_new(
    path: &Path,
    content: &[u8],
    finish: impl FnOnce(&File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        Some(_) => PathBuf::from("."),
        None => PathBuf::from("/"),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)?;
    tmp.write_all(content)?;
    finish(tmp.as_file())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    File::open(&dir)?.sync_all()
}

/// Owner, mode and extended attributes of `old` (at `path`) onto `new`.
fn carry_over(path: &Path, old: &Metadata, new: &File) -> io::Result<()> {
    fchown(new, Some(old.uid()), Some(old.gid()))?;
    new.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o7777))?;
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::other("path with a NUL byte"))?;
    for attr in xattr_names(&c_path)? {
        let value = sized(|buf, len| {
            // SAFETY: both C strings are valid; `buf` is null (len 0) or
            // points to `len` writable bytes.
            unsafe { libc::getxattr(c_path.as_ptr(), attr.as_ptr(), buf, len) }
        })?;
        // SAFETY: valid fd, C string and buffer of `value.len()` bytes.
        let rc = unsafe {
            libc::fsetxattr(
                new.as_raw_fd(),
                attr.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "cannot carry the attribute {} over: {e}",
                    attr.to_string_lossy()
                ),
            ));
        }
    }
    Ok(())
}

/// The names of the extended attributes of `path` (none where the file
/// system has no extended attributes).
fn xattr_names(path: &CStr) -> io::Result<Vec<CString>> {
    let listed = sized(|buf, len| {
        // SAFETY: valid C string; `buf` is null (len 0) or `len` writable bytes.
        unsafe { libc::listxattr(path.as_ptr(), buf.cast(), len) }
    });
    let list = match listed {
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(Vec::new()),
        other => other?,
    };
    Ok(list
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|n| CString::new(n).ok())
        .collect())
}

/// Runs a `*xattr` call the C way: once for the size, once for the bytes
/// (again if the value grew in between).
fn sized(call: impl Fn(*mut libc::c_void, usize) -> isize) -> io::Result<Vec<u8>> {
    for _ in 0..5 {
        let size = call(std::ptr::null_mut(), 0);
        let size = usize::try_from(size).map_err(|_| io::Error::last_os_error())?;
        let mut buf = vec![0u8; size];
        let got = call(buf.as_mut_ptr().cast(), size);
        match usize::try_from(got) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(_) if io::Error::last_os_error().raw_os_error() == Some(libc::ERANGE) => {}
            Err(_) => return Err(io::Error::last_os_error()),
        }
    }
    Err(io::Error::other("extended attributes kept changing"))
}

#[cfg(test)]
#[path = "atomic_file_tests.rs"]
mod tests;
