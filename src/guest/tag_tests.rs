//! Which domain the tag names, and tagging that never fails an action.

use super::*;
use crate::actions::test_support::request;
use crate::controller::fake::FakeController;
use crate::controller::{ControllerError, DomainState};

/// A running domain carrying the tag written for it.
fn tagged(name: &str, instance: &str) -> TaggedDomain {
    TaggedDomain {
        name: name.into(),
        uuid: format!("uuid-{name}"),
        active: true,
        tag: ResourceTag {
            instance: instance.into(),
            config: format!("/srv/{name}.xml"),
            name: name.into(),
            uuid: format!("uuid-{name}"),
        },
    }
}

/// `copy`, defined from the dumpxml of `of` (its tag), with its own UUID.
fn copy_of(of: &TaggedDomain, copy: &str, active: bool) -> TaggedDomain {
    TaggedDomain {
        name: copy.into(),
        uuid: format!("uuid-{copy}"),
        active,
        tag: of.tag.clone(),
    }
}

fn memory(name: &str, uuid: Option<&str>) -> Remembered {
    Remembered {
        name: name.into(),
        uuid: uuid.map(str::to_string),
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
        identify("rsc-vm1", Some(&memory("vm1", None)), &listing),
        found("vm1", BY_TAG)
    );
    // another resource's tag is not ours
    assert_eq!(identify("rsc-vm2", None, &listing), Identity::Unknown(None));
}

#[test]
fn without_a_tag_the_remembered_name_or_nothing() {
    let none = Ok(vec![tagged("other", "rsc-other")]);
    assert_eq!(
        identify("rsc-vm1", Some(&memory("vm1", None)), &none),
        found("vm1", BY_MEMORY)
    );
    assert_eq!(identify("rsc-vm1", None, &none), Identity::Unknown(None));
    let failed = Err(ControllerError::Unreachable("down".into()));
    assert_eq!(
        identify("rsc-vm1", Some(&memory("vm1", None)), &failed),
        found("vm1", BY_MEMORY)
    );
    assert_eq!(identify("rsc-vm1", None, &failed), Identity::Unknown(None));
}

#[test]
fn two_tagged_domains_are_reported_never_picked() {
    let listing = Ok(vec![
        tagged("vm1", "rsc-vm1"),
        tagged("vm1-copy", "rsc-vm1"),
    ]);
    for remembered in [None, Some(&memory("vm1", None))] {
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
    let Identity::Ambiguous(why) = identify("rsc-vm1", Some(&memory("vm1", None)), &listing) else {
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
            config: "/nonexistent/vm1.xml".into(),
            name: "vm1".into(),
            uuid: "uuid-vm1".into(),
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

#[test]
fn copies_of_the_tag_and_inactive_definitions_are_never_the_resource() {
    let vm1 = tagged("vm1", "rsc-vm1");
    let inactive_copy = copy_of(&vm1, "vm1-copy", false);
    let running_copy = copy_of(&vm1, "vm1-clone", true);
    // the copy keeps the UUID, under another name (the original gone)
    let same_uuid = TaggedDomain {
        uuid: vm1.uuid.clone(),
        ..copy_of(&vm1, "vm1-renamed", true)
    };
    let remembered = memory("vm1", Some("uuid-vm1"));
    // the seen case: the guest runs, a copy is defined from its dumpxml
    let listing = Ok(vec![vm1.clone(), inactive_copy.clone()]);
    for r in [None, Some(&remembered)] {
        assert_eq!(identify("rsc-vm1", r, &listing), found("vm1", BY_TAG));
    }
    // with the guest gone, no copy is taken for it
    for copies in [
        vec![inactive_copy.clone()],
        vec![running_copy.clone()],
        vec![same_uuid.clone()],
        vec![TaggedDomain {
            active: false,
            ..vm1.clone()
        }],
    ] {
        let Identity::Unknown(Some(note)) = identify("rsc-vm1", None, &Ok(copies.clone())) else {
            panic!("{copies:?} taken");
        };
        assert!(note.contains(&copies[0].name), "{note}");
        assert_eq!(
            identify("rsc-vm1", Some(&remembered), &Ok(copies.clone())),
            found("vm1", BY_MEMORY),
            "the remembered name stands: {copies:?}"
        );
    }
    let Identity::Unknown(Some(note)) = identify("rsc-vm1", None, &Ok(vec![running_copy])) else {
        panic!()
    };
    assert_eq!(
        note,
        "tagged here with resource rsc-vm1: vm1-clone (copy of vm1's tag)"
    );
    let Identity::Unknown(Some(note)) = identify("rsc-vm1", None, &Ok(vec![inactive_copy])) else {
        panic!()
    };
    assert!(
        note.contains("vm1-copy (not running, copy of vm1's tag)"),
        "{note}"
    );
}

#[test]
fn the_remembered_name_running_with_another_uuid_is_reported() {
    let other = TaggedDomain {
        uuid: "uuid-other".into(),
        ..copy_of(&tagged("vm0", "rsc-x"), "vm1", true)
    };
    let Identity::Ambiguous(why) = identify(
        "rsc-vm1",
        Some(&memory("vm1", Some("uuid-vm1"))),
        &Ok(vec![other.clone()]),
    ) else {
        panic!("taken");
    };
    assert!(
        why.contains("uuid-other") && why.contains("uuid-vm1"),
        "{why}"
    );
    // without a remembered UUID the name stands as before
    assert_eq!(
        identify("rsc-vm1", Some(&memory("vm1", None)), &Ok(vec![other])),
        found("vm1", BY_MEMORY)
    );
}

#[test]
fn the_uuid_is_remembered_with_the_name_and_forgotten_with_it() {
    let req = request(&[]);
    let fake = FakeController::with("vm1", DomainState::Running);
    tag(&req, &fake);
    assert_eq!(
        Remembered::read(&req.ctx),
        Some(memory("vm1", Some("uuid-vm1")))
    );
    Remembered::write(&req.ctx, "vm1", None);
    assert_eq!(
        Remembered::read(&req.ctx),
        Some(memory("vm1", Some("uuid-vm1"))),
        "a monitor keeps it"
    );
    Remembered::write(&req.ctx, "vm2", None);
    assert_eq!(Remembered::read(&req.ctx), Some(memory("vm2", None)));
}
