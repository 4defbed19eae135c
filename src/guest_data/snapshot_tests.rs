//! State files against the in-memory controller (whose save images are
//! the domain's XML).

use super::*;
use crate::actions::stop::stop;
use crate::actions::test_support::request;
use crate::controller::fake::FakeController;
use crate::controller::{ControllerError, DomainState};

fn setup() -> (tempfile::TempDir, Request) {
    let dir = tempfile::tempdir().unwrap();
    let req = request(&[("OCF_RESKEY_snapshot", dir.path().to_str().unwrap())]);
    (dir, req)
}

fn names(dir: &Path) -> Vec<String> {
    let mut all: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    all.sort();
    all
}

#[test]
fn a_failed_save_stops_normally_leaves_no_partial_file_and_says_so() {
    let (dir, req) = setup();
    let fake = FakeController::with("vm1", DomainState::Running);
    let fake = FakeController {
        obeys_shutdown: true,
        ..fake
    };
    std::fs::write(state_file(&req), "LibvirtQemudPart half written").unwrap();
    fake.fail_verb.borrow_mut().push((
        "save",
        ControllerError::Failed("No space left on device".into()),
    ));
    let err = stop(&req, &fake).unwrap_err();
    assert_eq!(err.rc, OcfRc::Success, "the guest is stopped: 0");
    let reason = err.reason.unwrap();
    assert!(
        reason.contains("saving its state") && reason.contains("No space left"),
        "{reason}"
    );
    assert_eq!(fake.count("shutdown"), 1, "stopped normally");
    assert!(names(dir.path()).is_empty(), "partial file removed");
}

#[test]
fn a_saved_state_is_private_and_restored_once() {
    let (dir, req) = setup();
    let fake = FakeController::with("vm1", DomainState::Running);
    assert_eq!(stop(&req, &fake), Ok(OcfRc::Success));
    let file = state_file(&req);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(restore(&req, &fake), Some(Ok(OcfRc::Success)));
    assert_eq!(fake.count("restore"), 1);
    assert!(names(dir.path()).is_empty(), "removed after the restore");
}

fn set_aside_case(content: &str, disk_after: bool) -> (Vec<String>, FakeController) {
    let (dir, mut req) = setup();
    let disk = dir.path().join("disk.img");
    std::fs::write(&disk, "disk").unwrap();
    let xml = content.replace("DISK", disk.to_str().unwrap());
    std::fs::write(state_file(&req), xml).unwrap();
    if disk_after {
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&disk, "written since").unwrap();
    }
    req.domain.uuid = Some("11111111-2222-3333-4444-555555555555".into());
    let fake = FakeController::default();
    assert_eq!(restore(&req, &fake), None, "boots afresh");
    assert_eq!(fake.count("restore"), 0, "never restored");
    (names(dir.path()), fake)
}

#[test]
fn another_domains_state_is_set_aside() {
    let (left, _) = set_aside_case("<domain><name>other</name></domain>", false);
    assert!(
        left.iter().any(|n| n.starts_with("vm1.state.foreign-")),
        "{left:?}"
    );
    let (left, _) = set_aside_case(
        "<domain><name>vm1</name><uuid>99999999-2222-3333-4444-555555555555</uuid></domain>",
        false,
    );
    assert!(
        left.iter().any(|n| n.starts_with("vm1.state.foreign-")),
        "{left:?}"
    );
}

#[test]
fn a_truncated_state_is_set_aside() {
    let (left, _) = set_aside_case("<dom", false);
    assert!(
        left.iter().any(|n| n.starts_with("vm1.state.unreadable-")),
        "{left:?}"
    );
}

#[test]
fn a_state_older_than_its_disk_is_set_aside() {
    let xml =
        "<domain><name>vm1</name><devices><disk><source file='DISK'/></disk></devices></domain>";
    let (left, _) = set_aside_case(xml, true);
    assert!(
        left.iter().any(|n| n.starts_with("vm1.state.stale-")),
        "{left:?}"
    );
}

#[test]
fn a_state_newer_than_its_disk_is_restored() {
    let (dir, req) = setup();
    let disk = dir.path().join("disk.img");
    std::fs::write(&disk, "disk").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let xml = format!(
        "<domain><name>vm1</name><devices><disk><source file='{}'/></disk></devices></domain>",
        disk.display()
    );
    std::fs::write(state_file(&req), xml).unwrap();
    let fake = FakeController::default();
    assert_eq!(restore(&req, &fake), Some(Ok(OcfRc::Success)));
}

#[test]
fn a_failed_restore_keeps_the_file_and_fails_with_libvirts_message() {
    let (dir, req) = setup();
    std::fs::write(state_file(&req), "<domain><name>vm1</name></domain>").unwrap();
    let fake = FakeController::default();
    fake.fail_verb
        .borrow_mut()
        .push(("restore", ControllerError::Unreachable("gone".into())));
    assert!(matches!(restore(&req, &fake), Some(Err(_))));
    assert_eq!(names(dir.path()), vec!["vm1.state"], "kept");
    // the image was read: a restore error says nothing against the file
    let pool = "unsupported configuration: storage pool 'p1' containing volume 'v1' is not active";
    fake.fail_verb
        .borrow_mut()
        .push(("restore", ControllerError::Failed(pool.into())));
    let err = restore(&req, &fake).unwrap().unwrap_err();
    assert_eq!(err.rc, OcfRc::ErrGeneric);
    let reason = err.reason.unwrap();
    assert!(
        reason.starts_with("Failed to restore vm1 from state file in "),
        "{reason}"
    );
    assert!(reason.contains(pool), "{reason}");
    assert_eq!(names(dir.path()), vec!["vm1.state"], "kept");
}

#[test]
fn only_libvirts_proof_of_an_incomplete_image_sets_it_aside() {
    let (dir, req) = setup();
    std::fs::write(state_file(&req), "<domain><name>vm1</name></domain>").unwrap();
    let fake = FakeController::default();
    for unproven in [
        "Failed to open file '/s/vm1.state': Permission denied",
        "operation failed: image version is not supported (3 > 2)",
    ] {
        fake.fail_verb
            .borrow_mut()
            .push(("save_image_xml", ControllerError::Failed(unproven.into())));
        let err = restore(&req, &fake).unwrap().unwrap_err();
        assert!(err.reason.unwrap().contains(unproven));
        assert_eq!(names(dir.path()), vec!["vm1.state"], "kept");
    }
    fake.fail_verb.borrow_mut().push((
        "save_image_xml",
        ControllerError::Failed("operation failed: save image is incomplete".into()),
    ));
    assert_eq!(restore(&req, &fake), None, "boots afresh");
    assert!(names(dir.path())[0].starts_with("vm1.state.unreadable-"));
    assert_eq!(fake.count("restore"), 0);
}

#[test]
fn narrowing_the_mode_never_follows_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "x").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file = dir.path().join("vm1.state");
    std::os::unix::fs::symlink(&victim, &file).unwrap();
    keep_private(&file);
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644, "the link's target is untouched");
    let real = dir.path().join("vm2.state");
    std::fs::write(&real, "x").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
    keep_private(&real);
    let mode = std::fs::metadata(&real).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}
