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
    assert!(matches!(c.state("x"), Err(ControllerError::Unreachable(_))));
    assert!(c.worker.lock().unwrap().is_none() && !c.is_hung());
}

#[test]
fn limit_bounds_calls_and_recover_clears_a_hang() {
    let far = Instant::now() + Duration::from_secs(3600);
    let c = LibvirtController::new(Some("test:///default".into()), far);
    assert_eq!(c.call_end(), far);
    let soon = Instant::now() + Duration::from_secs(5);
    c.limit_calls(Some(soon));
    assert_eq!(c.call_end(), soon);
    c.limit_calls(Some(far + Duration::from_secs(1)));
    assert_eq!(c.call_end(), far, "never past the deadline");
    c.limit_calls(None);
    assert_eq!(c.call_end(), far);
    *lock(&c.hung) = Some("stuck".into());
    assert_eq!(
        c.state("x"),
        Err(ControllerError::Unreachable("stuck".into()))
    );
    c.recover();
    assert!(!c.is_hung());
}
