//! What a steady-state monitor of a real running guest costs the host, as
//! properties rather than times (machines are shared and noisy): the
//! executable does not link libvirt.so, and a monitor loads no libvirt.so,
//! starts no process, and still gives the right answer.

mod support;

use std::process::Command;

use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_VirtualDomain");

#[test]
fn the_executable_does_not_link_libvirt() {
    let out = Command::new("readelf")
        .args(["-d", BIN])
        .output()
        .expect("readelf");
    assert!(out.status.success(), "{out:?}");
    let dynamic = String::from_utf8_lossy(&out.stdout);
    assert!(dynamic.contains("(NEEDED)"), "{dynamic}");
    assert!(
        !dynamic.contains("libvirt"),
        "libvirt is a link-time dependency:\n{dynamic}"
    );
}

#[test]
fn a_steady_state_monitor_loads_no_libvirt_and_starts_no_process() {
    let name = "vdt-cost";
    if !lab_available(name) {
        return;
    }
    assert!(support_tool("strace"), "strace is needed");
    let xml = make_guest(name, "obey");
    let _guard = DomainGuard::new(QEMU, name);
    let ocf = Ocf::new(&format!("rsc-{name}"), &xml, QEMU).recurring();
    assert_eq!(ocf.ours("start").code, 0);
    assert_eq!(ocf.ours("monitor").code, 0, "warm-up");
    let log = lab_dir().join(format!("{name}.strace"));

    let (code, trace) = ocf.ours_traced("monitor", &log);
    assert_eq!(code, 0, "running guest: {trace}");
    assert!(
        !trace.contains("libvirt.so"),
        "libvirt.so was loaded:\n{trace}"
    );
    assert!(
        trace.contains("libvirt-sock") || trace.contains("virtqemud-sock"),
        "{trace}"
    );
    let spawned: Vec<&str> = trace
        .lines()
        .filter(|l| {
            ["clone(", "clone3(", "fork(", "vfork("]
                .iter()
                .any(|c| l.contains(c))
        })
        .collect();
    assert!(
        spawned.is_empty(),
        "threads or processes started: {spawned:?}"
    );
    assert_eq!(
        trace.matches("execve(").count(),
        1,
        "only the agent itself:\n{trace}"
    );

    // the same monitor once the guest is gone: still no library needed
    virsh(QEMU, &["destroy", name]);
    let (code, trace) = ocf.ours_traced("monitor", &log);
    assert_eq!(code, 7, "{trace}");
    assert!(!trace.contains("libvirt.so"), "{trace}");
    // a stop (library path) still works after the direct monitors
    assert_eq!(ocf.ours("stop").code, 0);
}

fn support_tool(program: &str) -> bool {
    Command::new(program).arg("-V").output().is_ok()
}
