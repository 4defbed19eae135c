//! The table of `migrate_options` words: what each becomes, what is refused.

use super::*;
use MigrateFlag::*;

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn flags(text: &str) -> Vec<MigrateFlag> {
    parse(&words(text)).unwrap().flags.into_iter().collect()
}

#[test]
fn each_supported_word_becomes_its_flag() {
    let table = [
        ("--p2p", vec![PeerToPeer]),
        ("--p2p --tunnelled", vec![PeerToPeer, Tunnelled]),
        ("--p2p --tunneled", vec![PeerToPeer, Tunnelled]),
        ("--persistent", vec![PersistDest]),
        ("--undefinesource", vec![UndefineSource]),
        ("--compressed", vec![Compressed]),
        ("--auto-converge", vec![AutoConverge]),
        ("--unsafe", vec![Unsafe]),
        ("--abort-on-error", vec![AbortOnError]),
        ("--parallel", vec![Parallel]),
        ("--tls", vec![Tls]),
        ("--suspend", vec![PausedOnTarget]),
        ("--copy-storage-all", vec![CopyStorageAll]),
        ("--copy-storage-inc", vec![CopyStorageInc]),
        ("--postcopy", vec![PostCopy]),
        ("--change-protection", vec![ChangeProtection]),
        ("--rdma-pin-all", vec![RdmaPinAll]),
        ("--parallel --zerocopy", vec![Parallel, ZeroCopy]),
        (
            "--persistent --undefinesource --p2p",
            vec![PeerToPeer, PersistDest, UndefineSource],
        ),
        ("--p2p --p2p", vec![PeerToPeer]),
        ("", vec![]),
    ];
    for (text, want) in table {
        assert_eq!(flags(text), want, "{text:?}");
    }
}

#[test]
fn values_in_one_word_or_two() {
    for text in ["--listen-address 192.0.2.7", "--listen-address=192.0.2.7"] {
        let o = parse(&words(text)).unwrap();
        assert_eq!(o.listen_address.as_deref(), Some("192.0.2.7"), "{text}");
    }
    let o = parse(&words("--parallel --parallel-connections=4")).unwrap();
    assert_eq!(o.parallel_connections, Some(4));
    let o = parse(&words(
        "--parallel --parallel-connections 8 --live --verbose",
    ))
    .unwrap();
    assert_eq!(o.parallel_connections, Some(8));
    assert!(o.live);
    assert_eq!(o.without_effect, vec!["--verbose"]);
}

/// Every valued word of the anchor's `virsh migrate` that the API can
/// honour, and what it becomes.
#[test]
fn the_anchors_valued_words_are_honoured() {
    type Check = fn(&MigrateOptions) -> bool;
    let table: &[(&str, Check)] = &[
        ("--bandwidth 100", |o| o.bandwidth_mib == Some(100)),
        ("--bandwidth=0", |o| o.bandwidth_mib == Some(0)),
        ("--timeout 30", |o| o.timeout == Some((30, OnTimeout::Suspend))),
        ("--timeout 30 --timeout-suspend", |o| {
            o.timeout == Some((30, OnTimeout::Suspend))
        }),
        ("--timeout-suspend --timeout=5", |o| {
            o.timeout == Some((5, OnTimeout::Suspend))
        }),
        ("--postcopy --timeout 30 --timeout-postcopy", |o| {
            o.timeout == Some((30, OnTimeout::PostCopy)) && o.flags.contains(&PostCopy)
        }),
        ("--postcopy --postcopy-after-precopy", |o| {
            o.postcopy_after_precopy && o.flags.contains(&PostCopy)
        }),
        ("--postcopy --postcopy-bandwidth 50", |o| {
            o.tuning.postcopy_bandwidth_mib == Some(50)
        }),
        ("--compressed --comp-methods xbzrle", |o| {
            o.tuning.compression == ["xbzrle"]
        }),
        ("--compressed --comp-methods=mt --comp-mt-level 9 --comp-mt-threads 2 --comp-mt-dthreads 3", |o| {
            o.tuning.compression == ["mt"]
                && o.tuning.compression_mt_level == Some(9)
                && o.tuning.compression_mt_threads == Some(2)
                && o.tuning.compression_mt_dthreads == Some(3)
        }),
        ("--compressed --comp-xbzrle-cache 67108864", |o| {
            o.tuning.compression_xbzrle_cache == Some(64 << 20)
        }),
        ("--compressed --parallel --comp-methods zlib --comp-zlib-level 1", |o| {
            o.tuning.compression == ["zlib"] && o.tuning.compression_zlib_level == Some(1)
        }),
        ("--compressed --comp-methods zstd --comp-zstd-level 20 --parallel", |o| {
            o.tuning.compression == ["zstd"] && o.tuning.compression_zstd_level == Some(20)
        }),
        ("--compressed --comp-methods xbzrle --comp-xbzrle-cache 1048576", |o| {
            o.tuning.compression_xbzrle_cache == Some(1 << 20)
        }),
        // several methods, as virsh passes them (one typed parameter each)
        ("--compressed --comp-methods mt,xbzrle --comp-mt-level 1", |o| {
            o.tuning.compression == ["mt", "xbzrle"] && o.tuning.compression_mt_level == Some(1)
        }),
        // works with libvirt 9.0 (9.4 and later refuse it themselves)
        ("--compressed --parallel --comp-methods xbzrle", |o| {
            o.tuning.compression == ["xbzrle"]
        }),
        ("--auto-converge --auto-converge-initial 20 --auto-converge-increment 10", |o| {
            o.tuning.auto_converge_initial == Some(20) && o.tuning.auto_converge_increment == Some(10)
        }),
        ("--parallel --parallel-connections 4", |o| o.parallel_connections == Some(4)),
        ("--copy-storage-all --migrate-disks vda,vdb --disks-port 49300", |o| {
            o.tuning.migrate_disks == ["vda", "vdb"] && o.tuning.disks_port == Some(49300)
        }),
        ("--copy-storage-inc --disks-uri tcp://n2-mig:49300", |o| {
            o.tuning.disks_uri.as_deref() == Some("tcp://n2-mig:49300")
        }),
        ("--graphicsuri spice://n2:5900", |o| {
            o.tuning.graphics_uri.as_deref() == Some("spice://n2:5900")
        }),
        ("--tls --tls-destination n2.example.com", |o| {
            o.tuning.tls_destination.as_deref() == Some("n2.example.com")
        }),
    ];
    for (text, check) in table {
        let o = parse(&words(text)).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(check(&o), "{text}: {o:?}");
    }
}

#[test]
fn refused_words_say_why() {
    let table = [
        ("--offline", "offline"),
        ("--dname other", "name"),
        ("--xml /tmp/x.xml", "name"),
        ("--persistent-xml /tmp/x.xml", "name"),
        ("--desturi qemu://x/system", "agent sets it"),
        ("--domain vm1", "agent sets it"),
        ("--migrateuri tcp://x", "--migrateuri=URI"),
        ("--direct", "direct"),
        ("--postcopy-resume", "resumes"),
        ("--frobnicate", "unknown option"),
        ("--p2p=yes", "unknown option"),
        ("vm1", "unexpected word"),
        ("--tunnelled", "needs --p2p"),
        ("--parallel-connections 4", "needs --parallel"),
        ("--zerocopy", "needs --parallel"),
        ("--parallel --parallel-connections 0", "1..255"),
        ("--parallel --parallel-connections x", "1..255"),
        ("--bandwidth -1", "is not 0.."),
        ("--bandwidth +5", "is not 0.."),
        ("--bandwidth", "needs a value"),
        ("--timeout 0", "is not 1.."),
        ("--timeout-suspend", "needs --timeout"),
        ("--postcopy --timeout-postcopy", "needs --timeout"),
        ("--timeout 5 --timeout-postcopy", "needs --postcopy"),
        (
            "--postcopy --timeout 5 --timeout-suspend --timeout-postcopy",
            "exclude each other",
        ),
        ("--postcopy-after-precopy", "needs --postcopy"),
        ("--postcopy-bandwidth 10", "needs --postcopy"),
        ("--comp-methods mt", "needs --compressed"),
        ("--compressed --comp-methods lz4", "not one of"),
        (
            "--compressed --comp-methods xbzrle,mt,xbzrle",
            "xbzrle is given twice",
        ),
        (
            "--compressed --parallel --comp-methods zlib,xbzrle",
            "zlib comes alone",
        ),
        ("--compressed --comp-methods=,", "\"\" is not one of"),
        ("--compressed --comp-methods zstd", "zstd needs --parallel"),
        ("--compressed --comp-methods zlib", "zlib needs --parallel"),
        (
            "--compressed --parallel --comp-methods mt",
            "mt cannot be combined",
        ),
        (
            "--compressed --comp-mt-level 3",
            "--comp-mt-* needs --comp-methods mt",
        ),
        (
            "--compressed --comp-methods xbzrle --comp-mt-threads 2",
            "needs --comp-methods mt",
        ),
        (
            "--compressed --comp-methods mt --comp-xbzrle-cache 1024",
            "--comp-xbzrle-cache needs --comp-methods xbzrle",
        ),
        (
            "--compressed --parallel --comp-methods zstd --comp-zlib-level 3",
            "--comp-zlib-level needs --comp-methods zlib",
        ),
        (
            "--compressed --parallel --comp-methods zlib --comp-zstd-level 3",
            "--comp-zstd-level needs --comp-methods zstd",
        ),
        ("--compressed --comp-mt-level 10", "0..9"),
        ("--migrate-disks vda", "needs --copy-storage"),
        ("--copy-storage-all --migrate-disks vda,a/b", "disk targets"),
        ("--graphicsuri=", "one word"),
        ("--listen-address", "needs a value"),
        ("--listen-address a/b", "not an address"),
        ("--listen-address tcp://x", "not an address"),
        ("--p2p --tunnelled --parallel", "cannot be combined"),
        ("--p2p --tunnelled --postcopy", "cannot be combined"),
        (
            "--copy-storage-all --copy-storage-inc",
            "exclude each other",
        ),
    ];
    for (text, why) in table {
        let err = parse(&words(text)).unwrap_err();
        assert!(err.starts_with("migrate_options: "), "{text}: {err}");
        assert!(err.contains(why), "{text}: {err}");
    }
}

#[test]
fn addresses() {
    for ok in [
        "n2",
        "node2.example.com",
        "192.0.2.1",
        "fe80::1",
        "n2-mig_x",
    ] {
        assert!(is_address(ok), "{ok}");
    }
    for bad in ["", "-x", ".x", "a b", "a/b", "a@b", "a?b", "[::1]", "x;rm"] {
        assert!(!is_address(bad), "{bad}");
    }
}
