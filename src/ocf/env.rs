//! The OCF environment: everything Pacemaker (or ocf-tester, or a person)
//! hands the agent through environment variables, read once.
//!
//! Parameters proper (`OCF_RESKEY_<param>`) are typed in `params`; this
//! module holds the operation context: instance, interval, timeout,
//! migration peers, directories and the logging switches.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::timing::TimeBudget;

/// Default operation timeout when `OCF_RESKEY_CRM_meta_timeout` is absent,
/// as the anchor (90000 ms).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(90_000);
/// Where the anchor keeps its per-resource state (`HA_RSCTMP`).
pub const DEFAULT_RSCTMP: &str = "/run/resource-agents";

/// A snapshot of the process environment (or a test's fake one).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<OsString, OsString>,
}

impl Env {
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os().collect(),
        }
    }

    pub fn from_pairs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
                .collect(),
        }
    }

    /// The raw value; `Some("")` (set but empty) differs from `None` (unset).
    pub fn get_os(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(|v| v.as_os_str())
    }

    /// The value as text (invalid UTF-8 replaced), set-but-empty kept.
    pub fn get(&self, name: &str) -> Option<String> {
        self.get_os(name).map(|v| v.to_string_lossy().into_owned())
    }

    /// The value when set and not empty.
    pub fn non_empty(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// `OCF_RESKEY_<name>`.
    pub fn reskey(&self, name: &str) -> Option<String> {
        self.get(&format!("OCF_RESKEY_{name}"))
    }

    pub fn reskey_os(&self, name: &str) -> Option<&OsStr> {
        self.get_os(&format!("OCF_RESKEY_{name}"))
    }
}

/// The operation context of one agent invocation.
#[derive(Debug, Clone)]
pub struct OcfContext {
    /// `OCF_RESOURCE_INSTANCE` (`default` when run by hand).
    pub instance: String,
    /// `OCF_RESKEY_CRM_meta_interval` in ms; absent means 0.
    pub interval_ms: u64,
    /// `OCF_RESKEY_CRM_meta_timeout`, or [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// When the agent started: every deadline is measured from here.
    pub started: Instant,
    pub migrate_target: Option<String>,
    pub migrate_source: Option<String>,
    /// `OCF_RESKEY_CRM_meta_on_node`: this node's name in the cluster.
    pub on_node: Option<String>,
    /// `HA_RSCTMP`: per-resource state that lives until the node reboots.
    pub rsctmp: PathBuf,
    /// `OCF_CHECK_LEVEL`: the monitor depth (0, 10, 20; see `guest::pause`, `guest::agent`).
    pub check_level: u32,
    /// The offline CIB Pacemaker's client library would use: `CIB_file`,
    /// unless `CIB_shadow` (a shadow CIB, which libcib finds itself) is set.
    pub offline_cib: Option<PathBuf>,
}

impl OcfContext {
    pub fn from_env(env: &Env) -> Self {
        let instance = env
            .non_empty("OCF_RESOURCE_INSTANCE")
            .unwrap_or_else(|| "default".to_string());
        let interval_ms = env
            .get("OCF_RESKEY_CRM_meta_interval")
            .and_then(|v| parse_ms(&v))
            .unwrap_or(0);
        let timeout = env
            .get("OCF_RESKEY_CRM_meta_timeout")
            .and_then(|v| parse_ms(&v))
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_TIMEOUT);
        let check_level = env
            .non_empty("OCF_CHECK_LEVEL")
            .or_else(|| env.non_empty("OCF_RESKEY_OCF_CHECK_LEVEL"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        OcfContext {
            instance,
            interval_ms,
            timeout,
            started: Instant::now(),
            migrate_target: env.non_empty("OCF_RESKEY_CRM_meta_migrate_target"),
            migrate_source: env.non_empty("OCF_RESKEY_CRM_meta_migrate_source"),
            on_node: env.non_empty("OCF_RESKEY_CRM_meta_on_node"),
            rsctmp: env
                .non_empty("HA_RSCTMP")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_RSCTMP)),
            check_level,
            offline_cib: env
                .non_empty("CIB_shadow")
                .is_none()
                .then(|| env.non_empty("CIB_file").map(PathBuf::from))
                .flatten(),
        }
    }

    /// A monitor with interval 0 (or none) is a probe.
    pub fn is_probe(&self) -> bool {
        self.interval_ms == 0
    }

    /// This node's name: Pacemaker's, else the host name.
    pub fn local_node(&self) -> Option<String> {
        self.on_node.clone().or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
    }

    /// This operation's time and its splits.
    pub fn budget(&self) -> TimeBudget {
        TimeBudget::new(self.started, self.timeout)
    }

    /// The instant at which Pacemaker gives up on this operation.
    pub fn deadline(&self) -> Instant {
        self.budget().deadline()
    }

    /// When all work must have ended: see [`TimeBudget::work_end`].
    pub fn work_end(&self) -> Instant {
        self.budget().work_end()
    }

    /// Time left before [`Self::work_end`].
    pub fn work_left(&self) -> Duration {
        self.budget().work_left()
    }
}

/// Pacemaker passes milliseconds as decimal text; anything else is ignored.
fn parse_ms(v: &str) -> Option<u64> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(v.parse::<u64>().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> OcfContext {
        OcfContext::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn missing_or_zero_interval_is_a_probe() {
        assert!(ctx(&[]).is_probe());
        assert!(ctx(&[("OCF_RESKEY_CRM_meta_interval", "0")]).is_probe());
        assert!(!ctx(&[("OCF_RESKEY_CRM_meta_interval", "10000")]).is_probe());
    }

    #[test]
    fn the_budget_is_the_operations_timeout() {
        let c = ctx(&[("OCF_RESKEY_CRM_meta_timeout", "8000")]);
        assert_eq!(c.deadline() - c.work_end(), Duration::from_secs(1));
    }

    #[test]
    fn timeout_defaults_to_90s_and_reads_ms() {
        assert_eq!(ctx(&[]).timeout, Duration::from_secs(90));
        assert_eq!(
            ctx(&[("OCF_RESKEY_CRM_meta_timeout", "20000")]).timeout,
            Duration::from_secs(20)
        );
        assert_eq!(
            ctx(&[("OCF_RESKEY_CRM_meta_timeout", "junk")]).timeout,
            Duration::from_secs(90)
        );
    }

    #[test]
    fn instance_and_rsctmp_defaults() {
        let c = ctx(&[]);
        assert_eq!(c.instance, "default");
        assert_eq!(c.rsctmp, PathBuf::from("/run/resource-agents"));
        let c = ctx(&[("OCF_RESOURCE_INSTANCE", "vm1"), ("HA_RSCTMP", "/tmp/x")]);
        assert_eq!(c.instance, "vm1");
        assert_eq!(c.rsctmp, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn empty_differs_from_unset() {
        let env = Env::from_pairs([("OCF_RESKEY_a", "")]);
        assert_eq!(env.reskey("a"), Some(String::new()));
        assert_eq!(env.reskey("b"), None);
    }
}
