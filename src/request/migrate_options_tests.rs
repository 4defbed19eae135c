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

#[test]
fn refused_words_say_why() {
    let table = [
        ("--bandwidth 100", "migration_speed"),
        ("--timeout 30", "aborted by the agent"),
        ("--postcopy", "post-copy"),
        ("--offline", "offline"),
        ("--dname other", "name"),
        ("--xml /tmp/x.xml", "name"),
        ("--desturi qemu://x/system", "agent sets it"),
        ("--migrateuri tcp://x", "--migrateuri=URI"),
        ("--direct", "direct"),
        ("--zerocopy", "not supported"),
        ("--frobnicate", "unknown option"),
        ("--p2p=yes", "unknown option"),
        ("vm1", "unexpected word"),
        ("--tunnelled", "needs --p2p"),
        ("--parallel-connections 4", "needs --parallel"),
        ("--parallel --parallel-connections 0", "1..255"),
        ("--parallel --parallel-connections x", "1..255"),
        ("--listen-address", "needs a value"),
        ("--listen-address a/b", "not an address"),
        ("--listen-address tcp://x", "not an address"),
        ("--p2p --tunnelled --parallel", "cannot be combined"),
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
