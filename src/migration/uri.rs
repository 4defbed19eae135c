//! Where a live migration goes: the destination URI (the target's libvirt)
//! and the optional migration URI (where qemu sends the RAM), composed from
//! the target node's name and the migration parameters exactly as the
//! anchor composes them (anchor spec §7), except for two of its defects:
//!
//! * `%n` in `migrateuri` / `--migrateuri=` expands to the target with the
//!   network suffix but never with `migration_user@` (the anchor produced
//!   `tcp://admin@node2-mig`, which qemu cannot use);
//! * a `hypervisor` URI that already names a transport has it replaced by
//!   `migration_transport`, not appended to (the anchor produced
//!   `qemu+tcp+ssh://…`), and one with no `scheme://host/path` shape is an
//!   error instead of a broken command;
//! * an invalid `migration_user` is still not used, but is logged as a
//!   warning (the anchor drops it silently).
//!
//! Pure: the random port is passed in, so every rule is table-tested.

use crate::request::migrate_options::split_migrateuri_option;

/// The migration parameters the composition reads.
#[derive(Debug, Clone, Default)]
pub struct MigrationParams<'a> {
    pub hypervisor: &'a str,
    pub transport: &'a str,
    pub user: Option<&'a str>,
    pub network_suffix: &'a str,
    pub remoteuri: Option<&'a str>,
    pub migrateuri: Option<&'a str>,
    pub migrate_options: &'a str,
    pub migrateport: Option<&'a str>,
    /// The target was replaced by its `migration_mapping` host: a dedicated
    /// migration network, so a migration URI is generated as for
    /// `migration_network_suffix` (rule 3).
    pub mapped: bool,
}

/// What `migrate_to` needs to start the migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationPlan {
    pub dest_uri: String,
    pub migrate_uri: Option<String>,
    /// `migrate_options` words without the `--migrateuri=` token.
    pub options: Vec<String>,
    /// Messages to log as warnings.
    pub warnings: Vec<String>,
}

/// Composes the plan for migrating `domain` to the node `target`;
/// `random_port` picks a port in 49152–49215 when one is needed and
/// `migrateport` is unset.
pub fn compose(
    domain: &str,
    target: &str,
    p: &MigrationParams,
    random_port: impl FnOnce() -> u16,
) -> Result<MigrationPlan, String> {
    let suffixed = with_suffix(target, p.network_suffix);
    let valid_user = p.user.filter(|u| is_valid_user(u));
    let mut warnings = Vec::new();
    if let Some(user) = p.user.filter(|u| !u.is_empty() && !is_valid_user(u)) {
        warnings.push(format!(
            "{domain}: migration_user \"{user}\" is not a valid user name; not used"
        ));
    }
    // %n: the raw target with remoteuri (as the anchor), else the suffixed one
    let n_value = if p.remoteuri.is_some() {
        target
    } else {
        &suffixed
    };
    let dest_uri = match p.remoteuri {
        Some(remote) => remote.replace("%n", target),
        None => {
            let host = match valid_user {
                Some(user) => format!("{user}@{suffixed}"),
                None => suffixed.clone(),
            };
            rewrite_host(p.hypervisor, p.transport, &host).ok_or_else(|| {
                format!(
                    "{domain}: cannot derive the destination URI from hypervisor \"{}\"",
                    p.hypervisor
                )
            })?
        }
    };
    let (options, option_uri) = split_migrateuri_option(p.migrate_options);
    let migrate_uri = if let Some(uri) = p.migrateuri {
        Some(uri.replace("%n", n_value))
    } else if let Some(uri) = option_uri {
        Some(uri.replace("%n", n_value))
    } else if !p.network_suffix.is_empty() || p.mapped {
        let scheme = p.hypervisor.split(['+', ':']).next().unwrap_or("");
        match scheme {
            "qemu" => {
                let port = match p.migrateport.filter(|s| !s.is_empty()) {
                    Some(port) => port.to_string(),
                    None => random_port().to_string(),
                };
                Some(format!("tcp:{suffixed}:{port}"))
            }
            "xen" => Some(suffixed.clone()),
            other => {
                warnings.push(format!(
                    "{domain}: Migration via dedicated network currently not supported for {other}."
                ));
                None
            }
        }
    } else {
        None
    };
    Ok(MigrationPlan {
        dest_uri,
        migrate_uri,
        options,
        warnings,
    })
}

/// Appends `suffix` to the first DNS label: `node2.example.com` + `-mig`
/// → `node2-mig.example.com`.
pub fn with_suffix(host: &str, suffix: &str) -> String {
    match host.split_once('.') {
        Some((first, rest)) => format!("{first}{suffix}.{rest}"),
        None => format!("{host}{suffix}"),
    }
}

/// The anchor's `^[a-z][-a-z0-9]*$`.
fn is_valid_user(user: &str) -> bool {
    let mut chars = user.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c == '-' || c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// `scheme[+transport]://host[:port]/path` with the host replaced and the
/// transport set to `transport` (kept when `transport` is empty).
fn rewrite_host(uri: &str, transport: &str, host: &str) -> Option<String> {
    // like the anchor's greedy regex: the last "://" after which the rest fits
    let mut search_end = uri.len();
    while let Some(at) = uri[..search_end].rfind("://") {
        let (scheme, rest) = (&uri[..at], &uri[at + 3..]);
        let host_end = rest.find(['/', ':']).unwrap_or(rest.len());
        let after_host = &rest[host_end..];
        let port_len = after_host
            .strip_prefix(':')
            .map(|p| 1 + p.chars().take_while(char::is_ascii_digit).count())
            .unwrap_or(0);
        if let Some(path) = after_host[port_len..].strip_prefix('/') {
            let port = &after_host[..port_len];
            let scheme = match (transport.is_empty(), scheme.split_once('+')) {
                (true, _) => scheme.to_string(),
                (false, Some((driver, _))) => format!("{driver}+{transport}"),
                (false, None) => format!("{scheme}+{transport}"),
            };
            return Some(format!("{scheme}://{host}{port}/{path}"));
        }
        search_end = at;
    }
    None
}

#[cfg(test)]
#[path = "uri_tests.rs"]
mod tests;
