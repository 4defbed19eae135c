//! Unit tests of the libvirt backend that need no daemon.

use super::*;

#[test]
fn shutdown_modes_or_their_flags() {
    assert_eq!(shutdown_flags(&[]), 0);
    let all = ShutdownMode::parse_list("acpi,agent,initctl,signal,paravirt").unwrap();
    assert_eq!(shutdown_flags(&all), 0x1f);
    assert_eq!(
        shutdown_flags(&[ShutdownMode::Signal, ShutdownMode::Acpi]),
        0x9
    );
}

#[test]
fn controller_is_cheap_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LibvirtController>();
    // No thread, no connection until the first call.
    let c = LibvirtController::new(Some("test:///default".into()), Instant::now());
    assert!(c.worker.lock().unwrap().is_none());
    // Past the deadline: fails without any I/O and without marking it hung.
    assert!(matches!(
        c.state("x", Instant::now() + Duration::from_secs(60)),
        Err(ControllerError::Unreachable(_))
    ));
    assert!(c.worker.lock().unwrap().is_none() && !c.is_hung());
}

#[test]
fn a_call_is_bounded_by_its_own_bound_and_the_deadline() {
    let far = Instant::now() + Duration::from_secs(3600);
    let c = LibvirtController::new(Some("test:///default".into()), far);
    let soon = Instant::now() + Duration::from_secs(5);
    assert!(c.budget(soon) <= Duration::from_secs(5));
    assert!(
        c.budget(far + Duration::from_secs(60)) <= Duration::from_secs(3600),
        "never past the deadline"
    );
    let capped = LibvirtController::new(Some("test:///default".into()), far)
        .with_call_timeout(Duration::from_secs(2));
    assert!(capped.budget(far) <= Duration::from_secs(2));
    // a bound already past: fails at once, without I/O
    let past = Instant::now();
    assert!(matches!(
        c.state("x", past),
        Err(ControllerError::Unreachable(_))
    ));
    assert!(c.worker.lock().unwrap().is_none());
}

#[test]
fn recover_clears_a_hang() {
    let far = Instant::now() + Duration::from_secs(3600);
    let c = LibvirtController::new(Some("test:///default".into()), far);
    *lock(&c.hung) = Some("stuck".into());
    assert_eq!(
        c.state("x", far),
        Err(ControllerError::Unreachable("stuck".into()))
    );
    c.recover();
    assert!(!c.is_hung());
}

/// After a call that did not answer, a later call with no time left says
/// why the time ran out (the hang first: exit reasons are cut at 128 bytes).
#[test]
fn no_time_left_names_the_earlier_hang() {
    let far = Instant::now() + Duration::from_secs(3600);
    let c = LibvirtController::new(Some("test:///default".into()), far);
    *lock(&c.hung) = Some("libvirt did not answer within 4.8 s".into());
    *lock(&c.last_hang) = Some("libvirt did not answer within 4.8 s".into());
    c.recover();
    match c.state("x", Instant::now()) {
        Err(ControllerError::Unreachable(why)) => assert!(
            why.starts_with("libvirt did not answer within 4.8 s; no time left"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
}
