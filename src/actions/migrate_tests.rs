//! migrate_to / migrate_from decisions against in-memory controllers: the
//! answer follows where the domain runs, not what the call returned.

use std::sync::Mutex;
use std::time::Instant;

use super::*;
use crate::actions::test_support::request;
use crate::controller::fake::FakeController;
use crate::controller::{ControllerError, DomainState};

fn migrate_request(extra: &[(&str, &str)]) -> Request {
    let mut pairs = vec![
        ("OCF_RESKEY_hypervisor", "qemu:///system"),
        ("OCF_RESKEY_migration_transport", "tcp"),
        ("OCF_RESKEY_CRM_meta_migrate_target", "n2"),
        ("OCF_RESKEY_CRM_meta_migrate_source", "n1"),
        ("OCF_RESKEY_CRM_meta_timeout", "20000"),
    ];
    pairs.extend_from_slice(extra);
    let mut req = request(&pairs);
    req.settings.migration =
        crate::request::migration_settings::migration_settings(&req.params).unwrap();
    req
}

/// The target's state, as remote controllers see it, and the URIs asked.
static TARGET: Mutex<Option<DomainState>> = Mutex::new(None);
static ASKED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn target_remote(uri: &str, _until: Instant) -> Box<dyn DomainController> {
    ASKED.lock().unwrap().push(uri.to_string());
    match *TARGET.lock().unwrap() {
        Some(state) => Box::new(FakeController::with("vm1", state)),
        None => Box::new(FakeController::default()),
    }
}

/// Runs `f` alone (the statics above are shared by these tests).
fn serial<T>(target: Option<DomainState>, f: impl FnOnce() -> T) -> T {
    static LOCK: Mutex<()> = Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    *TARGET.lock().unwrap() = target;
    ASKED.lock().unwrap().clear();
    f()
}

#[test]
fn success_is_where_the_domain_runs() {
    serial(Some(DomainState::Running), || {
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.migrates.set(true);
        let req = migrate_request(&[]);
        assert_eq!(migrate_to(&req, &fake, &target_remote), Ok(OcfRc::Success));
        let spec = fake.migrated.borrow().clone().unwrap();
        assert_eq!(spec.dest_uri, "qemu+tcp://n2/system");
        assert_eq!(spec.mode, MigrationMode::Live);
        assert_eq!(ASKED.lock().unwrap().as_slice(), ["qemu+tcp://n2/system"]);
    });
}

#[test]
fn a_failed_call_leaves_the_guest_here_with_libvirts_message() {
    serial(None, || {
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.fail_verb.borrow_mut().push((
            "migrate",
            ControllerError::Failed("unable to connect to server at 'n2:16509'".into()),
        ));
        let err = migrate_to(&migrate_request(&[]), &fake, &target_remote).unwrap_err();
        assert_eq!(err.rc, OcfRc::ErrGeneric);
        let reason = err.reason.unwrap();
        assert!(
            reason.starts_with("vm1: live migration to n2 failed: "),
            "{reason}"
        );
        assert!(reason.contains("n2:16509"), "{reason}");
    });
}

#[test]
fn a_lying_return_code_is_not_trusted() {
    // the call says yes but the domain is still here: 1
    serial(Some(DomainState::Running), || {
        let fake = FakeController::with("vm1", DomainState::Running);
        let err = migrate_to(&migrate_request(&[]), &fake, &target_remote).unwrap_err();
        assert!(err.reason.unwrap().contains("still here"));
    });
    // the call says no but the domain runs on the target: 0
    serial(Some(DomainState::Running), || {
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.migrates.set(true);
        fake.fail_verb
            .borrow_mut()
            .push(("migrate", ControllerError::Failed("cgroup error".into())));
        assert_eq!(
            migrate_to(&migrate_request(&[]), &fake, &target_remote),
            Ok(OcfRc::Success)
        );
    });
    // gone here, not there either: 1
    serial(None, || {
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.migrates.set(true);
        let err = migrate_to(&migrate_request(&[]), &fake, &target_remote).unwrap_err();
        assert!(err.reason.unwrap().contains("neither here nor there"));
    });
}

#[test]
fn not_active_locally_is_the_anchors_error() {
    serial(None, || {
        let fake = FakeController::default();
        let err = migrate_to(&migrate_request(&[]), &fake, &target_remote).unwrap_err();
        assert_eq!(
            err.reason.as_deref(),
            Some("vm1: migrate_to: Not active locally!")
        );
        assert_eq!(fake.count("migrate"), 0);
    });
}

#[test]
fn mapping_mode_options_speed_and_downtime_reach_the_spec() {
    serial(Some(DomainState::Running), || {
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.migrates.set(true);
        let req = migrate_request(&[
            ("OCF_RESKEY_migration_mapping", "n1:n1-mig,n2:n2-mig"),
            ("OCF_RESKEY_migration_mode", "pause"),
            (
                "OCF_RESKEY_migrate_options",
                "--p2p --tunnelled --persistent",
            ),
            ("OCF_RESKEY_migration_speed", "10"),
            ("OCF_RESKEY_migration_downtime", "500"),
            ("OCF_RESKEY_migration_network_suffix", "-x"),
        ]);
        let mut req = req;
        req.settings.migration_speed = 10;
        req.settings.migration_downtime = 500;
        assert_eq!(migrate_to(&req, &fake, &target_remote), Ok(OcfRc::Success));
        let spec = fake.migrated.borrow().clone().unwrap();
        assert_eq!(spec.dest_uri, "qemu+tcp://n2-mig-x/system");
        assert_eq!(
            spec.migrate_uri, None,
            "tunnelled: no dedicated-network URI"
        );
        assert_eq!(spec.mode, MigrationMode::Pause);
        assert_eq!(
            spec.flags,
            vec![
                MigrateFlag::PeerToPeer,
                MigrateFlag::Tunnelled,
                MigrateFlag::PersistDest
            ]
        );
        assert_eq!(spec.bandwidth_mib, Some(10));
        let watch = fake.watched.borrow().clone().unwrap();
        let mut steering = watch.steering.lock().unwrap();
        let job = crate::controller::JobSample::default();
        let now = Instant::now();
        let first: Vec<_> = steering
            .decide(now, &job)
            .into_iter()
            .map(|d| d.action)
            .collect();
        assert_eq!(first, [JobAction::SetMaxDowntime(500)]);
        // aborted before the agent must answer, with time to verify
        let end = req.ctx.work_end();
        let late: Vec<_> = steering
            .decide(end, &job)
            .into_iter()
            .map(|d| d.action)
            .collect();
        assert_eq!(late, [JobAction::Abort]);
    });
}

#[test]
fn a_mapped_target_gets_a_migration_uri_on_its_network() {
    serial(Some(DomainState::Running), || {
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.migrates.set(true);
        let req = migrate_request(&[
            ("OCF_RESKEY_migration_mapping", "n2:n2-mig"),
            ("OCF_RESKEY_migrateport", "49200"),
        ]);
        assert_eq!(migrate_to(&req, &fake, &target_remote), Ok(OcfRc::Success));
        let spec = fake.migrated.borrow().clone().unwrap();
        assert_eq!(spec.dest_uri, "qemu+tcp://n2-mig/system");
        assert_eq!(spec.migrate_uri.as_deref(), Some("tcp:n2-mig:49200"));
        // an unmapped target: libvirt picks, as the anchor
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.migrates.set(true);
        let req = migrate_request(&[("OCF_RESKEY_migration_mapping", "n3:n3-mig")]);
        assert_eq!(migrate_to(&req, &fake, &target_remote), Ok(OcfRc::Success));
        assert_eq!(fake.migrated.borrow().clone().unwrap().migrate_uri, None);
    });
}

#[test]
fn a_persistent_domain_stays_persistent_there_and_leaves_no_definition_here() {
    serial(Some(DomainState::Running), || {
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.migrates.set(true);
        let req = migrate_request(&[
            ("OCF_RESKEY_persistent", "true"),
            ("OCF_RESKEY_migrate_options", "--persistent"),
        ]);
        assert_eq!(migrate_to(&req, &fake, &target_remote), Ok(OcfRc::Success));
        let flags = fake.migrated.borrow().clone().unwrap().flags;
        assert_eq!(
            flags,
            vec![MigrateFlag::PersistDest, MigrateFlag::UndefineSource],
            "once each, sorted"
        );
    });
}

#[test]
fn migrate_from_waits_for_the_domain_and_answers_in_time() {
    let fake = FakeController::with("vm1", DomainState::Running);
    let req = migrate_request(&[]);
    assert_eq!(migrate_from(&req, &fake), Ok(OcfRc::Success));
    let fake = FakeController::default();
    let req = migrate_request(&[("OCF_RESKEY_CRM_meta_timeout", "3000")]);
    let err = migrate_from(&req, &fake).unwrap_err();
    let done = Instant::now();
    assert!(err.reason.unwrap().contains("has not arrived from n1"));
    // answered by the work end, the exit margin to spare
    assert!(
        done <= req.ctx.work_end() + req.ctx.budget().exit_margin() / 10,
        "{:?} after the work end",
        done.saturating_duration_since(req.ctx.work_end())
    );
}

#[test]
fn a_reported_failure_with_the_target_unknown_is_a_failure() {
    // libvirt said no, the domain is gone here, the target cannot be asked:
    // nothing shows the migration succeeded, so libvirt's error is the answer
    fn unreachable_remote(_uri: &str, _until: Instant) -> Box<dyn DomainController> {
        Box::new(FakeController {
            unreachable: Some("unable to connect to server at 'n2:16509'".into()),
            ..FakeController::default()
        })
    }
    let fake = FakeController::with("vm1", DomainState::Running);
    fake.migrates.set(true);
    fake.fail_verb.borrow_mut().push((
        "migrate",
        ControllerError::Failed("operation failed: job 'migration out' failed".into()),
    ));
    let err = migrate_to(&migrate_request(&[]), &fake, &unreachable_remote).unwrap_err();
    assert_eq!(err.rc, OcfRc::ErrGeneric);
    let reason = err.reason.unwrap();
    assert!(
        reason.starts_with(
            "vm1: live migration to n2 failed: operation failed: job 'migration out' failed"
        ),
        "{reason}"
    );
    // libvirt said yes and the target cannot be asked: libvirt is trusted
    let fake = FakeController::with("vm1", DomainState::Running);
    fake.migrates.set(true);
    assert_eq!(
        migrate_to(&migrate_request(&[]), &fake, &unreachable_remote),
        Ok(OcfRc::Success)
    );
}

/// The anchor's valued words reach the migration: `--bandwidth` over
/// `migration_speed` (virsh's parameter wins over `migrate-setspeed`),
/// post-copy and compression as flags and typed parameters.
#[test]
fn the_anchors_words_reach_the_migration() {
    serial(Some(DomainState::Running), || {
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.migrates.set(true);
        let mut req = migrate_request(&[(
            "OCF_RESKEY_migrate_options",
            "--bandwidth 40 --postcopy --postcopy-bandwidth 80 --compressed --comp-methods xbzrle",
        )]);
        req.settings.migration_speed = 10;
        assert_eq!(migrate_to(&req, &fake, &target_remote), Ok(OcfRc::Success));
        let spec = fake.migrated.borrow().clone().unwrap();
        assert_eq!(spec.bandwidth_mib, Some(40));
        assert!(spec.has(MigrateFlag::PostCopy) && spec.has(MigrateFlag::Compressed));
        assert_eq!(spec.tuning.postcopy_bandwidth_mib, Some(80));
        assert_eq!(spec.tuning.compression, ["xbzrle"]);
    });
}

/// The policy's flags: auto-converge, and post-copy allowed when the
/// timeout action may switch to it.
#[test]
fn the_policy_sets_its_flags() {
    serial(Some(DomainState::Running), || {
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.migrates.set(true);
        let req = migrate_request(&[
            ("OCF_RESKEY_migration_auto_converge", "true"),
            ("OCF_RESKEY_migration_timeout_action", "postcopy"),
        ]);
        assert_eq!(migrate_to(&req, &fake, &target_remote), Ok(OcfRc::Success));
        let spec = fake.migrated.borrow().clone().unwrap();
        assert!(spec.has(MigrateFlag::AutoConverge) && spec.has(MigrateFlag::PostCopy));
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.migrates.set(true);
        let req = migrate_request(&[]);
        assert_eq!(migrate_to(&req, &fake, &target_remote), Ok(OcfRc::Success));
        let spec = fake.migrated.borrow().clone().unwrap();
        assert!(!spec.has(MigrateFlag::AutoConverge) && !spec.has(MigrateFlag::PostCopy));
    });
}

/// A failed migration's exit reason: the cause first, then the last look
/// at the job, within Pacemaker's 128 characters; the decision that fired
/// is the cause when the agent's policy ended the job.
#[test]
fn a_failure_reports_the_last_look_at_the_job() {
    let look = crate::controller::JobSample {
        data_processed: 90 << 20,
        data_remaining: 10 << 20,
        dirty_rate: 30 << 20,
        iteration: 7,
        mem_total: 128 << 20,
        elapsed_ms: 600_000,
        ..Default::default()
    };
    let long = "operation failed: migration out job: unexpectedly failed because of something said at great length by qemu";
    for (extra, cause) in [
        (vec![], long),
        (
            vec![("OCF_RESKEY_migration_completion_timeout", "800")],
            "not complete after 100 s: aborted; at 90%",
        ),
    ] {
        serial(None, || {
            let fake = FakeController::with("vm1", DomainState::Running);
            fake.job_looks.borrow_mut().push(look);
            fake.fail_verb
                .borrow_mut()
                .push(("migrate", ControllerError::Failed(long.into())));
            let err = migrate_to(&migrate_request(&extra), &fake, &target_remote).unwrap_err();
            let reason = err.reason.unwrap();
            let want = format!("vm1: live migration to n2 failed: {}", &cause[..20]);
            assert!(reason.starts_with(&want), "{reason}");
            assert!(reason.contains(&cause[..cause.len().min(40)]), "{reason}");
            assert!(
                reason.ends_with("; at 90%, 10 MiB left, dirty 30 MiB/s, pass 7"),
                "{reason}"
            );
            assert!(reason.chars().count() <= 128, "{reason}");
        });
    }
}

/// The policy paused the guest to complete the migration, which failed
/// all the same: the guest runs on the source again.
#[test]
fn a_guest_paused_by_the_policy_is_resumed_when_the_migration_fails() {
    serial(None, || {
        let fake = FakeController::with("vm1", DomainState::Paused);
        fake.job_looks
            .borrow_mut()
            .push(crate::controller::JobSample {
                elapsed_ms: 600_000,
                mem_total: 128 << 20,
                ..Default::default()
            });
        fake.fail_verb.borrow_mut().push((
            "migrate",
            ControllerError::Failed("migration failed".into()),
        ));
        let req = migrate_request(&[
            ("OCF_RESKEY_migration_completion_timeout", "800"),
            ("OCF_RESKEY_migration_timeout_action", "pause"),
        ]);
        let err = migrate_to(&req, &fake, &target_remote).unwrap_err();
        assert!(err.reason.unwrap().contains("guest paused to complete"));
        assert_eq!(fake.state("vm1", Instant::now()), Ok(DomainState::Running));
        assert!(fake.calls.borrow().iter().any(|c| c == "resume vm1"));
    });
}

/// A look taken before libvirt had figures says nothing: the reason keeps
/// libvirt's whole message.
#[test]
fn an_empty_look_is_left_out_of_the_reason() {
    serial(None, || {
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.job_looks
            .borrow_mut()
            .push(crate::controller::JobSample::default());
        fake.fail_verb.borrow_mut().push((
            "migrate",
            ControllerError::Failed("End of file while reading data: Input/output error".into()),
        ));
        let err = migrate_to(&migrate_request(&[]), &fake, &target_remote).unwrap_err();
        assert_eq!(
            err.reason.unwrap(),
            "vm1: live migration to n2 failed: End of file while reading data: Input/output error"
        );
    });
}
