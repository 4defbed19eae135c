//! Stop decisions, against the in-memory controller.

use super::*;
use crate::actions::test_support::request;
use crate::controller::fake::FakeController;

#[test]
fn graceful_window_table() {
    let s = Duration::from_secs;
    // default: two thirds of the timeout
    assert_eq!(graceful_window(s(90), None), s(60));
    assert_eq!(graceful_window(s(30), None), s(20));
    // explicit values are capped so destroy keeps min(20 s, a third)
    assert_eq!(graceful_window(s(90), Some(30)), s(30));
    assert_eq!(graceful_window(s(90), Some(85)), s(70));
    assert_eq!(graceful_window(s(9), Some(100)), s(6));
    assert_eq!(graceful_window(s(90), Some(0)), s(0));
    // the destroy window is never less than min(20 s, T/3)
    for t in [1, 5, 8, 20, 60, 90, 300, 3600] {
        for st in [None, Some(0), Some(10), Some(100000)] {
            let w = graceful_window(s(t), st);
            assert!(s(t) - w >= s(20).min(s(t) / 3), "t={t} st={st:?} w={w:?}");
        }
    }
}

#[test]
fn resend_backs_off() {
    let got: Vec<u64> = (1..7).map(|n| resend_after(n).as_secs()).collect();
    assert_eq!(got, vec![2, 4, 8, 10, 10, 10]);
}

#[test]
fn already_stopped_is_success() {
    let fake = FakeController::default();
    let req = request(&[]);
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("destroy"), 0);
    assert_eq!(fake.count("shutdown"), 0);
}

#[test]
fn graceful_stop_does_not_destroy() {
    let mut fake = FakeController::with("vm1", DomainState::Running);
    fake.obeys_shutdown = true;
    let req = request(&[]);
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("shutdown"), 1);
    assert_eq!(fake.count("destroy"), 0);
}

#[test]
fn ignored_shutdown_is_resent_then_destroyed_before_the_timeout() {
    let fake = FakeController::with("vm1", DomainState::Running);
    let req = request(&[("OCF_RESKEY_CRM_meta_timeout", "9000")]);
    let t = Instant::now();
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    // graceful window 6 s: requests at 0, 2 and 6 s would be the 3rd at 6 s = end; so 2 or 3
    assert!(fake.count("shutdown") >= 2, "{:?}", fake.calls.borrow());
    assert_eq!(fake.count("destroy"), 1);
    assert!(t.elapsed() < Duration::from_secs(9));
    assert!(t.elapsed() >= Duration::from_secs(5));
}

#[test]
fn force_stop_destroys_at_once() {
    let fake = FakeController::with("vm1", DomainState::Running);
    let req = request(&[("OCF_RESKEY_force_stop", "true")]);
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("shutdown"), 0);
    assert_eq!(fake.count("destroy"), 1);
}

#[test]
fn shutdown_mode_is_applied() {
    let mut fake = FakeController::with("vm1", DomainState::Running);
    fake.obeys_shutdown = true;
    let req = request(&[("OCF_RESKEY_shutdown_mode", "acpi,agent")]);
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    assert_eq!(
        fake.count("shutdown vm1 [Acpi, Agent]"),
        1,
        "{:?}",
        fake.calls.borrow()
    );
}

#[test]
fn paused_and_crashed_domains_are_destroyed_without_waiting() {
    for state in [DomainState::Paused, DomainState::Crashed] {
        let fake = FakeController::with("vm1", state);
        let req = request(&[]);
        let t = Instant::now();
        assert_eq!(stop(&req, &fake), Ok(OcfRc::Success), "{state:?}");
        assert_eq!(fake.count("shutdown"), 0, "{state:?}");
        assert_eq!(fake.count("destroy"), 1, "{state:?}");
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}

#[test]
fn snapshot_save_replaces_the_shutdown() {
    let fake = FakeController::with("vm1", DomainState::Running);
    let req = request(&[("OCF_RESKEY_snapshot", "/snap")]);
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("save vm1 /snap/vm1.state"), 1);
    assert_eq!(fake.count("shutdown"), 0);
}

#[test]
fn unreachable_libvirt_without_a_process_is_stopped_and_with_no_emulator_fails() {
    let fake = FakeController {
        unreachable: Some("socket missing".into()),
        ..Default::default()
    };
    // the test config names qemu-system-x86_64 and no such guest process exists
    assert_eq!(stop(&request(&[]), &fake), Ok(OcfRc::Success));
    let mut req = request(&[]);
    req.domain.emulator = None;
    let err = stop(&req, &fake).unwrap_err();
    assert_eq!(err.rc, OcfRc::ErrGeneric);
    assert!(err.reason.unwrap().contains("no state during stop"));
}
