//! libvirtd stopped, crashed and frozen (SIGSTOP) under a running guest,
//! in a private libvirtd (tests/lab/privd-*): every action answers within
//! its timeout, with the exit margin to spare, and the documented code;
//! the anchor loops instead.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn every_action_is_bounded_when_libvirtd_fails() {
    if !lab_available("fault injection") {
        return;
    }
    let privd = Privd::up("/srv/vd-privd");
    let xml = make_guest("vdt-fault", "obey");
    let ocf = Ocf::new("rsc-vdt-fault", &xml, &privd.uri("qemu"));
    assert_eq!(ocf.ours("start").code, 0);
    assert_eq!(ocf.recurring().ours("monitor").code, 0);

    // frozen: connections are accepted, calls never answered
    privd.fault("freeze", &[]);
    let run = |ms, action: &str, recurring: bool| {
        let o = timed(&ocf, ms);
        if recurring {
            o.recurring().ours(action)
        } else {
            o.ours(action)
        }
    };
    assert_answered_in_time(&run(6000, "monitor", true), 6000, 0, "monitor, frozen");
    assert_answered_in_time(&run(6000, "monitor", false), 6000, 0, "probe, frozen");
    let status = run(8000, "status", false);
    assert_answered_in_time(&status, 8000, 1, "status, frozen");
    // one state call, capped as monitor's at a third of the work time: a
    // status waiting for the daemon as start does would use all of it
    assert!(
        status.elapsed < Duration::from_millis(8000) / 2,
        "status answers as fast as monitor: {status:?}"
    );
    assert_reason(
        &status,
        &["vdt-fault has no state", "libvirt did not answer"],
    );
    let start = run(5000, "start", false);
    assert_answered_in_time(&start, 5000, 1, "start, frozen");
    assert_reason(&start, &["Cannot start vdt-fault", "did not answer"]);
    let stop = run(8000, "stop", false);
    assert_answered_in_time(&stop, 8000, 1, "stop, frozen, guest alive");
    assert_reason(&stop, &["vdt-fault", "did not answer"]);
    privd.fault("thaw", &[]);
    assert_eq!(ocf.recurring().ours("monitor").code, 0, "after thaw");

    // jammed: frozen with its listen backlog full, so connect() itself blocks
    privd.fault("jam", &[]);
    assert_answered_in_time(
        &run(6000, "monitor", true),
        6000,
        0,
        "monitor, backlog full",
    );
    let status = run(8000, "status", false);
    assert_answered_in_time(&status, 8000, 1, "status, backlog full");
    assert!(
        status.elapsed < Duration::from_millis(8000) / 2,
        "{status:?}"
    );
    assert_reason(&status, &["vdt-fault has no state"]);
    privd.fault("thaw", &[]);
    // the daemon is back: its first monitor says the guest runs (a 7 here
    // would make Pacemaker recover a healthy guest)
    let monitor = ocf.recurring().ours("monitor");
    assert_answered_in_time(&monitor, 60000, 0, "monitor, right after the jam");

    // stopped: the socket is gone
    privd.fault("stop", &[]);
    assert_answered_in_time(
        &ocf.recurring().ours("monitor"),
        60000,
        0,
        "monitor, libvirtd stopped",
    );
    // no socket: the process table answers at once, without waiting out
    // a state call's cap (a third of the work time)
    let monitor = ocf.recurring().ours("monitor");
    assert!(monitor.elapsed < ocf.timeout() / 4, "{monitor:?}");
    let status = run(5000, "status", false);
    assert_answered_in_time(&status, 5000, 1, "status, stopped");
    assert_reason(&status, &["vdt-fault has no state"]);
    // start and stop wait for a libvirtd that may be restarting, until the
    // time is really up: the work end (T less max(1 s, T/10)), less at
    // most one retry pause (1 s) not begun because it would overrun
    let start = run(5000, "start", false);
    assert_answered_in_time(&start, 5000, 1, "start, libvirtd stopped");
    assert!(
        start.elapsed >= Duration::from_millis(5000 - 1000 - 1000),
        "{start:?}"
    );
    assert_reason(&start, &["Cannot start vdt-fault"]);
    let stop = run(8000, "stop", false);
    assert_answered_in_time(&stop, 8000, 1, "stop, libvirtd stopped, guest alive");
    // the anchor's text (spec: state mapping, stop), with the cause added
    assert_reason(
        &stop,
        &["Virtual domain vdt-fault has no state during stop operation, bailing out"],
    );
    if anchor_available("anchor loops when libvirtd is down") {
        let anchor = ocf.anchor_for("status", Duration::from_secs(4));
        assert!(
            anchor.code != 0 && anchor.code != 1 && anchor.code != 7,
            "anchor loops: {anchor:?}"
        );
    }
    privd.fault("start", &[]);
    assert_eq!(ocf.recurring().ours("monitor").code, 0, "libvirtd back");

    // crashed: the socket stays, connections are refused
    privd.fault("crash", &[]);
    assert_answered_in_time(
        &ocf.recurring().ours("monitor"),
        60000,
        0,
        "monitor, libvirtd crashed",
    );
    // the guest dies while libvirtd is away: the process table tells
    let qemu = privd_qemu_pid(&privd, "vdt-fault");
    privd.fault("kill-qemu", &["vdt-fault"]);
    // the fault has taken effect once the process is gone (or a zombie:
    // its parent, libvirtd, is dead); then one monitor must see it
    assert!(
        eventually(Duration::from_secs(10), || process_gone(qemu)),
        "qemu {qemu} still alive after SIGKILL"
    );
    let monitor = ocf.recurring().ours("monitor");
    assert_answered_in_time(
        &monitor,
        60000,
        7,
        "monitor, guest killed, libvirtd crashed",
    );
    let stop = ocf.ours("stop");
    assert_answered_in_time(&stop, 60000, 0, "stop, libvirtd crashed, guest gone");
    // the process table settles it: no waiting for libvirtd over the
    // graceful window
    assert!(stop.elapsed < graceful_share(&ocf), "{stop:?}");
    privd.fault("start", &[]);
    assert_eq!(ocf.ours("monitor").code, 7);
    assert_eq!(ocf.ours("stop").code, 0);
}

/// The run's exit reason contains each of `parts`.
fn assert_reason(run: &Run, parts: &[&str]) {
    let reason = run.reason().unwrap_or_default();
    for part in parts {
        assert!(reason.contains(part), "exit reason lacks {part:?}: {run:?}");
    }
}

/// The pid of `domain`'s qemu under the private libvirtd.
fn privd_qemu_pid(privd: &Privd, domain: &str) -> i32 {
    let file = format!("{}/run/libvirt/qemu/{domain}.pid", privd.dir);
    let pid = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    pid.trim().parse().unwrap()
}

/// Whether `pid` is gone or a zombie (dead, not yet reaped).
fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
    }
}
