//! Every step's expected exit code, for ours and the anchor, in one table:
//! equal codes except the documented divergences.

/// The exit code expected of each step: (step, the anchor's, ours', why
/// they differ). `None`: the step is not run for the anchor (a parameter it
/// does not have). The step names are the ones in the results table.
pub(super) const EXPECTED: &[(&str, Option<i32>, i32, &str)] = &[
    // a. round trip with Pacemaker's sequence
    ("a start n1", Some(0), 0, ""),
    ("a migrate_to n1->n2", Some(0), 0, ""),
    ("a migrate_from n2", Some(0), 0, ""),
    ("a stop n1 (already gone)", Some(0), 0, ""),
    ("a monitor n2", Some(0), 0, ""),
    ("a monitor n1", Some(7), 7, ""),
    ("a migrate_to n2->n1", Some(0), 0, ""),
    ("a migrate_from n1", Some(0), 0, ""),
    // b. libvirtd-to-libvirtd, data through libvirt's connection
    ("b migrate_to --p2p --tunnelled", Some(0), 0, ""),
    ("b migrate_from", Some(0), 0, ""),
    // c. pause mode
    ("c migrate_to migration_mode=pause", None, 0, "ours only"),
    ("c migrate_from", None, 0, "ours only"),
    // d. a migration network: the anchor by migration_network_suffix=-mig,
    //    ours by migration_mapping="nX:nX-mig"
    ("d migrate_to mapped", Some(0), 0, ""),
    ("d migrate_from mapped", Some(0), 0, ""),
    ("d migrate_to mapped, unresolvable", Some(1), 1, ""),
    // e. throttled, with a downtime limit
    ("e migrate_to speed 10 downtime 500", Some(0), 0, ""),
    ("e migrate_from", Some(0), 0, ""),
    // f. target unreachable
    ("f migrate_to, target libvirtd down", Some(1), 1, ""),
    ("f migrate_to, target nosuchhost", Some(1), 1, ""),
    // g. a migration still running at the deadline
    (
        "g migrate_to speed 1, T=15s",
        Some(124),
        1,
        "the anchor waits for virsh and is killed at the timeout; ours aborts \
         the job and answers 1 before it",
    ),
    // h. nothing arrives
    (
        "h migrate_from, nothing arrives, T=10s",
        Some(124),
        1,
        "the anchor loops until killed; ours gives up before the timeout",
    ),
    // j. nothing to migrate
    ("j migrate_to, not running", Some(1), 1, ""),
    // i. double-start protection
    ("i start n1", None, 0, "ours only"),
    ("i start n2, guest runs on n1", None, 1, "ours only"),
    ("i start n2, n1's libvirtd frozen", None, 0, "ours only"),
    ("i start n2, n1's libvirtd stopped", None, 0, "ours only"),
    // k. the target cannot read the config and remembers nothing (#1231)
    ("k start n1", None, 0, "ours only"),
    ("k migrate_to n1->n2", None, 0, "ours only"),
    (
        "k migrate_from n2, config unreadable",
        None,
        0,
        "ours only: found by its tag",
    ),
    (
        "k probe n2, config unreadable",
        None,
        0,
        "ours only: the anchor says 7",
    ),
    ("k monitor n2, config unreadable", None, 0, "ours only"),
    (
        "k migrate_to n2->n1, config unreadable",
        None,
        0,
        "ours only: migrated by its tag, not 5",
    ),
    ("k migrate_from n1", None, 0, "ours only"),
    (
        "k stop n1, config unreadable",
        None,
        0,
        "ours only: stopped, not left running",
    ),
    // l. a guest dirtying memory faster than the migration copies it
    ("l start dirtying guest n1", Some(0), 0, ""),
    (
        "l migrate_to dirtying, defaults",
        Some(124),
        1,
        "it never converges: the anchor waits for virsh and is killed at the \
         timeout; ours aborts the job and answers 1 before it",
    ),
    ("l migrate_to dirtying, --timeout 4", Some(0), 0, ""),
    ("l migrate_from dirtying, --timeout 4", Some(0), 0, ""),
    (
        "l migrate_to dirtying, policy",
        None,
        0,
        "ours only: converges",
    ),
    ("l migrate_from dirtying, policy", None, 0, "ours only"),
    (
        "l migrate_to dirtying, completion timeout",
        None,
        0,
        "ours only: paused to complete",
    ),
    (
        "l migrate_from dirtying, completion timeout",
        None,
        0,
        "ours only",
    ),
    // m, n. a libvirtd restarted during the job
    ("m migrate_to, target's libvirtd restarted", Some(1), 1, ""),
    ("n migrate_to, source's libvirtd restarted", Some(1), 1, ""),
    // o, p. the source's libvirtd frozen during the job
    (
        "o migrate_to, source's libvirtd frozen 5 s",
        Some(124),
        1,
        "the job (1 MiB/s) goes on after the thaw: the anchor waits for virsh \
         and is killed at the timeout; ours aborts it before",
    ),
    (
        "p migrate_to, source's libvirtd frozen",
        Some(124),
        1,
        "the anchor's virsh hangs on the frozen daemon and is killed; ours \
         gives up on it before the timeout",
    ),
];
