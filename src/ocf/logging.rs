//! Logging as resource-agents' `ocf_log`/`ha_log` do it, behind the `log` facade.
//!
//! Pacemaker users read agent messages in syslog under the tag
//! `VirtualDomain(<instance>)[<pid>]`, with the facility from
//! `HA_LOGFACILITY`; clusters that log to a file set `HA_LOGFILE`; a person
//! at a terminal sees plain lines on stderr. Logging never fails an action:
//! every sink error is swallowed.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use log::{Level, LevelFilter, Log, Metadata, Record};
use syslog::{Facility, Formatter3164, LoggerBackend};

use super::env::Env;

/// Records logged with this target get the `NOTICE:` prefix (the `log`
/// crate has no notice level; resource-agents use it in probes).
pub const NOTICE: &str = "notice";

type SyslogSink = syslog::Logger<LoggerBackend, Formatter3164>;

/// Where and how messages go, decided once from the environment.
pub struct HaLogger {
    tag: String,
    facility: Option<Facility>,
    syslog: Mutex<Option<SyslogSink>>,
    logfile: Option<PathBuf>,
    debuglog: Option<PathBuf>,
    debug: bool,
    tty: bool,
    datefmt: String,
}

static LOGGER: OnceLock<HaLogger> = OnceLock::new();

/// The syslog severity resource-agents derive from the message text.
pub fn severity_of(line: &str) -> &'static str {
    if line.contains("ERROR") {
        "err"
    } else if line.contains("WARN") {
        "warning"
    } else if line.contains("INFO") {
        "info"
    } else {
        "notice"
    }
}

/// The `ocf_log` prefix of a record.
pub fn prio_prefix(level: Level, target: &str) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Warn => "WARNING",
        Level::Info if target == NOTICE => "NOTICE",
        Level::Info => "INFO",
        Level::Debug | Level::Trace => "DEBUG",
    }
}

/// `HA_LOGFACILITY` (`HA_logfacility` as Pacemaker spells it); `none` or
/// an unknown name disables syslog.
pub fn facility_from(env: &Env) -> Option<Facility> {
    let name = env
        .non_empty("HA_LOGFACILITY")
        .or_else(|| env.non_empty("HA_logfacility"))?;
    if name.eq_ignore_ascii_case("none") {
        return None;
    }
    name.parse::<Facility>().ok()
}

impl HaLogger {
    pub fn from_env(env: &Env, instance: &str) -> Self {
        let debug = env
            .get("HA_debug")
            .is_some_and(|v| !v.is_empty() && v != "0");
        let facility = facility_from(env);
        let tag = format!("VirtualDomain({instance})");
        HaLogger {
            syslog: Mutex::new(None),
            tag,
            facility,
            logfile: env.non_empty("HA_LOGFILE").map(PathBuf::from),
            debuglog: env.non_empty("HA_DEBUGLOG").map(PathBuf::from),
            debug,
            tty: std::io::stdin().is_terminal(),
            datefmt: env
                .non_empty("HA_DATEFMT")
                .unwrap_or_else(|| "%b %d %T ".to_string()),
        }
    }

    fn full_tag(&self) -> String {
        format!("{}[{}]", self.tag, std::process::id())
    }

    /// Runs `f` on the syslog sink, opened on first use. With `wait`
    /// false the sink is skipped when its lock is held (or poisoned).
    fn with_syslog(&self, wait: bool, f: impl FnOnce(&mut SyslogSink)) {
        let Some(facility) = self.facility else {
            return;
        };
        let guard = if wait {
            self.syslog.lock().ok()
        } else {
            self.syslog.try_lock().ok()
        };
        let Some(mut guard) = guard else {
            return;
        };
        if guard.is_none() {
            let formatter = Formatter3164 {
                facility,
                hostname: None,
                process: self.tag.clone(),
                pid: std::process::id(),
            };
            *guard = syslog::unix(formatter).ok();
        }
        if let Some(sink) = guard.as_mut() {
            f(sink);
        }
    }

    /// Appends `line` as one record: embedded line breaks escaped (`\n`,
    /// `\r`) and the whole record, newline included, in one `write(2)`, so
    /// that concurrent writers (other agents, other resources) never
    /// interleave inside a line.
    fn append(path: &PathBuf, line: &str) {
        let record = record(line);
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(record.as_bytes());
        }
    }

    /// One non-debug line (`line` is `"PRIO: message"`), as `ha_log`.
    /// `to_stderr` is false for exit reasons, which are on stderr already.
    pub fn log_line(&self, line: &str, to_stderr: bool) {
        self.emit(line, to_stderr, true);
    }

    /// [`Self::log_line`], waiting for the syslog sink's lock or not.
    fn emit(&self, line: &str, to_stderr: bool, wait_for_syslog: bool) {
        if self.tty {
            if to_stderr {
                eprintln!("{line}");
            }
            return;
        }
        self.with_syslog(wait_for_syslog, |s| {
            let msg = line.to_string();
            let _ = match severity_of(line) {
                "err" => s.err(msg),
                "warning" => s.warning(msg),
                "info" => s.info(msg),
                _ => s.notice(msg),
            };
        });
        let date = local_date(&self.datefmt);
        if let Some(file) = &self.logfile {
            Self::append(file, &format!("{date} {}:    {line}", self.full_tag()));
        }
        if self.facility.is_none() && self.logfile.is_none() && to_stderr {
            eprintln!("{date}{line}");
        }
        if let Some(debuglog) = &self.debuglog {
            if Some(debuglog) != self.logfile.as_ref() {
                Self::append(debuglog, &format!("{}:\t{date}{line}", self.full_tag()));
            }
        }
    }

    /// One debug line, only when `HA_debug` is on.
    pub fn debug_line(&self, line: &str) {
        if !self.debug {
            return;
        }
        if self.tty {
            eprintln!("{line}");
            return;
        }
        self.with_syslog(true, |s| {
            let _ = s.debug(line.to_string());
        });
        let date = local_date(&self.datefmt);
        if let Some(debuglog) = &self.debuglog {
            Self::append(debuglog, &format!("{}:\t{date}{line}", self.full_tag()));
        }
        if self.facility.is_none() && self.debuglog.is_none() {
            eprintln!("{}:\t{date}{line}", self.full_tag());
        }
    }
}

impl Log for HaLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= Level::Info || self.debug
    }

    fn log(&self, record: &Record) {
        let line = format!(
            "{}: {}",
            prio_prefix(record.level(), record.target()),
            record.args()
        );
        if record.level() >= Level::Debug {
            self.debug_line(&line);
        } else {
            self.log_line(&line, true);
        }
    }

    fn flush(&self) {}
}

/// Installs the logger for this process (once; later calls are ignored).
pub fn init(env: &Env, instance: &str) {
    let logger = LOGGER.get_or_init(|| HaLogger::from_env(env, instance));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(if logger.debug {
            LevelFilter::Debug
        } else {
            LevelFilter::Info
        });
    }
}

/// Logs an exit reason as `ERROR: msg` to syslog/logfile (not to stderr).
pub fn log_exit_reason(msg: &str) {
    if let Some(logger) = LOGGER.get() {
        logger.log_line(&format!("ERROR: {msg}"), false);
    }
}

/// [`log_exit_reason`] for the panic hook: never waits for a lock (the
/// panicking code may hold the syslog sink's; then syslog is skipped).
pub fn log_exit_reason_nowait(msg: &str) {
    if let Some(logger) = LOGGER.get() {
        logger.emit(&format!("ERROR: {msg}"), false, false);
    }
}

/// Runs `f` with the syslog sink's lock held (tests of the panic hook).
#[cfg(test)]
pub(crate) fn with_syslog_locked<R>(f: impl FnOnce() -> R) -> R {
    let logger = LOGGER.get().expect("logging::init first");
    let _held = logger.syslog.lock();
    f()
}

/// The local time formatted with strftime(3), as `date +FMT` would.
/// One log-file record: `line` on one line, then a newline.
fn record(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 1);
    for c in line.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

fn local_date(fmt: &str) -> String {
    use nix::libc;
    let Ok(cfmt) = std::ffi::CString::new(fmt) else {
        return String::new();
    };
    let mut buf = [0u8; 128];
    // SAFETY: time/localtime_r/strftime are given valid pointers to
    // initialised local storage and a NUL-terminated format; strftime never
    // writes more than buf.len() bytes.
    let len = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return String::new();
        }
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), &tm)
    };
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_writers_never_interleave_inside_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ha.log");
        std::thread::scope(|scope| {
            for writer in 0..8 {
                let path = &path;
                scope.spawn(move || {
                    let line = format!("writer {writer}: {}", "x".repeat(200));
                    for _ in 0..2000 {
                        HaLogger::append(path, &line);
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 16000);
        for line in text.lines() {
            assert!(
                line.len() == "writer 0: ".len() + 200 && line.starts_with("writer "),
                "a torn line: {line:?}"
            );
        }
    }

    #[test]
    fn an_embedded_line_break_is_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ha.log");
        HaLogger::append(&path, "output: a\nb\r\nc");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "output: a\\nb\\r\\nc\n"
        );
    }

    #[test]
    fn severity_follows_the_text_like_ha_log() {
        assert_eq!(severity_of("ERROR: x"), "err");
        assert_eq!(severity_of("WARNING: x"), "warning");
        assert_eq!(severity_of("INFO: x"), "info");
        assert_eq!(severity_of("NOTICE: x"), "notice");
        assert_eq!(severity_of("INFO: an ERROR inside"), "err");
    }

    #[test]
    fn prefixes() {
        assert_eq!(prio_prefix(Level::Error, ""), "ERROR");
        assert_eq!(prio_prefix(Level::Warn, ""), "WARNING");
        assert_eq!(prio_prefix(Level::Info, NOTICE), "NOTICE");
        assert_eq!(prio_prefix(Level::Info, "x"), "INFO");
        assert_eq!(prio_prefix(Level::Debug, ""), "DEBUG");
    }

    #[test]
    fn facility_none_and_unknown_disable_syslog() {
        assert!(facility_from(&Env::from_pairs([("HA_LOGFACILITY", "none")])).is_none());
        assert!(facility_from(&Env::from_pairs([("HA_LOGFACILITY", "bogus")])).is_none());
        assert!(matches!(
            facility_from(&Env::from_pairs([("HA_LOGFACILITY", "daemon")])),
            Some(Facility::LOG_DAEMON)
        ));
        assert!(matches!(
            facility_from(&Env::from_pairs([("HA_logfacility", "local3")])),
            Some(Facility::LOG_LOCAL3)
        ));
    }

    #[test]
    fn date_has_the_anchor_shape() {
        let d = local_date("%b %d %T ");
        assert_eq!(d.len(), "Nov 23 21:09:56 ".len(), "{d:?}");
    }
}
