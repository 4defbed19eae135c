//! Helpers shared by the integration tests: run an agent binary (ours or
//! the installed shell anchor) with a clean OCF environment and collect
//! its exit code and output.

#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The shell agent this project replaces (resource-agents 4.12).
pub const ANCHOR: &str = "/usr/lib/ocf/resource.d/heartbeat/VirtualDomain";
/// The operation timeout of a run whose environment sets none: the
/// agents' default (spec: 90000 ms, as Pacemaker's default op timeout).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);
/// The parameters this project adds after the anchor's, in meta-data order.
pub const ADDED_PARAMETERS: [&str; 13] = [
    "shutdown_timeout",
    "migration_mapping",
    "migration_mode",
    "double_start_protection",
    "double_start_nodes",
    "persistent",
    "io_error_policy",
    "io_error_delay",
    "migration_max_downtime",
    "migration_auto_converge",
    "migration_completion_timeout",
    "migration_progress_timeout",
    "migration_timeout_action",
];
/// The exit-reason prefix Pacemaker reads on stderr.
pub const REASON_PREFIX: &str = "ocf-exit-reason:";

/// Our binary, as cargo built it for the integration tests.
pub fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_VirtualDomain"))
}

/// Running under CI (`CI=true`): missing reference tools are failures there.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A tool the test needs from the host; `None` (after a notice) when it is
/// missing outside CI, a panic when it is missing under CI.
pub fn require(path: &str, what: &str) -> Option<PathBuf> {
    let found = if path.contains('/') {
        Some(PathBuf::from(path)).filter(|p| p.exists())
    } else {
        find_in_path(path)
    };
    if found.is_none() {
        assert!(
            !in_ci(),
            "{what}: {path} is missing (required when CI=true)"
        );
        eprintln!("NOTICE: {path} not found, skipping {what}");
    }
    found
}

/// The installed anchor, when it can run (it also needs `virsh` and `sed`).
pub fn anchor(what: &str) -> Option<PathBuf> {
    let agent = require(ANCHOR, what)?;
    require("virsh", what)?;
    require("sed", what)?;
    Some(agent)
}

/// A program in `PATH` or the system directories (as the agents look).
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/sbin", "/bin", "/usr/sbin", "/usr/bin"])
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file());
    found
}

/// The environment of a cluster-like run: nothing of the caller's but
/// `PATH`, Pacemaker's OCF variables, no syslog, and a test hypervisor so
/// that the anchor needs no libvirtd.
pub fn base_env(rsctmp: &Path) -> Vec<(String, String)> {
    vec![
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ("OCF_ROOT".into(), "/usr/lib/ocf".into()),
        ("OCF_RA_VERSION_MAJOR".into(), "1".into()),
        ("OCF_RESOURCE_INSTANCE".into(), "vd-test".into()),
        ("HA_LOGFACILITY".into(), "none".into()),
        ("HA_RSCTMP".into(), rsctmp.display().to_string()),
        ("OCF_RESKEY_hypervisor".into(), "test:///default".into()),
    ]
}

/// What one agent run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit code; `None` when killed by a signal (or the timeout).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// The texts of the `ocf-exit-reason:` lines on stderr, in order.
    pub fn reasons(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix(REASON_PREFIX))
            .collect()
    }

    /// The exit reason Pacemaker would show (the last line).
    pub fn last_reason(&self) -> Option<&str> {
        self.reasons().last().copied()
    }
}

/// The operation timeout `env` gives (`OCF_RESKEY_CRM_meta_timeout`, ms).
pub fn op_timeout(env: &[(String, String)]) -> Duration {
    env.iter()
        .find(|(k, _)| k == "OCF_RESKEY_CRM_meta_timeout")
        .and_then(|(_, v)| v.parse().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
}

/// Runs `bin args…` with exactly `env` (the rest cleared), stdin empty,
/// killed at the operation timeout `env` gives, as Pacemaker would: our
/// agent still running then fails the test.
pub fn run(bin: &Path, args: &[&str], env: &[(String, String)]) -> Outcome {
    let limit = op_timeout(env);
    let t = std::time::Instant::now();
    let out = assert_cmd::Command::new(bin)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .timeout(limit)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(
        bin != ours() || out.status.code().is_some() || t.elapsed() < limit,
        "our agent ({args:?}) overran its OCF timeout of {limit:?} and was killed"
    );
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
