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
    wipe_rsctmp(&ocf);
    let probe = ocf.ours("monitor");
    wipe_rsctmp(&ocf);
    let monitor = ocf.recurring().ours("monitor");
    wipe_rsctmp(&ocf);
    let status = ocf.ours("status");
    wipe_rsctmp(&ocf);
    let stop = ocf.ours("stop");
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
    wipe_rsctmp(&ocf);
    let probe = ocf.ours("monitor");
    wipe_rsctmp(&ocf);
    let stop = ocf.ours("stop");
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
    wipe_rsctmp(&ocf);
    let probe = ocf.ours("monitor");
    let stop = ocf.ours("stop");
    let state = domstate(QEMU, "vdt-tag-none");
    drop(hidden);
    assert_eq!(probe.code, 7, "{probe:?}");
    assert_eq!(stop.code, 0, "{stop:?}");
    assert_eq!(state, "running", "nothing told which domain to stop");
}
