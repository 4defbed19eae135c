//! The agent's instance parameters, parsed once from `OCF_RESKEY_*`.
//!
//! Defaults follow the anchor's shell semantics `${VAR=default}`: a
//! parameter set to the empty string stays empty (and an empty boolean is
//! false), only an unset one takes the default. Booleans accept exactly
//! `ocf_is_true`'s words. Values whose check can fail (the decimals) keep
//! what the user wrote so validation can report it in the anchor's order.

use std::ffi::OsString;

use crate::ocf::Env;

/// `ocf_is_true`: exactly these words are true, everything else is false.
pub const TRUE_WORDS: [&str; 9] = ["yes", "true", "1", "YES", "TRUE", "True", "ja", "on", "ON"];

pub fn is_true(value: &str) -> bool {
    TRUE_WORDS.contains(&value)
}

/// A decimal parameter (`ocf_is_decimal`: one or more ASCII digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decimal {
    Valid(u64),
    Invalid(String),
}

impl Decimal {
    pub fn parse(raw: &str) -> Decimal {
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            Decimal::Valid(raw.parse().unwrap_or(u64::MAX))
        } else {
            Decimal::Invalid(raw.to_string())
        }
    }

    /// The value, `None` when the text is not a decimal.
    pub fn valid(&self) -> Option<u64> {
        match self {
            Decimal::Valid(v) => Some(*v),
            Decimal::Invalid(_) => None,
        }
    }

    pub fn is_valid(&self) -> bool {
        matches!(self, Decimal::Valid(_))
    }
}

/// All parameters of ocf:rust:VirtualDomain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// Path of the domain XML; `None` when unset *or empty* (required).
    pub config: Option<OsString>,
    /// `None` = unset: libvirt's default URI is used.
    pub hypervisor: Option<String>,
    pub force_stop: bool,
    pub migration_transport: String,
    pub migration_user: Option<String>,
    pub migration_downtime: Decimal,
    pub migration_speed: Decimal,
    pub migration_network_suffix: String,
    pub migrateuri: Option<String>,
    pub migrate_options: Option<String>,
    /// `monitor_scripts`, split on whitespace.
    pub monitor_scripts: Vec<String>,
    pub autoset_utilization_cpu: bool,
    pub autoset_utilization_host_memory: bool,
    pub autoset_utilization_hv_memory: bool,
    pub unset_utilization_cpu: bool,
    pub unset_utilization_host_memory: bool,
    pub unset_utilization_hv_memory: bool,
    /// `None` = unset: a random port 49152..=49215 is used (as the anchor).
    pub migrateport: Option<String>,
    pub remoteuri: Option<String>,
    /// Forced true by `sync_config_on_stop`, as the anchor.
    pub save_config_on_stop: bool,
    pub sync_config_on_stop: bool,
    pub snapshot: String,
    pub backingfile: String,
    pub stateless: bool,
    pub copyindirs: String,
    pub shutdown_mode: String,
    pub start_resources: bool,
    /// Added by this agent: how long the graceful shutdown may last before
    /// destroy, as written (Pacemaker's time syntax, checked where it is
    /// used: `actions::setup::shutdown_settings`). `None`: unset.
    pub shutdown_timeout: Option<String>,
    /// Added (from rgmanager): `node:host,…`, the host to migrate to per node.
    pub migration_mapping: String,
    /// Added (from rgmanager): `live` (default) or `pause`.
    pub migration_mode: String,
    /// Added: before start, ask the other nodes whether the domain runs there.
    pub double_start_protection: bool,
    /// Added: the nodes to ask (empty: the cluster's members).
    pub double_start_nodes: String,
    /// Added: keep the domain defined (persistent) instead of transient.
    pub persistent: bool,
    /// Added: what a monitor does with a guest qemu paused on a disk I/O
    /// error (`report`, `resume`, `destroy`), as written; checked where it
    /// is used (`request::settings::io_error_settings`).
    pub io_error_policy: String,
    /// Added: `io_error_policy`'s delay and window, as written (`None`: unset).
    pub io_error_delay: Option<String>,
    /// Added (convergence policy): the largest downtime (ms) the policy may
    /// raise to while the copy stalls; 0: no raising.
    pub migration_max_downtime: Decimal,
    /// Added: `VIR_MIGRATE_AUTO_CONVERGE` (throttle the guest's vCPUs).
    pub migration_auto_converge: bool,
    /// Added: the completion deadline, seconds per GiB of guest memory; 0: none.
    pub migration_completion_timeout: Decimal,
    /// Added: the longest time (s) without progress; 0: none.
    pub migration_progress_timeout: Decimal,
    /// Added: `abort` (default), `pause` or `postcopy` when a timeout fires.
    pub migration_timeout_action: String,
}

impl Params {
    pub fn from_env(env: &Env) -> Params {
        let string =
            |name: &str, default: &str| env.reskey(name).unwrap_or_else(|| default.to_string());
        let flag = |name: &str, default: bool| env.reskey(name).map_or(default, |v| is_true(&v));
        let sync_config_on_stop = flag("sync_config_on_stop", false);
        Params {
            config: env
                .reskey_os("config")
                .filter(|v| !v.is_empty())
                .map(|v| v.to_owned()),
            hypervisor: env.reskey("hypervisor"),
            force_stop: flag("force_stop", false),
            migration_transport: string("migration_transport", ""),
            migration_user: env.reskey("migration_user"),
            migration_downtime: Decimal::parse(&string("migration_downtime", "0")),
            migration_speed: Decimal::parse(&string("migration_speed", "0")),
            migration_network_suffix: string("migration_network_suffix", ""),
            migrateuri: env.reskey("migrateuri"),
            migrate_options: env.reskey("migrate_options"),
            monitor_scripts: string("monitor_scripts", "")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            autoset_utilization_cpu: flag("autoset_utilization_cpu", true),
            autoset_utilization_host_memory: flag("autoset_utilization_host_memory", true),
            autoset_utilization_hv_memory: flag("autoset_utilization_hv_memory", true),
            unset_utilization_cpu: flag("unset_utilization_cpu", false),
            unset_utilization_host_memory: flag("unset_utilization_host_memory", false),
            unset_utilization_hv_memory: flag("unset_utilization_hv_memory", false),
            migrateport: env.reskey("migrateport"),
            remoteuri: env.reskey("remoteuri"),
            save_config_on_stop: sync_config_on_stop || flag("save_config_on_stop", false),
            sync_config_on_stop,
            snapshot: string("snapshot", ""),
            backingfile: string("backingfile", ""),
            stateless: flag("stateless", false),
            copyindirs: string("copyindirs", ""),
            shutdown_mode: string("shutdown_mode", ""),
            start_resources: flag("start_resources", false),
            shutdown_timeout: env.reskey("shutdown_timeout"),
            migration_mapping: string("migration_mapping", ""),
            migration_mode: string("migration_mode", "live"),
            double_start_protection: flag("double_start_protection", false),
            double_start_nodes: string("double_start_nodes", ""),
            persistent: flag("persistent", false),
            io_error_policy: string("io_error_policy", "report"),
            io_error_delay: env.reskey("io_error_delay"),
            migration_max_downtime: Decimal::parse(&string("migration_max_downtime", "0")),
            migration_auto_converge: flag("migration_auto_converge", false),
            migration_completion_timeout: Decimal::parse(&string(
                "migration_completion_timeout",
                "0",
            )),
            migration_progress_timeout: Decimal::parse(&string("migration_progress_timeout", "0")),
            migration_timeout_action: string("migration_timeout_action", "abort"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_env(&Env::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())),
        ))
    }

    #[test]
    fn true_words_are_exactly_ocf_is_true() {
        for w in ["yes", "true", "1", "YES", "TRUE", "True", "ja", "on", "ON"] {
            assert!(is_true(w), "{w}");
        }
        for w in [
            "Yes", "y", "On", "", "0", "false", "no", " yes", "tRUE", "2",
        ] {
            assert!(!is_true(w), "{w:?}");
        }
    }

    #[test]
    fn defaults_match_the_anchor() {
        let p = params(&[]);
        assert_eq!(p.config, None);
        assert_eq!(p.hypervisor, None);
        assert!(!p.force_stop);
        assert_eq!(p.migration_downtime, Decimal::Valid(0));
        assert_eq!(p.migration_speed, Decimal::Valid(0));
        assert!(
            p.autoset_utilization_cpu
                && p.autoset_utilization_host_memory
                && p.autoset_utilization_hv_memory
        );
        assert!(
            !p.unset_utilization_cpu
                && !p.unset_utilization_host_memory
                && !p.unset_utilization_hv_memory
        );
        assert!(
            !p.save_config_on_stop && !p.sync_config_on_stop && !p.stateless && !p.start_resources
        );
        assert_eq!(p.migrateport, None);
        assert!(p.monitor_scripts.is_empty());
    }

    #[test]
    fn empty_is_not_unset() {
        let p = params(&[
            ("autoset_utilization_cpu", ""),
            ("migration_speed", ""),
            ("hypervisor", ""),
            ("config", ""),
        ]);
        assert!(
            !p.autoset_utilization_cpu,
            "empty boolean is false, not the default true"
        );
        assert_eq!(p.migration_speed, Decimal::Invalid(String::new()));
        assert_eq!(p.hypervisor, Some(String::new()));
        assert_eq!(p.config, None, "empty config counts as not set");
    }

    #[test]
    fn sync_forces_save() {
        let p = params(&[("sync_config_on_stop", "yes")]);
        assert!(p.save_config_on_stop);
    }

    #[test]
    fn decimals() {
        assert_eq!(Decimal::parse("0"), Decimal::Valid(0));
        assert_eq!(Decimal::parse("0100"), Decimal::Valid(100));
        assert!(!Decimal::parse("-1").is_valid());
        assert!(!Decimal::parse("1.5").is_valid());
        assert!(!Decimal::parse(" 1").is_valid());
        assert!(!Decimal::parse("").is_valid());
        assert_eq!(
            Decimal::parse("99999999999999999999999"),
            Decimal::Valid(u64::MAX)
        );
    }

    #[test]
    fn monitor_scripts_split_on_whitespace() {
        let p = params(&[("monitor_scripts", " /a  /b\t/c ")]);
        assert_eq!(p.monitor_scripts, vec!["/a", "/b", "/c"]);
    }
}
