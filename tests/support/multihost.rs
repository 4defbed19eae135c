//! The multihost lab (tests/multihost) from Rust: N simulated libvirt
//! hosts n1..nN in network namespaces, each with its own libvirtd, a tiny
//! TCG guest that ticks on its per-host console, and agent actions run on
//! a host with the environment pacemaker-execd gives them.
//! Included with `#[path = "support/multihost.rs"] mod multihost;` next to
//! `mod support;`.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::Run;

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/multihost")
}

/// A command's stdout followed by its stderr.
pub fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Whether the multihost lab can run here: root, the namespace tools,
/// libvirtd, qemu, a kernel and a static busybox for the guest. It does not
/// need the machine's libvirtd. Under CI=true a missing prerequisite is a
/// failure, never a skip.
pub fn multihost_available(what: &str) -> bool {
    let mut missing = missing_tools(&[
        "ip",
        "nsenter",
        "unshare",
        "setsid",
        "virsh",
        "libvirtd",
        "virtlogd",
        "qemu-system-x86_64",
        "busybox",
        "cpio",
    ]);
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { nix::libc::geteuid() } != 0 {
        missing.insert(0, "root".into());
    }
    let kernel = std::fs::read_dir("/boot").is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"))
    });
    if !kernel {
        missing.push("/boot/vmlinuz-*".into());
    }
    nothing_missing(what, &missing)
}

/// The tools of `tools` that are not on the PATH.
pub fn missing_tools(tools: &[&str]) -> Vec<String> {
    tools
        .iter()
        .filter(|tool| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|tool| tool.to_string())
        .collect()
}

/// True when `missing` is empty; otherwise a skip with the reason, or a
/// failure under CI=true (nothing may skip there).
pub fn nothing_missing(what: &str, missing: &[String]) -> bool {
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "missing {} (bash tests/lab/install-deps.sh, run as root)",
        missing.join(", ")
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what}: {why}");
    }
    eprintln!("SKIPPED {what}: {why}");
    false
}

/// A running lab; torn down (every host's processes, the namespaces) when
/// dropped, whatever happened. Logs stay under `dir/nI/` until the next
/// `up` (libvirtd.log, qemu/NAME.log and the console in
/// var-log-libvirt/, the agents' log in log/agent.log).
pub struct MultiLab {
    pub dir: PathBuf,
    pub prefix: String,
    pub hosts: usize,
    _lock: File,
}

impl MultiLab {
    /// Brings up `hosts` hosts under `dir` with namespace prefix `prefix`
    /// (hosts-up.sh tears down a lab a dead run left there first). Another
    /// test run using the same lab waits for it (at most 300 s).
    pub fn up(hosts: usize, dir: &str, prefix: &str) -> MultiLab {
        std::fs::create_dir_all(dir).expect("lab dir");
        let _ = Command::new("chmod").args(["755", "/srv", dir]).status();
        // one lab at a time per dir: hold an exclusive flock while the lab lives
        let lock = File::create(format!("{dir}.lock")).expect("lock file");
        let fd = std::os::unix::io::AsRawFd::as_raw_fd(&lock);
        let mut waited = 0;
        // SAFETY: flock(2) on a descriptor we own, non-blocking.
        while unsafe { nix::libc::flock(fd, nix::libc::LOCK_EX | nix::libc::LOCK_NB) } != 0 {
            assert!(
                waited < 300,
                "{dir}.lock: another run keeps its lab for 300 s"
            );
            std::thread::sleep(Duration::from_secs(1));
            waited += 1;
        }
        let lab = MultiLab {
            dir: PathBuf::from(dir),
            prefix: prefix.into(),
            hosts,
            _lock: lock,
        };
        let out = lab.script(
            "hosts-up.sh",
            &[&hosts.to_string(), dir],
            Duration::from_secs(180),
        );
        assert!(out.status.success(), "hosts-up.sh: {}", text(&out));
        lab
    }

    /// Runs tests/multihost/SCRIPT ARGS, killed after `limit`.
    pub fn script(&self, script: &str, args: &[&str], limit: Duration) -> Output {
        self.script_env(script, args, &[], limit)
    }

    /// The same with extra environment variables.
    pub fn script_env(
        &self,
        script: &str,
        args: &[&str],
        env: &[(&str, &str)],
        limit: Duration,
    ) -> Output {
        Command::new("timeout")
            .args(["-s", "KILL", &limit.as_secs().to_string(), "bash"])
            .arg(scripts().join(script))
            .args(args)
            .env("PREFIX", &self.prefix)
            .envs(env.iter().copied())
            .output()
            .expect("multihost script")
    }

    fn dir_str(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    /// Runs CMD on host nI (bounded by 60 s): success and stdout+stderr.
    pub fn exec(&self, i: usize, cmd: &[&str]) -> (bool, String) {
        let mut args = vec![self.dir_str().to_string(), i.to_string()];
        args.extend(cmd.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.script("hosts-exec.sh", &args, Duration::from_secs(60));
        (out.status.success(), text(&out).trim().to_string())
    }

    /// `virsh -q -c qemu:///system ARGS` on host nI (bounded by 30 s).
    pub fn virsh(&self, i: usize, args: &[&str]) -> (bool, String) {
        let mut cmd = vec!["timeout", "30", "virsh", "-q", "-c", "qemu:///system"];
        cmd.extend_from_slice(args);
        self.exec(i, &cmd)
    }

    /// The domain's state on nI ("running", "paused", …; "" if it is not there).
    pub fn state(&self, i: usize, name: &str) -> String {
        match self.virsh(i, &["domstate", name]) {
            (true, s) => s.lines().next().unwrap_or("").trim().to_string(),
            _ => String::new(),
        }
    }

    /// Destroys the domain wherever it runs.
    pub fn destroy_everywhere(&self, name: &str) {
        for i in 1..=self.hosts {
            self.virsh(i, &["destroy", name]);
            self.virsh(i, &["undefine", name]);
        }
    }

    /// host-libvirtd.sh: stop, start, restart, freeze, thaw (asserts success).
    pub fn libvirtd(&self, i: usize, what: &str) {
        let out = self.script(
            "host-libvirtd.sh",
            &[self.dir_str(), &i.to_string(), what],
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "libvirtd {what} on n{i}: {}",
            text(&out)
        );
    }

    /// Writes the guest NAME (guest-make.sh); its XML path.
    pub fn guest(&self, name: &str, mode: &str) -> PathBuf {
        let out = self.script(
            "guest-make.sh",
            &[self.dir_str(), name, mode],
            Duration::from_secs(300),
        );
        assert!(out.status.success(), "guest-make.sh: {}", text(&out));
        self.dir.join("guest").join(format!("{name}.xml"))
    }

    fn tick_of(out: Output) -> Option<(String, u64)> {
        if !out.status.success() {
            return None;
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let mut words = line.split_whitespace();
        let boot = words.next()?.to_string();
        let tick = words.next()?.parse().ok()?;
        Some((boot, tick))
    }

    /// A tick happening now on nI (waits at most `secs`): (boot id, tick).
    pub fn live_tick(&self, i: usize, name: &str, secs: u64) -> Option<(String, u64)> {
        Self::tick_of(self.script(
            "guest-tick.sh",
            &[
                "--live",
                "--wait",
                &secs.to_string(),
                self.dir_str(),
                &i.to_string(),
                name,
            ],
            Duration::from_secs(secs + 30),
        ))
    }

    /// Waits at most `secs` for a tick of boot `boot` later than `after` on nI.
    pub fn tick_after(
        &self,
        i: usize,
        name: &str,
        boot: &str,
        after: u64,
        secs: u64,
    ) -> Option<(String, u64)> {
        Self::tick_of(self.script(
            "guest-tick.sh",
            &[
                "--wait",
                &secs.to_string(),
                "--boot",
                boot,
                "--after",
                &after.to_string(),
                self.dir_str(),
                &i.to_string(),
                name,
            ],
            Duration::from_secs(secs + 30),
        ))
    }

    /// Runs `agent ACTION` on nI with execd's environment and
    /// OCF_RESKEY_NAME=VALUE for each param (agent-run.sh; killed at
    /// CRM_meta_timeout, then code 124). `elapsed` is the agent's own time.
    pub fn agent(&self, i: usize, agent: &Path, action: &str, params: &[(&str, &str)]) -> Run {
        let mut args = vec![
            self.dir_str().to_string(),
            i.to_string(),
            agent.to_str().unwrap().to_string(),
            action.to_string(),
        ];
        args.extend(params.iter().map(|(k, v)| format!("{k}={v}")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.script("agent-run.sh", &args, Duration::from_secs(200));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let secs = stderr
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("agent-run: rc="))
            .and_then(|l| l.split("time=").nth(1))
            .and_then(|t| t.trim().parse::<f64>().ok());
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
            elapsed: Duration::from_secs_f64(secs.unwrap_or(0.0).max(0.0)),
        }
    }

    /// Received bytes of interface `dev` on nI.
    pub fn rx_bytes(&self, i: usize, dev: &str) -> u64 {
        let (_, out) = self.exec(
            i,
            &["cat", &format!("/sys/class/net/{dev}/statistics/rx_bytes")],
        );
        out.trim().parse().unwrap_or(0)
    }
}

impl Drop for MultiLab {
    fn drop(&mut self) {
        let out = self.script("hosts-down.sh", &[self.dir_str()], Duration::from_secs(180));
        if !out.status.success() {
            eprintln!("hosts-down.sh: {}", text(&out));
        }
    }
}
