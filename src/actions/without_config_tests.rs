//! Actions without their config, against the in-memory controller: the
//! domain found by its tag (no name remembered) answers from its state.

use super::*;
use crate::actions::test_support::{empty_host, request};
use crate::controller::fake::FakeController;
use crate::controller::{DomainState, ResourceTag};
use crate::host::state_files;

/// A hypervisor where `name` is in `state`, tagged with the test resource.
fn tagged(name: &str, state: DomainState) -> FakeController {
    let fake = FakeController::with(name, state);
    fake.tags.borrow_mut().insert(
        name.into(),
        ResourceTag {
            instance: "vd-vm1".into(),
            config: "/srv/vm1.xml".into(),
            ..ResourceTag::default()
        }
        .for_domain(name, &fake.uuid_of(name)),
    );
    fake
}

fn run(action: Action, interval: &str, fake: &FakeController) -> Option<OcfResult> {
    run_with(action, &[("OCF_RESKEY_CRM_meta_interval", interval)], fake)
}

fn run_with(action: Action, pairs: &[(&str, &str)], fake: &FakeController) -> Option<OcfResult> {
    let req = request(pairs);
    // no memory (a monitor here learns the name: forgotten for the next)
    let _ = std::fs::remove_file(state_files::remembered_domain(
        &req.ctx.rsctmp,
        &req.ctx.instance,
    ));
    without_config(action, &req.ctx, &req.params, fake, &empty_host, &mut [])
}

#[test]
fn a_running_tagged_domain_is_seen_by_probe_monitor_and_status() {
    for (action, interval) in [
        (Action::Monitor, "0"),
        (Action::Monitor, "10000"),
        (Action::Status, "0"),
        (Action::MigrateFrom, "0"),
    ] {
        let fake = tagged("vm1", DomainState::Running);
        assert_eq!(
            run(action, interval, &fake),
            Some(Ok(OcfRc::Success)),
            "{action:?} {interval}"
        );
        assert_eq!(fake.count("tagged_domains"), 1);
    }
}

#[test]
fn stop_stops_the_tagged_domain_before_it_answers() {
    let mut fake = tagged("vm1", DomainState::Running);
    fake.obeys_shutdown = true;
    assert_eq!(run(Action::Stop, "0", &fake), Some(Ok(OcfRc::Success)));
    assert_eq!(fake.count("shutdown vm1"), 1);
    assert!(fake.domains.borrow().get("vm1").is_none());
}

#[test]
fn a_tagged_definition_shut_off_is_not_the_resource() {
    // (a persistent definition left behind when `config` changed)
    let fake = tagged("vm1", DomainState::Shutoff);
    assert_eq!(run(Action::Monitor, "10000", &fake), None);
    assert_eq!(run(Action::Status, "0", &fake), None);
    // probe and stop: the anchor's answers (7, 0) with its messages
    assert_eq!(run(Action::Monitor, "0", &fake), None);
    assert_eq!(run(Action::Stop, "0", &fake), None);
    assert_eq!(fake.count("shutdown"), 0);
}

#[test]
fn without_tag_or_memory_the_anchor_answers() {
    let fake = FakeController::with("vm1", DomainState::Running);
    for action in [
        Action::Monitor,
        Action::Stop,
        Action::Status,
        Action::MigrateFrom,
    ] {
        assert_eq!(run(action, "0", &fake), None, "{action:?}");
    }
    assert_eq!(fake.count("shutdown"), 0);
    // start and the others never look
    assert_eq!(run(Action::Start, "0", &fake), None);
    assert_eq!(fake.count("tagged_domains"), 4);
}

#[test]
fn two_tagged_domains_fail_every_action_with_a_reason() {
    let fake = tagged("vm1", DomainState::Running);
    fake.domains
        .borrow_mut()
        .insert("vm1-copy".into(), DomainState::Running);
    let copy = fake.tags.borrow().get("vm1").cloned().unwrap();
    // (libvirt never holds two domains with one UUID: tagged for itself)
    let copy = copy.for_domain("vm1-copy", &fake.uuid_of("vm1-copy"));
    fake.tags.borrow_mut().insert("vm1-copy".into(), copy);
    for action in [Action::Monitor, Action::Stop, Action::Status] {
        let Some(Err(e)) = run(action, "0", &fake) else {
            panic!("{action:?} guessed");
        };
        assert_eq!(e.rc, OcfRc::ErrGeneric);
        assert!(e.reason.unwrap_or_default().contains("vm1, vm1-copy"));
    }
    assert_eq!(fake.count("shutdown"), 0);
    assert_eq!(fake.count("destroy"), 0);
}

#[test]
fn a_copy_of_the_tag_alone_leaves_the_anchors_answers_and_says_what_was_found() {
    let fake = tagged("vm1", DomainState::Running);
    let tag = fake.tags.borrow_mut().remove("vm1").unwrap();
    fake.domains.borrow_mut().remove("vm1");
    fake.domains
        .borrow_mut()
        .insert("vm1-copy".into(), DomainState::Running);
    fake.tags.borrow_mut().insert("vm1-copy".into(), tag);
    let req = request(&[("OCF_RESKEY_CRM_meta_interval", "10000")]);
    let _ = std::fs::remove_file(state_files::remembered_domain(
        &req.ctx.rsctmp,
        &req.ctx.instance,
    ));
    let mut messages = vec![Message::Reason("Configuration file X not readable.".into())];
    let verdict = without_config(
        Action::Monitor,
        &req.ctx,
        &req.params,
        &fake,
        &empty_host,
        &mut messages,
    );
    assert_eq!(verdict, None);
    assert_eq!(
        messages,
        [Message::Reason(
            "Found only domains tagged here with resource vd-vm1: vm1-copy (copy of vm1's tag); \
             Configuration file X not readable."
                .into()
        )]
    );
    assert_eq!(run(Action::Stop, "0", &fake), None);
    assert_eq!(fake.count("shutdown"), 0);
}

#[test]
fn migrate_to_migrates_the_tagged_domain_instead_of_answering_5() {
    // the chaos campaign's config_empty fault: a 5 here made Pacemaker stop
    // the guest and start it again (and ban the node) instead of moving it
    let fake = tagged("vm1", DomainState::Running);
    fake.migrates.set(true);
    let answer = run_with(
        Action::MigrateTo,
        &[
            ("OCF_RESKEY_hypervisor", "qemu:///system"),
            ("OCF_RESKEY_migration_transport", "tcp"),
            ("OCF_RESKEY_CRM_meta_migrate_target", "n2"),
            ("OCF_RESKEY_CRM_meta_timeout", "20000"),
        ],
        &fake,
    );
    // the empty target never shows the domain: the answer is the
    // verification's 1, but the migration itself was made, to n2
    assert!(
        answer.is_some(),
        "migrate_to must not fall back to the anchor's 5"
    );
    let spec = fake
        .migrated
        .borrow()
        .clone()
        .expect("a migration was started");
    assert_eq!(spec.dest_uri, "qemu+tcp://n2/system");
}

#[test]
fn migrate_to_of_an_unknown_domain_keeps_the_anchors_answer() {
    let fake = FakeController::default();
    assert_eq!(run(Action::MigrateTo, "0", &fake), None);
}
