use super::*;

fn set_xattr(path: &Path, name: &str, value: &[u8]) -> bool {
    let p = CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    // SAFETY: valid C strings and buffer.
    unsafe {
        libc::setxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        ) == 0
    }
}

fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    sized(|buf, len| unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf, len) }).ok()
}

fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn content_replaced_with_owner_mode_and_attributes_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vm1.xml");
    std::fs::write(&file, "<domain>old</domain>").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    if is_root() {
        std::os::unix::fs::chown(&file, Some(1234), Some(5678)).unwrap();
    }
    let user_attr = set_xattr(&file, "user.vd-test", b"kept");
    // a label as SELinux would write it (root may set it without SELinux)
    let label = b"system_u:object_r:virt_etc_t:s0\0";
    let selinux = set_xattr(&file, "security.selinux", label);

    replace(&file, b"<domain>new</domain>").unwrap();

    assert_eq!(std::fs::read(&file).unwrap(), b"<domain>new</domain>");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    if is_root() {
        assert_eq!((meta.uid(), meta.gid()), (1234, 5678));
    }
    if user_attr {
        assert_eq!(
            get_xattr(&file, "user.vd-test").as_deref(),
            Some(&b"kept"[..])
        );
    }
    if selinux {
        assert_eq!(
            get_xattr(&file, "security.selinux").as_deref(),
            Some(&label[..])
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file left: {left:?}");
}

#[test]
fn a_symbolic_link_keeps_pointing_at_the_replaced_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.xml");
    let link = dir.path().join("vm1.xml");
    std::fs::write(&target, "old").unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    replace(&link, b"new").unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
}

#[test]
fn a_missing_file_is_an_error_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent.xml");
    assert!(replace(&file, b"x").is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
