//! The lifecycle on real qemu (TCG) guests under the machine's libvirtd,
//! with the anchor run beside ours on the same guests where the anchor's
//! behaviour is the reference.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use support::*;

#[test]
fn obeying_guest_start_monitor_stop_and_idempotence() {
    let Some((_g, ocf)) = guest_setup("vdt-life", "obey") else {
        return;
    };
    assert_eq!(ocf.ours("monitor").code, 7, "probe of a stopped guest");
    let start = ocf.ours("start");
    assert_eq!(start.code, 0, "{start:?}");
    assert_eq!(domstate(QEMU, "vdt-life"), "running");
    assert_eq!(ocf.recurring().ours("monitor").code, 0);
    assert_eq!(ocf.ours("status").code, 0);
    assert_eq!(ocf.ours("start").code, 0, "double start");
    wait_guest_up("vdt-life");
    let stop = ocf.ours("stop");
    assert_eq!(stop.code, 0, "{stop:?}");
    assert!(
        console("vdt-life").contains("guest: poweroff now"),
        "stopped gracefully"
    );
    // answered, and before the graceful window (2/3 of the timeout) ran
    // out: the guest's own power-off ended the wait, not the window
    assert_answered_in_time(&stop, 60000, 0, "stop, obeying guest");
    assert!(stop.elapsed < graceful_share(&ocf), "{:?}", stop.elapsed);
    assert_eq!(ocf.recurring().ours("monitor").code, 7);
    assert_eq!(ocf.ours("status").code, 7);
    assert_eq!(ocf.ours("stop").code, 0, "double stop");
}

#[test]
fn shutdown_request_lost_before_boot_is_resent() {
    // Stopping right after the start: the first ACPI request arrives before
    // the guest's acpid runs and is lost (the anchor then waits for the
    // whole graceful window); the re-sent request stops it gracefully.
    let Some((_g, ocf)) = guest_setup("vdt-early", "obey") else {
        return;
    };
    assert_eq!(ocf.ours("start").code, 0);
    let ocf = timed(&ocf, 90000);
    let stop = ocf.ours("stop");
    assert_answered_in_time(&stop, 90000, 0, "stop right after start");
    assert!(
        console("vdt-early").contains("guest: poweroff now"),
        "graceful, not destroyed"
    );
    // a lost request not sent again waits out the graceful window
    assert!(stop.elapsed < graceful_share(&ocf), "{:?}", stop.elapsed);
}

#[test]
fn guest_ignoring_acpi_is_destroyed_before_the_timeout() {
    let Some((_g, ocf)) = guest_setup("vdt-ignore", "ignore") else {
        return;
    };
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up("vdt-ignore");
    let ocf = timed(&ocf, 12000);
    let stop = ocf.ours("stop");
    assert_answered_in_time(&stop, 12000, 0, "stop, guest ignoring ACPI");
    // the whole graceful share (2/3 of the timeout) was given first
    assert!(stop.elapsed >= graceful_share(&ocf), "{:?}", stop.elapsed);
    assert_ne!(domstate(QEMU, "vdt-ignore"), "running");
    assert_eq!(ocf.ours("monitor").code, 7);
}

#[test]
fn shutdown_timeout_sets_the_graceful_share() {
    let Some((_g, ocf)) = guest_setup("vdt-stimeout", "ignore") else {
        return;
    };
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up("vdt-stimeout");
    let stop = ocf.with("OCF_RESKEY_shutdown_timeout", "2").ours("stop");
    assert_answered_in_time(&stop, 60000, 0, "stop, shutdown_timeout=2");
    // the 2 s given were waited, and the default share (2/3 of the
    // timeout, 40 s) was not
    assert!(stop.elapsed >= Duration::from_secs(2), "{:?}", stop.elapsed);
    assert!(stop.elapsed < graceful_share(&ocf), "{:?}", stop.elapsed);
}

#[test]
fn force_stop_destroys_at_once() {
    let Some((_g, ocf)) = guest_setup("vdt-force", "obey") else {
        return;
    };
    let ocf = ocf.with("OCF_RESKEY_force_stop", "true");
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up("vdt-force");
    let stop = ocf.ours("stop");
    assert_eq!(stop.code, 0, "{stop:?}");
    assert!(
        !console("vdt-force").contains("power button"),
        "no graceful request"
    );
    assert_eq!(ocf.ours("monitor").code, 7);
}

#[test]
fn shutdown_mode_acpi_is_applied() {
    let Some((_g, ocf)) = guest_setup("vdt-acpi", "obey") else {
        return;
    };
    let ocf = ocf.with("OCF_RESKEY_shutdown_mode", "acpi");
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up("vdt-acpi");
    assert_eq!(ocf.ours("stop").code, 0);
    assert!(console("vdt-acpi").contains("guest: poweroff now"));
    // a mode the guest cannot serve (no guest agent) ends in a destroy, still 0
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up("vdt-acpi");
    let stop = ocf
        .with("OCF_RESKEY_shutdown_mode", "agent")
        .with("OCF_RESKEY_shutdown_timeout", "2")
        .ours("stop");
    assert_eq!(stop.code, 0, "{stop:?}");
    assert!(
        !console("vdt-acpi").contains("power button"),
        "agent mode sends no ACPI event"
    );
}

#[test]
fn killed_emulator_is_seen_by_monitor() {
    let Some((_g, ocf)) = guest_setup("vdt-kill", "obey") else {
        return;
    };
    assert_eq!(ocf.ours("start").code, 0);
    let pid = std::fs::read_to_string("/run/libvirt/qemu/vdt-kill.pid").expect("qemu pid file");
    let pid: i32 = pid.trim().parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // the fault has taken effect once libvirtd has seen its qemu die (the
    // transient domain is gone); then one monitor must say so (no monitor
    // retried until it does)
    assert!(
        eventually(Duration::from_secs(10), || domstate(QEMU, "vdt-kill")
            != "running"),
        "libvirtd still shows vdt-kill {}",
        domstate(QEMU, "vdt-kill")
    );
    let monitor = ocf.recurring().ours("monitor");
    assert_answered_in_time(&monitor, 60000, 7, "monitor, emulator killed");
    assert_eq!(ocf.ours("stop").code, 0);
}

#[test]
fn paused_guest_is_running_for_monitor_and_resumed_by_start() {
    let Some((_g, ocf)) = guest_setup("vdt-pause", "obey") else {
        return;
    };
    assert_eq!(ocf.ours("start").code, 0);
    assert!(virsh(QEMU, &["suspend", "vdt-pause"]).0);
    assert_eq!(ocf.ours("monitor").code, 0);
    if anchor_available("paused state mapping") {
        assert_eq!(
            ocf.anchor("monitor").code,
            0,
            "anchor agrees: paused is running"
        );
    }
    assert_eq!(ocf.ours("start").code, 0);
    assert_eq!(domstate(QEMU, "vdt-pause"), "running", "start resumed it");
    assert!(virsh(QEMU, &["suspend", "vdt-pause"]).0);
    let stop = ocf.ours("stop");
    assert_answered_in_time(&stop, 60000, 0, "stop, paused guest");
    assert!(
        stop.elapsed < graceful_share(&ocf),
        "paused guest destroyed without waiting out the graceful window: {:?}",
        stop.elapsed
    );
}

#[test]
fn probe_and_stop_with_unreadable_config_see_the_running_guest() {
    let Some((_g, ocf)) = guest_setup("vdt-probe", "obey") else {
        return;
    };
    assert_eq!(ocf.ours("start").code, 0);
    assert_eq!(ocf.ours("monitor").code, 0);
    let config = lab_dir().join("vdt-probe.xml");
    let hidden = lab_dir().join("vdt-probe.xml.hidden");
    std::fs::rename(&config, &hidden).unwrap();
    let ours = ocf.ours("monitor");
    let with_anchor = anchor_available("probe divergence");
    let anchor = with_anchor.then(|| ocf.anchor("monitor"));
    // stop: the anchor answers 0 and leaves the guest running (a second
    // copy may start elsewhere); ours stops it before answering 0
    let anchor_stop = with_anchor.then(|| ocf.anchor("stop"));
    let running_after_anchor_stop = domstate(QEMU, "vdt-probe");
    wait_guest_up("vdt-probe");
    let ours_stop = ocf.ours("stop");
    let after_ours_stop = domstate(QEMU, "vdt-probe");
    std::fs::rename(&hidden, &config).unwrap();
    assert_eq!(
        ours.code, 0,
        "ours must not say 'not running' for a running guest: {ours:?}"
    );
    assert_eq!(ours_stop.code, 0, "{ours_stop:?}");
    assert!(
        after_ours_stop.contains("shut off") || after_ours_stop.contains("failed to get domain"),
        "ours stopped the guest: {after_ours_stop}"
    );
    assert!(
        console("vdt-probe").contains("guest: poweroff now"),
        "gracefully"
    );
    if let (Some(anchor), Some(anchor_stop)) = (anchor, anchor_stop) {
        assert_eq!(
            anchor.code, 7,
            "the anchor's double-start hazard (documented divergence)"
        );
        assert_eq!(anchor_stop.code, 0, "{anchor_stop:?}");
        assert_eq!(
            running_after_anchor_stop, "running",
            "the anchor's stop leaves the guest running (documented divergence)"
        );
    }
    assert_eq!(ocf.ours("stop").code, 0);
}

#[test]
fn snapshot_keeps_the_guest_memory_across_stop_and_start() {
    let Some((_g, ocf)) = guest_setup("vdt-snap", "obey") else {
        return;
    };
    let dir = lab_dir().join("snap");
    std::fs::create_dir_all(&dir).unwrap();
    let ocf = ocf.with("OCF_RESKEY_snapshot", dir.to_str().unwrap());
    let state = dir.join("vdt-snap.state");
    let _ = std::fs::remove_file(&state);
    if anchor_available("snapshot beside the anchor") {
        assert_eq!(ocf.anchor("start").code, 0);
        wait_guest_up("vdt-snap");
        assert_eq!(ocf.anchor("stop").code, 0);
        assert!(state.is_file(), "the anchor saved the state");
        assert_eq!(ocf.anchor("start").code, 0);
        assert!(!state.exists(), "the anchor restored it");
        assert_eq!(ocf.with("OCF_RESKEY_snapshot", "").anchor("stop").code, 0);
    }
    assert_eq!(ocf.ours("start").code, 0);
    wait_guest_up("vdt-snap");
    assert!(eventually(Duration::from_secs(15), || last_uptime(
        "vdt-snap"
    )
    .is_some_and(|u| u >= 3.0)));
    let uptime_before = last_uptime("vdt-snap").unwrap();
    assert_eq!(ocf.ours("stop").code, 0);
    assert!(state.is_file(), "state saved");
    let mode = std::fs::metadata(&state).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the guest's RAM is private");
    assert_eq!(ocf.ours("monitor").code, 7);
    assert_eq!(ocf.ours("start").code, 0);
    assert!(!state.exists(), "state file removed after the restore");
    assert!(eventually(Duration::from_secs(15), || console("vdt-snap")
        .contains("guest: tick")));
    assert!(
        !console("vdt-snap").contains("guest: up"),
        "restored, not rebooted (the same boot)"
    );
    let uptime_after = last_uptime("vdt-snap").unwrap();
    assert!(
        uptime_after >= uptime_before,
        "the uptime continues: {uptime_before} then {uptime_after}"
    );
    let ocf = ocf.with("OCF_RESKEY_snapshot", "");
    assert_eq!(ocf.ours("stop").code, 0);
}

#[test]
fn anchor_and_ours_agree_on_the_lifecycle() {
    let Some((_g, ocf)) = guest_setup("vdt-side", "obey") else {
        return;
    };
    if !anchor_available("side by side") {
        return;
    }
    for (who, run) in [
        ("anchor", Ocf::anchor as fn(&Ocf, &str) -> Run),
        ("ours", Ocf::ours),
    ] {
        assert_eq!(run(&ocf, "monitor").code, 7, "{who} probe stopped");
        assert_eq!(run(&ocf, "start").code, 0, "{who} start");
        assert_eq!(run(&ocf, "start").code, 0, "{who} double start");
        assert_eq!(
            run(&ocf.recurring(), "monitor").code,
            0,
            "{who} monitor running"
        );
        assert_eq!(run(&ocf, "status").code, 0, "{who} status running");
        wait_guest_up("vdt-side");
        assert_eq!(run(&ocf, "stop").code, 0, "{who} stop");
        assert_eq!(
            run(&ocf.recurring(), "monitor").code,
            7,
            "{who} monitor stopped"
        );
        assert_eq!(run(&ocf, "status").code, 7, "{who} status stopped");
        assert_eq!(run(&ocf, "stop").code, 0, "{who} double stop");
    }
}

#[test]
fn utilization_is_written_once_with_the_anchors_values() {
    let Some((_g, ocf)) = guest_setup("vdt-util", "obey") else {
        return;
    };
    let bin = lab_dir().join("fakebin-util");
    std::fs::create_dir_all(&bin).unwrap();
    let (ocf, log) = ocf.with_fake_crm_resource(&bin);
    let ocf = ocf
        .without("OCF_RESKEY_autoset_utilization_cpu")
        .without("OCF_RESKEY_autoset_utilization_hv_memory")
        .without("OCF_RESKEY_autoset_utilization_host_memory")
        .recurring();
    assert_eq!(ocf.ours("start").code, 0);
    let calls = || std::fs::read_to_string(&log).unwrap_or_default();
    let first = calls();
    // the guest has 1 vCPU and 128 MiB
    for want in [
        "cpu --parameter-value=1",
        "host_memory --parameter-value=128",
        "hv_memory --parameter-value=128",
    ] {
        assert!(first.contains(want), "missing {want:?} in {first}");
    }
    assert_eq!(first.lines().count(), 3, "{first}");
    assert_eq!(ocf.ours("monitor").code, 0);
    assert_eq!(
        calls(),
        first,
        "a steady-state monitor runs no crm_resource"
    );
    if anchor_available("utilization values") {
        std::fs::remove_file(&log).unwrap();
        assert_eq!(ocf.anchor("monitor").code, 0);
        let anchor = calls();
        for want in [
            "-p cpu -v 1",
            "-p host_memory -v 128",
            "-p hv_memory -v 128",
        ] {
            assert!(anchor.contains(want), "anchor wrote other values: {anchor}");
        }
    }
    // unset_* removes the attribute even with autoset on (anchor: only with autoset off)
    std::fs::remove_file(&log).ok();
    assert_eq!(
        ocf.with("OCF_RESKEY_unset_utilization_cpu", "true")
            .ours("monitor")
            .code,
        0
    );
    assert!(calls().contains("--delete-parameter=cpu"), "{}", calls());
    assert_eq!(ocf.ours("stop").code, 0);
}

#[test]
fn start_resources_starts_the_storage_pool() {
    let Some((_g, ocf)) = guest_setup("vdt-res", "obey") else {
        return;
    };
    let pool_dir = lab_dir().join("vdt-pool");
    std::fs::create_dir_all(&pool_dir).unwrap();
    let p = pool_dir.to_str().unwrap();
    virsh(QEMU, &["pool-destroy", "vdt-pool"]);
    virsh(QEMU, &["pool-undefine", "vdt-pool"]);
    assert!(virsh(QEMU, &["pool-define-as", "vdt-pool", "dir", "--target", p]).0);
    assert!(virsh(QEMU, &["pool-start", "vdt-pool"]).0);
    virsh(QEMU, &["vol-delete", "--pool", "vdt-pool", "vdt-res.qcow2"]);
    assert!(
        virsh(
            QEMU,
            &[
                "vol-create-as",
                "vdt-pool",
                "vdt-res.qcow2",
                "1M",
                "--format",
                "qcow2"
            ]
        )
        .0
    );
    assert!(virsh(QEMU, &["pool-destroy", "vdt-pool"]).0);
    let xml = lab_dir().join("vdt-res.xml");
    let text = std::fs::read_to_string(&xml).unwrap().replace(
        "</devices>",
        "  <disk type='volume' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      <source pool='vdt-pool' volume='vdt-res.qcow2'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n  </devices>",
    );
    std::fs::write(&xml, text).unwrap();
    let without = ocf.ours("start");
    let with = ocf.with("OCF_RESKEY_start_resources", "true").ours("start");
    let pool_active = virsh(QEMU, &["pool-info", "vdt-pool"])
        .1
        .contains("running");
    let stop = ocf.ours("stop");
    virsh(QEMU, &["pool-destroy", "vdt-pool"]);
    virsh(QEMU, &["pool-undefine", "vdt-pool"]);
    assert_eq!(without.code, 1, "inactive pool: {without:?}");
    assert_eq!(with.code, 0, "{with:?}");
    assert!(pool_active);
    assert_eq!(stop.code, 0);
}

#[test]
fn failing_monitor_script_fails_the_monitor_like_the_anchor() {
    let Some((_g, ocf)) = guest_setup("vdt-mscript", "obey") else {
        return;
    };
    let dir = lab_dir().join("mscripts");
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("check-ok");
    let bad = dir.join("check-bad");
    std::fs::write(&good, "#!/bin/sh\necho fine\n").unwrap();
    std::fs::write(&bad, "#!/bin/sh\necho broken service >&2\nexit 3\n").unwrap();
    let _ = std::process::Command::new("chmod")
        .arg("755")
        .arg(&good)
        .arg(&bad)
        .status();
    let ok = ocf.with("OCF_RESKEY_monitor_scripts", good.to_str().unwrap());
    assert_eq!(ok.ours("start").code, 0);
    assert_eq!(ok.recurring().ours("monitor").code, 0);
    let scripts = format!("{} {}", good.display(), bad.display());
    let failing = ocf.with("OCF_RESKEY_monitor_scripts", &scripts).recurring();
    let ours = failing.ours("monitor");
    assert_eq!(ours.code, 1, "{ours:?}");
    let want = format!(
        "Monitor command \"{}\" for domain vdt-mscript returned 3 with output: broken service",
        bad.display()
    );
    assert_eq!(ours.reason().as_deref(), Some(want.as_str()));
    if anchor_available("monitor scripts") {
        let anchor = failing.anchor("monitor");
        assert_eq!(anchor.code, 1);
        assert_eq!(
            anchor.reason().as_deref(),
            Some(want.as_str()),
            "same reason as the anchor"
        );
    }
    assert_eq!(ok.ours("stop").code, 0);
}
