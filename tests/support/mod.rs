//! Shared helpers for the tests that drive real libvirt: running our
//! agent and the anchor with an OCF environment, making tiny qemu guests
//! with tests/lab, and cleaning up domains whatever happens.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const ANCHOR: &str = "/usr/lib/ocf/resource.d/heartbeat/VirtualDomain";
pub const QEMU: &str = "qemu:///system";

/// Whether tests needing root and a running libvirtd can run. Under
/// CI=true a missing prerequisite is a failure, never a skip.
pub fn lab_available(what: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { nix::libc::geteuid() } == 0;
    let libvirtd = root
        && Command::new("timeout")
            .args(["10", "virsh", "-q", "-c", QEMU, "version"])
            .output()
            .is_ok_and(|o| o.status.success());
    if root && libvirtd {
        return true;
    }
    let why = if root {
        "libvirtd is not running (bash tests/lab/libvirtd-up.sh)"
    } else {
        "not root"
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what}: {why}");
    }
    eprintln!("SKIPPED {what}: {why}");
    false
}

/// The anchor must exist for side-by-side tests (a failure under CI=true).
pub fn anchor_available(what: &str) -> bool {
    if Path::new(ANCHOR).exists() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what}: {ANCHOR} missing (apt-get install resource-agents)");
    }
    eprintln!("SKIPPED {what}: {ANCHOR} missing");
    false
}

/// A world-searchable directory for guests (qemu runs as libvirt-qemu).
pub fn lab_dir() -> PathBuf {
    let dir = PathBuf::from("/srv/vd-tests");
    std::fs::create_dir_all(&dir).expect("create /srv/vd-tests");
    let _ = Command::new("chmod")
        .args(["755", "/srv", dir.to_str().unwrap()])
        .status();
    dir
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes a guest with tests/lab/make-guest.sh; returns its XML path.
pub fn make_guest(name: &str, mode: &str) -> PathBuf {
    let out = Command::new("bash")
        .arg(repo().join("tests/lab/make-guest.sh"))
        .args([name, lab_dir().to_str().unwrap(), mode])
        .output()
        .expect("make-guest.sh");
    assert!(
        out.status.success(),
        "make-guest: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    lab_dir().join(format!("{name}.xml"))
}

/// Waits until the guest's console says it is up (its acpid is ready).
pub fn wait_guest_up(name: &str) {
    let out = Command::new("bash")
        .arg(repo().join("tests/lab/wait-guest.sh"))
        .args([name, lab_dir().to_str().unwrap(), "90"])
        .output()
        .expect("wait-guest.sh");
    assert!(
        out.status.success(),
        "guest {name} not up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn console(name: &str) -> String {
    std::fs::read_to_string(lab_dir().join(format!("{name}.console"))).unwrap_or_default()
}

/// The last `uptime U` the guest's console shows (`guest: up … uptime=U`,
/// `guest: tick N uptime U`).
pub fn last_uptime(name: &str) -> Option<f64> {
    console(name)
        .lines()
        .rev()
        .filter_map(|l| l.split("uptime").nth(1))
        .filter_map(|u| u.trim_start_matches(['=', ' ']).split_whitespace().next())
        .find_map(|u| u.parse().ok())
}

/// `virsh -c URI ARGS…` (for checks only; the agent never runs virsh).
pub fn virsh(uri: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("timeout")
        .args(["30", "virsh", "-q", "-c", uri])
        .args(args)
        .output()
        .expect("virsh");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string()
        + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text.trim().to_string())
}

pub fn domstate(uri: &str, name: &str) -> String {
    virsh(uri, &["domstate", name]).1
}

/// Destroys and undefines the domain when dropped (test cleanup).
pub struct DomainGuard {
    pub uri: String,
    pub name: String,
}

impl DomainGuard {
    pub fn new(uri: &str, name: &str) -> Self {
        let guard = DomainGuard {
            uri: uri.into(),
            name: name.into(),
        };
        guard.clean();
        guard
    }

    fn clean(&self) {
        virsh(&self.uri, &["destroy", &self.name]);
        virsh(&self.uri, &["undefine", &self.name]);
    }
}

impl Drop for DomainGuard {
    fn drop(&mut self) {
        self.clean();
    }
}

/// How one agent run ended.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// The text of the last `ocf-exit-reason:` line, if any.
    pub fn reason(&self) -> Option<String> {
        self.stderr
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("ocf-exit-reason:"))
            .map(str::to_string)
    }
}

/// An OCF environment for one resource.
#[derive(Debug, Clone)]
pub struct Ocf {
    pub vars: Vec<(String, String)>,
}

impl Ocf {
    pub fn new(instance: &str, config: &Path, uri: &str) -> Self {
        let rsctmp = std::env::temp_dir().join(format!("vd-rsctmp-{instance}"));
        std::fs::create_dir_all(&rsctmp).unwrap();
        let vars = [
            ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            ("OCF_ROOT", "/usr/lib/ocf"),
            ("OCF_RA_VERSION_MAJOR", "1"),
            ("OCF_RA_VERSION_MINOR", "1"),
            ("OCF_RESOURCE_INSTANCE", instance),
            ("OCF_EXIT_REASON_PREFIX", "ocf-exit-reason:"),
            ("HA_LOGFACILITY", "none"),
            ("HA_RSCTMP", rsctmp.to_str().unwrap()),
            ("OCF_RESKEY_config", config.to_str().unwrap()),
            ("OCF_RESKEY_hypervisor", uri),
            ("OCF_RESKEY_CRM_meta_timeout", "60000"),
            ("OCF_RESKEY_autoset_utilization_cpu", "false"),
            ("OCF_RESKEY_autoset_utilization_hv_memory", "false"),
            ("OCF_RESKEY_autoset_utilization_host_memory", "false"),
        ];
        Ocf {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// This environment with [`fake_crm_resource`] in `dir` first in PATH
    /// and libcib made unloadable, so that the agent runs it; its log.
    pub fn with_fake_crm_resource(&self, dir: &std::path::Path) -> (Self, std::path::PathBuf) {
        let log = fake_crm_resource(dir);
        let path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", dir.display());
        let ocf = self
            .with("PATH", &path)
            .with("LD_LIBRARY_PATH", &dir.display().to_string());
        (ocf, log)
    }

    /// A copy with `key=value` set (replacing an earlier value).
    pub fn with(&self, key: &str, value: &str) -> Self {
        let mut copy = self.clone();
        copy.vars.retain(|(k, _)| k != key);
        copy.vars.push((key.into(), value.into()));
        copy
    }

    pub fn without(&self, key: &str) -> Self {
        let mut copy = self.clone();
        copy.vars.retain(|(k, _)| k != key);
        copy
    }

    pub fn recurring(&self) -> Self {
        self.with("OCF_RESKEY_CRM_meta_interval", "10000")
    }

    /// The operation timeout this environment gives (`CRM_meta_timeout`,
    /// in ms; the agent's default of 90 s when unset or unreadable).
    pub fn timeout(&self) -> Duration {
        let ms = self
            .vars
            .iter()
            .find(|(k, _)| k == "OCF_RESKEY_CRM_meta_timeout")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(90_000);
        Duration::from_millis(ms)
    }

    /// Runs `program action`, killed (SIGKILL) once `limit` has passed;
    /// whether it was killed so.
    fn run_program(&self, program: &Path, action: &str, limit: Duration) -> (Run, bool) {
        let t = Instant::now();
        let out = assert_cmd::Command::new(program)
            .arg(action)
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .timeout(limit)
            .output()
            .expect("run agent");
        let elapsed = t.elapsed();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed,
        };
        (run, out.status.code().is_none() && elapsed >= limit)
    }

    /// Runs our agent as Pacemaker does: killed at the operation timeout
    /// this environment gives it. An agent still running then has failed
    /// its operation, so the test fails (Pacemaker would not have read
    /// the agent's answer either).
    pub fn ours(&self, action: &str) -> Run {
        let limit = self.timeout();
        let (run, killed) = self.run_program(
            Path::new(env!("CARGO_BIN_EXE_VirtualDomain")),
            action,
            limit,
        );
        assert!(
            !killed,
            "our agent's {action} overran its OCF timeout of {limit:?} and was killed: {run:?}"
        );
        run
    }

    /// Runs our agent under `strace -f` (files opened, sockets connected,
    /// programs and threads started), the log written to `log`: the exit
    /// code and the log.
    pub fn ours_traced(&self, action: &str, log: &Path) -> (i32, String) {
        let status = Command::new("strace")
            .args([
                "-f",
                "-qq",
                "-e",
                "trace=openat,open,execve,clone,clone3,fork,vfork,connect",
            ])
            .arg("-o")
            .arg(log)
            .arg(env!("CARGO_BIN_EXE_VirtualDomain"))
            .arg(action)
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .status()
            .expect("strace");
        (
            status.code().unwrap_or(-1),
            std::fs::read_to_string(log).unwrap(),
        )
    }

    /// Runs the installed anchor.
    pub fn anchor(&self, action: &str) -> Run {
        self.run_program(Path::new(ANCHOR), action, Duration::from_secs(120))
            .0
    }

    /// Runs the anchor, killed after `limit` (for the cases where it loops).
    pub fn anchor_for(&self, action: &str, limit: Duration) -> Run {
        self.run_program(Path::new(ANCHOR), action, limit).0
    }
}

/// The bound a test gives a controller call it makes itself: well past
/// anything the test waits for (the agent's own calls are bounded by the
/// OCF timeout the test passes).
pub fn by() -> Instant {
    Instant::now() + Duration::from_secs(300)
}

/// Polls `check` every 50 ms until it holds or `limit` passes.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// Runs a tests/lab script (bounded by 120 s); its output, asserting success.
pub fn lab(script: &str, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .arg("120")
        .arg("bash")
        .arg(repo().join("tests/lab").join(script))
        .args(args)
        .output()
        .expect("lab script");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} {args:?}: {text}");
    text
}

/// A private libvirtd (tests/lab/privd-*) in directory `dir`, taken down
/// (guests destroyed) when dropped.
pub struct Privd {
    pub dir: &'static str,
}

impl Privd {
    /// Starts the private libvirtd.
    pub fn up(dir: &'static str) -> Privd {
        let privd = Privd { dir };
        lab("privd-up.sh", &[dir]);
        privd
    }

    /// The URI reaching it from outside for `driver` (`qemu`, `lxc`).
    pub fn uri(&self, driver: &str) -> String {
        format!(
            "{driver}+unix:///system?socket={}/run/libvirt/libvirt-sock",
            self.dir
        )
    }

    /// `privd-fault.sh DIR ACTION [ARGS]`.
    pub fn fault(&self, action: &str, args: &[&str]) -> String {
        let mut all = vec![self.dir, action];
        all.extend_from_slice(args);
        lab("privd-fault.sh", &all)
    }
}

impl Drop for Privd {
    fn drop(&mut self) {
        let _ = Command::new("timeout")
            .args(["120", "bash"])
            .arg(repo().join("tests/lab/privd-down.sh"))
            .arg(self.dir)
            .status();
    }
}

/// A copy of `ocf` whose operation timeout is `ms`.
pub fn timed(ocf: &Ocf, ms: u64) -> Ocf {
    ocf.with("OCF_RESKEY_CRM_meta_timeout", &ms.to_string())
}

/// The run ended with `code`, and before its timeout of `timeout_ms` with
/// the agent's exit margin to spare (max(1 s, T/10); 300 ms of slack for a
/// busy machine), so Pacemaker reads the agent's answer, not a timeout.
pub fn assert_answered_in_time(run: &Run, timeout_ms: u64, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: {run:?}");
    let margin = (timeout_ms / 10).max(1000).min(timeout_ms / 2);
    let latest = Duration::from_millis(timeout_ms - margin + 300);
    assert!(
        run.elapsed <= latest,
        "{what} took {:?} (timeout {timeout_ms} ms: answer due by {latest:?})",
        run.elapsed
    );
}

/// The graceful share of a stop when `shutdown_timeout` is unset
/// (doc/differences.md, the `shutdown_timeout` row).
pub fn graceful_share(ocf: &Ocf) -> Duration {
    // as the README documents it (doc/differences.md, stop timing): two
    // thirds of the timeout, capped so that destroy keeps min(20 s, T/3)
    // before the exit margin max(1 s, T/10) (at most T/2)
    let t = ocf.timeout();
    let margin = (t / 10).max(Duration::from_secs(1)).min(t / 2);
    let destroy = Duration::from_secs(20).min(t / 3);
    (t * 2 / 3).min(t - margin - destroy)
}

/// A tiny guest `name` (tests/lab/make-guest.sh `mode`) under the
/// machine's libvirtd, cleaned up by the guard, and its OCF environment;
/// `None` when the lab is not available (outside CI).
pub fn guest_setup(name: &str, mode: &str) -> Option<(DomainGuard, Ocf)> {
    if !lab_available(name) {
        return None;
    }
    let xml = make_guest(name, mode);
    let guard = DomainGuard::new(QEMU, name);
    Some((guard, Ocf::new(&format!("rsc-{name}"), &xml, QEMU)))
}

/// The soname of Pacemaker's CIB library the agent loads.
pub const LIBCIB: &str = "libcib.so.27";

/// A stand-in `crm_resource` that logs its arguments. It answers the
/// anchor's `-g`/`-Q` queries with nothing (exit 6, a resource without
/// utilization yet) and `--get-parameter=ATTR` as crm_resource 2.1.5 does:
/// the content of `DIR/present-ATTR` if that file exists, else exit 0 with
/// "Attribute 'ATTR' not found" on stderr only. The agent runs it only
/// when libcib cannot be loaded: DIR also gets an empty `libcib.so.27`,
/// which makes that so for an agent run with `LD_LIBRARY_PATH=DIR` (see
/// [`Ocf::with_fake_crm_resource`]).
pub fn fake_crm_resource(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::write(dir.join(LIBCIB), "").unwrap();
    let log = dir.join("crm_resource.log");
    let script = dir.join("crm_resource");
    let body = format!(
        r#"#!/bin/sh
echo "$*" >> {log}
case "$*" in *' -g '*|*' -Q '*) exit 6;; esac
for a in "$@"; do case $a in --get-parameter=*)
    attr=${{a#--get-parameter=}}
    if [ -f {dir}/present-$attr ]; then cat {dir}/present-$attr
    else echo "Attribute '$attr' not found" >&2; fi
esac; done
exit 0
"#,
        log = log.display(),
        dir = dir.display()
    );
    std::fs::write(&script, body).unwrap();
    let _ = std::process::Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status();
    let _ = std::fs::remove_file(&log);
    log
}

/// The processes a traced run started besides the agent itself: execve
/// after the first, fork, vfork, and clone/clone3 without CLONE_THREAD.
pub fn processes_started(trace: &str) -> Vec<&str> {
    let mut execs = 0;
    trace
        .lines()
        .filter(|l| {
            if l.contains("execve(") {
                execs += 1;
                return execs > 1;
            }
            let forks = ["fork(", "vfork("].iter().any(|c| l.contains(c));
            let clones = ["clone(", "clone3("].iter().any(|c| l.contains(c));
            forks || (clones && !l.contains("CLONE_THREAD"))
        })
        .collect()
}
