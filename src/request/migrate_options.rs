//! `migrate_options`: the `virsh migrate` words users put there, translated
//! once into migration flags and typed parameters. A word that cannot be
//! honoured through the libvirt API is a configuration error with a reason
//! — never passed on blindly, never silently ignored. (`--migrateuri=` is
//! taken out before, by the URI composition, as the anchor does.)

use super::compression;
use std::collections::BTreeSet;

use crate::controller::{MigrateFlag, MigrateTuning};

/// What `migrate_options` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrateOptions {
    pub flags: BTreeSet<MigrateFlag>,
    pub listen_address: Option<String>,
    pub parallel_connections: Option<u32>,
    /// `--bandwidth`, MiB/s: this migration's limit (over `migration_speed`,
    /// as virsh's parameter overrides the anchor's `migrate-setspeed`).
    pub bandwidth_mib: Option<u64>,
    /// `--timeout N` and what then happens to the guest.
    pub timeout: Option<(u64, OnTimeout)>,
    /// `--postcopy-after-precopy`: switch after the first pass.
    pub postcopy_after_precopy: bool,
    pub tuning: MigrateTuning,
    /// `--live` was given (the default anyway; contradicts pause mode).
    pub live: bool,
    /// Words accepted that change nothing without virsh (`--verbose`).
    pub without_effect: Vec<String>,
}

/// What virsh's `--timeout` does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTimeout {
    /// `--timeout-suspend` (virsh's default): pause the guest, so the
    /// copy finishes and it resumes on the target.
    Suspend,
    /// `--timeout-postcopy`: switch to post-copy.
    PostCopy,
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
        "--postcopy" => MigrateFlag::PostCopy,
        "--change-protection" => MigrateFlag::ChangeProtection,
        "--rdma-pin-all" => MigrateFlag::RdmaPinAll,
        "--zerocopy" => MigrateFlag::ZeroCopy,
        _ => return None,
    })
}

/// Why a known virsh option is refused: it would break the resource's
/// identity, or libvirt cannot do it for a running guest.
fn refusal_of(option: &str) -> Option<&'static str> {
    Some(match option {
        "--offline" => "the domain runs: an offline migration would only copy its definition",
        "--dname" | "--xml" | "--persistent-xml" => {
            "the domain's name and definition on the target must stay the resource's"
        }
        "--domain" | "--desturi" => "the agent sets it",
        "--migrateuri" => "write --migrateuri=URI as one word, or set migrateuri",
        "--direct" => "libvirt's qemu driver has no direct migration",
        "--postcopy-resume" => "it resumes a failed post-copy, it starts no migration",
        "--copy-storage-synchronous-writes" => "not supported by this agent",
        _ => return None,
    })
}

/// Options that take a value (`--opt VALUE` or `--opt=VALUE`).
const WITH_VALUE: &[&str] = &[
    "--listen-address",
    "--parallel-connections",
    "--bandwidth",
    "--postcopy-bandwidth",
    "--timeout",
    "--comp-methods",
    "--comp-mt-level",
    "--comp-mt-threads",
    "--comp-mt-dthreads",
    "--comp-xbzrle-cache",
    "--comp-zlib-level",
    "--comp-zstd-level",
    "--auto-converge-initial",
    "--auto-converge-increment",
    "--migrate-disks",
    "--disks-port",
    "--disks-uri",
    "--graphicsuri",
    "--tls-destination",
];

/// The most MiB/s libvirt accepts as a bandwidth (qemu's limit in bytes/s).
const MAX_BANDWIDTH_MIB: u64 = (i64::MAX as u64) >> 20;

/// Parses the words (already without `--migrateuri=`). Pure: the same
/// words always give the same answer.
pub fn parse(words: &[String]) -> Result<MigrateOptions, String> {
    let mut out = MigrateOptions::default();
    let mut on_timeout = None;
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
            "--postcopy-after-precopy" if inline.is_none() => out.postcopy_after_precopy = true,
            "--timeout-suspend" | "--timeout-postcopy" if inline.is_none() => {
                let new = if option == "--timeout-suspend" {
                    OnTimeout::Suspend
                } else {
                    OnTimeout::PostCopy
                };
                if on_timeout.is_some_and(|old| old != new) {
                    return Err(
                        "migrate_options: --timeout-suspend and --timeout-postcopy exclude each other"
                            .into(),
                    );
                }
                on_timeout = Some(new);
            }
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
    match (&mut out.timeout, on_timeout) {
        (Some((_, action)), Some(chosen)) => *action = chosen,
        (None, Some(OnTimeout::Suspend)) => {
            return Err("migrate_options: --timeout-suspend needs --timeout".into())
        }
        (None, Some(OnTimeout::PostCopy)) => {
            return Err("migrate_options: --timeout-postcopy needs --timeout".into())
        }
        _ => {}
    }
    check_combinations(&out)?;
    Ok(out)
}

/// A number of `option` within `range`.
fn number(option: &str, value: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n) && value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            format!(
                "migrate_options: {option} \"{value}\" is not {}..{}",
                range.start(),
                range.end()
            )
        })
}

/// A number that fits libvirt's `int` parameters.
fn int(
    option: &str,
    value: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<i32>, String> {
    number(option, value, range).map(|n| Some(i32::try_from(n).unwrap_or(i32::MAX)))
}

/// A URI or name handed to libvirt as it is: one word, printable.
fn text(option: &str, value: &str) -> Result<Option<String>, String> {
    if value.is_empty() || !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "migrate_options: {option} \"{value}\" is not one word"
        ));
    }
    Ok(Some(value.to_string()))
}

fn set_value(out: &mut MigrateOptions, option: &str, value: &str) -> Result<(), String> {
    let t = &mut out.tuning;
    match option {
        "--listen-address" => {
            if !is_address(value) {
                return Err(format!(
                    "migrate_options: --listen-address \"{value}\" is not an address"
                ));
            }
            out.listen_address = Some(value.to_string());
        }
        "--parallel-connections" => {
            out.parallel_connections = Some(number(option, value, 1..=255)? as u32);
        }
        "--bandwidth" => out.bandwidth_mib = Some(number(option, value, 0..=MAX_BANDWIDTH_MIB)?),
        "--postcopy-bandwidth" => {
            t.postcopy_bandwidth_mib = Some(number(option, value, 0..=MAX_BANDWIDTH_MIB)?);
        }
        "--timeout" => {
            let secs = number(option, value, 1..=u64::from(u32::MAX))?;
            out.timeout = Some((secs, OnTimeout::Suspend));
        }
        "--comp-methods" => t.compression = compression::methods(value)?,
        "--comp-mt-level" => t.compression_mt_level = int(option, value, 0..=9)?,
        "--comp-mt-threads" => t.compression_mt_threads = int(option, value, 1..=255)?,
        "--comp-mt-dthreads" => t.compression_mt_dthreads = int(option, value, 1..=255)?,
        "--comp-xbzrle-cache" => {
            t.compression_xbzrle_cache = Some(number(option, value, 1..=u64::MAX)?);
        }
        "--comp-zlib-level" => t.compression_zlib_level = int(option, value, 0..=9)?,
        "--comp-zstd-level" => t.compression_zstd_level = int(option, value, 0..=20)?,
        "--auto-converge-initial" => t.auto_converge_initial = int(option, value, 1..=100)?,
        "--auto-converge-increment" => t.auto_converge_increment = int(option, value, 1..=100)?,
        "--migrate-disks" => {
            t.migrate_disks = value.split(',').map(str::to_string).collect();
            if t.migrate_disks.iter().any(|d| !is_address(d)) {
                return Err(format!(
                    "migrate_options: --migrate-disks \"{value}\" is not a list of disk targets"
                ));
            }
        }
        "--disks-port" => t.disks_port = int(option, value, 0..=65535)?,
        "--disks-uri" => t.disks_uri = text(option, value)?,
        "--graphicsuri" => t.graphics_uri = text(option, value)?,
        _ => t.tls_destination = text(option, value)?,
    }
    Ok(())
}

fn check_combinations(out: &MigrateOptions) -> Result<(), String> {
    let has = |f| out.flags.contains(&f);
    let t = &out.tuning;
    let needs = |what: &str, needed: &str| Err(format!("migrate_options: {what} needs {needed}"));
    if has(MigrateFlag::Tunnelled) && !has(MigrateFlag::PeerToPeer) {
        return needs("--tunnelled", "--p2p");
    }
    if out.parallel_connections.is_some() && !has(MigrateFlag::Parallel) {
        return needs("--parallel-connections", "--parallel");
    }
    if has(MigrateFlag::ZeroCopy) && !has(MigrateFlag::Parallel) {
        return needs("--zerocopy", "--parallel");
    }
    let postcopy_word = out.postcopy_after_precopy
        || t.postcopy_bandwidth_mib.is_some()
        || matches!(out.timeout, Some((_, OnTimeout::PostCopy)));
    if postcopy_word && !has(MigrateFlag::PostCopy) {
        return needs("a post-copy option", "--postcopy");
    }
    let compression_word = !t.compression.is_empty()
        || t.compression_mt_level.is_some()
        || t.compression_mt_threads.is_some()
        || t.compression_mt_dthreads.is_some()
        || t.compression_xbzrle_cache.is_some()
        || t.compression_zlib_level.is_some()
        || t.compression_zstd_level.is_some();
    if compression_word && !has(MigrateFlag::Compressed) {
        return needs("a --comp-* option", "--compressed");
    }
    compression::check(t, has(MigrateFlag::Parallel))?;
    let storage = has(MigrateFlag::CopyStorageAll) || has(MigrateFlag::CopyStorageInc);
    if (!t.migrate_disks.is_empty() || t.disks_port.is_some() || t.disks_uri.is_some()) && !storage
    {
        return needs("a disks option", "--copy-storage-all or --copy-storage-inc");
    }
    if has(MigrateFlag::Tunnelled)
        && (has(MigrateFlag::Parallel) || has(MigrateFlag::Tls) || has(MigrateFlag::PostCopy))
    {
        return Err(
            "migrate_options: --tunnelled cannot be combined with --parallel, --tls or --postcopy"
                .into(),
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
