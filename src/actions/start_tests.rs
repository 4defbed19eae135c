//! Start decisions, against the in-memory controller.

use super::*;
use crate::actions::test_support::{no_remote, request};
use crate::controller::fake::FakeController;

fn config_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("vm1.xml");
    std::fs::write(&path, "<domain type='qemu'>\n<name>vm1</name>\n</domain>\n").unwrap();
    path
}

fn start_request(dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> Request {
    let mut req = request(extra);
    req.action = crate::cli::Action::Start;
    req.config_path = config_file(dir);
    req
}

#[test]
fn an_error_from_the_state_query_never_destroys() {
    let dir = tempfile::tempdir().unwrap();
    // passing errors, then the truth: the domain runs
    let fake = FakeController::with("vm1", DomainState::Running);
    for _ in 0..2 {
        fake.fail_verb
            .borrow_mut()
            .push(("state", ControllerError::Failed("internal error".into())));
    }
    let req = start_request(&dir, &[]);
    assert_eq!(start(&req, &fake, &no_remote), Ok(OcfRc::Success));
    assert_eq!(fake.count("destroy"), 0);
    assert_eq!(fake.count("create"), 0);
    // errors until the time is up: an error with a reason, nothing touched
    let fake = FakeController::with("vm1", DomainState::Running);
    for _ in 0..100 {
        fake.fail_verb
            .borrow_mut()
            .push(("state", ControllerError::Failed("internal error".into())));
    }
    let req = start_request(&dir, &[("OCF_RESKEY_CRM_meta_timeout", "3000")]);
    let err = start(&req, &fake, &no_remote).unwrap_err();
    assert_eq!(err.rc, OcfRc::ErrGeneric);
    assert!(err.reason.unwrap().contains("internal error"));
    assert_eq!(fake.count("destroy") + fake.count("create"), 0);
}

#[test]
fn a_libvirtd_restart_during_start_does_not_fail_it() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeController::default();
    fake.script_unreachable(2);
    fake.fail_verb.borrow_mut().push((
        "create",
        ControllerError::Unreachable("End of file while reading data".into()),
    ));
    let req = start_request(&dir, &[]);
    assert_eq!(start(&req, &fake, &no_remote), Ok(OcfRc::Success));
    assert_eq!(fake.count("create"), 2, "{:?}", fake.calls.borrow());
    assert_eq!(
        fake.domains.borrow().get("vm1"),
        Some(&DomainState::Running)
    );
}

#[test]
fn a_pmsuspended_domain_is_woken_up_and_not_created_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = FakeController::with("vm1", DomainState::PmSuspended);
    fake.wakes_up = true;
    let req = start_request(&dir, &[]);
    assert_eq!(start(&req, &fake, &no_remote), Ok(OcfRc::Success));
    assert_eq!(fake.count("wakeup"), 1);
    assert_eq!(
        fake.count("create") + fake.count("destroy") + fake.count("undefine"),
        0
    );
}

#[test]
fn crashed_or_unwakeable_domains_are_destroyed_then_created() {
    let dir = tempfile::tempdir().unwrap();
    for state in [DomainState::Crashed, DomainState::PmSuspended] {
        let fake = FakeController::with("vm1", state);
        let req = start_request(&dir, &[]);
        assert_eq!(
            start(&req, &fake, &no_remote),
            Ok(OcfRc::Success),
            "{state:?}"
        );
        assert_eq!(fake.count("destroy"), 1, "{state:?}");
        assert_eq!(fake.count("create"), 1, "{state:?}");
    }
}

#[test]
fn a_state_unknown_to_the_agent_is_reported_not_destroyed() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeController::with("vm1", DomainState::Other(12));
    let req = start_request(&dir, &[]);
    let err = start(&req, &fake, &no_remote).unwrap_err();
    assert!(err.reason.unwrap().contains("state 12"));
    assert_eq!(fake.count("destroy") + fake.count("create"), 0);
}

#[test]
fn a_started_domain_carries_the_resource_tag_a_failed_tag_does_not_fail_it() {
    let dir = tempfile::tempdir().unwrap();
    let req = start_request(&dir, &[]);
    let fake = FakeController::default();
    assert_eq!(start(&req, &fake, &no_remote), Ok(OcfRc::Success));
    let tag = fake.tags.borrow().get("vm1").cloned().expect("tagged");
    assert_eq!(tag.instance, "vd-vm1");
    assert_eq!(tag.config, req.config_path.display().to_string());
    let fake = FakeController::default();
    fake.fail_verb.borrow_mut().push((
        "set_tag",
        ControllerError::Failed("no metadata here".into()),
    ));
    assert_eq!(start(&req, &fake, &no_remote), Ok(OcfRc::Success));
    assert!(fake.tags.borrow().is_empty());
}

#[test]
fn a_persistent_definition_is_tagged_at_define() {
    let dir = tempfile::tempdir().unwrap();
    let req = start_request(&dir, &[("OCF_RESKEY_persistent", "true")]);
    let fake = FakeController::default();
    assert_eq!(start(&req, &fake, &no_remote), Ok(OcfRc::Success));
    let calls = fake.calls.borrow().join(",");
    let define = calls.find("define").expect("defined");
    let tagged = calls[define..].find("set_tag vm1").expect("tagged");
    assert!(
        calls[define..define + tagged].find("start vm1").is_none(),
        "tagged at define, before the start: {calls}"
    );
}
