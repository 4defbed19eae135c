//! The panic hook: a bug still ends as an OCF error, exit 1 with an exit
//! reason, from whichever thread panicked and whatever lock it held.

use nix::errno::Errno;

use crate::ocf;

/// Installs the hook; `prefix` is the exit-reason prefix to print.
///
/// The hook takes no lock the panicking code might hold: the reason line
/// goes to fd 2 with write(2) (not through `std::io::stderr()`'s lock),
/// then to the log files, and to syslog only if its sink's lock is free.
pub fn install(prefix: String) {
    std::panic::set_hook(Box::new(move |info| {
        let msg = format!("internal error: {info}").replace('\n', " ");
        let line = ocf::reason::format_reason(&prefix, &msg);
        write_stderr(format!("{line}\n").as_bytes());
        ocf::logging::log_exit_reason_nowait(&msg);
        // _exit, not std::process::exit: the hook runs on whichever thread
        // panicked (the libvirt worker, the event loop) while the others
        // keep running, and exit(3) would run atexit handlers and the
        // destructors of libvirt and the libraries it loaded under their
        // feet (a crash or a hang instead of exit 1). _exit ends every
        // thread at once and runs nothing. The reason went out unbuffered
        // above; all _exit drops is unflushed stdout, which only carries
        // meta-data and --help, of no use once the agent failed.
        // SAFETY: _exit takes no pointer and never returns.
        unsafe { nix::libc::_exit(i32::from(ocf::OcfRc::ErrGeneric.code())) }
    }));
}

/// Writes `bytes` to fd 2 whole, without `std::io::stderr()`'s lock.
fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match nix::unistd::write(std::io::stderr(), bytes) {
            Ok(0) => return,
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::time::Duration;

    use super::*;
    use crate::host::command::run_bounded;
    use crate::ocf::logging;

    /// Names the scenario [`scenario_in_a_child`] plays.
    const SCENARIO: &str = "VIRTUALDOMAIN_TEST_PANIC_SCENARIO";

    /// Not a test of its own: the body of a child process started by the
    /// tests below (this test binary run again with [`SCENARIO`] set).
    #[test]
    fn scenario_in_a_child() {
        let Ok(scenario) = std::env::var(SCENARIO) else {
            return;
        };
        install("ocf-exit-reason:".into());
        // not a terminal (stdin is /dev/null): HA_LOGFACILITY=daemon sends
        // lines to syslog, behind the sink's lock
        logging::init(&ocf::Env::from_process(), "panic-test");
        if scenario == "logger-free" {
            panic!("boom with the logger free");
        }
        logging::with_syslog_locked(|| match scenario.as_str() {
            "logger-locked" => panic!("boom while logging"),
            "other-thread" => {
                let _ = std::thread::spawn(|| panic!("boom in another thread"));
                std::thread::sleep(Duration::from_secs(60));
            }
            other => panic!("no scenario {other}"),
        });
    }

    /// Runs `scenario` in a child process: its exit code and stderr.
    fn in_child(scenario: &str, logfile: &std::path::Path) -> (i32, String) {
        // stdout (the test harness's lines) apart, as Pacemaker reads it
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "exec \"$0\" \"$@\" >/dev/null"])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "panic_guard::tests::scenario_in_a_child"])
            .args(["--nocapture", "--test-threads=1"])
            .env(SCENARIO, scenario)
            .env("HA_LOGFACILITY", "daemon")
            .env("HA_LOGFILE", logfile);
        // killed at the limit (an error) if the panic hook hangs
        let done = run_bounded(cmd, Duration::from_secs(20)).expect("the panic hook hung");
        (done.code, done.output)
    }

    fn reason(output: &str) -> &str {
        output
            .lines()
            .filter_map(|l| l.strip_prefix("ocf-exit-reason:"))
            .next_back()
            .unwrap_or_else(|| panic!("no exit reason in {output:?}"))
    }

    #[test]
    fn panic_while_the_logger_is_locked_exits_1_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let (code, output) = in_child("logger-locked", &dir.path().join("log"));
        assert_eq!(code, 1, "{output}");
        let reason = reason(&output);
        assert!(reason.starts_with("internal error: "), "{reason}");
        assert!(reason.contains("boom while logging"), "{reason}");
    }

    #[test]
    fn panic_in_another_thread_ends_the_process_with_1_and_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let (code, output) = in_child("other-thread", &dir.path().join("log"));
        assert_eq!(code, 1, "{output}");
        assert!(
            reason(&output).contains("boom in another thread"),
            "{output}"
        );
    }

    #[test]
    fn the_reason_is_also_logged_when_the_logger_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let (code, output) = in_child("logger-free", &log);
        assert_eq!(code, 1, "{output}");
        assert!(reason(&output).contains("boom with the logger free"));
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(
            logged.contains("ERROR: internal error: panicked at")
                && logged.contains("boom with the logger free"),
            "{logged}"
        );
    }
}
