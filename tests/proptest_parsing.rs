//! Property tests of everything the agent reads from outside: the domain
//! XML, the `OCF_RESKEY_*` parameters, and the setup checks built on them.
//! Whatever a user writes, the agent must answer with an OCF exit code,
//! never a panic.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use virtualdomain::cli::Action;
use virtualdomain::domain_sizes;
use virtualdomain::domain_xml::DomainConfig;
use virtualdomain::metadata;
use virtualdomain::ocf::{Env, OcfRc};
use virtualdomain::params::Params;
use virtualdomain::request::setup::{self, ConfigFile, HostFacts, Message, Operation};

/// Every parameter of our meta-data (the anchor's, then ours): read from
/// it, so that a parameter added later is never left out.
fn params() -> &'static [String] {
    static PARAMS: OnceLock<Vec<String>> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let meta = metadata::parse(metadata::META_DATA).expect("our meta-data parses");
        meta.params.into_iter().map(|p| p.name).collect()
    })
}

/// Every parameter the installed anchor advertises is in the list (and so
/// in the properties below), and the list has what it had when written
/// by hand and missed (the parameters added since).
#[test]
fn the_parameter_list_is_the_anchors_and_ours() {
    let ours = params();
    for added in common::ADDED_PARAMETERS {
        assert!(ours.iter().any(|p| p == added), "{added} missing: {ours:?}");
    }
    let Some(anchor) = common::anchor("the anchor's parameters") else {
        return;
    };
    let out = common::run(
        &anchor,
        &["meta-data"],
        &common::base_env(Path::new("/tmp")),
    );
    let theirs = metadata::parse(&out.stdout).expect("the anchor's meta-data parses");
    assert!(theirs.params.len() >= 27, "{:?}", theirs.params);
    for p in theirs.params {
        assert!(ours.contains(&p.name), "the anchor's {} missing", p.name);
    }
}

const ACTIONS: [Action; 10] = [
    Action::Start,
    Action::Stop,
    Action::Monitor,
    Action::Status,
    Action::MigrateTo,
    Action::MigrateFrom,
    Action::MetaData,
    Action::ValidateAll,
    Action::GetConfig,
    Action::ReloadAgent,
];

/// Text that looks like a domain XML often enough to reach every branch.
fn xmlish() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "<domain type='kvm'>",
        "</domain>",
        "<name>",
        "</name>",
        "<uuid>u</uuid>",
        "<devices>",
        "</devices>",
        "<emulator>/usr/bin/qemu</emulator>",
        "<vcpu current='2'>",
        "</vcpu>",
        "<vcpu/>",
        "<memory unit='GiB'>",
        "<memory unit=\"kb\">",
        "<memory>",
        "</memory>",
        "18446744073709551616",
        "<source pool='p' network=\"n\"/>",
        "<metadata><x:y xmlns:x='urn:x'><name>decoy</name></x:y></metadata>",
        "&amp;",
        "&#x31;",
        "&#xD800;",
        "&bogus;",
        "<![CDATA[a<b]]>",
        "<!-- c -->",
        "<?pi x?>",
        "<!DOCTYPE d>",
        "<",
        ">",
        "'",
        "\"",
    ]);
    let piece = prop_oneof![
        3 => fixed.prop_map(str::to_string),
        1 => "[a-z0-9 \n\t\u{e9}\u{65e5}]{0,8}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// A parameter value: arbitrary text, or a word the parser treats specially.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just(String::new()),
        prop::sample::select(vec!["yes", "true", "1", "ja", "on", "ON", "Yes", "no", "0"])
            .prop_map(str::to_string),
        "[0-9]{1,30}",
        "[-0-9a-z, ]{0,12}",
    ]
}

/// Each parameter unset or set to some value.
fn reskeys() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(prop::option::of(value()), params().len()).prop_map(|values| {
        params()
            .iter()
            .zip(values)
            .filter_map(|(name, v)| v.map(|v| (format!("OCF_RESKEY_{name}"), v)))
            .collect()
    })
}

fn config_file() -> impl Strategy<Value = ConfigFile> {
    prop_oneof![
        Just(ConfigFile::Unreadable),
        xmlish().prop_map(|x| ConfigFile::Read(DomainConfig::parse(&x))),
        Just(ConfigFile::Read(DomainConfig::parse(
            "<domain><name>vm1</name></domain>"
        ))),
    ]
}

/// The codes §4 allows for each action once `config` is set: the routed
/// code of an invalid setup, or 5 for a missing csync2.
fn allowed(op: Operation) -> &'static [u8] {
    match op.action {
        Action::Stop => &[0, 5],
        Action::Monitor if op.probe => &[7, 5],
        Action::Monitor => &[1, 5],
        Action::Status => &[3, 5],
        // a config that gives no domain: a warning, 0
        Action::ReloadAgent => &[0, 5, 6],
        _ => &[5, 6],
    }
}

proptest! {
    #[test]
    fn domain_xml_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let _ = DomainConfig::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn domain_xml_never_panics_on_xmlish_text(text in xmlish()) {
        let cfg = DomainConfig::parse(&text);
        prop_assert!(cfg.name.as_deref() != Some(""), "an empty name is None");
    }

    #[test]
    fn domain_sizes_never_panic(text in xmlish()) {
        let cfg = DomainConfig::parse(&text);
        let _ = domain_sizes::vcpus(&cfg);
        if let Ok(kib) = domain_sizes::max_memory_kib(&cfg) {
            prop_assert!(kib < (i64::MAX as u64).div_ceil(1024), "libvirt's limit");
        }
    }

    #[test]
    fn generated_sizes_round_trip(
        max in 1u32..=4096,
        current in prop::option::of(0u32..=4096),
        value in 0u64..=(1 << 40),
        unit in prop::sample::select(vec![
            ("", 1024u64), ("b", 1), ("bytes", 1), ("KB", 1000), ("k", 1024), ("KiB", 1024),
            ("MB", 1_000_000), ("M", 1 << 20), ("mib", 1 << 20), ("GB", 1_000_000_000),
            ("G", 1 << 30), ("GiB", 1 << 30), ("TB", 1_000_000_000_000), ("T", 1 << 40),
            ("TiB", 1 << 40),
        ]),
        pad in "[ \t\n]{0,2}",
        one_line in any::<bool>(),
    ) {
        let (unit, scale) = unit;
        let current_attr = current.map(|c| format!(" current='{c}'")).unwrap_or_default();
        let unit_attr = if unit.is_empty() { String::new() } else { format!(" unit='{unit}'") };
        let nl = if one_line { "" } else { "\n  " };
        let xml = format!(
            "<domain type='kvm'>{nl}<name>vm</name>{nl}<metadata><m:x xmlns:m='urn:m'><vcpu>1</vcpu>\
             <memory>1</memory></m:x></metadata>{nl}<vcpu{current_attr}>{pad}{max}</vcpu>{nl}\
             <memory{unit_attr}>{pad}{value}</memory>{nl}</domain>"
        );
        let cfg = DomainConfig::parse(&xml);
        let want_cpu = match current {
            None => Ok(max),
            Some(c) if c <= max => Ok(c),
            Some(_) => Err(()),
        };
        prop_assert_eq!(domain_sizes::vcpus(&cfg).map_err(drop), want_cpu);
        let bytes = u128::from(value) * u128::from(scale);
        let want_kib = if bytes > i64::MAX as u128 { None } else { Some(bytes.div_ceil(1024)) };
        let got = domain_sizes::max_memory_kib(&cfg).ok().map(u128::from);
        prop_assert_eq!(got, want_kib, "{}", xml);
    }

    #[test]
    fn escaped_names_round_trip(name in "[a-zA-Z0-9 _.&<>'\"\u{e9}\u{65e5}\r-]{1,40}") {
        let xml = format!(
            "<domain type='qemu'>\n  <name>{}</name>\n</domain>\n",
            quick_xml::escape::escape(name.as_str())
        );
        prop_assert_eq!(DomainConfig::parse(&xml).name, Some(name));
    }

    #[test]
    fn parameters_and_setup_checks_never_panic(
        pairs in reskeys(),
        action in prop::sample::select(ACTIONS.to_vec()),
        probe in any::<bool>(),
        config in config_file(),
        required_missing in any::<bool>(),
        have_csync2 in any::<bool>(),
    ) {
        let params = Params::from_env(&Env::from_pairs(pairs));
        let op = Operation { action, probe };
        let host = HostFacts { required_missing, have_csync2 };
        match setup::check(op, &params, &config, host) {
            Ok(accepted) => {
                let name = accepted.name;
                prop_assert!(!name.is_empty());
                prop_assert!(params.config.is_some());
                prop_assert!(matches!(&config, ConfigFile::Read(d) if d.name.as_deref() == Some(name.as_str())));
            }
            Err(refusal) => {
                let rc = refusal.rc.code();
                prop_assert!([0, 1, 3, 5, 6, 7].contains(&rc), "rc {}", rc);
                if params.config.is_none() {
                    prop_assert_eq!(refusal.rc, OcfRc::ErrConfigured);
                    prop_assert_eq!(
                        refusal.messages,
                        vec![Message::Reason("config: required parameter not set".into())]
                    );
                } else {
                    prop_assert!(allowed(op).contains(&rc), "{:?}: rc {}", op, rc);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The built binary: validate-all answers 0, 5 or 6 whatever the values
    /// (never a panic: 101, an abort: 134, or the panic guard's 1).
    #[test]
    fn binary_validate_all_exits_with_an_ocf_code(
        values in prop::collection::vec("[^\u{0}]{0,24}", params().len()),
        set in prop::collection::vec(any::<bool>(), params().len()),
        valid_config in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let vm1 = dir.path().join("vm1.xml");
        std::fs::write(&vm1, "<domain type='qemu'>\n  <name>vm1</name>\n</domain>\n").unwrap();
        // (a value set below for hypervisor overrides the base's test URI)
        let mut env = common::base_env(dir.path());
        for ((name, value), set) in params().iter().zip(values).zip(set) {
            let value = match name.as_str() {
                "config" if valid_config => vm1.display().to_string(),
                _ if !set => continue,
                _ => value,
            };
            env.push((format!("OCF_RESKEY_{name}"), value));
        }
        let out = common::run(&common::ours(), &["validate-all"], &env);
        prop_assert!(
            matches!(out.code, Some(0 | 5 | 6)),
            "code {:?}, env {:?}, stderr {}", out.code, env, out.stderr
        );
        prop_assert!(!out.stderr.contains("internal error"), "{}", out.stderr);
    }
}
