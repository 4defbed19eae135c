//! Build script: the git revision the agent is built from, for `--version`,
//! and the C shim to Pacemaker's libcib (csrc/libcib_shim.c), compiled
//! against Pacemaker's headers (`pacemaker-dev`) so that every libcib call
//! is checked by the C compiler; the library itself is not linked (the shim
//! opens it with dlopen on first use).
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

/// Compiles csrc/libcib_shim.c with the include paths of `pacemaker-cib`
/// (pkg-config); without Pacemaker's headers the build stops here.
fn libcib_shim() {
    println!("cargo:rerun-if-changed=csrc/libcib_shim.c");
    let out = Command::new("pkg-config")
        .args(["--cflags", "pacemaker-cib"])
        .output();
    let flags = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => panic!(
            "pkg-config --cflags pacemaker-cib failed: Pacemaker's headers are needed \
             (Debian: apt-get install pacemaker-dev; RHEL: pacemaker-libs-devel)"
        ),
    };
    let mut build = cc::Build::new();
    build
        .file("csrc/libcib_shim.c")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .flag("-Wno-unused-parameter")
        .flag("-Werror=incompatible-pointer-types");
    for flag in flags.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-I") {
            build.include(dir);
        } else if let Some(def) = flag.strip_prefix("-D") {
            let (k, v) = def
                .split_once('=')
                .map_or((def, None), |(k, v)| (k, Some(v)));
            build.define(k, v);
        }
    }
    build.compile("vd_libcib_shim");
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    libcib_shim();
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
