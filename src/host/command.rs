//! Child processes with a deadline (monitor scripts, crm_resource, csync2,
//! qemu-img): the agent kills its own children at its deadline, and they
//! stay in its process group, so that Pacemaker's kill of the agent's
//! group (a cancelled or timed-out operation) takes them too. They see
//! the environment the anchor's children see (ocf-shellfuncs): `LC_ALL=C`,
//! no `LANG` or `LANGUAGE` (a script reading a program's messages reads
//! them in English), the system directories at the end of `PATH`.

use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::leftovers;

/// At most this much output is kept (the rest is read and dropped).
const CAPTURE_CAP: usize = 1 << 20;
use crate::timing::{AFTER_KILL, PIPE_GRACE};

/// How a bounded command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The exit code; a signal death counts as 128 + signal.
    pub code: i32,
    /// stdout and stderr, interleaved as written.
    pub output: String,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// Runs `cmd` with stdin closed and stdout+stderr captured together (the
/// first [`CAPTURE_CAP`] bytes; the rest is drained so the writer never
/// blocks). Kills it, its descendants and whatever holds its output pipe
/// when `limit` passes, and what still holds the pipe [`PIPE_GRACE`] after
/// the command exited. `Err` when it could not be started or timed out.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Result<Finished, String> {
    let deadline = Instant::now() + limit;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let fail = |e: std::io::Error| format!("{program}: {e}");
    let (reader, writer) = std::io::pipe().map_err(fail)?;
    let pipe_inode = nix::sys::stat::fstat(reader.as_fd())
        .ok()
        .map(|st| st.st_ino);
    let writer_err = writer.try_clone().map_err(fail)?;
    anchor_environment(&mut cmd);
    cmd.stdin(Stdio::null()).stdout(writer).stderr(writer_err);
    let output = Arc::new(Mutex::new(Vec::new()));
    let (eof_tx, eof) = mpsc::channel();
    let sink = Arc::clone(&output);
    std::thread::Builder::new()
        .name("bounded-output".into())
        .spawn(move || {
            drain(reader, &sink);
            let _ = eof_tx.send(());
        })
        .map_err(fail)?;
    let child = cmd.spawn().map_err(fail)?;
    // our copies of the pipe's write end: the child has its own
    drop(cmd);
    let pid = child.id();
    let exited = wait_in_thread(child).map_err(fail)?;
    let status = match exited.recv_timeout(limit) {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => return Err(fail(e)),
        // past the limit (or the waiting thread died): kill it and its own
        Err(_) => {
            leftovers::kill(Some(pid), pipe_inode);
            let _ = exited.recv_timeout(AFTER_KILL);
            return Err(format!(
                "{program} did not finish within {:.1} s",
                limit.as_secs_f64()
            ));
        }
    };
    // A process it left running may hold the pipe open: wait a moment,
    // never past the deadline, then kill what holds it (found by the
    // pipe, so never a reused pid) and keep what was read.
    let grace = PIPE_GRACE.min(deadline.saturating_duration_since(Instant::now()));
    if eof.recv_timeout(grace).is_err() {
        leftovers::kill(None, pipe_inode);
        let _ = eof.recv_timeout(AFTER_KILL);
    }
    let bytes = std::mem::take(&mut *output.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(Finished {
        code: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        output: String::from_utf8_lossy(&bytes).trim_end().to_string(),
    })
}

/// What ocf-shellfuncs gives the anchor and so its children: `LC_ALL=C`,
/// `LANG` and `LANGUAGE` unset, `/sbin:/bin:/usr/sbin:/usr/bin` appended to
/// `PATH` (ocf-binaries). What the caller set on `cmd` itself stays.
fn anchor_environment(cmd: &mut Command) {
    let set: Vec<String> = cmd
        .get_envs()
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .collect();
    let mine = |key: &str| !set.iter().any(|k| k == key);
    if mine("LC_ALL") {
        cmd.env("LC_ALL", "C");
    }
    for key in ["LANG", "LANGUAGE"] {
        if mine(key) {
            cmd.env_remove(key);
        }
    }
    if mine("PATH") {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{path}:/sbin:/bin:/usr/sbin:/usr/bin"));
    }
}

/// Reads `reader` to its end, keeping the first [`CAPTURE_CAP`] bytes.
fn drain(mut reader: std::io::PipeReader, sink: &Mutex<Vec<u8>>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let mut out = sink.lock().unwrap_or_else(|p| p.into_inner());
        let room = CAPTURE_CAP.saturating_sub(out.len());
        out.extend_from_slice(&buf[..n.min(room)]);
    }
}

/// Reaps `child` on a thread of its own; the result comes on the channel.
/// If that thread cannot be started the child is killed and reaped here.
fn wait_in_thread(mut child: Child) -> std::io::Result<Receiver<std::io::Result<ExitStatus>>> {
    let (tx, rx) = mpsc::channel();
    let pid = Pid::from_raw(child.id() as i32);
    let spawned = std::thread::Builder::new()
        .name("bounded-wait".into())
        .spawn(move || {
            let _ = tx.send(child.wait());
        });
    match spawned {
        Ok(_) => Ok(rx),
        Err(e) => {
            // the closure, and the Child in it, are gone; the pid is not
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            Err(e)
        }
    }
}

/// A program in PATH (plus the system directories, as `have_binary`).
pub fn find_in_path(program: &str, env: &crate::ocf::Env) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = env.get("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/sbin", "/bin", "/usr/sbin", "/usr/bin"])
        .filter(|dir| !dir.is_empty())
        .map(|dir| std::path::Path::new(dir).join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(script);
        c
    }

    #[test]
    fn captures_code_and_both_streams() {
        let f = run_bounded(
            sh("echo out; echo err >&2; exit 3"),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(f.code, 3);
        assert!(
            f.output.contains("out") && f.output.contains("err"),
            "{f:?}"
        );
    }

    #[test]
    fn kills_what_runs_too_long() {
        let limit = Duration::from_secs(1);
        let t = Instant::now();
        let r = run_bounded(sh("sleep 30"), limit);
        assert!(r.is_err());
        let took = t.elapsed();
        assert!(took >= limit && took < limit * 2, "{took:?}");
    }

    #[test]
    fn output_past_the_cap_is_drained_not_cut_off_by_sigpipe() {
        // an overrun is killed at the limit: an error
        let f = run_bounded(
            sh("yes abcdefg | head -c 4194304 && echo done >&2"),
            Duration::from_secs(20),
        )
        .expect("a 4 MiB writer must finish, not be killed at the limit");
        assert_eq!(f.code, 0);
        assert_eq!(
            f.output.len(),
            CAPTURE_CAP - 1,
            "cut to the cap, then trimmed"
        );
    }

    /// Whether `pid` is gone (or only a zombie waiting for a reaper).
    fn gone(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
        }
    }

    #[test]
    fn a_grandchild_holding_stdout_neither_holds_the_caller_nor_lingers() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!(
            "sleep 60 & echo $! > {}; echo ok; exit 0",
            pidfile.display()
        );
        let limit = Duration::from_secs(30);
        let t = Instant::now();
        let f = run_bounded(sh(&script), limit).unwrap();
        // not held until the limit by the grandchild's copy of stdout
        assert!(t.elapsed() < limit / 2, "{:?}", t.elapsed());
        assert_eq!(
            f,
            Finished {
                code: 0,
                output: "ok".into()
            }
        );
        assert_gone_soon(&pidfile, "the call");
    }

    /// The process whose pid `pidfile` holds is gone within 5 s (the kill
    /// is asynchronous: the kernel reaps a moment later).
    fn assert_gone_soon(pidfile: &std::path::Path, after: &str) {
        let pid: i32 = std::fs::read_to_string(pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while !gone(pid) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(gone(pid), "the grandchild {pid} outlived {after}");
    }

    #[test]
    fn what_lets_go_of_the_output_is_left_running() {
        let f = run_bounded(
            sh("sleep 30 >/dev/null 2>&1 & echo $!"),
            Duration::from_secs(10),
        )
        .unwrap();
        let pid: i32 = f.output.parse().unwrap();
        std::thread::sleep(PIPE_GRACE * 2);
        assert!(!gone(pid), "a detached process was killed");
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
    }

    #[test]
    fn at_the_limit_its_descendants_die_too() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!(
            "sleep 60 >/dev/null 2>&1 & echo $! > {}; sleep 30",
            pidfile.display()
        );
        assert!(run_bounded(sh(&script), Duration::from_millis(500)).is_err());
        assert_gone_soon(&pidfile, "the limit");
    }

    #[test]
    fn children_see_the_anchors_locale_and_path() {
        let f = run_bounded(
            sh("echo \"$LC_ALL|${LANG-unset}|${LANGUAGE-unset}|$PATH\""),
            Duration::from_secs(10),
        )
        .unwrap();
        let fields: Vec<&str> = f.output.split('|').collect();
        assert_eq!(fields[..3], ["C", "unset", "unset"], "{f:?}");
        assert!(
            fields[3].ends_with(":/sbin:/bin:/usr/sbin:/usr/bin"),
            "{f:?}"
        );
        let mut own = sh("echo $LC_ALL");
        own.env("LC_ALL", "en_US.UTF-8");
        let f = run_bounded(own, Duration::from_secs(10)).unwrap();
        assert_eq!(f.output, "en_US.UTF-8", "what the caller sets stays");
    }

    #[test]
    fn missing_program_is_an_error() {
        assert!(run_bounded(Command::new("/no/such/program"), Duration::from_secs(1)).is_err());
    }
}
