//! Which domain the tag names, and tagging that never fails an action.

use super::*;
use crate::actions::test_support::request;
use crate::controller::fake::FakeController;
use crate::controller::{ControllerError, DomainState};

fn tagged(name: &str, instance: &str) -> TaggedDomain {
    TaggedDomain {
        name: name.into(),
        tag: ResourceTag {
            instance: instance.into(),
            config: format!("/srv/{name}.xml"),
        },
    }
}

fn found(name: &str, found_by: &'static str) -> Identity {
    Identity::Domain {
        name: name.into(),
        found_by,
    }
}

const BY_TAG: &str = "its resource tag";
const BY_MEMORY: &str = "the name remembered from its config";

#[test]
fn the_one_domain_tagged_with_this_resource() {
    let listing = Ok(vec![tagged("other", "rsc-other"), tagged("vm1", "rsc-vm1")]);
    assert_eq!(identify("rsc-vm1", None, &listing), found("vm1", BY_TAG));
    assert_eq!(
        identify("rsc-vm1", Some("vm1"), &listing),
        found("vm1", BY_TAG)
    );
    // another resource's tag is not ours
    assert_eq!(identify("rsc-vm2", None, &listing), Identity::Unknown);
}

#[test]
fn without_a_tag_the_remembered_name_or_nothing() {
    let none = Ok(vec![tagged("other", "rsc-other")]);
    assert_eq!(
        identify("rsc-vm1", Some("vm1"), &none),
        found("vm1", BY_MEMORY)
    );
    assert_eq!(identify("rsc-vm1", None, &none), Identity::Unknown);
    let failed = Err(ControllerError::Unreachable("down".into()));
    assert_eq!(
        identify("rsc-vm1", Some("vm1"), &failed),
        found("vm1", BY_MEMORY)
    );
    assert_eq!(identify("rsc-vm1", None, &failed), Identity::Unknown);
}

#[test]
fn two_tagged_domains_are_reported_never_picked() {
    let listing = Ok(vec![
        tagged("vm1", "rsc-vm1"),
        tagged("vm1-copy", "rsc-vm1"),
    ]);
    for remembered in [None, Some("vm1")] {
        let Identity::Ambiguous(why) = identify("rsc-vm1", remembered, &listing) else {
            panic!("not ambiguous with {remembered:?}");
        };
        assert!(why.contains("vm1, vm1-copy"), "{why}");
        assert!(why.contains("rsc-vm1"), "{why}");
    }
}

#[test]
fn a_tagged_domain_named_otherwise_than_the_config_is_reported() {
    let listing = Ok(vec![tagged("renamed", "rsc-vm1")]);
    let Identity::Ambiguous(why) = identify("rsc-vm1", Some("vm1"), &listing) else {
        panic!("not reported");
    };
    assert!(
        why.contains("renamed") && why.contains("named domain vm1"),
        "{why}"
    );
}

#[test]
fn tag_names_the_instance_and_config_and_a_failure_is_only_logged() {
    let req = request(&[]);
    let fake = FakeController::with("vm1", DomainState::Running);
    tag(&req, &fake);
    let tags = fake.tags.borrow();
    assert_eq!(
        tags.get("vm1"),
        Some(&ResourceTag {
            instance: "vd-vm1".into(),
            config: "/nonexistent/vm1.xml".into()
        })
    );
    let down = FakeController {
        unreachable: Some("down".into()),
        ..Default::default()
    };
    tag(&req, &down);
    assert_eq!(down.count("set_tag"), 1);
    assert_eq!(down.count("recover"), 1);
}
