//! The migration parameters, checked once into types: `migrate_options`
//! (see [`migrate_options`](super::migrate_options)), `migration_mode`,
//! `migration_mapping`, the double-start protection, and the words that
//! go into URIs (`migration_transport`, `migration_network_suffix`,
//! `migrateport`), which must not be able to carry URI syntax.
//!
//! Checked for the actions that use them (validate-all, migrate_to,
//! migrate_from, reload-agent; start only the double-start protection's):
//! a broken migration setting must not fail the monitor of a running guest,
//! nor its start.

use super::migrate_options::{self, is_address, split_migrateuri_option, MigrateOptions};
use crate::controller::{MigrateFlag, MigrationMode};
use crate::params::Params;

/// The checked migration settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrationSettings {
    pub options: MigrateOptions,
    pub mode: MigrationMode,
    /// `migration_mapping`: the host to migrate to for each node name.
    pub mapping: Vec<(String, String)>,
    /// `None`: double-start protection off. `Some(nodes)`: on, asking
    /// these nodes (empty: the cluster's members).
    pub double_start_nodes: Option<Vec<String>>,
    pub convergence: ConvergenceSettings,
}

/// What a migration does when a completion or progress timeout fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnExpiry {
    /// Cancel it: the guest stays on the source (the default).
    #[default]
    Abort,
    /// Pause the guest so the copy completes; it resumes on the target.
    Pause,
    /// Switch to post-copy: the guest runs on the target at once; a
    /// failure from then on loses it.
    PostCopy,
}

/// The convergence policy's parameters (all off by default: today's
/// behaviour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConvergenceSettings {
    /// `migration_max_downtime` (ms): raise the downtime up to it.
    pub max_downtime_ms: Option<u64>,
    pub auto_converge: bool,
    /// `migration_completion_timeout`: seconds per GiB of guest memory.
    pub completion_per_gib: Option<u64>,
    /// `migration_progress_timeout`: seconds without progress.
    pub progress_timeout: Option<u64>,
    pub on_expiry: OnExpiry,
}

/// Checks the convergence policy's parameters.
fn convergence(params: &Params, options: &MigrateOptions) -> Result<ConvergenceSettings, String> {
    let number = |name: &str, value: &crate::params::Decimal| {
        value
            .valid()
            .map(|n| Some(n).filter(|n| *n != 0))
            .ok_or_else(|| format!("{name} has to be a decimal value"))
    };
    let on_expiry = match params.migration_timeout_action.as_str() {
        "abort" => OnExpiry::Abort,
        "pause" => OnExpiry::Pause,
        "postcopy" => OnExpiry::PostCopy,
        other => {
            return Err(format!(
                "migration_timeout_action \"{other}\" is not abort, pause or postcopy"
            ))
        }
    };
    if on_expiry == OnExpiry::PostCopy && options.flags.contains(&MigrateFlag::Tunnelled) {
        return Err(
            "migration_timeout_action=postcopy: libvirt has no post-copy for a tunnelled migration"
                .into(),
        );
    }
    let t = &options.tuning;
    if (t.auto_converge_initial.is_some() || t.auto_converge_increment.is_some())
        && !options.flags.contains(&MigrateFlag::AutoConverge)
        && !params.migration_auto_converge
    {
        return Err(
            "migrate_options: --auto-converge-initial/-increment need --auto-converge or migration_auto_converge"
                .into(),
        );
    }
    Ok(ConvergenceSettings {
        max_downtime_ms: number("migration_max_downtime", &params.migration_max_downtime)?,
        auto_converge: params.migration_auto_converge,
        completion_per_gib: number(
            "migration_completion_timeout",
            &params.migration_completion_timeout,
        )?,
        progress_timeout: number(
            "migration_progress_timeout",
            &params.migration_progress_timeout,
        )?,
        on_expiry,
    })
}

impl MigrationSettings {
    /// The host to migrate to for the node `target`.
    pub fn host_for<'a>(&'a self, target: &'a str) -> &'a str {
        self.mapping
            .iter()
            .find(|(node, _)| node == target)
            .map_or(target, |(_, host)| host.as_str())
    }
}

/// Checks and types the migration parameters; the first problem's reason.
pub fn migration_settings(params: &Params) -> Result<MigrationSettings, String> {
    let transport = &params.migration_transport;
    if !transport
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err(format!(
            "migration_transport \"{transport}\" is not a transport name (ssh, tcp, tls, ...)"
        ));
    }
    let suffix = &params.migration_network_suffix;
    if !suffix.is_empty() && !is_address(&format!("n{suffix}")) {
        return Err(format!(
            "migration_network_suffix \"{suffix}\" is not part of a host name"
        ));
    }
    if let Some(port) = params.migrateport.as_deref().filter(|p| !p.is_empty()) {
        if !port.parse::<u16>().is_ok_and(|p| p > 0) || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("migrateport \"{port}\" is not a port number"));
        }
    }
    let mode = match params.migration_mode.as_str() {
        "live" => MigrationMode::Live,
        "pause" => MigrationMode::Pause,
        other => return Err(format!("migration_mode \"{other}\" is not live or pause")),
    };
    let (words, option_uri) =
        split_migrateuri_option(params.migrate_options.as_deref().unwrap_or(""));
    let options = migrate_options::parse(&words)?;
    if mode == MigrationMode::Pause {
        if options.live {
            return Err("migrate_options --live contradicts migration_mode=pause".into());
        }
        if options.flags.contains(&MigrateFlag::PostCopy) {
            return Err(
                "migrate_options --postcopy needs a live migration (migration_mode=live)".into(),
            );
        }
        if params.migration_timeout_action == "postcopy" {
            return Err(
                "migration_timeout_action=postcopy needs a live migration (migration_mode=live)"
                    .into(),
            );
        }
        if options.timeout.is_some() {
            return Err(
                "migrate_options --timeout: with migration_mode=pause the guest is paused for the whole copy"
                    .into(),
            );
        }
    }
    let explicit_uri = params.migrateuri.is_some() || option_uri.is_some();
    if options.flags.contains(&MigrateFlag::Tunnelled) && explicit_uri {
        return Err(
            "a tunnelled migration sends the memory through libvirt's connection: migrateuri cannot be used with it"
                .into(),
        );
    }
    Ok(MigrationSettings {
        convergence: convergence(params, &options)?,
        options,
        mode,
        mapping: parse_mapping(&params.migration_mapping)?,
        double_start_nodes: double_start_nodes(params)?,
    })
}

/// The settings start uses: only the double-start protection's (a start
/// refused for a migration word would stop the resource on every node,
/// while the guest itself starts well; migrate_to and validate-all report
/// such a word).
pub fn start_settings(params: &Params) -> Result<MigrationSettings, String> {
    Ok(MigrationSettings {
        double_start_nodes: double_start_nodes(params)?,
        ..MigrationSettings::default()
    })
}

/// `None`: double-start protection off; else the nodes to ask (empty: the
/// cluster's members).
fn double_start_nodes(params: &Params) -> Result<Option<Vec<String>>, String> {
    params
        .double_start_protection
        .then(|| parse_nodes(&params.double_start_nodes))
        .transpose()
}

/// `node1:host1,node2:host2` (spaces allowed around the parts).
fn parse_mapping(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut mapping: Vec<(String, String)> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let bad = || format!("migration_mapping entry \"{entry}\" is not NODE:HOST");
        let (node, host) = entry.split_once(':').ok_or_else(bad)?;
        let (node, host) = (node.trim(), host.trim());
        if !is_address(node) || !is_address(host) {
            return Err(bad());
        }
        if mapping.iter().any(|(n, _)| n == node) {
            return Err(format!("migration_mapping names node {node} twice"));
        }
        mapping.push((node.to_string(), host.to_string()));
    }
    Ok(mapping)
}

/// Node names separated by commas or spaces.
fn parse_nodes(text: &str) -> Result<Vec<String>, String> {
    text.split([',', ' ', '\t'])
        .filter(|n| !n.is_empty())
        .map(|n| {
            if is_address(n) {
                Ok(n.to_string())
            } else {
                Err(format!("double_start_nodes: \"{n}\" is not a node name"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocf::Env;

    fn settings(pairs: &[(&str, &str)]) -> Result<MigrationSettings, String> {
        let env = Env::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())),
        );
        migration_settings(&Params::from_env(&env))
    }

    #[test]
    fn defaults_keep_the_anchors_behaviour() {
        let s = settings(&[]).unwrap();
        assert_eq!(s, MigrationSettings::default());
        assert_eq!(s.mode, MigrationMode::Live);
        assert_eq!(s.host_for("n2"), "n2");
        assert_eq!(s.double_start_nodes, None);
    }

    #[test]
    fn the_convergence_policy() {
        let s = settings(&[
            ("migration_max_downtime", "2000"),
            ("migration_auto_converge", "yes"),
            ("migration_completion_timeout", "800"),
            ("migration_progress_timeout", "0"),
            ("migration_timeout_action", "pause"),
        ])
        .unwrap();
        assert_eq!(
            s.convergence,
            ConvergenceSettings {
                max_downtime_ms: Some(2000),
                auto_converge: true,
                completion_per_gib: Some(800),
                progress_timeout: None,
                on_expiry: OnExpiry::Pause,
            }
        );
    }

    #[test]
    fn mapping_and_mode() {
        let s = settings(&[
            ("migration_mapping", "n1:n1-mig, n2 : 10.0.0.2 ,"),
            ("migration_mode", "pause"),
        ])
        .unwrap();
        assert_eq!(s.host_for("n2"), "10.0.0.2");
        assert_eq!(s.host_for("n1"), "n1-mig");
        assert_eq!(s.host_for("n3"), "n3");
        assert_eq!(s.mode, MigrationMode::Pause);
        let s = settings(&[
            ("double_start_protection", "true"),
            ("double_start_nodes", "n1, n2 n3"),
        ])
        .unwrap();
        assert_eq!(
            s.double_start_nodes,
            Some(vec!["n1".into(), "n2".into(), "n3".into()])
        );
        let s = settings(&[("double_start_protection", "yes")]).unwrap();
        assert_eq!(s.double_start_nodes, Some(vec![]));
    }

    #[test]
    fn nothing_can_inject_uri_parts() {
        let table = [
            ("migration_transport", "ssh/x", "transport name"),
            ("migration_transport", "ssh?socket=/x", "transport name"),
            ("migration_network_suffix", "-mig/system?x", "host name"),
            ("migration_network_suffix", "@evil", "host name"),
            ("migrateport", "49152/x", "port number"),
            ("migrateport", "0", "port number"),
            ("migrateport", "70000", "port number"),
            ("migrateport", "+1", "port number"),
            ("migration_mode", "fast", "live or pause"),
            ("migration_mapping", "n1", "NODE:HOST"),
            ("migration_mapping", "n1:h/x", "NODE:HOST"),
            ("migration_mapping", "n1:h1,n1:h2", "twice"),
            (
                "migration_timeout_action",
                "force",
                "abort, pause or postcopy",
            ),
            ("migration_max_downtime", "2s", "decimal"),
            ("migration_completion_timeout", "-1", "decimal"),
            ("migration_progress_timeout", "", "decimal"),
        ];
        for (key, value, why) in table {
            let err = settings(&[(key, value)]).unwrap_err();
            assert!(err.contains(why), "{key}={value}: {err}");
        }
        let err = settings(&[
            ("double_start_protection", "1"),
            ("double_start_nodes", "a/b"),
        ])
        .unwrap_err();
        assert!(err.contains("node name"), "{err}");
    }

    #[test]
    fn combinations_that_cannot_work_are_refused() {
        for (words, why) in [
            ("--live", "contradicts"),
            ("--postcopy", "needs a live migration"),
            ("--timeout 30", "paused for the whole copy"),
        ] {
            let err =
                settings(&[("migration_mode", "pause"), ("migrate_options", words)]).unwrap_err();
            assert!(err.contains(why), "{words}: {err}");
        }
        for extra in [
            ("migrateuri", "tcp://%n:49152"),
            ("migrate_options", "--p2p --tunnelled --migrateuri=tcp://x"),
        ] {
            let mut pairs = vec![("migrate_options", "--p2p --tunnelled")];
            pairs.retain(|(k, _)| *k != extra.0);
            pairs.push(extra);
            let err = settings(&pairs).unwrap_err();
            assert!(err.contains("tunnelled"), "{extra:?}: {err}");
        }
        let words = ("migrate_options", "--auto-converge-initial 20");
        assert!(settings(&[words])
            .unwrap_err()
            .contains("need --auto-converge"));
        assert!(settings(&[words, ("migration_auto_converge", "1")]).is_ok());
        for pairs in [
            [
                ("migration_timeout_action", "postcopy"),
                ("migration_mode", "pause"),
            ],
            [
                ("migration_timeout_action", "postcopy"),
                ("migrate_options", "--p2p --tunnelled"),
            ],
        ] {
            let err = settings(&pairs).unwrap_err();
            assert!(err.contains("postcopy"), "{pairs:?}: {err}");
        }
        // the --migrateuri= token is the composition's, not an option
        let s = settings(&[(
            "migrate_options",
            "--p2p --migrateuri=tcp://%n:1234 --persistent",
        )])
        .unwrap();
        assert_eq!(
            s.options.flags.into_iter().collect::<Vec<_>>(),
            vec![MigrateFlag::PeerToPeer, MigrateFlag::PersistDest]
        );
    }
}
