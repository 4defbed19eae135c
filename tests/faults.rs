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
    assert!(
        status.elapsed < Duration::from_secs(4),
        "status answers as fast as monitor: {status:?}"
    );
    assert_answered_in_time(&run(5000, "start", false), 5000, 1, "start, frozen");
    let stop = run(8000, "stop", false);
    assert_answered_in_time(&stop, 8000, 1, "stop, frozen, guest alive");
    assert!(stop.reason().is_some(), "{stop:?}");
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
    assert!(status.elapsed < Duration::from_secs(4), "{status:?}");
    privd.fault("thaw", &[]);
    assert!(
        eventually(Duration::from_secs(10), || ocf
            .recurring()
            .ours("monitor")
            .code
            == 0),
        "after the jam"
    );

    // stopped: the socket is gone
    privd.fault("stop", &[]);
    assert_answered_in_time(
        &ocf.recurring().ours("monitor"),
        60000,
        0,
        "monitor, libvirtd stopped",
    );
    assert!(ocf.recurring().ours("monitor").elapsed < Duration::from_secs(5));
    assert_answered_in_time(&run(5000, "status", false), 5000, 1, "status, stopped");
    // start and stop wait for a libvirtd that may be restarting, until the
    // time is really up
    let start = run(5000, "start", false);
    assert_answered_in_time(&start, 5000, 1, "start, libvirtd stopped");
    assert!(start.elapsed >= Duration::from_secs(3), "{start:?}");
    let stop = run(8000, "stop", false);
    assert_answered_in_time(&stop, 8000, 1, "stop, libvirtd stopped, guest alive");
    assert!(stop.reason().unwrap().contains("no state"), "{stop:?}");
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
    privd.fault("kill-qemu", &["vdt-fault"]);
    assert!(eventually(Duration::from_secs(5), || ocf
        .recurring()
        .ours("monitor")
        .code
        == 7));
    let stop = ocf.ours("stop");
    assert_eq!(stop.code, 0, "stop, libvirtd crashed, guest gone: {stop:?}");
    assert!(stop.elapsed < Duration::from_secs(5), "{stop:?}");
    privd.fault("start", &[]);
    assert_eq!(ocf.ours("monitor").code, 7);
    assert_eq!(ocf.ours("stop").code, 0);
}
