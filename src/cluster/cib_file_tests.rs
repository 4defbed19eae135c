use std::time::Duration;

use super::*;

fn cib(resources: &str) -> String {
    format!(
        "<cib epoch=\"3\" num_updates=\"0\" admin_epoch=\"0\"><configuration>\
         <crm_config/><nodes/><resources>{resources}</resources>\
         <constraints><rsc_location id=\"loc\" rsc=\"vm\" node=\"n1\" score=\"1\"/></constraints>\
         </configuration><status/></cib>"
    )
}

fn pairs(list: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    )
}

const VM: &str = "<primitive id=\"vm\" class=\"ocf\" provider=\"rust\" type=\"VirtualDomain\">\
    <utilization id=\"vm-utilization\">\
    <nvpair id=\"vm-utilization-cpu\" name=\"cpu\" value=\"2\"/>\
    <nvpair id=\"vm-utilization-hv_memory\" name=\"hv_memory\" value=\"1024\"/>\
    </utilization>\
    <meta_attributes id=\"vm-meta\"><nvpair id=\"m\" name=\"cpu\" value=\"99\"/></meta_attributes>\
    </primitive>";

#[test]
fn the_resource_is_found_wherever_it_sits_under_resources() {
    let want = pairs(&[("cpu", "2"), ("hv_memory", "1024")]);
    assert_eq!(utilization_of(&cib(VM), "vm"), want, "a primitive");
    let grouped = format!("<group id=\"g\">{VM}</group>");
    assert_eq!(utilization_of(&cib(&grouped), "vm"), want, "in a group");
    let cloned = format!("<clone id=\"c\"><group id=\"g\">{VM}</group></clone>");
    assert_eq!(utilization_of(&cib(&cloned), "vm"), want, "in a clone");
    assert_eq!(utilization_of(&cib(VM), "g"), None, "no such resource");
}

#[test]
fn only_utilization_sets_of_that_element_count() {
    // the meta attribute named cpu above is not utilization; nor is a set
    // nested deeper, nor another resource's
    let deeper = "<primitive id=\"vm\" class=\"ocf\" type=\"X\"><operations>\
        <op id=\"o\" name=\"monitor\" interval=\"10s\"><utilization id=\"u\">\
        <nvpair id=\"n\" name=\"cpu\" value=\"5\"/></utilization></op></operations></primitive>\
        <primitive id=\"other\" class=\"ocf\" type=\"X\"><utilization id=\"u2\">\
        <nvpair id=\"n2\" name=\"cpu\" value=\"6\"/></utilization></primitive>";
    assert_eq!(utilization_of(&cib(deeper), "vm"), pairs(&[]));
    let empty = "<primitive id=\"vm\" class=\"ocf\" type=\"X\"/>";
    assert_eq!(utilization_of(&cib(empty), "vm"), pairs(&[]), "self-closed");
}

#[test]
fn values_are_unescaped_and_a_missing_value_reads_as_empty() {
    let odd = "<primitive id=\"a&amp;b\" class=\"ocf\" type=\"X\"><utilization id=\"u\">\
        <nvpair id=\"n\" name=\"cpu\" value=\"&#52;\"/><nvpair id=\"m\" name=\"hv_memory\"/>\
        <nvpair id=\"k\" name=\"cpu\" value=\"3\"/></utilization></primitive>";
    assert_eq!(
        utilization_of(&cib(odd), "a&b"),
        pairs(&[("cpu", "4"), ("hv_memory", ""), ("cpu", "3")])
    );
}

#[test]
fn anything_uncertain_is_left_to_libcib() {
    let twice = format!("{VM}<group id=\"vm\"/>");
    assert_eq!(utilization_of(&cib(&twice), "vm"), None, "id used twice");
    let whole = cib(VM);
    let cut = &whole[..whole.len() - 10];
    assert_eq!(utilization_of(cut, "vm"), None, "cut short");
    assert_eq!(
        utilization_of(&format!("{whole}<cib/>"), "vm"),
        None,
        "two roots"
    );
    let mismatched = whole.replace("</resources>", "</resource>");
    assert_eq!(utilization_of(&mismatched, "vm"), None, "malformed");
    let elsewhere = whole
        .replace("<resources>", "<resources/><other>")
        .replace("</resources>", "</other>");
    assert_eq!(
        utilization_of(&elsewhere, "vm"),
        None,
        "not under resources"
    );
    assert_eq!(utilization_of("", "vm"), None, "empty");
}

#[test]
fn holds_when_every_change_would_be_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cib.xml");
    std::fs::write(&file, cib(VM)).unwrap();
    let by = Instant::now() + Duration::from_secs(30);
    let holds = |changes: &[(&str, Wanted)], fill_only| holds(&file, "vm", changes, fill_only, by);
    assert!(holds(
        &[("cpu", Wanted::Set(2)), ("hv_memory", Wanted::Set(1024))],
        false
    ));
    assert!(!holds(&[("cpu", Wanted::Set(3))], false), "another value");
    assert!(
        holds(&[("cpu", Wanted::Set(3))], true),
        "the config only fills in"
    );
    assert!(!holds(&[("host_memory", Wanted::Set(3))], true), "missing");
    assert!(
        holds(&[("host_memory", Wanted::Delete)], false),
        "already absent"
    );
    assert!(!holds(&[("cpu", Wanted::Delete)], false), "to remove");
    let bz2 = dir.path().join("cib.xml.bz2");
    std::fs::copy(&file, &bz2).unwrap();
    assert!(!super::holds(
        &bz2,
        "vm",
        &[("cpu", Wanted::Set(2))],
        false,
        by
    ));
    let missing = dir.path().join("none.xml");
    assert!(!super::holds(
        &missing,
        "vm",
        &[("cpu", Wanted::Set(2))],
        false,
        by
    ));
}
