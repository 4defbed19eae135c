//! Stop decisions, against the in-memory controller.

use super::*;
use crate::actions::test_support::request;
use crate::controller::fake::FakeController;

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
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    // graceful window 6 s: requests at 0, 2 and 6 s would be the 3rd at 6 s = end; so 2 or 3
    assert!(fake.count("shutdown") >= 2, "{:?}", fake.calls.borrow());
    assert_eq!(fake.count("destroy"), 1);
    // destroyed once the graceful window was over, before the deadline
    assert!(Instant::now() >= graceful_end(&req));
    assert!(Instant::now() < req.ctx.deadline());
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
        assert_eq!(stop(&req, &fake), Ok(OcfRc::Success), "{state:?}");
        assert_eq!(fake.count("shutdown"), 0, "{state:?}");
        assert_eq!(fake.count("destroy"), 1, "{state:?}");
        // no wait: one look before, one after the destroy (a graceful
        // window would poll the state again and again), no wall clock read
        assert_eq!(
            fake.count("state"),
            2,
            "{state:?}: {:?}",
            fake.calls.borrow()
        );
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
fn unreachable_libvirt_without_a_process_is_stopped_at_once() {
    let fake = FakeController {
        unreachable: Some("socket missing".into()),
        ..Default::default()
    };
    // the test config names qemu-system-x86_64 and no such guest process exists
    assert_eq!(stop(&request(&[]), &fake), Ok(OcfRc::Success));
    // the process table settles it: no query retried
    assert_eq!(fake.count("state"), 1, "{:?}", fake.calls.borrow());
}

#[test]
fn unreachable_libvirt_and_no_emulator_fails_only_when_the_time_is_up() {
    let fake = FakeController {
        unreachable: Some("socket missing".into()),
        ..Default::default()
    };
    let mut req = request(&[("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    req.domain.emulator = None;
    let err = stop(&req, &fake).unwrap_err();
    let done = Instant::now();
    assert_eq!(err.rc, OcfRc::ErrGeneric);
    // the anchor's text (spec, state mapping: stop), with the cause
    assert_eq!(
        err.reason.unwrap(),
        "Virtual domain vm1 has no state during stop operation, bailing out (socket missing)."
    );
    // kept retrying for half its time at least (a restarting daemon would
    // have been caught) ...
    assert!(done >= req.ctx.started + req.ctx.timeout / 2);
    assert!(fake.count("destroy") >= 2, "{:?}", fake.calls.borrow());
    // ... and still answered with the exit margin (1 s of 4 s) to spare
    assert!(
        done <= req.ctx.work_end() + req.ctx.budget().exit_margin() / 10,
        "{:?} after the work end",
        done.saturating_duration_since(req.ctx.work_end())
    );
}

#[test]
fn a_blocking_graceful_call_cannot_eat_the_destroy_window() {
    // shutdown (a domain job holding the lock, an absent guest agent, a
    // stalled daemon) and save alike: blocked until the graceful window
    // ends, then destroy on a fresh connection
    for (blocking, extra) in [
        ("shutdown", vec![]),
        ("save", vec![("OCF_RESKEY_snapshot", "/snap")]),
    ] {
        let mut fake = FakeController::with("vm1", DomainState::Running);
        fake.hangs_on = vec![blocking];
        let mut vars = vec![("OCF_RESKEY_CRM_meta_timeout", "6000")];
        vars.extend(extra);
        let req = request(&vars);
        // stopped: 0 (a failed save is the exit reason)
        let rc = stop(&req, &fake).unwrap_or_else(|e| e.rc);
        assert_eq!(rc, OcfRc::Success, "{blocking}");
        assert_eq!(
            fake.count("destroy"),
            1,
            "{blocking}: {:?}",
            fake.calls.borrow()
        );
        assert!(fake.count("recover") >= 1, "{blocking}");
        // destroyed once the graceful window was over, within
        // the first half of the destroy window
        let (done, graceful) = (Instant::now(), graceful_end(&req));
        assert!(done >= graceful, "{blocking}");
        assert!(
            done < graceful + (req.ctx.deadline() - graceful) / 2,
            "{blocking}: {:?} after the graceful window",
            done - graceful
        );
    }
}

#[test]
fn a_libvirtd_restart_during_stop_does_not_fail_it() {
    // at the first query, and again at the shutdown request
    let mut fake = FakeController::with("vm1", DomainState::Running);
    fake.obeys_shutdown = true;
    fake.script_unreachable(3);
    fake.fail_verb.borrow_mut().push((
        "shutdown",
        ControllerError::Unreachable("End of file while reading data".into()),
    ));
    let mut req = request(&[]);
    req.domain.emulator = None; // the process table cannot decide
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("destroy"), 0, "{:?}", fake.calls.borrow());
    assert_eq!(fake.count("shutdown"), 2, "{:?}", fake.calls.borrow());
}

#[test]
fn a_restart_during_destroy_is_retried() {
    let fake = FakeController::with("vm1", DomainState::Running);
    fake.fail_verb.borrow_mut().push((
        "destroy",
        ControllerError::Unreachable("Connection refused".into()),
    ));
    let mut req = request(&[("OCF_RESKEY_force_stop", "true")]);
    req.domain.emulator = None;
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("destroy"), 2);
}

#[test]
fn a_state_error_is_asked_again_and_not_taken_for_a_state() {
    let mut fake = FakeController::with("vm1", DomainState::Running);
    fake.obeys_shutdown = true;
    fake.fail_verb
        .borrow_mut()
        .push(("state", ControllerError::Failed("internal error".into())));
    assert_eq!(stop(&request(&[]), &fake), Ok(OcfRc::Success));
    assert_eq!(
        fake.count("destroy"),
        0,
        "graceful, as for any running domain"
    );
    assert_eq!(fake.count("shutdown"), 1);
}

#[test]
fn the_config_is_dumped_before_the_domain_is_stopped() {
    let fake = FakeController {
        obeys_shutdown: true,
        ..FakeController::with("vm1", DomainState::Running)
    };
    let req = request(&[("OCF_RESKEY_save_config_on_stop", "true")]);
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    let calls = fake.calls.borrow();
    let dumped = calls.iter().position(|c| c.starts_with("inactive_xml"));
    let stopped = calls.iter().position(|c| c.starts_with("shutdown"));
    assert!(dumped.is_some() && dumped < stopped, "{calls:?}");
}

/// Bounds nest: the state query between two graceful requests has its own
/// short bound, and when it returns the graceful window bounds the calls
/// again — a re-sent request that blocks (a domain job took the lock after
/// the first request) ends with the window, and destroy keeps its time.
#[test]
fn a_request_blocking_after_a_state_query_still_ends_with_the_window() {
    let mut fake = FakeController::with("vm1", DomainState::Running);
    fake.hangs_from = vec![("shutdown", 2)];
    let req = request(&[("OCF_RESKEY_CRM_meta_timeout", "9000")]);
    let t = Instant::now();
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    let took = t.elapsed();
    let calls = fake.calls.borrow().clone();
    assert_eq!(fake.count("shutdown"), 2, "{calls:?}");
    assert_eq!(fake.count("destroy"), 1, "{calls:?}");
    let budget = req.ctx.budget();
    let graceful = budget.graceful_window(None);
    assert!(took >= graceful, "{took:?}");
    assert!(took < graceful + budget.destroy_reserve(), "{took:?}");
}
