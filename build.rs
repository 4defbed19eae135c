//! Build script: the git revision the agent is built from, for `--version`.
//!
//! `VD_GIT_REV` is `git rev-parse --short HEAD` when this crate's own
//! directory is the top of a git work tree, and `unknown` otherwise (a crate
//! built from a tarball has no `.git`; one unpacked inside another
//! repository must not report that repository's revision).

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

/// The revision, and the files whose change moves it (HEAD, the branch ref,
/// packed-refs), when this crate is its own git work tree.
fn revision() -> Option<(String, Vec<PathBuf>)> {
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    if Path::new(&top).canonicalize().ok()? != here.canonicalize().ok()? {
        return None;
    }
    let rev = git(&["rev-parse", "--short", "HEAD"])?;
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watch.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    let paths = watch
        .iter()
        .filter_map(|p| git(&["rev-parse", "--path-format=absolute", "--git-path", p]))
        .map(PathBuf::from)
        .collect();
    Some((rev, paths))
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let rev = match revision() {
        Some((rev, paths)) => {
            for p in paths.iter().filter(|p| p.exists()) {
                println!("cargo:rerun-if-changed={}", p.display());
            }
            rev
        }
        None => "unknown".to_string(),
    };
    println!("cargo:rustc-env=VD_GIT_REV={rev}");
}
