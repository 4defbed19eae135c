//! The guest's data under real libvirt and qemu: the config file that
//! save_config_on_stop writes (the anchor beside ours), the snapshot state
//! file (full disk, stale, truncated), persistent domains, and backing-file
//! overlays. Guests are named `vdd-*`.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

/// A small tmpfs mounted at `dir` for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(name: &str, size: &str) -> Tmpfs {
        let dir = lab_dir().join(name);
        let _ = Command::new("umount").arg(&dir).output();
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount tmpfs on {}", dir.display());
        Tmpfs(dir)
    }

    /// Fills it to the last byte.
    fn fill(&self) {
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=4k"])
            .arg(format!("of={}", self.0.join("filler").display()))
            .output();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn set_xattr(path: &Path, name: &str, value: &str) {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())",
        ])
        .arg(path)
        .args([name, value])
        .status()
        .unwrap()
        .success();
    assert!(ok, "setxattr {name}");
}

fn get_xattr(path: &Path, name: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())",
        ])
        .arg(path)
        .arg(name)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A change made while the guest runs: `virsh desc --live` (a transient
/// domain has no `--config`; its inactive XML is its live definition).
fn change_live(name: &str, text: &str) {
    let (ok, out) = virsh(QEMU, &["desc", name, "--live", text]);
    assert!(ok, "desc --live: {out}");
}

#[test]
fn save_config_on_stop_saves_a_live_change_atomically_keeping_owner_mode_and_xattrs() {
    const NAME: &str = "vdd-cfg";
    let Some((_g, ocf)) = guest_setup(NAME, "obey") else {
        return;
    };
    let config = lab_dir().join(format!("{NAME}.xml"));
    let ocf = ocf.with("OCF_RESKEY_save_config_on_stop", "true");
    let original = std::fs::read_to_string(&config).unwrap();
    assert_eq!(original.matches("<name>").count(), 1);
    if anchor_available("save_config beside the anchor") {
        assert_eq!(ocf.anchor("start").code, 0);
        wait_guest_up(NAME);
        change_live(NAME, "changed under the anchor");
        let run = ocf.anchor("stop");
        assert_eq!(run.code, 0);
        let saved = std::fs::read_to_string(&config).unwrap();
        assert!(
            saved.contains("changed under the anchor"),
            "the anchor saves before its shutdown too: {saved}"
        );
        std::fs::write(&config, &original).unwrap();
    }
    std::os::unix::fs::chown(&config, Some(1234), Some(5678)).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    set_xattr(&config, "user.vd-label", "kept");
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up(NAME);
    change_live(NAME, "changed while running");
    let run = ocf.ours("stop");
    assert_eq!(run.code, 0, "{run:?}");
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(saved.contains("changed while running"), "{saved}");
    assert!(saved.contains(&format!("<name>{NAME}</name>")));
    assert!(
        !saved.contains("ocf-rust-virtualdomain"),
        "the resource tag stays out of the config: {saved}"
    );
    let meta = std::fs::metadata(&config).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (1234, 5678, 0o640)
    );
    assert_eq!(get_xattr(&config, "user.vd-label"), "kept");
    // the saved file starts the guest again
    assert_eq!(ocf.ours("start").code, 0);
    assert_eq!(ocf.ours("stop").code, 0);
}

#[test]
fn save_config_into_a_full_filesystem_leaves_the_old_file_whole() {
    const NAME: &str = "vdd-cfgfull";
    let Some((_g, ocf)) = guest_setup(NAME, "obey") else {
        return;
    };
    let fs = Tmpfs::mount("vdd-cfgfull-fs", "256k");
    let config = fs.0.join(format!("{NAME}.xml"));
    std::fs::copy(lab_dir().join(format!("{NAME}.xml")), &config).unwrap();
    let ocf = ocf
        .with("OCF_RESKEY_config", config.to_str().unwrap())
        .with("OCF_RESKEY_save_config_on_stop", "true");
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up(NAME);
    // (start's monitor already saved libvirt's form of it)
    let before = std::fs::read(&config).unwrap();
    change_live(NAME, &"x".repeat(4096));
    fs.fill();
    let run = ocf.ours("stop");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read(&config).unwrap(), before, "old config intact");
    let mut left: Vec<_> = std::fs::read_dir(&fs.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec!["filler".to_string(), format!("{NAME}.xml")],
        "no temporary file left"
    );
}

#[test]
fn snapshot_into_a_full_filesystem_stops_cleanly_and_boots_afresh() {
    const NAME: &str = "vdd-snapfull";
    let Some((_g, ocf)) = guest_setup(NAME, "obey") else {
        return;
    };
    let fs = Tmpfs::mount("vdd-snapfull-fs", "1m");
    let ocf = ocf.with("OCF_RESKEY_snapshot", fs.0.to_str().unwrap());
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up(NAME);
    let run = ocf.ours("stop");
    assert_eq!(run.code, 0, "the guest is stopped: {run:?}");
    let reason = run.reason().unwrap_or_default();
    assert!(reason.contains("saving its state"), "{run:?}");
    assert_eq!(ocf.ours("monitor").code, 7);
    assert_eq!(
        std::fs::read_dir(&fs.0).unwrap().count(),
        0,
        "no partial file"
    );
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up(NAME);
    assert_eq!(ocf.with("OCF_RESKEY_snapshot", "").ours("stop").code, 0);
}

#[test]
fn stale_and_cut_short_state_files_set_aside_only_when_proven() {
    const NAME: &str = "vdd-stale";
    if !lab_available(NAME) {
        return;
    }
    let disk = lab_dir().join(format!("{NAME}.img"));
    std::fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
    let (config, _g) = guest_with_disk(NAME, &disk);
    let dir = lab_dir().join("vdd-stale-snap");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ocf =
        Ocf::new("rsc-vdd-stale", &config, QEMU).with("OCF_RESKEY_snapshot", dir.to_str().unwrap());
    let state = dir.join(format!("{NAME}.state"));
    let set_aside = |tag: &str| {
        std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                let n = e
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .into_owned();
                n.starts_with(&format!("{NAME}.state.{tag}-"))
            })
            .count()
    };
    // saved here, then the guest runs elsewhere (writing its disk)
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up(NAME);
    assert_eq!(ocf.ours("stop").code, 0);
    assert!(state.is_file());
    assert!(virsh(QEMU, &["create", config.to_str().unwrap()]).0);
    wait_guest_up(NAME);
    virsh(QEMU, &["destroy", NAME]);
    let run = ocf.ours("start");
    assert_eq!(run.code, 0, "{run:?}");
    wait_guest_up(NAME);
    assert!(console(NAME).contains("guest: up"), "booted afresh");
    assert!(
        !state.exists() && set_aside("stale") == 1,
        "set aside, not deleted"
    );
    // cut short in qemu's stream: libvirt reads the image, the restore
    // fails, which proves nothing: kept, the start fails with its message
    assert_eq!(ocf.ours("stop").code, 0);
    let cut = |len: u64| {
        let f = std::fs::OpenOptions::new().write(true).open(&state);
        f.unwrap().set_len(len).unwrap();
    };
    cut(std::fs::metadata(&state).unwrap().len() / 2);
    let run = ocf.ours("start");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run
        .reason()
        .unwrap_or_default()
        .contains("Failed to restore"));
    assert!(state.is_file() && set_aside("unreadable") == 0, "kept");
    // cut short in libvirt's header: proven incomplete, set aside
    cut(40);
    let run = ocf.ours("start");
    assert_eq!(run.code, 0, "{run:?}");
    wait_guest_up(NAME);
    assert!(console(NAME).contains("guest: up"), "booted afresh");
    assert!(!state.exists() && set_aside("unreadable") == 1);
    assert_eq!(ocf.with("OCF_RESKEY_snapshot", "").ours("stop").code, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn persistent_domains_stay_defined_and_the_config_is_untouched() {
    const NAME: &str = "vdd-pers";
    let Some((_g, ocf)) = guest_setup(NAME, "obey") else {
        return;
    };
    let config = lab_dir().join(format!("{NAME}.xml"));
    let before = (
        std::fs::read(&config).unwrap(),
        std::fs::metadata(&config).unwrap().ino(),
    );
    let ocf = ocf.with("OCF_RESKEY_persistent", "true");
    assert_eq!(ocf.ours("start").code, 0);
    let info = virsh(QEMU, &["dominfo", NAME]).1;
    assert!(
        info.lines()
            .any(|l| l.starts_with("Persistent:") && l.ends_with("yes")),
        "{info}"
    );
    let (_, inactive) = virsh(QEMU, &["dumpxml", "--inactive", NAME]);
    assert!(
        inactive.contains("http://ocf-rust-virtualdomain/resource/1"),
        "the definition carries the resource tag: {inactive}"
    );
    wait_guest_up(NAME);
    assert_eq!(ocf.ours("stop").code, 0);
    assert_eq!(domstate(QEMU, NAME), "shut off", "still defined");
    assert_eq!(ocf.ours("monitor").code, 7);
    // started again from its definition and the file
    assert_eq!(ocf.ours("start").code, 0);
    assert_eq!(ocf.ours("stop").code, 0);
    let after = (
        std::fs::read(&config).unwrap(),
        std::fs::metadata(&config).unwrap().ino(),
    );
    assert_eq!(before, after, "config file untouched");
}

fn sha(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn stateless_overlays_are_fresh_and_the_backing_file_is_never_written() {
    const NAME: &str = "vdd-cow";
    if !lab_available(NAME) {
        return;
    }
    let backing = lab_dir().join("vdd-cow-base.raw");
    let mut base_content = b"backing file content\n".repeat(100);
    base_content.resize(1 << 20, 0);
    std::fs::write(&backing, base_content).unwrap();
    let overlay = lab_dir().join(format!("{NAME}.qcow2"));
    std::fs::write(&overlay, b"").unwrap();
    let (config, _g) = guest_with_disk(NAME, &overlay);
    let ocf = Ocf::new("rsc-vdd-cow", &config, QEMU)
        .with("OCF_RESKEY_backingfile", backing.to_str().unwrap())
        .with("OCF_RESKEY_stateless", "true");
    let base = sha(&backing);
    for round in 0..2 {
        let run = ocf.ours("start");
        assert_eq!(run.code, 0, "round {round}: {run:?}");
        wait_guest_up(NAME);
        assert!(
            eventually(Duration::from_secs(10), || console(NAME)
                .contains("disk vda: backing file content")),
            "round {round}: a fresh overlay shows the backing file: {}",
            console(NAME)
        );
        assert_eq!(ocf.ours("stop").code, 0);
        assert_eq!(sha(&backing), base, "the backing file is never written");
    }
    // an image that is not an overlay of the backing file is never overwritten
    std::fs::write(&overlay, b"precious data").unwrap();
    let run = ocf.ours("start");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.reason().unwrap_or_default().contains("not overwritten"),
        "{run:?}"
    );
    assert_eq!(std::fs::read(&overlay).unwrap(), b"precious data");
    // a backing file qemu-img cannot read
    std::fs::write(&overlay, b"").unwrap();
    let run = ocf
        .with("OCF_RESKEY_backingfile", "/nonexistent/base.raw")
        .ours("start");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.reason().unwrap_or_default().contains("qemu-img info"),
        "{run:?}"
    );
    // copyindirs without libguestfs (not installed by tests/lab: a large package)
    if program_missing("virt-copy-in") {
        let run = ocf
            .with("OCF_RESKEY_copyindirs", "/etc/hostname")
            .ours("start");
        assert_eq!(run.code, 5, "{run:?}");
        assert!(
            run.reason().unwrap_or_default().contains("libguestfs"),
            "{run:?}"
        );
        assert!(
            virsh(QEMU, &["dominfo", NAME])
                .1
                .contains("failed to get domain"),
            "nothing defined"
        );
    }
}

/// A tiny guest whose disk is `disk` (`make-guest.sh --disk`): its
/// config and the guard that removes it.
fn guest_with_disk(name: &str, disk: &Path) -> (PathBuf, DomainGuard) {
    let dir = lab_dir();
    let args = [
        "--disk",
        disk.to_str().unwrap(),
        name,
        dir.to_str().unwrap(),
        "obey",
    ];
    lab("make-guest.sh", &args);
    (
        dir.join(format!("{name}.xml")),
        DomainGuard::new(QEMU, name),
    )
}

fn program_missing(program: &str) -> bool {
    !Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .status()
        .unwrap()
        .success()
}
