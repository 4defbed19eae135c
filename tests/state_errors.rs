//! Start when libvirt answers the state query with an error while the
//! domain runs: a real guest under the machine's libvirtd, reached through
//! a proxy socket (in the test) that passes everything through except the
//! replies to `virDomainGetState`, which it turns into an internal error
//! for as long as asked. An error is not a state: ours never destroys the
//! running guest; it asks again and answers "already running" once libvirt
//! tells, or 1 with libvirt's message when it never does.

mod fake_daemon;
mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use fake_daemon::{error_body, reply_frame, FakeDaemon};
use support::*;
use virtualdomain::controller::rpc::wire::{self, Procedure};

const LIBVIRT_SOCK: &str = "/var/run/libvirt/libvirt-sock";
const INJECTED: &str = "injected: cannot read the domain's state";

/// `remote_error`: VIR_ERR_INTERNAL_ERROR from the qemu driver.
fn internal_error() -> Vec<u8> {
    error_body(1, INJECTED)
}

/// Reads one whole message (with its length word).
fn read_frame(from: &mut UnixStream) -> Option<Vec<u8>> {
    let mut word = [0u8; 4];
    from.read_exact(&mut word).ok()?;
    let len = u32::from_be_bytes(word) as usize;
    if !(wire::HEADER_LEN..=wire::MAX_MESSAGE).contains(&len) {
        return None;
    }
    let mut frame = word.to_vec();
    frame.resize(len, 0);
    from.read_exact(&mut frame[4..]).ok()?;
    Some(frame)
}

/// A proxy to the real libvirtd turning the next `errors` successful
/// `GetState` replies into an internal error.
fn state_error_proxy(errors: Arc<AtomicUsize>) -> FakeDaemon {
    FakeDaemon::serving(move |client| {
        let Ok(daemon) = UnixStream::connect(LIBVIRT_SOCK) else {
            return;
        };
        let (mut to_daemon, mut from_client) =
            (daemon.try_clone().unwrap(), client.try_clone().unwrap());
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from_client, &mut to_daemon);
            let _ = to_daemon.shutdown(std::net::Shutdown::Write);
        });
        let (mut from_daemon, mut to_client) = (daemon, client);
        while let Some(frame) = read_frame(&mut from_daemon) {
            let (header, _) = wire::parse_message(&frame[4..]).unwrap();
            let state_reply = header.program == wire::PROGRAM
                && header.procedure == Procedure::DomainGetState as u32
                && header.kind == wire::TYPE_REPLY
                && header.status == wire::STATUS_OK;
            let inject = state_reply
                && errors
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
            let out = if inject {
                reply_frame(
                    header.procedure,
                    header.serial,
                    wire::STATUS_ERROR,
                    &internal_error(),
                )
            } else {
                frame
            };
            if to_client.write_all(&out).is_err() {
                return;
            }
        }
    })
}

#[test]
fn an_error_for_a_running_guest_is_never_taken_for_a_state() {
    const NAME: &str = "vdt-staterr";
    if !lab_available(NAME) {
        return;
    }
    let xml = make_guest(NAME, "obey");
    let _guard = DomainGuard::new(QEMU, NAME);
    let errors = Arc::new(AtomicUsize::new(0));
    let proxy = state_error_proxy(Arc::clone(&errors));
    let uri = format!("qemu+unix:///system?socket={}", proxy.socket().display());
    let ocf = Ocf::new("rsc-vdt-staterr", &xml, &uri);
    assert_eq!(ocf.ours("start").code, 0, "through the proxy");
    let id = virsh(QEMU, &["domid", NAME]).1;

    // libvirt never tells: 1 with its message, the guest untouched
    errors.store(usize::MAX, Ordering::SeqCst);
    let start = timed(&ocf, 5000).ours("start");
    assert_answered_in_time(&start, 5000, 1, "start, state always an error");
    assert!(start.reason().unwrap().contains(INJECTED), "{start:?}");
    assert_eq!(domstate(QEMU, NAME), "running");
    assert_eq!(virsh(QEMU, &["domid", NAME]).1, id, "not destroyed");
    if anchor_available("anchor beside ours: state errors") {
        let anchor = timed(&ocf, 20000).anchor_for("start", std::time::Duration::from_secs(25));
        assert_eq!(anchor.code, 1, "{anchor:?}");
        assert_eq!(virsh(QEMU, &["domid", NAME]).1, id, "nor by the anchor");
    }

    // a passing error: asked again, "already running"
    errors.store(2, Ordering::SeqCst);
    let start = ocf.ours("start");
    assert_eq!(start.code, 0, "{start:?}");
    assert_eq!(errors.load(Ordering::SeqCst), 0, "both errors were seen");
    assert_eq!(virsh(QEMU, &["domid", NAME]).1, id, "the same qemu");
    errors.store(0, Ordering::SeqCst);
    assert_eq!(ocf.ours("stop").code, 0);
}
