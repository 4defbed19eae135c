//! `DirectController` (state queries over the daemon socket, no libvirt.so)
//! against the libvirt library itself as the oracle, on libvirtd's
//! daemon-hosted test driver; and its fallbacks against fake daemons that
//! freeze or ask for authentication.
//!
//! Domains are named `dc-<pid>-…` (the test driver is shared on this
//! libvirtd). Without a libvirtd the libvirtd tests are skipped with a
//! notice, except under `CI=true` where that is a failure.

mod fake_daemon;

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use virtualdomain::controller::libvirt::LibvirtController;
use virtualdomain::controller::rpc::wire::{self, Encoder};
use virtualdomain::controller::rpc::DirectController;
use virtualdomain::controller::{ControllerError, DomainController, DomainState};

use fake_daemon::{read_call, reply_frame, FakeDaemon, FAKE_URI};

const TEST_URI: &str = "test+unix:///default";

fn name(suffix: &str) -> String {
    format!("dc-{}-{suffix}", std::process::id())
}

fn xml(name: &str, vcpus: u32, mib: u64) -> String {
    format!(
        "<domain type='test'><name>{name}</name><memory unit='MiB'>{mib}</memory>\
         <vcpu>{vcpus}</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
    )
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// The library on the test driver (its connection keeps the driver's
/// state alive), or `None` (skip) when libvirtd is absent.
fn oracle() -> Option<LibvirtController> {
    let c = LibvirtController::new(Some(TEST_URI.into()), soon());
    match c.state(&name("probe"), soon()) {
        Err(ControllerError::NoDomain) => Some(c),
        other => {
            let msg = format!("libvirtd not usable at {TEST_URI}: {other:?}");
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

fn virsh(args: &[&str]) {
    let out = Command::new("virsh")
        .args(["-c", TEST_URI])
        .args(args)
        .output()
        .expect("virsh");
    assert!(out.status.success(), "virsh {args:?}: {out:?}");
}

#[test]
fn direct_answers_equal_the_librarys_in_every_state() {
    let Some(lib) = oracle() else { return };
    let running = name("run");
    let paused = name("pause");
    let defined = name("off");
    for n in [&running, &paused, &defined] {
        let _ = lib.destroy(n, soon());
        let _ = lib.undefine(n, soon());
    }
    lib.create(&xml(&running, 2, 256), soon()).unwrap();
    lib.create(&xml(&paused, 1, 64), soon()).unwrap();
    virsh(&["suspend", &paused]);
    lib.define(&xml(&defined, 3, 512), soon()).unwrap();

    let direct = DirectController::new(Some(TEST_URI.into()), soon(), None);
    let expected = [
        (&running, DomainState::Running),
        (&paused, DomainState::Paused),
        (&defined, DomainState::Shutoff),
    ];
    for (n, want) in expected {
        assert_eq!(direct.state(n, soon()), Ok(want), "{n}");
        assert_eq!(direct.state(n, soon()), lib.state(n, soon()), "{n}");
        assert_eq!(direct.info(n, soon()), lib.info(n, soon()), "{n}");
    }
    let info = direct.info(&running, soon()).unwrap();
    assert_eq!((info.vcpus, info.max_memory_kib), (2, 256 * 1024));
    let with_emulator = name("emu");
    let _ = lib.destroy(&with_emulator, soon());
    let emu_xml = xml(&with_emulator, 1, 64).replace(
        "</os>",
        "</os><devices><emulator>/usr/bin/vd-fake-emu</emulator></devices>",
    );
    lib.create(&emu_xml, soon()).unwrap();
    assert_eq!(
        direct.emulator(&with_emulator, soon()),
        Ok(Some("/usr/bin/vd-fake-emu".into()))
    );
    assert_eq!(
        direct.emulator(&running, soon()),
        lib.emulator(&running, soon())
    );
    lib.destroy(&with_emulator, soon()).unwrap();
    let absent = name("absent");
    assert_eq!(
        direct.state(&absent, soon()),
        Err(ControllerError::NoDomain)
    );
    assert_eq!(
        direct.emulator(&absent, soon()),
        Err(ControllerError::NoDomain)
    );
    assert_eq!(direct.info(&absent, soon()), Err(ControllerError::NoDomain));
    // a domain that goes away between two queries of the same session
    lib.destroy(&running, soon()).unwrap();
    assert_eq!(
        direct.state(&running, soon()),
        Err(ControllerError::NoDomain)
    );
    assert!(!direct.used_library(), "all answered over the socket");

    let _ = lib.destroy(&paused, soon());
    let _ = lib.undefine(&defined, soon());
}

#[test]
fn a_uri_with_parameters_is_left_to_the_library() {
    let Some(lib) = oracle() else { return };
    let n = name("param");
    let _ = lib.destroy(&n, soon());
    lib.create(&xml(&n, 1, 64), soon()).unwrap();
    let uri = format!("{TEST_URI}?socket=/var/run/libvirt/libvirt-sock");
    let direct = DirectController::new(Some(uri), soon(), None);
    assert_eq!(direct.state(&n, soon()), Ok(DomainState::Running));
    assert!(direct.used_library());
    let _ = lib.destroy(&n, soon());
}

#[test]
fn a_frozen_daemon_is_unreachable_within_the_call_cap() {
    let daemon = FakeDaemon::serving(|stream| {
        std::thread::sleep(Duration::from_secs(60));
        drop(stream);
    });
    let cap = Duration::from_secs(1);
    let direct = DirectController::at(
        Some(daemon.endpoint()),
        Some(FAKE_URI.into()),
        soon(),
        Some(cap),
    );
    let t = Instant::now();
    let got = direct.state("test", soon());
    assert!(
        matches!(got, Err(ControllerError::Unreachable(_))),
        "{got:?}"
    );
    // one wait of the cap: a second one (through the library) doubles it
    assert!(t.elapsed() < cap * 2, "{:?}", t.elapsed());
    assert!(!direct.used_library(), "no second wait through the library");
    let t = Instant::now();
    assert!(matches!(
        direct.info("test", soon()),
        Err(ControllerError::Unreachable(_))
    ));
    assert!(
        t.elapsed() < cap / 2,
        "later calls fail at once, without another wait: {:?}",
        t.elapsed()
    );
}

#[test]
fn a_daemon_asking_for_authentication_is_left_to_the_library() {
    // Answers AUTH_LIST with [SASL]; the library (here the in-process test
    // driver, whose built-in domain "test" runs) must then answer.
    let daemon = FakeDaemon::serving(|mut stream| {
        let Some(call) = read_call(&mut stream) else {
            return;
        };
        assert_eq!(call.procedure, wire::Procedure::AuthList as u32);
        let sasl = Encoder::default().u32(1).u32(1).finish();
        let reply = reply_frame(call.procedure, call.serial, wire::STATUS_OK, &sasl);
        stream.write_all(&reply).unwrap();
        let _ = stream.read(&mut [0u8; 64]);
    });
    let direct = DirectController::at(Some(daemon.endpoint()), Some(FAKE_URI.into()), soon(), None);
    assert_eq!(direct.state("test", soon()), Ok(DomainState::Running));
    assert!(direct.used_library());
}

/// Undefines the domain when the test ends, however it ends.
struct Undefine<'a>(&'a LibvirtController, String);

impl Drop for Undefine<'_> {
    fn drop(&mut self) {
        let _ = self.0.undefine(&self.1, soon());
    }
}

#[test]
fn with_no_uri_the_daemon_socket_answers_as_the_library_does() {
    // libvirt's default as the agent sees it with `hypervisor` unset; the
    // daemon picks its driver (qemu here)
    if std::env::var_os("LIBVIRT_DEFAULT_URI").is_some() {
        eprintln!("SKIPPED: LIBVIRT_DEFAULT_URI is set");
        return;
    }
    let uri = Command::new("virsh").args(["-c", "", "uri"]).output();
    let default_is_qemu =
        uri.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "qemu:///system");
    if !default_is_qemu {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no default libvirt"
        );
        eprintln!("SKIPPED: libvirt's default URI is not qemu:///system");
        return;
    }
    let lib = LibvirtController::new(None, soon());
    let n = format!("rpcw-{}-default", std::process::id());
    let _ = lib.undefine(&n, soon());
    lib.define(
        &format!(
            "<domain type='qemu'><name>{n}</name><memory unit='MiB'>32</memory>\
         <vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
        ),
        soon(),
    )
    .unwrap();
    let _undefine = Undefine(&lib, n.clone());

    let direct = DirectController::new(None, soon(), None);
    assert_eq!(direct.state(&n, soon()), Ok(DomainState::Shutoff));
    assert_eq!(direct.state(&n, soon()), lib.state(&n, soon()));
    assert_eq!(direct.info(&n, soon()), lib.info(&n, soon()));
    let absent = format!("rpcw-{}-absent", std::process::id());
    assert_eq!(
        direct.state(&absent, soon()),
        Err(ControllerError::NoDomain)
    );
    assert_eq!(lib.state(&absent, soon()), Err(ControllerError::NoDomain));
    assert!(!direct.used_library(), "answered over the socket");
    let virsh = Command::new("virsh")
        .args(["-c", "", "domstate", &n])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&virsh.stdout).trim(), "shut off");
}
