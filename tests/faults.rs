//! libvirtd stopped, crashed and frozen (SIGSTOP) under a running guest,
//! in a private libvirtd (tests/lab/privd-*): every action returns within
//! its timeout with the documented code; the anchor loops instead.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

const PRIVD: &str = "/srv/vd-privd";

fn lab(script: &str, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .arg("120")
        .arg("bash")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/lab")
                .join(script),
        )
        .args(args)
        .output()
        .expect("lab script");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} {args:?}: {text}");
    text
}

struct Privd;

impl Drop for Privd {
    fn drop(&mut self) {
        let _ = Command::new("timeout")
            .args(["120", "bash"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/privd-down.sh"))
            .arg(PRIVD)
            .status();
    }
}

fn uri(driver: &str) -> String {
    format!("{driver}+unix:///system?socket={PRIVD}/run/libvirt/libvirt-sock")
}

fn timed(ocf: &Ocf, ms: u64) -> Ocf {
    ocf.with("OCF_RESKEY_CRM_meta_timeout", &ms.to_string())
}

fn assert_within(run: &Run, ms: u64, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: {run:?}");
    assert!(
        run.elapsed < Duration::from_millis(ms),
        "{what} took {:?} (timeout {ms} ms)",
        run.elapsed
    );
}

#[test]
fn every_action_is_bounded_when_libvirtd_fails() {
    if !lab_available("fault injection") {
        return;
    }
    let _privd = Privd;
    lab("privd-up.sh", &[PRIVD]);
    let xml: PathBuf = make_guest("vdt-fault", "obey");
    let qemu = uri("qemu");
    let ocf = Ocf::new("rsc-vdt-fault", &xml, &qemu);
    assert_eq!(ocf.ours("start").code, 0);
    assert_eq!(ocf.recurring().ours("monitor").code, 0);

    // frozen: connections are accepted, calls never answered
    lab("privd-fault.sh", &[PRIVD, "freeze"]);
    assert_within(
        &timed(&ocf, 6000).recurring().ours("monitor"),
        6000,
        0,
        "monitor, frozen",
    );
    assert_within(&timed(&ocf, 6000).ours("monitor"), 6000, 0, "probe, frozen");
    assert_within(&timed(&ocf, 5000).ours("status"), 5000, 1, "status, frozen");
    assert_within(&timed(&ocf, 5000).ours("start"), 5000, 1, "start, frozen");
    let stop = timed(&ocf, 8000).ours("stop");
    assert_within(&stop, 8000, 1, "stop, frozen, guest alive");
    assert!(stop.reason().is_some(), "{stop:?}");
    lab("privd-fault.sh", &[PRIVD, "thaw"]);
    assert_eq!(ocf.recurring().ours("monitor").code, 0, "after thaw");

    // stopped: the socket is gone
    lab("privd-fault.sh", &[PRIVD, "stop"]);
    assert_within(
        &ocf.recurring().ours("monitor"),
        5000,
        0,
        "monitor, libvirtd stopped",
    );
    assert_within(&ocf.ours("status"), 5000, 1, "status, libvirtd stopped");
    assert_within(&ocf.ours("start"), 5000, 1, "start, libvirtd stopped");
    assert_within(
        &ocf.ours("stop"),
        5000,
        1,
        "stop, libvirtd stopped, guest alive",
    );
    if anchor_available("anchor loops when libvirtd is down") {
        let anchor = ocf.anchor_for("status", Duration::from_secs(4));
        assert!(
            anchor.code != 0 && anchor.code != 1 && anchor.code != 7,
            "anchor loops: {anchor:?}"
        );
    }
    lab("privd-fault.sh", &[PRIVD, "start"]);
    assert_eq!(ocf.recurring().ours("monitor").code, 0, "libvirtd back");

    // crashed: the socket stays, connections are refused
    lab("privd-fault.sh", &[PRIVD, "crash"]);
    assert_within(
        &ocf.recurring().ours("monitor"),
        5000,
        0,
        "monitor, libvirtd crashed",
    );
    // the guest dies while libvirtd is away: the process table tells
    lab("privd-fault.sh", &[PRIVD, "kill-qemu", "vdt-fault"]);
    assert!(eventually(Duration::from_secs(5), || ocf
        .recurring()
        .ours("monitor")
        .code
        == 7));
    assert_within(
        &ocf.ours("stop"),
        5000,
        0,
        "stop, libvirtd crashed, guest gone",
    );
    lab("privd-fault.sh", &[PRIVD, "start"]);
    assert_eq!(ocf.ours("monitor").code, 7);
    assert_eq!(ocf.ours("stop").code, 0);
}
