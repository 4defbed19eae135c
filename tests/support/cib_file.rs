//! Offline CIBs (`CIB_file`) for the utilization tests: a file made with
//! Pacemaker's own tools holding one primitive, `crm_resource` run against
//! it, and its `<configuration>` read back for comparison. Included with
//! `#[path = "support/cib_file.rs"] mod cib_file;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether Pacemaker's command-line tools are installed (else the caller
/// skips, saying so).
pub fn tools_available(what: &str) -> bool {
    let ok = ["cibadmin", "crm_resource"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        eprintln!("skipped ({what}): cibadmin/crm_resource not installed");
    }
    ok
}

/// `dir/name`: an empty CIB with `<primitive id=rsc>` holding `inside`.
pub fn with_primitive(dir: &Path, name: &str, rsc: &str, inside: &str) -> PathBuf {
    let path = dir.join(name);
    let empty = Command::new("cibadmin").arg("--empty").output().unwrap();
    assert!(empty.status.success(), "{empty:?}");
    std::fs::write(&path, &empty.stdout).unwrap();
    let primitive = format!(
        "<primitive id=\"{rsc}\" class=\"ocf\" provider=\"rust\" type=\"VirtualDomain\">{inside}</primitive>"
    );
    let out = Command::new("cibadmin")
        .env("CIB_file", &path)
        .args(["--create", "-o", "resources", "--xml-text", &primitive])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    path
}

/// A second file with the same content.
pub fn copy(from: &Path, name: &str) -> PathBuf {
    let to = from.with_file_name(name);
    std::fs::copy(from, &to).unwrap();
    to
}

/// `crm_resource --resource=RSC --utilization ARGS` against `cib`.
pub fn crm_resource(cib: &Path, rsc: &str, args: &[&str]) {
    let out = Command::new("crm_resource")
        .env("CIB_file", cib)
        .arg(format!("--resource={rsc}"))
        .arg("--utilization")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "crm_resource {args:?}: {out:?}");
}

pub fn set(cib: &Path, rsc: &str, attr: &str, value: u64) {
    crm_resource(
        cib,
        rsc,
        &[
            &format!("--set-parameter={attr}"),
            &format!("--parameter-value={value}"),
        ],
    );
}

pub fn delete(cib: &Path, rsc: &str, attr: &str) {
    crm_resource(cib, rsc, &[&format!("--delete-parameter={attr}")]);
}

/// The file's `<configuration>` element, as written (both writers are
/// libcib's: the same formatting).
pub fn configuration(cib: &Path) -> String {
    let text = std::fs::read_to_string(cib).unwrap();
    let start = text.find("<configuration>").expect("a configuration");
    let end = text.find("</configuration>").expect("its end");
    text[start..end].to_string()
}

/// The epoch (one per configuration change).
pub fn epoch(cib: &Path) -> u64 {
    let text = std::fs::read_to_string(cib).unwrap();
    let at = text.find(" epoch=\"").expect("an epoch") + 8;
    text[at..]
        .split('"')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap()
}
