//! `DirectController` against fake daemons that misbehave on the socket:
//! each must end, within the call cap, as a library fallback (which then
//! answers: libvirt's in-process test driver, whose domain `test` runs) or
//! as "unreachable" — never a hang, a panic, or a wrong answer.

mod fake_daemon;

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fake_daemon::*;
use virtualdomain::controller::rpc::wire::{self, Procedure};
use virtualdomain::controller::rpc::DirectController;
use virtualdomain::controller::{ControllerError, DomainController, DomainState, Outcome};

/// The bound this test gives the controller calls it makes itself.
fn by() -> Instant {
    Instant::now() + Duration::from_secs(300)
}

/// The call cap every test gives the controller.
const CAP: Duration = Duration::from_secs(1);

/// A generous bound on a call capped at [`CAP`].
fn bound() -> Duration {
    CAP + CAP / 2
}

/// How a query came out, and whether it needed the library.
#[derive(Debug)]
struct Ended {
    state: Outcome<DomainState>,
    used_library: bool,
    took: Duration,
}

/// Asks the state of `test` through `daemon` on another thread; fails the
/// test (instead of hanging) when no answer comes in far more than the cap.
fn ask(daemon: &FakeDaemon) -> Ended {
    ask_with(daemon, |direct| direct)
}

/// [`ask`] with the controller set up by `setup`.
fn ask_with(
    daemon: &FakeDaemon,
    setup: impl FnOnce(DirectController) -> DirectController + Send + 'static,
) -> Ended {
    let endpoint = daemon.endpoint();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let direct = setup(DirectController::at(
            Some(endpoint),
            Some(FAKE_URI.into()),
            deadline,
            Some(CAP),
        ));
        library_alone(); // libvirt.so loaded before the clock starts
        let t = Instant::now();
        let state = direct.state("test", by());
        let took = t.elapsed();
        let _ = tx.send(Ended {
            state,
            used_library: direct.used_library(),
            took,
        });
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the query hung far past its cap")
}

fn assert_answered_directly(ended: &Ended) {
    assert_eq!(ended.state, Ok(DomainState::Running), "{ended:?}");
    assert!(!ended.used_library, "{ended:?}");
}

/// The same query through the library alone (no socket tried), and how
/// long it took in this run.
fn library_alone() -> Duration {
    let deadline = Instant::now() + Duration::from_secs(60);
    let direct = DirectController::at(None, Some(FAKE_URI.into()), deadline, Some(CAP));
    let t = Instant::now();
    assert_eq!(direct.state("test", by()), Ok(DomainState::Running));
    assert!(direct.used_library());
    t.elapsed()
}

fn assert_fell_back(ended: &Ended) {
    assert_eq!(ended.state, Ok(DomainState::Running), "{ended:?}");
    assert!(ended.used_library, "{ended:?}");
    // one capped try of the socket, then what the library alone takes
    let library = library_alone();
    assert!(
        ended.took < bound() + library * 2,
        "{ended:?} (the library alone: {library:?})"
    );
}

fn assert_unreachable_in_time(ended: &Ended) {
    assert!(
        matches!(ended.state, Err(ControllerError::Unreachable(_))),
        "{ended:?}"
    );
    assert!(
        !ended.used_library,
        "no second wait in the library: {ended:?}"
    );
    assert!(ended.took < bound(), "{ended:?}");
}

/// A daemon answering well, except `fault` for the calls it picks.
fn faulty(
    fault: impl Fn(&wire::Header) -> Option<Vec<u8>> + Send + Sync + Copy + 'static,
    after: Afterwards,
) -> FakeDaemon {
    FakeDaemon::serving(move |stream| serve_until(stream, fault, after))
}

fn is(call: &wire::Header, procedure: Procedure) -> bool {
    call.procedure == procedure as u32
}

#[test]
fn a_healthy_fake_daemon_is_answered_over_the_socket() {
    assert_answered_directly(&ask(&faulty(|_| None, Afterwards::Close)));
}

#[test]
fn a_stray_reply_with_another_serial_is_skipped() {
    let daemon = faulty(
        |call| {
            is(call, Procedure::DomainGetState).then(|| {
                let body = healthy_body(call);
                let mut bytes = reply_frame(call.procedure, call.serial + 7, 0, &[0, 0, 0, 5]);
                bytes.extend(reply_frame(call.procedure, call.serial, 0, &body));
                bytes
            })
        },
        Afterwards::Continue,
    );
    assert_answered_directly(&ask(&daemon));
}

#[test]
fn only_replies_with_wrong_serials_fall_back() {
    let daemon = faulty(
        |call| {
            is(call, Procedure::DomainGetState).then(|| {
                (1..=40)
                    .flat_map(|k| reply_frame(call.procedure, call.serial + k, 0, &[0; 8]))
                    .collect()
            })
        },
        Afterwards::Hang,
    );
    assert_fell_back(&ask(&daemon));
}

#[test]
fn a_wrong_serial_then_silence_is_unreachable() {
    let daemon = faulty(
        |call| {
            is(call, Procedure::DomainLookupByName)
                .then(|| reply_frame(call.procedure, call.serial + 1, 0, &healthy_body(call)))
        },
        Afterwards::Hang,
    );
    assert_unreachable_in_time(&ask(&daemon));
}

#[test]
fn a_reply_for_another_procedure_falls_back() {
    let daemon = faulty(
        |call| {
            is(call, Procedure::DomainGetState)
                .then(|| reply_frame(Procedure::DomainGetInfo as u32, call.serial, 0, &[0; 8]))
        },
        Afterwards::Continue,
    );
    assert_fell_back(&ask(&daemon));
}

#[test]
fn a_truncated_reply_then_end_of_stream_falls_back() {
    // a whole frame whose body is too short for the state it should hold
    let daemon = faulty(
        |call| {
            is(call, Procedure::DomainGetState)
                .then(|| reply_frame(call.procedure, call.serial, 0, &[0, 0]))
        },
        Afterwards::Close,
    );
    assert_fell_back(&ask(&daemon));
}

#[test]
fn an_end_of_stream_inside_a_frame_falls_back() {
    let daemon = faulty(
        |call| {
            is(call, Procedure::DomainLookupByName).then(|| {
                let whole = reply_frame(call.procedure, call.serial, 0, &healthy_body(call));
                whole[..whole.len() / 2].to_vec()
            })
        },
        Afterwards::Close,
    );
    assert_fell_back(&ask(&daemon));
}

#[test]
fn an_oversized_length_word_falls_back_without_reading_it() {
    let daemon = faulty(
        |call| is(call, Procedure::AuthList).then(|| vec![0x7f, 0xff, 0xff, 0xff, 1, 2, 3]),
        Afterwards::Hang,
    );
    assert_fell_back(&ask(&daemon));
}

#[test]
fn a_daemon_dripping_its_reply_ends_at_the_cap() {
    // one byte every 100-300 ms: each read makes progress, the call must
    // still end when its time is up
    let daemon = FakeDaemon::serving(|mut stream| {
        while let Some(call) = read_call(&mut stream) {
            let bytes = reply_frame(call.procedure, call.serial, 0, &healthy_body(&call));
            for (i, byte) in bytes.iter().enumerate() {
                if stream.write_all(&[*byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100 + 50 * (i as u64 % 5)));
            }
        }
    });
    assert_unreachable_in_time(&ask(&daemon));
}

#[test]
fn a_daemon_that_never_accepts_is_unreachable_at_the_cap() {
    let daemon = FakeDaemon::never_accepting();
    assert_unreachable_in_time(&ask(&daemon));
}

/// A daemon that wrongly says `test` does not exist (the library knows it runs).
fn denying_daemon() -> FakeDaemon {
    faulty(
        |call| {
            is(call, Procedure::DomainLookupByName).then(|| {
                reply_frame(
                    call.procedure,
                    call.serial,
                    wire::STATUS_ERROR,
                    &no_domain_error(),
                )
            })
        },
        Afterwards::Continue,
    )
}

#[test]
fn a_probe_confirms_no_such_domain_through_the_library() {
    let probe = ask_with(&denying_daemon(), |d| d.confirm_absence(true));
    assert_fell_back(&probe);
}

#[test]
fn a_probe_believes_no_such_domain_when_the_process_table_proves_it() {
    let probe = ask_with(&denying_daemon(), |d| {
        d.confirm_absence(true).absence_proof(Box::new(|name| {
            assert_eq!(name, "test");
            true
        }))
    });
    assert_eq!(probe.state, Err(ControllerError::NoDomain), "{probe:?}");
    assert!(!probe.used_library, "{probe:?}");
    // a process runs (or the scan cannot tell): the library decides
    let doubted = ask_with(&denying_daemon(), |d| {
        d.confirm_absence(true).absence_proof(Box::new(|_| false))
    });
    assert_fell_back(&doubted);
}

#[test]
fn a_recurring_monitor_believes_no_such_domain_from_the_socket() {
    let recurring = ask_with(&denying_daemon(), |d| d.confirm_absence(false));
    assert_eq!(
        recurring.state,
        Err(ControllerError::NoDomain),
        "{recurring:?}"
    );
    assert!(!recurring.used_library, "{recurring:?}");
}
