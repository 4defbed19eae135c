//! Whether reading a file may stall: a file on a network or FUSE file
//! system (a hard NFS mount whose server stopped answering) blocks the
//! reading thread in the kernel with no timeout; a file on a local disk
//! does not. The agent reads outside data on a thread of its own, bounded
//! in time ([`super::bounded`]), only where it may stall, so that a steady
//! monitor of a guest whose config is on a local disk starts no thread.
//!
//! The answer comes from `/proc/self/mountinfo` (read from the kernel's
//! memory, never blocking) and from the path resolved component by
//! component: a symbolic link is followed only while it lies on a local
//! file system, so even a link into a network mount is seen without
//! touching that mount. Anything unclear counts as "may stall".

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// File system types whose reads never wait on another machine or a
/// user-space process.
const LOCAL_TYPES: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "ramfs", "f2fs", "vfat", "jfs", "reiserfs",
    "zfs", "overlay", "squashfs", "iso9660", "devtmpfs", "proc", "sysfs",
];

/// The most symbolic links followed in one path (as the kernel's 40).
const MAX_LINKS: usize = 40;

/// One line of `/proc/self/mountinfo`: the mount point and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub point: PathBuf,
    pub fstype: String,
}

/// The mounts in `mountinfo`'s text (lines it cannot read are skipped).
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let point = left.split(' ').nth(4)?;
            let fstype = right.split(' ').next()?;
            Some(Mount {
                point: PathBuf::from(unescape(point)),
                fstype: fstype.to_string(),
            })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The file system type holding `path` (absolute, lexical): the mount with
/// the longest point that is a prefix of it; the last one listed wins a tie
/// (a later mount on the same point hides the earlier).
pub fn fstype_of<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a str> {
    mounts
        .iter()
        .filter(|m| path.starts_with(&m.point))
        .fold(None::<&Mount>, |best, m| match best {
            Some(b) if b.point.as_os_str().len() > m.point.as_os_str().len() => Some(b),
            _ => Some(m),
        })
        .map(|m| m.fstype.as_str())
}

fn is_local(mounts: &[Mount], path: &Path) -> bool {
    fstype_of(mounts, path).is_some_and(|t| LOCAL_TYPES.contains(&t))
}

/// One step of a path being resolved.
enum Step {
    Root,
    Up,
    Name(OsString),
}

/// The steps of `path`, in order.
fn steps(path: &Path) -> Vec<Step> {
    path.components()
        .filter_map(|c| match c {
            Component::RootDir => Some(Step::Root),
            Component::ParentDir => Some(Step::Up),
            Component::Normal(name) => Some(Step::Name(name.to_os_string())),
            Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

/// Whether reading `path` may stall, by the mounts given: some component,
/// followed through symbolic links, is on a file system not known to be
/// local (or cannot be resolved without touching one).
pub fn may_stall_with(mounts: &[Mount], path: &Path) -> bool {
    if !path.is_absolute() {
        return true;
    }
    let mut pending: Vec<Step> = steps(path);
    pending.reverse();
    let mut resolved = PathBuf::from("/");
    let mut links = 0;
    while let Some(step) = pending.pop() {
        match step {
            Step::Root => {
                resolved = PathBuf::from("/");
                continue;
            }
            Step::Up => {
                resolved.pop();
                continue;
            }
            Step::Name(name) => resolved.push(name),
        }
        if !is_local(mounts, &resolved) {
            return true;
        }
        // lstat of a component on a local file system: never stalls
        let Ok(meta) = std::fs::symlink_metadata(&resolved) else {
            return false; // absent: the read fails at once, it does not stall
        };
        if meta.file_type().is_symlink() {
            links += 1;
            let Ok(target) = std::fs::read_link(&resolved) else {
                return true;
            };
            if links > MAX_LINKS {
                return true;
            }
            resolved.pop();
            pending.extend(steps(&target).into_iter().rev());
        }
    }
    false
}

/// Whether reading `path` may stall on this host.
pub fn may_stall(path: &Path) -> bool {
    match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(text) => may_stall_with(&parse_mountinfo(&text), path),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:1 / / rw,relatime - ext4 /dev/vda1 rw
40 27 0:40 / /mnt/shared rw,relatime - nfs4 srv:/export rw,vers=4.2
41 27 0:41 / /mnt/with\\040space rw - fuse.sshfs host: rw
42 40 8:2 / /mnt/shared/local rw - xfs /dev/vdb rw
";

    #[test]
    fn mountinfo_lines_give_points_and_types() {
        let mounts = parse_mountinfo(MOUNTINFO);
        assert_eq!(mounts.len(), 5);
        assert_eq!(mounts[3].point, PathBuf::from("/mnt/with space"));
        assert_eq!(mounts[3].fstype, "fuse.sshfs");
        assert_eq!(fstype_of(&mounts, Path::new("/etc/x.xml")), Some("ext4"));
        assert_eq!(
            fstype_of(&mounts, Path::new("/mnt/shared/vm.xml")),
            Some("nfs4")
        );
        assert_eq!(
            fstype_of(&mounts, Path::new("/mnt/shared/local/a")),
            Some("xfs")
        );
        assert_eq!(fstype_of(&mounts, Path::new("/mnt/sharedx")), Some("ext4"));
    }

    #[test]
    fn network_and_fuse_mounts_may_stall_local_ones_do_not() {
        let mounts = parse_mountinfo(MOUNTINFO);
        assert!(may_stall_with(&mounts, Path::new("/mnt/shared/vm1.xml")));
        assert!(may_stall_with(
            &mounts,
            Path::new("/mnt/with space/vm1.xml")
        ));
        // reached through the network mount's directory: counted as may stall
        assert!(may_stall_with(
            &mounts,
            Path::new("/mnt/shared/local/vm1.xml")
        ));
        assert!(!may_stall_with(&mounts, Path::new("/no/such/dir/vm1.xml")));
        assert!(may_stall_with(&mounts, Path::new("relative.xml")));
        assert!(may_stall_with(&[], Path::new("/etc/hostname")));
    }

    #[test]
    fn a_local_link_into_a_network_mount_may_stall() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        let text = format!(
            "27 1 8:1 / / rw - ext4 /dev/vda1 rw\n\
             40 27 0:40 / {}/net rw - nfs4 srv:/export rw\n",
            real.display()
        );
        let mounts = parse_mountinfo(&text);
        std::os::unix::fs::symlink(real.join("net/vm1.xml"), real.join("link.xml")).unwrap();
        std::os::unix::fs::symlink("local.xml", real.join("rel.xml")).unwrap();
        std::fs::write(real.join("local.xml"), "x").unwrap();
        assert!(may_stall_with(&mounts, &real.join("link.xml")));
        assert!(!may_stall_with(&mounts, &real.join("rel.xml")));
        assert!(!may_stall_with(&mounts, &real.join("local.xml")));
        // a loop of links is given up on, as the kernel does
        std::os::unix::fs::symlink("loop2", real.join("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", real.join("loop2")).unwrap();
        assert!(may_stall_with(&mounts, &real.join("loop1")));
    }

    #[test]
    fn this_hosts_root_is_local() {
        // the machines this runs on keep /etc on a local disk
        assert!(!may_stall(Path::new("/etc/hostname")));
    }
}
