//! Writes the seed corpora of the rpc_* targets into `fuzz/corpus/`:
//! daemon replies built with the agent's own wire encoder (healthy
//! answers, libvirt errors, a stray message before the reply), the XML
//! ones carrying the real domain definitions given as arguments (`virsh
//! dumpxml` output). Run: cargo run --bin make_rpc_seeds -- FILE...
//! (as for the committed corpus: corpus/domain_xml/test-driver-dumpxml.xml
//! corpus/domain_xml/qemu-live-dumpxml.xml).
use std::path::Path;

use virtualdomain::controller::rpc::wire::{self, Encoder, Procedure};
use virtualdomain_fuzz::{healthy_prefix, reply_frame};

/// A `remote_error` body: libvirt error `code` from the qemu driver.
fn error_body(code: i32, message: &str) -> Vec<u8> {
    Encoder::default()
        .i32(code)
        .i32(10)
        .opt_string(Some(message))
        .i32(2)
        .u32(0)
        .opt_string(None)
        .opt_string(None)
        .opt_string(None)
        .i32(-1)
        .i32(-1)
        .u32(0)
        .finish()
}

fn state_body(state: i32) -> Vec<u8> {
    Encoder::default().i32(state).i32(1).finish()
}

fn info_body(state: u32) -> Vec<u8> {
    Encoder::default()
        .u32(state)
        .u32(0)
        .u32(262_144) // max memory (KiB), as two words
        .u32(0)
        .u32(131_072)
        .u32(2) // virtual CPUs
        .u32(0)
        .u32(5_000_000) // CPU time (ns)
        .finish()
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// The replies to the call under test (serial 4): `ok` bodies, then a
/// libvirt error, an unknown procedure's reply and a stray event first.
fn seeds(target: &str, procedure: Procedure, ok: &[(&str, Vec<u8>)]) {
    let frame = |status, body: &[u8]| reply_frame(procedure, 4, status, body);
    for (name, body) in ok {
        write(target, name, &frame(wire::STATUS_OK, body));
    }
    let missing = error_body(
        wire::ERR_NO_DOMAIN,
        "Domain not found: no domain with matching name 'vm1'",
    );
    write(target, "no-domain", &frame(wire::STATUS_ERROR, &missing));
    let mut stray = reply_frame(
        Procedure::DomainGetState,
        99,
        wire::STATUS_OK,
        &state_body(1),
    );
    stray.extend(frame(wire::STATUS_OK, &ok[0].1));
    write(target, "stray-first", &stray);
}

fn main() {
    let xml_file = std::env::args()
        .nth(1)
        .expect("usage: make_rpc_seeds DOMAIN.xml...");
    let xml = std::fs::read_to_string(xml_file).expect("domain XML");
    let xml_body = Encoder::default().string(&xml).finish();
    let states: Vec<(String, Vec<u8>)> = [
        (1, "running"),
        (3, "paused"),
        (5, "shutoff"),
        (0, "nostate"),
    ]
    .iter()
    .map(|(s, n)| (n.to_string(), state_body(*s)))
    .collect();
    let states: Vec<(&str, Vec<u8>)> = states
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    seeds("rpc_state", Procedure::DomainGetState, &states);
    seeds(
        "rpc_info",
        Procedure::DomainGetInfo,
        &[("running", info_body(1)), ("shutoff", info_body(5))],
    );
    seeds(
        "rpc_xml_desc",
        Procedure::DomainGetXmlDesc,
        &[("live", xml_body.clone())],
    );
    // more live definitions (a qemu guest's `virsh dumpxml`)
    for (i, file) in std::env::args().skip(2).enumerate() {
        let xml = std::fs::read_to_string(&file).expect("domain XML");
        let body = Encoder::default().string(&xml).finish();
        write(
            "rpc_xml_desc",
            &format!("live-{}", i + 2),
            &reply_frame(Procedure::DomainGetXmlDesc, 4, wire::STATUS_OK, &body),
        );
    }
    let mut whole = healthy_prefix();
    whole.extend(reply_frame(
        Procedure::DomainGetState,
        4,
        wire::STATUS_OK,
        &state_body(1),
    ));
    whole.extend(reply_frame(
        Procedure::DomainGetInfo,
        5,
        wire::STATUS_OK,
        &info_body(1),
    ));
    whole.extend(reply_frame(
        Procedure::DomainGetXmlDesc,
        6,
        wire::STATUS_OK,
        &xml_body,
    ));
    write("rpc_session", "healthy", &whole);
    let auth = reply_frame(
        Procedure::AuthList,
        1,
        wire::STATUS_OK,
        &Encoder::default().u32(1).u32(2).finish(),
    );
    write("rpc_session", "asks-sasl", &auth);
}
