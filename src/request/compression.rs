//! The compression words of `migrate_options` (`--comp-methods` and the
//! words that tune a method), checked against libvirt's own rules so that a
//! configuration libvirt or qemu would refuse fails in validate-all and
//! migrate_to with a reason, not in the middle of a migration.

use crate::controller::MigrateTuning;

/// The compression methods libvirt accepts for `--comp-methods`
/// (`VIR_MIGRATE_PARAM_COMPRESSION`, several at once): `xbzrle` and `mt`
/// compress the pre-copy stream (`mt` not with `--parallel`); `zlib` and
/// `zstd` (libvirt 9.4 and later) compress the parallel connections, need
/// `--parallel` and come alone. Anything else libvirt refuses ("Unsupported compression
/// method"), so validate-all and migrate_to refuse it first.
pub const METHODS: &[&str] = &["mt", "xbzrle", "zlib", "zstd"];

/// The methods that compress the parallel connections (multifd).
const PARALLEL_METHODS: &[&str] = &["zlib", "zstd"];

/// The methods of `--comp-methods M[,M...]`, each known and given once.
pub fn methods(value: &str) -> Result<Vec<String>, String> {
    let methods: Vec<&str> = value.split(',').collect();
    if let Some(bad) = methods.iter().find(|m| !METHODS.contains(m)) {
        return Err(format!(
            "migrate_options: --comp-methods: \"{bad}\" is not one of mt, xbzrle, zlib, zstd"
        ));
    }
    let twice = (1..methods.len()).find(|&i| methods[..i].contains(&methods[i]));
    if let Some(i) = twice {
        let twice = methods[i];
        return Err(format!(
            "migrate_options: --comp-methods: {twice} is given twice"
        ));
    }
    Ok(methods.into_iter().map(str::to_string).collect())
}

/// libvirt's own rules for the compression methods and their tuning words
/// (qemuMigrationParamsSetCompression; qemu 7.2 refuses `mt` with
/// `--parallel`: "Multifd is not compatible with compress"), so that a
/// migration does not fail on them. `xbzrle` with `--parallel` passes: it
/// works with libvirt 9.0 (libvirt 9.4 and later refuse it themselves).
/// `parallel`: `--parallel` is among the words.
pub fn check(t: &MigrateTuning, parallel: bool) -> Result<(), String> {
    let methods: Vec<&str> = t.compression.iter().map(String::as_str).collect();
    if let Some(m) = methods.iter().find(|m| PARALLEL_METHODS.contains(m)) {
        if !parallel {
            return Err(format!(
                "migrate_options: --comp-methods {m} needs --parallel (libvirt compresses \
                 only parallel connections with zlib or zstd)"
            ));
        }
        if methods.len() > 1 {
            return Err(format!(
                "migrate_options: --comp-methods {m} comes alone (one method for parallel \
                 connections)"
            ));
        }
    }
    if parallel && methods.contains(&"mt") {
        return Err(
            "migrate_options: --comp-methods mt cannot be combined with --parallel \
             (qemu: multifd is not compatible with compress)"
                .into(),
        );
    }
    // --compressed alone means xbzrle to libvirt
    let xbzrle = methods.is_empty() || methods.contains(&"xbzrle");
    let tuned = [
        (
            "--comp-mt-*",
            "mt",
            t.compression_mt_level.is_some()
                || t.compression_mt_threads.is_some()
                || t.compression_mt_dthreads.is_some(),
        ),
        (
            "--comp-xbzrle-cache",
            "xbzrle",
            t.compression_xbzrle_cache.is_some() && !xbzrle,
        ),
        (
            "--comp-zlib-level",
            "zlib",
            t.compression_zlib_level.is_some(),
        ),
        (
            "--comp-zstd-level",
            "zstd",
            t.compression_zstd_level.is_some(),
        ),
    ];
    match tuned
        .iter()
        .find(|(_, m, set)| *set && (*m == "xbzrle" || !methods.contains(m)))
    {
        Some((word, m, _)) => Err(format!("migrate_options: {word} needs --comp-methods {m}")),
        None => Ok(()),
    }
}
