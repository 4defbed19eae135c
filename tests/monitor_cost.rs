//! What a steady-state monitor of a real running guest costs the host, as
//! properties rather than times (machines are shared and noisy): the
//! executable does not link libvirt.so or libcib.so, and a monitor loads
//! neither, starts no process, and still gives the right answer. And no
//! action starts a process with utilization on (libcib, not crm_resource,
//! against an offline CIB and libvirtd's test driver).

mod support;

#[path = "support/cib_file.rs"]
mod cib_file;

use std::process::Command;
use std::time::{Duration, Instant};

use support::*;
use virtualdomain::controller::libvirt::LibvirtController;
use virtualdomain::controller::DomainController;

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
    for lib in ["libvirt", "libcib", "libcrmcommon"] {
        assert!(
            !dynamic.contains(lib),
            "{lib} is a link-time dependency:\n{dynamic}"
        );
    }
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
    for lib in ["libvirt.so", "libcib.so"] {
        assert!(!trace.contains(lib), "{lib} was loaded:\n{trace}");
    }
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

    // a probe (another node's, nothing remembered): the socket's "no such
    // domain" is confirmed by the process table, without the library
    let probe = ocf
        .without("OCF_RESKEY_CRM_meta_interval")
        .with("HA_RSCTMP", &fresh_rsctmp(name).display().to_string());
    let (code, trace) = probe.ours_traced("monitor", &log);
    assert_eq!(code, 7, "{trace}");
    assert!(!trace.contains("libvirt.so"), "{trace}");
    // … unless a process of that name runs: then libvirt.so is asked
    let mut decoy = decoy_emulator(name);
    let (code, trace) = probe.ours_traced("monitor", &log);
    let _ = decoy.kill();
    let _ = decoy.wait();
    assert_eq!(code, 7, "{trace}");
    assert!(
        trace.contains("libvirt.so"),
        "the decoy was not seen:\n{trace}"
    );
    // a stop (library path) still works after the direct monitors
    assert_eq!(ocf.ours("stop").code, 0);
}

/// An empty HA_RSCTMP for `name`'s probes.
fn fresh_rsctmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vd-rsctmp-probe-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A process whose argument vector is a qemu emulator's for domain `name`
/// (`qemu-system-x86_64 … -name guest=NAME,…`), libvirt knowing nothing of it.
fn decoy_emulator(name: &str) -> std::process::Child {
    let child = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "exec -a qemu-system-x86_64 bash -c 'sleep 60; :' x -name guest={name},debug-threads=on"
        ))
        .spawn()
        .expect("bash");
    // until the exec has happened
    let cmdline = format!("/proc/{}/cmdline", child.id());
    assert!(
        eventually(Duration::from_secs(5), || std::fs::read(&cmdline)
            .is_ok_and(|c| c.starts_with(b"qemu-system"))),
        "the decoy did not start"
    );
    child
}

/// Start, monitor, status, reload-agent, migrate_to, migrate_from, stop and
/// probes of a test-driver domain with every utilization attribute managed
/// and written into an offline CIB: with libcib no action starts a process
/// (crm_resource, the fallback without libcib, shows the check can fail).
#[test]
fn no_action_starts_a_process_with_utilization_on() {
    if !lab_available("processes per action") || !cib_file::tools_available("processes") {
        return;
    }
    assert!(support_tool("strace"), "strace is needed");
    let dir = tempfile::tempdir().unwrap();
    let name = format!("vdcost-{}", std::process::id());
    let config = dir.path().join("vm.xml");
    std::fs::write(
        &config,
        format!(
            "<domain type='test'><name>{name}</name><memory unit='MiB'>256</memory>\
             <vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
        ),
    )
    .unwrap();
    // the daemon keeps test domains while a connection is open
    let keeper = LibvirtController::new(
        Some("test+unix:///default".into()),
        Instant::now() + Duration::from_secs(120),
    );
    let _ = keeper.destroy(&name, by());
    let fallback = dir.path().join("nolib");
    std::fs::create_dir_all(&fallback).unwrap();
    std::fs::write(fallback.join(LIBCIB), "").unwrap();
    let wrapper = fallback.join("crm_resource");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nunset LD_LIBRARY_PATH\nexec /usr/sbin/crm_resource \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut counts = Vec::new();
    for library in [true, false] {
        let how = if library { "libcib" } else { "crm_resource" };
        let cib = cib_file::with_primitive(dir.path(), "cib.xml", &name, "");
        let mut ocf = Ocf::new(&name, &config, "test+unix:///default")
            .with("CIB_file", &cib.display().to_string())
            .without("OCF_RESKEY_autoset_utilization_cpu")
            .without("OCF_RESKEY_autoset_utilization_hv_memory")
            .without("OCF_RESKEY_autoset_utilization_host_memory");
        if !library {
            let path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", fallback.display());
            ocf = ocf
                .with("LD_LIBRARY_PATH", &fallback.display().to_string())
                .with("PATH", &path);
        }
        let rsctmp = dir.path().join(format!("rsctmp-{how}"));
        std::fs::create_dir_all(&rsctmp).unwrap();
        let ocf = ocf.with("HA_RSCTMP", &rsctmp.display().to_string());
        let to = ocf
            .with("OCF_RESKEY_CRM_meta_migrate_source", "n1")
            .with("OCF_RESKEY_CRM_meta_migrate_target", "n2");
        let steps: [(&str, Ocf, Option<i32>); 9] = [
            ("probe", ocf.clone(), Some(7)),
            ("start", ocf.clone(), Some(0)),
            ("monitor", ocf.recurring(), Some(0)),
            ("status", ocf.clone(), Some(0)),
            (
                "reload-agent",
                ocf.with("OCF_RESKEY_unset_utilization_cpu", "true"),
                Some(0),
            ),
            // the test driver cannot migrate: the path up to libvirt's call
            ("migrate_to", to.clone(), None),
            ("migrate_from", to.clone(), Some(0)),
            ("stop", ocf.clone(), Some(0)),
            ("probe", ocf.clone(), Some(7)),
        ];
        let log = dir.path().join("strace.log");
        let mut started = Vec::new();
        for (step, env, want) in steps {
            let action = if step == "probe" { "monitor" } else { step };
            let (code, trace) = env.ours_traced(action, &log);
            if let Some(want) = want {
                assert_eq!(code, want, "{how} {step}: {trace}");
            }
            let spawned: Vec<String> = processes_started(&trace)
                .into_iter()
                .map(str::to_string)
                .collect();
            if library {
                assert!(spawned.is_empty(), "{step} started processes: {spawned:?}");
            }
            // processes, not their execve: one clone/fork each
            let processes = spawned.iter().filter(|l| !l.contains("execve(")).count();
            started.push((step, processes));
            // the first probe fills the empty CIB in (later actions find
            // the figures there: an offline CIB is read as a file first)
            if library && started.len() == 1 {
                assert!(
                    trace.contains(LIBCIB),
                    "the first probe wrote through libcib: {trace}"
                );
            }
            if step == "monitor" {
                assert!(
                    !trace.contains(LIBCIB),
                    "steady state, libcib loaded: {trace}"
                );
            }
        }
        assert!(
            cib_file::configuration(&cib).contains("name=\"hv_memory\" value=\"256\""),
            "{how}: {}",
            cib_file::configuration(&cib)
        );
        counts.push((how, started));
    }
    eprintln!("processes started per action: {counts:?}");
    let fallback_probe = counts[1].1[0].1;
    assert!(
        fallback_probe > 0,
        "the check sees crm_resource: {counts:?}"
    );
    let _ = keeper.destroy(&name, by());
}

fn support_tool(program: &str) -> bool {
    Command::new(program).arg("-V").output().is_ok()
}
