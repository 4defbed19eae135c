//! Child processes with a deadline (monitor scripts, crm_resource, csync2,
//! qemu-img): Pacemaker kills the agent at its timeout but not its
//! children, so the agent kills its own children first.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// At most this much output is kept (the rest is read and dropped).
const CAPTURE_CAP: usize = 1 << 20;

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
/// first [`CAPTURE_CAP`] bytes; the rest is drained); kills
/// its whole process group when `limit` passes. `Err` when it could not be
/// started or timed out.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Result<Finished, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let (reader, writer) = std::io::pipe().map_err(|e| format!("{program}: {e}"))?;
    let writer_err = writer.try_clone().map_err(|e| format!("{program}: {e}"))?;
    cmd.stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer_err)
        .process_group(0);
    let mut child = cmd.spawn().map_err(|e| format!("{program}: {e}"))?;
    drop(cmd);
    let collector = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&reader).take(CAPTURE_CAP as u64).read_to_end(&mut out);
        // the rest is drained: closing the pipe would kill the writer (SIGPIPE)
        let _ = std::io::copy(&mut &reader, &mut std::io::sink());
        out
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = child.wait();
                return Err(format!(
                    "{program} did not finish within {:.1} s",
                    limit.as_secs_f64()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("{program}: {e}")),
        }
    };
    // grandchildren may hold the pipe open: do not wait for them past the deadline
    let output = loop {
        if collector.is_finished() || Instant::now() >= deadline {
            break if collector.is_finished() {
                collector.join().unwrap_or_default()
            } else {
                Vec::new()
            };
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(Finished {
        code,
        output: String::from_utf8_lossy(&output).trim_end().to_string(),
    })
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
        let t = Instant::now();
        let r = run_bounded(sh("sleep 30"), Duration::from_millis(300));
        assert!(r.is_err());
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn output_past_the_cap_is_drained_not_cut_off_by_sigpipe() {
        let t = Instant::now();
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
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    #[test]
    fn missing_program_is_an_error() {
        assert!(run_bounded(Command::new("/no/such/program"), Duration::from_secs(1)).is_err());
    }
}
