//! Depth 10 and `io_error_policy` on the fake controller.

use super::*;
use crate::actions::test_support::request;
use crate::controller::fake::FakeController;
use crate::controller::{DiskError, DomainState};

/// A fake with `vm1` paused for libvirt reason `reason`, its disk `vda`
/// out of space.
fn paused(reason: i32) -> FakeController {
    let fake = FakeController::with("vm1", DomainState::Paused);
    fake.reasons.borrow_mut().insert("vm1".into(), reason);
    fake.disk_errs.borrow_mut().push(DiskError {
        device: "vda".into(),
        code: 2,
    });
    fake
}

fn recurring(extra: &[(&'static str, &'static str)]) -> Request {
    let mut pairs = vec![("OCF_RESKEY_CRM_meta_interval", "10000")];
    pairs.extend_from_slice(extra);
    request(&pairs)
}

#[test]
fn depth_0_keeps_the_anchor_answer_and_asks_nothing_more() {
    let fake = paused(5);
    assert_eq!(monitor(&recurring(&[]), &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("disk_errors"), 0);
    assert_eq!(fake.count("state"), 1);
}

#[test]
fn depth_10_fails_pauses_nobody_asked_for_with_their_cause() {
    let req = recurring(&[("OCF_CHECK_LEVEL", "10")]);
    let err = monitor(&req, &paused(5)).unwrap_err();
    assert_eq!(err.rc, OcfRc::ErrGeneric);
    assert_eq!(
        err.reason.as_deref(),
        Some("Virtual domain vm1 is paused by a disk I/O error: vda (no space)")
    );
    let err = monitor(&req, &paused(6)).unwrap_err();
    assert!(err.reason.unwrap().contains("by its watchdog"));
    let err = monitor(&req, &paused(10)).unwrap_err();
    assert!(err.reason.unwrap().contains("by a guest crash"));
    // user, migration, save: healthy as at depth 0
    for asked in [1, 2, 3] {
        assert_eq!(monitor(&req, &paused(asked)), Ok(OcfRc::Success), "{asked}");
    }
}

/// A request whose domain's only disk is a readable file with room.
fn with_disk(mut req: Request) -> Request {
    let disk = req.ctx.rsctmp.join("disk.img");
    std::fs::create_dir_all(&req.ctx.rsctmp).unwrap();
    std::fs::write(&disk, b"disk").unwrap();
    req.domain.disk_files = vec![disk.display().to_string()];
    req
}

#[test]
fn resume_policy_resumes_once_then_fails_a_second_pause() {
    let req = with_disk(recurring(&[("OCF_RESKEY_io_error_policy", "resume")]));
    let fake = paused(5);
    assert_eq!(monitor(&req, &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("resume"), 1);
    // qemu pauses it again at once
    fake.domains
        .borrow_mut()
        .insert("vm1".into(), DomainState::Paused);
    let err = monitor(&req, &fake).unwrap_err();
    assert!(
        err.reason.as_deref().unwrap().contains("paused again"),
        "{err:?}"
    );
    assert_eq!(fake.count("resume"), 1, "never a second resume");
    // a probe never acts on the policy
    let probe = with_disk(request(&[("OCF_RESKEY_io_error_policy", "resume")]));
    let fake = paused(5);
    assert_eq!(monitor(&probe, &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("resume"), 0);
}

#[test]
fn resume_policy_waits_for_storage_that_does_not_answer() {
    let mut req = recurring(&[("OCF_RESKEY_io_error_policy", "resume")]);
    req.domain.disk_files = vec!["/nonexistent/disk.qcow2".into()];
    let fake = paused(5);
    assert_eq!(monitor(&req, &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("resume"), 0);
    let mut now = recurring(&[
        ("OCF_RESKEY_io_error_policy", "resume"),
        ("OCF_RESKEY_io_error_delay", "0"),
    ]);
    now.domain.disk_files = req.domain.disk_files.clone();
    let err = monitor(&now, &fake).unwrap_err();
    assert!(err.reason.unwrap().contains("did not answer again"));
}

#[test]
fn destroy_policy_destroys_after_the_delay() {
    let req = recurring(&[("OCF_RESKEY_io_error_policy", "destroy")]);
    let fake = paused(5);
    assert_eq!(monitor(&req, &fake), Ok(OcfRc::Success), "within the delay");
    assert_eq!(fake.count("destroy"), 0);
    let req = recurring(&[
        ("OCF_RESKEY_io_error_policy", "destroy"),
        ("OCF_RESKEY_io_error_delay", "0"),
    ]);
    let err = monitor(&req, &fake).unwrap_err();
    assert_eq!(fake.count("destroy"), 1);
    assert!(
        err.reason.as_deref().unwrap().contains("vda (no space)")
            && err.reason.as_deref().unwrap().contains("destroyed"),
        "{err:?}"
    );
}

fn depth_20(channel: bool) -> Request {
    let mut req = recurring(&[("OCF_CHECK_LEVEL", "20")]);
    req.domain.guest_agent_channel = channel;
    req
}

#[test]
fn depth_20_asks_the_guest_agent() {
    let fake = FakeController::with("vm1", DomainState::Running);
    let req = depth_20(true);
    assert_eq!(monitor(&req, &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("agent_ping"), 1);
    // once it answered, silence is a failure with libvirt's words
    *fake.agent_silent.borrow_mut() = Some("Guest agent is not responding".into());
    let err = monitor(&req, &fake).unwrap_err();
    assert_eq!(
        err.reason.as_deref(),
        Some(
            "The guest agent of virtual domain vm1 does not answer: Guest agent is not responding"
        )
    );
    // a stop forgets: the next boot gets its grace again
    crate::guest::agent::forget(&req);
    assert_eq!(monitor(&req, &fake), Ok(OcfRc::Success), "booting");
    // depth 10 never asks
    let fake = FakeController::with("vm1", DomainState::Running);
    let mut ten = recurring(&[("OCF_CHECK_LEVEL", "10")]);
    ten.domain.guest_agent_channel = true;
    assert_eq!(monitor(&ten, &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("agent_ping"), 0);
}

#[test]
fn depth_20_without_a_channel_is_refused_and_a_paused_guest_is_not_asked() {
    let fake = FakeController::with("vm1", DomainState::Running);
    let err = monitor(&depth_20(false), &fake).unwrap_err();
    assert_eq!(err.rc, OcfRc::ErrGeneric);
    assert!(err.reason.unwrap().contains("no guest agent channel"));
    let refused = crate::guest::agent::validate(&depth_20(false)).unwrap_err();
    assert_eq!(refused.rc, OcfRc::ErrConfigured);
    assert_eq!(
        crate::guest::agent::validate(&depth_20(true)),
        Ok(OcfRc::Success)
    );
    let fake = paused(1);
    *fake.agent_silent.borrow_mut() = Some("paused".into());
    assert_eq!(monitor(&depth_20(true), &fake), Ok(OcfRc::Success));
    assert_eq!(fake.count("agent_ping"), 0);
}
