//! Utilization decisions without a CIB: the memory's format, which
//! figures are needed, and what is wanted from them.

use super::*;

#[test]
fn memory_round_trips() {
    let mut m = BTreeMap::new();
    m.insert("cpu".to_string(), Wanted::Set(2));
    m.insert("hv_memory".to_string(), Wanted::Delete);
    assert_eq!(decode(&encode(&m)), m);
    assert_eq!(decode("garbage\ncpu=x\n"), BTreeMap::new());
}

#[test]
fn the_domains_figures_are_needed_only_to_set_an_attribute() {
    let p = |pairs: &[(&str, &str)]| crate::actions::test_support::request(pairs).params;
    let off = [
        ("OCF_RESKEY_autoset_utilization_cpu", "false"),
        ("OCF_RESKEY_autoset_utilization_host_memory", "false"),
        ("OCF_RESKEY_autoset_utilization_hv_memory", "false"),
    ];
    assert!(!needs_info(&p(&off)));
    let mut one = off.to_vec();
    one[1].1 = "true";
    assert!(needs_info(&p(&one)));
    one.push(("OCF_RESKEY_unset_utilization_host_memory", "true"));
    assert!(!needs_info(&p(&one)), "unset wins over autoset");
}

#[test]
fn config_figures_fill_what_libvirt_would_report() {
    let cfg = |xml: &str| Figures::from_config(&DomainConfig::parse(xml));
    assert_eq!(
        cfg("<domain><vcpu current='2'>4</vcpu><memory unit='MiB'>1536</memory></domain>"),
        Figures {
            cpu: Some(2),
            memory_mib: Some(1536),
            fill_only: true,
        }
    );
    assert_eq!(
        cfg("<domain><memory unit='KB'>100000</memory></domain>"),
        Figures {
            cpu: Some(1),
            memory_mib: Some(95),
            fill_only: true,
        },
        "97657 KiB: 95 MiB truncated, as the anchor's %d"
    );
    assert_eq!(
        cfg("<domain><vcpu>x</vcpu><memory unit='parsec'>1</memory></domain>"),
        Figures {
            fill_only: true,
            ..Figures::default()
        }
    );
}

#[test]
fn a_figure_that_is_not_known_sets_nothing_but_unset_still_applies() {
    let req = crate::actions::test_support::request(&[
        ("OCF_RESKEY_autoset_utilization_cpu", "true"),
        ("OCF_RESKEY_autoset_utilization_host_memory", "true"),
        ("OCF_RESKEY_unset_utilization_hv_memory", "true"),
    ]);
    let partial = Figures {
        cpu: Some(3),
        memory_mib: None,
        fill_only: false,
    };
    let want: BTreeMap<_, _> = [("cpu", Wanted::Set(3)), ("hv_memory", Wanted::Delete)].into();
    assert_eq!(wanted(&req, partial), want);
}
