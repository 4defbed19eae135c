//! The resource tag on a real qemu guest under the machine's libvirtd
//! (upstream issue #1231): the agent's start writes it into the live
//! definition, never into the config file, and with the config unreadable
//! and nothing remembered under HA_RSCTMP the tag alone finds the guest:
//! probe and monitor see it run, stop stops it. An untagged guest with
//! nothing remembered gets the anchor's answers, as before. A config emptied
//! under a running guest (the chaos campaign's `config_empty` fault: the
//! stop answered 0 and Pacemaker started a second copy on another node) is
//! guarded the same way.

mod support;

use std::path::Path;

use support::*;

const NAME: &str = "vdt-tag";
const NAMESPACE: &str = "http://ocf-rust-virtualdomain/resource/1";

/// Forgets everything the agent remembered for the resource (a migration
/// target, a rebooted node, a wiped HA_RSCTMP).
fn wipe_rsctmp(ocf: &Ocf) {
    let dir = ocf
        .vars
        .iter()
        .find(|(k, _)| k == "HA_RSCTMP")
        .map(|(_, v)| v.clone())
        .expect("HA_RSCTMP set");
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        std::fs::remove_file(entry.path()).unwrap();
    }
}

/// `action` run by an agent that remembers nothing (a migration target, a
/// rebooted node); "recurring monitor" is the monitor with an interval.
fn forgetful(ocf: &Ocf, action: &str) -> Run {
    wipe_rsctmp(ocf);
    match action {
        "recurring monitor" => ocf.recurring().ours("monitor"),
        _ => ocf.ours(action),
    }
}

/// The config moved away for the life of the value, put back on drop.
struct Hidden<'a>(&'a Path);

impl<'a> Hidden<'a> {
    fn new(config: &'a Path) -> Self {
        std::fs::rename(config, config.with_extension("hidden")).unwrap();
        Hidden(config)
    }
}

impl Drop for Hidden<'_> {
    fn drop(&mut self) {
        let _ = std::fs::rename(self.0.with_extension("hidden"), self.0);
    }
}

#[test]
fn the_tag_finds_a_guest_whose_config_cannot_be_read() {
    let Some((_g, ocf)) = guest_setup(NAME, "obey") else {
        return;
    };
    let config = lab_dir().join(format!("{NAME}.xml"));
    let before = std::fs::read(&config).unwrap();
    let start = ocf.ours("start");
    assert_eq!(start.code, 0, "{start:?}");
    let (_, xml) = virsh(QEMU, &["dumpxml", NAME]);
    assert!(
        xml.contains(NAMESPACE)
            && xml.contains(&format!("instance=\"rsc-{NAME}\""))
            && xml.contains(&format!("config=\"{}\"", config.display())),
        "the live definition carries the tag: {xml}"
    );
    assert_eq!(
        std::fs::read(&config).unwrap(),
        before,
        "the config file is byte-for-byte unchanged"
    );
    wait_guest_up(NAME);

    let hidden = Hidden::new(&config);
    let probe = forgetful(&ocf, "monitor");
    let monitor = forgetful(&ocf, "recurring monitor");
    let status = forgetful(&ocf, "status");
    let stop = forgetful(&ocf, "stop");
    let after_stop = domstate(QEMU, NAME);
    let probe_after = ocf.ours("monitor");
    let stop_again = ocf.ours("stop");
    drop(hidden);
    assert_eq!(probe.code, 0, "probe sees the running guest: {probe:?}");
    assert_eq!(
        monitor.code, 0,
        "monitor sees the running guest: {monitor:?}"
    );
    assert_eq!(status.code, 0, "status: {status:?}");
    assert_eq!(stop.code, 0, "{stop:?}");
    assert!(
        after_stop.contains("shut off") || after_stop.contains("failed to get domain"),
        "stop stopped the guest: {after_stop}"
    );
    assert!(console(NAME).contains("guest: poweroff now"), "gracefully");
    assert_eq!(probe_after.code, 7, "{probe_after:?}");
    assert_eq!(stop_again.code, 0, "{stop_again:?}");
}

/// The config emptied (a half-written file) for the life of the value.
struct Emptied<'a>(&'a Path, Vec<u8>);

impl<'a> Emptied<'a> {
    fn new(config: &'a Path) -> Self {
        let before = std::fs::read(config).unwrap();
        std::fs::write(config, b"").unwrap();
        Emptied(config, before)
    }
}

impl Drop for Emptied<'_> {
    fn drop(&mut self) {
        let _ = std::fs::write(self.0, &self.1);
    }
}

#[test]
fn a_guest_whose_config_was_emptied_is_found_and_stopped() {
    let name = "vdt-tag-empty";
    let Some((_g, ocf)) = guest_setup(name, "obey") else {
        return;
    };
    let config = lab_dir().join(format!("{name}.xml"));
    let start = ocf.ours("start");
    assert_eq!(start.code, 0, "{start:?}");
    wait_guest_up(name);
    let emptied = Emptied::new(&config);
    let monitor = ocf.recurring().ours("monitor");
    let probe = forgetful(&ocf, "monitor");
    let stop = forgetful(&ocf, "stop");
    let after_stop = domstate(QEMU, name);
    drop(emptied);
    assert_eq!(monitor.code, 0, "the guest runs here: {monitor:?}");
    assert_eq!(probe.code, 0, "by its tag: {probe:?}");
    assert_eq!(stop.code, 0, "{stop:?}");
    assert!(
        after_stop.contains("shut off") || after_stop.contains("failed to get domain"),
        "a stop that answers 0 stopped the guest (else a second copy starts elsewhere): {after_stop}"
    );
}

#[test]
fn an_untagged_guest_with_nothing_remembered_gets_the_anchors_answers() {
    let Some((_g, ocf)) = guest_setup("vdt-tag-none", "obey") else {
        return;
    };
    let config = lab_dir().join("vdt-tag-none.xml");
    let (ok, out) = virsh(QEMU, &["create", config.to_str().unwrap()]);
    assert!(ok, "virsh create: {out}");
    let hidden = Hidden::new(&config);
    let probe = forgetful(&ocf, "monitor");
    let stop = ocf.ours("stop");
    let state = domstate(QEMU, "vdt-tag-none");
    drop(hidden);
    assert_eq!(probe.code, 7, "{probe:?}");
    assert_eq!(stop.code, 0, "{stop:?}");
    assert_eq!(state, "running", "nothing told which domain to stop");
}

const TEST_URI: &str = "test+unix:///default";

/// A config for the test driver's domain `name`, in `dir`.
fn test_config(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.xml"));
    std::fs::write(
        &path,
        format!(
            "<domain type='test'><name>{name}</name><memory unit='MiB'>64</memory>\
             <os><type arch='x86_64'>hvm</type></os></domain>"
        ),
    )
    .unwrap();
    path
}

/// `copy` defined from `virsh dumpxml` of `of` (tag included), without
/// its UUID (libvirt gives it a new one).
fn define_copy(of: &str, copy: &str) {
    let (ok, xml) = virsh(TEST_URI, &["dumpxml", of]);
    assert!(ok, "{xml}");
    assert!(xml.contains(NAMESPACE), "tagged: {xml}");
    let xml = xml
        .replace(
            &format!("<name>{of}</name>"),
            &format!("<name>{copy}</name>"),
        )
        .lines()
        .filter(|l| !l.contains("<uuid>"))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copy.xml");
    std::fs::write(&file, xml).unwrap();
    let (ok, out) = virsh(TEST_URI, &["define", file.to_str().unwrap()]);
    assert!(ok, "virsh define: {out}");
}

/// The test driver's state lives while a connection is open.
fn keep_test_driver() -> virtualdomain::controller::libvirt::LibvirtController {
    use virtualdomain::controller::DomainController;
    let keeper = virtualdomain::controller::libvirt::LibvirtController::new(
        Some(TEST_URI.into()),
        std::time::Instant::now() + std::time::Duration::from_secs(120),
    );
    keeper.state("test", by()).expect("the test driver answers");
    keeper
}

#[test]
fn copies_of_a_tagged_definition_are_never_taken_for_the_resource() {
    if !lab_available("copies of the resource tag") {
        return;
    }
    let _keeper = keep_test_driver();
    let name = format!("vdtag-{}", std::process::id());
    let copy = format!("{name}-copy");
    let _guards = (
        DomainGuard::new(TEST_URI, &name),
        DomainGuard::new(TEST_URI, &copy),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path(), &name);
    let ocf = Ocf::new(&name, &config, TEST_URI);
    wipe_rsctmp(&ocf);
    assert_eq!(ocf.ours("start").code, 0);
    assert_eq!(ocf.recurring().ours("monitor").code, 0);
    let (_, uuid) = virsh(TEST_URI, &["domuuid", &name]);
    let (_, live) = virsh(TEST_URI, &["dumpxml", &name]);
    assert!(
        live.contains(&format!("name=\"{name}\"")) && live.contains(&format!("uuid=\"{uuid}\"")),
        "the tag names the domain and its UUID: {live}"
    );
    define_copy(&name, &copy);

    // the seen case: the name is remembered, an inactive copy exists
    let hidden = Hidden::new(&config);
    let monitor = ocf.recurring().ours("monitor");
    let stop = ocf.ours("stop");
    let state = domstate(TEST_URI, &name);
    drop(hidden);
    assert_eq!(monitor.code, 0, "{monitor:?}");
    assert_eq!(stop.code, 0, "{stop:?}");
    assert!(!state.contains("running"), "stopped: {state}");

    // nothing remembered: the tag finds the guest, not its copy
    assert_eq!(ocf.ours("start").code, 0);
    let hidden = Hidden::new(&config);
    let probe = forgetful(&ocf, "monitor");
    drop(hidden);
    assert_eq!(probe.code, 0, "{probe:?}");

    // the guest gone, its copy running: never the resource
    assert_eq!(ocf.ours("stop").code, 0);
    let (ok, out) = virsh(TEST_URI, &["start", &copy]);
    assert!(ok, "{out}");
    let hidden = Hidden::new(&config);
    let probe = forgetful(&ocf, "monitor");
    let monitor = ocf.recurring().ours("monitor");
    let stop = ocf.ours("stop");
    let copy_state = domstate(TEST_URI, &copy);
    drop(hidden);
    assert_eq!(probe.code, 7, "{probe:?}");
    assert_eq!(monitor.code, 1, "the anchor's answer: {monitor:?}");
    let reason = monitor.reason().unwrap_or_default();
    assert!(
        reason.contains(&copy) && reason.contains("copy of"),
        "the exit reason says what was found: {reason}"
    );
    assert_eq!(stop.code, 0, "{stop:?}");
    assert_eq!(copy_state, "running", "the copy is left alone");
}

#[test]
fn a_persistent_definition_left_behind_by_a_changed_config_is_not_the_resource() {
    if !lab_available("a definition left behind") {
        return;
    }
    let _keeper = keep_test_driver();
    let old = format!("vdtag-{}-old", std::process::id());
    let new = format!("vdtag-{}-new", std::process::id());
    let _guards = (
        DomainGuard::new(TEST_URI, &old),
        DomainGuard::new(TEST_URI, &new),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vm.xml");
    std::fs::rename(test_config(dir.path(), &old), &config).unwrap();
    let ocf = Ocf::new(
        &format!("vdtag-{}-p", std::process::id()),
        &config,
        TEST_URI,
    )
    .with("OCF_RESKEY_persistent", "true");
    wipe_rsctmp(&ocf);
    assert_eq!(ocf.ours("start").code, 0);
    assert_eq!(ocf.ours("stop").code, 0);
    // the config now names another domain: the old definition stays
    std::fs::rename(test_config(dir.path(), &new), &config).unwrap();
    assert_eq!(ocf.ours("start").code, 0);
    let (_, listed) = virsh(TEST_URI, &["list", "--all", "--name"]);
    assert!(listed.contains(&old) && listed.contains(&new), "{listed}");

    let hidden = Hidden::new(&config);
    let probe = forgetful(&ocf, "monitor");
    let monitor = forgetful(&ocf, "recurring monitor");
    let stop = forgetful(&ocf, "stop");
    let state = domstate(TEST_URI, &new);
    let monitor_after = forgetful(&ocf, "recurring monitor");
    drop(hidden);
    assert_eq!(probe.code, 0, "{probe:?}");
    assert_eq!(monitor.code, 0, "{monitor:?}");
    assert_eq!(stop.code, 0, "{stop:?}");
    assert_eq!(state, "shut off", "stop stopped the running one");
    assert_eq!(monitor_after.code, 1, "{monitor_after:?}");
    let reason = monitor_after.reason().unwrap_or_default();
    assert!(
        reason.starts_with("Found only domains") && reason.contains("-old (not running)"),
        "what was found: {reason}"
    );
}
