//! `migrate_options`: the `virsh migrate` words users put there, translated
//! once into migration flags and typed parameters. A word that cannot be
//! honoured through the libvirt API is a configuration error with a reason
//! — never passed on blindly, never silently ignored. (`--migrateuri=` is
//! taken out before, by the URI composition, as the anchor does.)

use std::collections::BTreeSet;

use crate::controller::MigrateFlag;

/// What `migrate_options` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrateOptions {
    pub flags: BTreeSet<MigrateFlag>,
    pub listen_address: Option<String>,
    pub parallel_connections: Option<u32>,
    /// `--live` was given (the default anyway; contradicts pause mode).
    pub live: bool,
    /// Words accepted that change nothing without virsh (`--verbose`).
    pub without_effect: Vec<String>,
}

/// The flag a single word stands for.
fn flag_of(word: &str) -> Option<MigrateFlag> {
    Some(match word {
        "--p2p" => MigrateFlag::PeerToPeer,
        "--tunnelled" | "--tunneled" => MigrateFlag::Tunnelled,
        "--persistent" => MigrateFlag::PersistDest,
        "--undefinesource" => MigrateFlag::UndefineSource,
        "--compressed" => MigrateFlag::Compressed,
        "--auto-converge" => MigrateFlag::AutoConverge,
        "--unsafe" => MigrateFlag::Unsafe,
        "--abort-on-error" => MigrateFlag::AbortOnError,
        "--parallel" => MigrateFlag::Parallel,
        "--tls" => MigrateFlag::Tls,
        "--suspend" => MigrateFlag::PausedOnTarget,
        "--copy-storage-all" => MigrateFlag::CopyStorageAll,
        "--copy-storage-inc" => MigrateFlag::CopyStorageInc,
        _ => return None,
    })
}

/// Why a known virsh option is refused.
fn refusal_of(option: &str) -> Option<&'static str> {
    Some(match option {
        "--bandwidth" => "set migration_speed instead",
        "--timeout" | "--timeout-suspend" | "--timeout-postcopy" => {
            "a migration still running at the migrate_to timeout is aborted by the agent; set that timeout instead"
        }
        "--postcopy" | "--postcopy-after-precopy" | "--postcopy-bandwidth" => {
            "post-copy is not supported: a failure during post-copy loses the guest"
        }
        "--offline" => "the domain runs: an offline migration would only copy its definition",
        "--dname" | "--xml" | "--persistent-xml" => {
            "the domain's name and definition on the target must stay the resource's"
        }
        "--domain" | "--desturi" => "the agent sets it",
        "--migrateuri" => "write --migrateuri=URI as one word, or set migrateuri",
        "--direct" => "direct (hypervisor-native) migration is not supported",
        "--change-protection" | "--rdma-pin-all" | "--zerocopy" | "--comp-methods"
        | "--comp-mt-level" | "--comp-mt-threads" | "--comp-mt-dthreads"
        | "--comp-xbzrle-cache" | "--comp-zlib-level" | "--comp-zstd-level"
        | "--auto-converge-initial" | "--auto-converge-increment" | "--disks-port"
        | "--disks-uri" | "--migrate-disks" | "--graphicsuri" | "--tls-destination" => {
            "not supported by this agent"
        }
        _ => return None,
    })
}

/// Options that take a value (`--opt VALUE` or `--opt=VALUE`).
const WITH_VALUE: &[&str] = &["--listen-address", "--parallel-connections"];

/// Parses the words (already without `--migrateuri=`).
pub fn parse(words: &[String]) -> Result<MigrateOptions, String> {
    let mut out = MigrateOptions::default();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let (option, inline) = match word.split_once('=') {
            Some((o, v)) => (o, Some(v.to_string())),
            None => (word.as_str(), None),
        };
        if !option.starts_with("--") {
            return Err(format!("migrate_options: unexpected word \"{word}\""));
        }
        if let Some(flag) = flag_of(option).filter(|_| inline.is_none()) {
            out.flags.insert(flag);
            continue;
        }
        match option {
            "--live" if inline.is_none() => out.live = true,
            "--verbose" if inline.is_none() => out.without_effect.push(word.clone()),
            o if WITH_VALUE.contains(&o) => {
                let value = match inline {
                    Some(v) => v,
                    None => words
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("migrate_options: {o} needs a value"))?,
                };
                set_value(&mut out, o, &value)?;
            }
            o => {
                let why = refusal_of(o).unwrap_or("unknown option");
                return Err(format!("migrate_options: {o}: {why}"));
            }
        }
    }
    check_combinations(&out)?;
    Ok(out)
}

fn set_value(out: &mut MigrateOptions, option: &str, value: &str) -> Result<(), String> {
    match option {
        "--listen-address" => {
            if !is_address(value) {
                return Err(format!(
                    "migrate_options: --listen-address \"{value}\" is not an address"
                ));
            }
            out.listen_address = Some(value.to_string());
        }
        _ => {
            let n = value
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=255).contains(n))
                .ok_or_else(|| {
                    format!("migrate_options: --parallel-connections \"{value}\" is not 1..255")
                })?;
            out.parallel_connections = Some(n);
        }
    }
    Ok(())
}

fn check_combinations(out: &MigrateOptions) -> Result<(), String> {
    let has = |f| out.flags.contains(&f);
    if has(MigrateFlag::Tunnelled) && !has(MigrateFlag::PeerToPeer) {
        return Err("migrate_options: --tunnelled needs --p2p".into());
    }
    if out.parallel_connections.is_some() && !has(MigrateFlag::Parallel) {
        return Err("migrate_options: --parallel-connections needs --parallel".into());
    }
    if has(MigrateFlag::Tunnelled) && (has(MigrateFlag::Parallel) || has(MigrateFlag::Tls)) {
        return Err(
            "migrate_options: --tunnelled cannot be combined with --parallel or --tls".into(),
        );
    }
    if has(MigrateFlag::CopyStorageAll) && has(MigrateFlag::CopyStorageInc) {
        return Err(
            "migrate_options: --copy-storage-all and --copy-storage-inc exclude each other".into(),
        );
    }
    Ok(())
}

/// A host name, an IPv4 address or an IPv6 address (no URI syntax).
pub fn is_address(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && !text.starts_with(['-', '.'])
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
}

/// The `migrate_options` words without the last `--migrateuri=` token, and
/// that token's value.
pub fn split_migrateuri_option(options: &str) -> (Vec<String>, Option<String>) {
    let mut words: Vec<String> = options.split_whitespace().map(str::to_string).collect();
    let last = words.iter().rposition(|w| w.contains("--migrateuri="));
    let value = last.map(|i| {
        let word = words.remove(i);
        let at = word.rfind("--migrateuri=").unwrap_or(0);
        if at > 0 {
            words.insert(i, word[..at].to_string());
        }
        word[at + "--migrateuri=".len()..].to_string()
    });
    (words, value)
}

#[cfg(test)]
#[path = "migrate_options_tests.rs"]
mod tests;
