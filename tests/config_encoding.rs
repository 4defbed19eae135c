//! A domain XML in another encoding than UTF-8 (declared, or by its
//! byte-order mark): the agent decodes it and starts the domain with its
//! text intact (libvirt 9.0 itself, given the file by `virsh create` as
//! the anchor does, refuses it: "Input is not proper UTF-8"); an encoding
//! the agent cannot decode is refused with a reason (6) by validate-all and
//! start, never started
//! garbled. On libvirtd's daemon-hosted test driver; domains `enc-<pid>-…`.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::*;
use virtualdomain::controller::libvirt::LibvirtController;
use virtualdomain::controller::DomainController;

const TEST_URI: &str = "test+unix:///default";

fn document(name: &str, encoding: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n<domain type='test'>\n  \
         <name>{name}</name>\n  <description>Café für Müller</description>\n  \
         <memory unit='MiB'>64</memory>\n  <os><type arch='x86_64'>hvm</type></os>\n</domain>\n"
    )
}

fn start_and_describe(dir: &Path, name: &str, bytes: &[u8]) -> (Run, String) {
    let config = dir.join(format!("{name}.xml"));
    std::fs::write(&config, bytes).unwrap();
    let _guard = DomainGuard::new(TEST_URI, name);
    let ocf = Ocf::new(name, &config, TEST_URI);
    let start = ocf.ours("start");
    let (_, desc) = virsh(TEST_URI, &["desc", name]);
    (start, desc)
}

#[test]
fn latin1_and_utf16_configs_start_with_their_text_intact() {
    if !lab_available("config encodings") {
        return;
    }
    let keeper = LibvirtController::new(
        Some(TEST_URI.into()),
        Instant::now() + Duration::from_secs(120),
    );
    keeper.state("test", by()).expect("the test driver answers");
    let dir = tempfile::tempdir().unwrap();
    let pid = std::process::id();

    let latin1_name = format!("enc-{pid}-latin1");
    let latin1: Vec<u8> = document(&latin1_name, "ISO-8859-1")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    let (start, desc) = start_and_describe(dir.path(), &latin1_name, &latin1);
    assert_eq!(start.code, 0, "{start:?}");
    assert_eq!(desc, "Café für Müller");

    let utf16_name = format!("enc-{pid}-utf16");
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            document(&utf16_name, "UTF-16")
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let (start, desc) = start_and_describe(dir.path(), &utf16_name, &utf16);
    assert_eq!(start.code, 0, "{start:?}");
    assert_eq!(desc, "Café für Müller");

    let koi8_name = format!("enc-{pid}-koi8");
    let (start, _) = start_and_describe(
        dir.path(),
        &koi8_name,
        document(&koi8_name, "KOI8-R")
            .replace('é', "e")
            .replace(['ü'], "u")
            .as_bytes(),
    );
    assert_eq!(start.code, 6, "{start:?}");
    let reason = start.reason().unwrap_or_default();
    assert!(reason.contains("KOI8-R"), "{reason}");
    // validate-all says so before any start; a probe and a stop answer from
    // the domain's state (none here), as for any config
    let ocf = Ocf::new(
        &koi8_name,
        &dir.path().join(format!("{koi8_name}.xml")),
        TEST_URI,
    );
    let validate = ocf.ours("validate-all");
    assert_eq!(validate.code, 6, "{validate:?}");
    assert!(
        validate.reason().unwrap_or_default().contains("KOI8-R"),
        "{validate:?}"
    );
    assert_eq!(ocf.ours("monitor").code, 7);
    assert_eq!(ocf.ours("stop").code, 0);
    drop(keeper);
}
