//! Guest health beyond "the domain runs" on real qemu guests: monitor
//! depth 10 (`OCF_CHECK_LEVEL=10`) names a pause by a disk I/O error or
//! the watchdog, depth 0 answers as the anchor, and `io_error_policy=resume`
//! resumes a guest whose storage has room again, once.
//!
//! The I/O error is real: the guest's disk is a qcow2 image on a tiny
//! tmpfs the guest fills (qemu's default `werror=enospc` pauses it).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

/// A small tmpfs under the lab directory holding a qcow2 image larger than
/// itself and a ballast file to free later; unmounted when dropped.
struct TinyFs {
    dir: PathBuf,
}

impl TinyFs {
    fn new(tag: &str) -> TinyFs {
        let dir = lab_dir().join(format!("{tag}-fs"));
        let _ = Command::new("umount").arg(&dir).output();
        std::fs::create_dir_all(&dir).unwrap();
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                "size=12m,mode=0755",
                "tmpfs",
                path(&dir),
            ],
        );
        let fs = TinyFs { dir };
        run("fallocate", &["-l", "4M", path(&fs.ballast())]);
        run(
            "qemu-img",
            &["create", "-q", "-f", "qcow2", path(&fs.disk()), "64M"],
        );
        fs
    }

    fn disk(&self) -> PathBuf {
        self.dir.join("disk.qcow2")
    }

    fn ballast(&self) -> PathBuf {
        self.dir.join("ballast")
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).output();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect(program);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A guest of `mode` (make-guest.sh), with `disk` when given, its guard and
/// its OCF environment (a recurring monitor's); `None` outside the lab.
fn health_guest(name: &str, mode: &str, disk: Option<&Path>) -> Option<(DomainGuard, Ocf)> {
    if !lab_available(name) {
        return None;
    }
    let dir = lab_dir();
    let mut args = Vec::new();
    if let Some(disk) = disk {
        args.extend(["--disk", path(disk)]);
    }
    args.extend([name, path(&dir), mode]);
    lab("make-guest.sh", &args);
    let guard = DomainGuard::new(QEMU, name);
    let ocf = Ocf::new(
        &format!("rsc-{name}"),
        &dir.join(format!("{name}.xml")),
        QEMU,
    );
    let ocf = ocf.recurring();
    // a record of an earlier run must not count
    let _ = std::fs::remove_file(
        Path::new(&ocf_var(&ocf, "HA_RSCTMP")).join(format!("VirtualDomain-{name}.ioerror")),
    );
    Some((guard, ocf))
}

fn ocf_var(ocf: &Ocf, key: &str) -> String {
    ocf.vars
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// `virsh domstate --reason`, e.g. "paused (I/O error)".
fn state_reason(name: &str) -> String {
    virsh(QEMU, &["domstate", "--reason", name]).1
}

fn wait_state(name: &str, want: &str, limit: Duration) {
    assert!(
        eventually(limit, || state_reason(name) == want),
        "{name}: {} (want {want}); console tail: {:?}",
        state_reason(name),
        console(name).lines().rev().take(3).collect::<Vec<_>>()
    );
}

fn level(ocf: &Ocf, n: &str) -> Ocf {
    ocf.with("OCF_CHECK_LEVEL", n)
}

#[test]
fn io_error_pause_is_healthy_at_depth_0_and_a_failure_at_depth_10() {
    let fs = TinyFs::new("vdh-fill");
    let Some((_g, ocf)) = health_guest("vdh-fill", "fill", Some(&fs.disk())) else {
        return;
    };
    assert_eq!(ocf.ours("start").code, 0);
    wait_state("vdh-fill", "paused (I/O error)", Duration::from_secs(120));
    // depth 0: the anchor's answer
    let plain = ocf.ours("monitor");
    assert_eq!(plain.code, 0, "{plain:?}");
    if anchor_available("vdh-fill") {
        assert_eq!(ocf.anchor("monitor").code, 0, "the anchor");
    }
    // depth 10: a failure naming the cause, the disk and libvirt's words
    let deep = level(&ocf, "10").ours("monitor");
    assert_eq!(deep.code, 1, "{deep:?}");
    assert_eq!(
        deep.reason().as_deref(),
        Some("Virtual domain vdh-fill is paused by a disk I/O error: vda (no space)"),
        "{deep:?}"
    );
    assert_eq!(
        state_reason("vdh-fill"),
        "paused (I/O error)",
        "left as it is"
    );
}

#[test]
fn depth_10_costs_a_healthy_guest_nothing_and_an_operator_pause_stays_healthy() {
    let Some((_g, ocf)) = health_guest("vdh-user", "obey", None) else {
        return;
    };
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up("vdh-user");
    // the reason comes with the state over the socket: depth 10 of a
    // healthy guest loads no libvirt.so and starts no more threads or
    // processes than depth 0 (the config read's thread)
    let log = lab_dir().join("vdh-user.strace");
    let started = |t: &str| {
        t.lines()
            .filter(|l| {
                ["clone(", "clone3(", "fork(", "execve("]
                    .iter()
                    .any(|c| l.contains(c))
            })
            .count()
    };
    let (code, plain) = ocf.ours_traced("monitor", &log);
    assert_eq!(code, 0, "{plain}");
    let deep = level(&ocf, "10").with("OCF_RESKEY_io_error_policy", "resume");
    let (code, trace) = deep.ours_traced("monitor", &log);
    assert_eq!(code, 0, "{trace}");
    assert!(!trace.contains("libvirt.so"), "libvirt.so loaded:\n{trace}");
    assert_eq!(started(&trace), started(&plain), "{trace}");
    assert!(virsh(QEMU, &["suspend", "vdh-user"]).0);
    wait_state("vdh-user", "paused (user)", Duration::from_secs(10));
    let deep = level(&ocf, "10").ours("monitor");
    assert_eq!(deep.code, 0, "{deep:?}");
}

#[test]
fn resume_policy_resumes_once_storage_has_room_then_fails_a_second_pause() {
    let fs = TinyFs::new("vdh-resume");
    let Some((_g, ocf)) = health_guest("vdh-resume", "fill", Some(&fs.disk())) else {
        return;
    };
    let ocf = level(&ocf, "10")
        .with("OCF_RESKEY_io_error_policy", "resume")
        .with("OCF_RESKEY_io_error_delay", "300");
    assert_eq!(ocf.ours("validate-all").code, 0);
    assert_eq!(ocf.ours("start").code, 0);
    wait_state("vdh-resume", "paused (I/O error)", Duration::from_secs(120));
    // the storage is still full: waiting for it is not yet a failure
    let waiting = ocf.ours("monitor");
    assert_eq!(waiting.code, 0, "{waiting:?}");
    assert_eq!(
        state_reason("vdh-resume"),
        "paused (I/O error)",
        "not resumed"
    );
    let filled = |c: &str| c.matches("guest: filled").count();
    let before = filled(&console("vdh-resume"));
    // room again: resumed, once; the guest writes on
    std::fs::remove_file(fs.ballast()).unwrap();
    let resumed = ocf.ours("monitor");
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert!(
        eventually(Duration::from_secs(60), || filled(&console("vdh-resume"))
            > before),
        "the guest ran again after the resume"
    );
    // and fills the freed room: paused again, which is now a failure
    wait_state("vdh-resume", "paused (I/O error)", Duration::from_secs(120));
    let again = ocf.ours("monitor");
    assert_eq!(again.code, 1, "{again:?}");
    let reason = again.reason().unwrap_or_default();
    assert!(
        reason.contains("vda (no space)") && reason.contains("paused again"),
        "{reason}"
    );
    assert_eq!(
        state_reason("vdh-resume"),
        "paused (I/O error)",
        "one resume only"
    );
    // a stop ends the episode (the guest is destroyed: it cannot shut down)
    let stop = ocf
        .with("OCF_RESKEY_CRM_meta_timeout", "20000")
        .ours("stop");
    assert_eq!(stop.code, 0, "{stop:?}");
}

#[test]
fn watchdog_pause_is_named_at_depth_10() {
    let Some((_g, ocf)) = health_guest("vdh-wdog", "watchdog:1", None) else {
        return;
    };
    assert_eq!(ocf.ours("start").code, 0);
    wait_state("vdh-wdog", "paused (watchdog)", Duration::from_secs(120));
    assert_eq!(ocf.ours("monitor").code, 0, "depth 0: as the anchor");
    let deep = level(&ocf, "10").ours("monitor");
    assert_eq!(deep.code, 1, "{deep:?}");
    assert_eq!(
        deep.reason().as_deref(),
        Some("Virtual domain vdh-wdog is paused by its watchdog"),
        "{deep:?}"
    );
}

#[test]
fn depth_20_asks_the_guest_agent_and_fails_when_it_stops() {
    let Some((_g, ocf)) = health_guest("vdh-qga", "qga:20", None) else {
        return;
    };
    let deep = level(&ocf, "20");
    assert_eq!(
        deep.ours("validate-all").code,
        0,
        "the config has a channel"
    );
    assert_eq!(ocf.ours("start").code, 0);
    // the agent answers once it runs (libvirt's own view, for the test)
    assert!(
        eventually(Duration::from_secs(60), || virsh(
            QEMU,
            &["domtime", "vdh-qga"]
        )
        .0),
        "the agent never answered libvirt; console: {}",
        console("vdh-qga")
    );
    let answered = deep.ours("monitor");
    assert_eq!(answered.code, 0, "{answered:?}");
    assert!(
        eventually(Duration::from_secs(60), || console("vdh-qga")
            .contains("guest: agent stopped")),
        "the guest stops its agent"
    );
    let silent = deep.ours("monitor");
    assert_eq!(silent.code, 1, "{silent:?}");
    let reason = silent.reason().unwrap_or_default();
    assert!(
        reason.starts_with("The guest agent of virtual domain vdh-qga does not answer: ")
            && reason.contains("not connected"),
        "{reason}"
    );
    // depths 0 and 10 do not ask it
    assert_eq!(ocf.ours("monitor").code, 0);
    assert_eq!(level(&ocf, "10").ours("monitor").code, 0);
}

#[test]
fn depth_20_without_a_guest_agent_channel_is_a_configuration_error() {
    let Some((_g, ocf)) = health_guest("vdh-noqga", "obey", None) else {
        return;
    };
    let refused = level(&ocf, "20").ours("validate-all");
    assert_eq!(refused.code, 6, "{refused:?}");
    assert!(
        refused
            .reason()
            .unwrap_or_default()
            .contains("has no guest agent channel"),
        "{refused:?}"
    );
    assert_eq!(level(&ocf, "10").ours("validate-all").code, 0);
}
