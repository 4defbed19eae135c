//! An LXC container (the Pacemaker Remote guide's `hypervisor=lxc:///
//! force_stop=true`) under a private libvirtd, where the LXC driver can
//! run on these machines (tests/lab/privd-up.sh hides the empty cgroup2
//! mount it trips over).

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

const PRIVD: &str = "/srv/vd-privd-lxc";

fn privd(script: &str) -> bool {
    Command::new("timeout")
        .args(["120", "bash"])
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/lab")
                .join(script),
        )
        .arg(PRIVD)
        .status()
        .is_ok_and(|s| s.success())
}

struct Down;
impl Drop for Down {
    fn drop(&mut self) {
        privd("privd-down.sh");
    }
}

#[test]
fn lxc_container_lifecycle() {
    if !lab_available("lxc") {
        return;
    }
    let _down = Down;
    assert!(privd("privd-up.sh"), "private libvirtd");
    let xml = lab_dir().join("vdt-lxc.xml");
    std::fs::write(
        &xml,
        "<domain type='lxc'>\n  <name>vdt-lxc</name>\n  <memory unit='MiB'>64</memory>\n  <os>\n    <type>exe</type>\n    <init>/bin/sh</init>\n    <initarg>-c</initarg>\n    <initarg>trap 'exit 0' TERM; while :; do sleep 1; done</initarg>\n  </os>\n  <devices>\n    <console type='pty'/>\n  </devices>\n</domain>\n",
    )
    .unwrap();
    let uri = format!("lxc+unix:///system?socket={PRIVD}/run/libvirt/libvirt-sock");
    let ocf = Ocf::new("rsc-vdt-lxc", &xml, &uri).with("OCF_RESKEY_force_stop", "true");
    assert_eq!(ocf.ours("monitor").code, 7);
    let start = ocf.ours("start");
    assert_eq!(start.code, 0, "{start:?}");
    assert_eq!(domstate(&uri, "vdt-lxc"), "running");
    assert_eq!(ocf.recurring().ours("monitor").code, 0);
    let stop = ocf.ours("stop");
    assert_answered_in_time(&stop, 60000, 0, "stop, lxc, force_stop");
    assert_eq!(ocf.recurring().ours("monitor").code, 7);
    // graceful with shutdown_mode=signal: the container's init traps TERM
    let graceful = ocf
        .with("OCF_RESKEY_force_stop", "false")
        .with("OCF_RESKEY_shutdown_mode", "signal");
    assert_eq!(graceful.ours("start").code, 0);
    let stop = graceful.ours("stop");
    assert_answered_in_time(&stop, 60000, 0, "stop, lxc, shutdown_mode=signal");
    // a container left running waits out the graceful window (2/3 of the
    // timeout) before its destroy
    assert!(
        stop.elapsed < graceful_share(&graceful),
        "signal mode stops it without a destroy: {:?}",
        stop.elapsed
    );
}
