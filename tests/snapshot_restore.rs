//! Restoring a saved guest (`snapshot`) under real libvirt and qemu when the
//! restore fails for a reason that says nothing about the state file: its
//! disk is in a storage pool that is not active yet. The file is kept and
//! the start fails with libvirt's message; with `start_resources` the pool
//! is started first and the guest is restored (not booted afresh). A state
//! file cut short inside libvirt's header is provably incomplete: set
//! aside, the guest boots afresh. Guests are named `vdd-*`.

mod support;

use std::path::{Path, PathBuf};

use support::*;

const POOL: &str = "vdd-rpool";

/// A dir pool with one raw volume, both removed when dropped.
struct Pool(PathBuf);

impl Pool {
    fn with_volume(volume: &str) -> Pool {
        let dir = lab_dir().join(POOL);
        let pool = Pool(dir.clone());
        pool.clean();
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap();
        assert!(virsh(QEMU, &["pool-define-as", POOL, "dir", "--target", d]).0);
        assert!(virsh(QEMU, &["pool-start", POOL]).0);
        let create = ["vol-create-as", POOL, volume, "1M", "--format", "raw"];
        assert!(virsh(QEMU, &create).0);
        pool
    }

    fn clean(&self) {
        virsh(QEMU, &["pool-destroy", POOL]);
        virsh(QEMU, &["pool-undefine", POOL]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.clean();
    }
}

/// The names in `dir` that start with `prefix`.
fn names(dir: &Path, prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    found.sort();
    found
}

/// A guest whose disk is the volume `NAME.img` of the pool, saved by our
/// stop into a fresh snapshot directory: the guard, pool, OCF environment
/// and the state file.
fn saved_guest(name: &str) -> Option<(DomainGuard, Pool, Ocf, PathBuf)> {
    let (guard, ocf) = guest_setup(name, "obey")?;
    let volume = format!("{name}.img");
    let pool = Pool::with_volume(&volume);
    let xml = lab_dir().join(format!("{name}.xml"));
    let disk = format!(
        "  <disk type='volume' device='disk'>\n      <driver name='qemu' type='raw'/>\n      \
         <source pool='{POOL}' volume='{volume}'/>\n      <target dev='vda' bus='virtio'/>\n    \
         </disk>\n  </devices>"
    );
    let text = std::fs::read_to_string(&xml)
        .unwrap()
        .replace("</devices>", &disk);
    std::fs::write(&xml, text).unwrap();
    let snap = lab_dir().join(format!("{name}-snap"));
    let _ = std::fs::remove_dir_all(&snap);
    std::fs::create_dir_all(&snap).unwrap();
    let ocf = ocf.with("OCF_RESKEY_snapshot", snap.to_str().unwrap());
    let run = ocf.ours("start");
    assert_eq!(run.code, 0, "{run:?}");
    wait_guest_up(name);
    let run = ocf.ours("stop");
    assert_eq!(run.code, 0, "{run:?}");
    let state = snap.join(format!("{name}.state"));
    assert!(state.is_file(), "saved");
    Some((guard, pool, ocf, state))
}

/// Whether the guest runs on restored RAM: its ticks go on and it never
/// printed "guest: up" (qemu truncates the console file at each start).
fn restored(name: &str) -> bool {
    eventually(std::time::Duration::from_secs(30), || {
        console(name).contains("guest: tick")
    }) && !console(name).contains("guest: up")
}

#[test]
fn a_restore_that_fails_keeps_the_state_file_and_start_resources_comes_first() {
    const NAME: &str = "vdd-rpool";
    let Some((_g, _pool, ocf, state)) = saved_guest(NAME) else {
        return;
    };
    let snap = state.parent().unwrap().to_path_buf();
    assert!(virsh(QEMU, &["pool-destroy", POOL]).0);
    // the pool is not active: libvirt cannot restore the guest, which says
    // nothing about the state file
    let run = ocf.ours("start");
    assert_eq!(run.code, 1, "{run:?}");
    let reason = run.reason().unwrap_or_default();
    assert!(
        reason.contains("Failed to restore") && reason.contains(POOL),
        "libvirt's message: {run:?}"
    );
    assert!(state.is_file(), "kept: {:?}", names(&snap, ""));
    assert_eq!(
        names(&snap, &format!("{NAME}.state.")),
        Vec::<String>::new()
    );
    // with start_resources the pool is started before the restore
    let run = ocf.with("OCF_RESKEY_start_resources", "true").ours("start");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(restored(NAME), "restored, not booted: {}", console(NAME));
    assert!(!state.exists(), "removed after the restore");
    assert_eq!(names(&snap, ""), Vec::<String>::new(), "nothing set aside");
    let run = ocf.with("OCF_RESKEY_snapshot", "").ours("stop");
    assert_eq!(run.code, 0, "{run:?}");
    let _ = std::fs::remove_dir_all(&snap);
}
