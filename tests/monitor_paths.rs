//! Which way our agent's monitor asks libvirt, seen from outside with
//! strace: over the daemon's socket alone (no libvirt.so), or also through
//! the library. On libvirtd's daemon-hosted test driver; domains are named
//! `rpcw-<pid>-…`.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;
use virtualdomain::controller::libvirt::LibvirtController;
use virtualdomain::controller::DomainController;

const TEST_URI: &str = "test+unix:///default";

/// A domain XML for the test driver, written to a file of its own.
fn config(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    let path = dir.path().join(format!("{name}.xml"));
    let xml = format!(
        "<domain type='test'><name>{name}</name><memory unit='MiB'>64</memory>\
         <vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
    );
    std::fs::write(&path, xml).unwrap();
    path
}

fn name(suffix: &str) -> String {
    format!("rpcw-{}-{suffix}", std::process::id())
}

fn loaded_libvirt(trace: &str) -> bool {
    trace.contains("libvirt.so")
}

#[test]
fn only_a_probe_confirms_an_absent_domain_through_the_library() {
    if !lab_available("probe confirmation") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let absent = name("absent");
    let ocf = Ocf::new(&absent, &config(&dir, &absent), TEST_URI);
    let log = dir.path().join("strace.log");

    let (code, trace) = ocf.recurring().ours_traced("monitor", &log);
    assert_eq!(code, 7, "{trace}");
    assert!(!loaded_libvirt(&trace), "recurring: socket only\n{trace}");

    let (code, trace) = ocf.ours_traced("monitor", &log);
    assert_eq!(code, 7, "{trace}");
    assert!(loaded_libvirt(&trace), "probe: confirmed\n{trace}");
}

#[test]
fn with_hypervisor_unset_the_default_uri_is_asked_over_its_socket() {
    if !lab_available("hypervisor unset") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let running = name("default-uri");
    let cfg = config(&dir, &running);
    // the test driver keeps its domains while a connection is open
    let keeper = LibvirtController::new(
        Some(TEST_URI.into()),
        Instant::now() + Duration::from_secs(60),
    );
    let _ = keeper.destroy(&running, by());
    keeper
        .create(&std::fs::read_to_string(&cfg).unwrap(), by())
        .unwrap();

    let ocf = Ocf::new(&running, &cfg, "")
        .without("OCF_RESKEY_hypervisor")
        .with("LIBVIRT_DEFAULT_URI", TEST_URI)
        .recurring();
    let oracle = Command::new("virsh")
        .args(["-c", "", "domstate", &running])
        .env("LIBVIRT_DEFAULT_URI", TEST_URI)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&oracle.stdout).trim(), "running");
    let log = dir.path().join("strace.log");
    let (code, trace) = ocf.ours_traced("monitor", &log);
    assert_eq!(code, 0, "{trace}");
    assert!(!loaded_libvirt(&trace), "{trace}");

    keeper.destroy(&running, by()).unwrap();
    let (code, trace) = ocf.ours_traced("monitor", &log);
    assert_eq!(code, 7, "{trace}");
    assert!(!loaded_libvirt(&trace), "{trace}");
    // without it, libvirt's own default (the daemon's choice): still the socket
    let (code, trace) = ocf
        .without("LIBVIRT_DEFAULT_URI")
        .ours_traced("monitor", &log);
    assert_eq!(code, 7, "{trace}");
    assert!(!loaded_libvirt(&trace), "{trace}");
}
