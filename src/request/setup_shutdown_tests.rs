//! The checks of this agent's own shutdown and I/O-error parameters, by action.

use super::*;

/// shutdown_mode and shutdown_timeout are this agent's (the anchor reads
/// neither): a value that cannot be used is refused where a value is given
/// (validate-all, start, reload-agent: 6 and the reason), a stop still
/// stops with the defaults (and a warning), and what a probe, monitor or
/// status answers never depends on them.
#[test]
fn shutdown_values_are_checked_where_they_are_used() {
    let rows = [
        (
            "shutdown_mode",
            "bogus",
            "shutdown_mode \"bogus\" is not one of",
        ),
        (
            "shutdown_mode",
            "acpi,,poweroff",
            "shutdown_mode \"poweroff\" is not one of",
        ),
        (
            "shutdown_timeout",
            "soon",
            "shutdown_timeout \"soon\" is not a time",
        ),
        (
            "shutdown_timeout",
            "-5",
            "shutdown_timeout \"-5\" is not a time",
        ),
        (
            "shutdown_timeout",
            "",
            "shutdown_timeout \"\" is not a time",
        ),
    ];
    for (key, value, why) in rows {
        let p = params(&[("config", "/x.xml"), (key, value)]);
        assert_row(key, &p, &named(), HOST, [0, 0, 0, 6, 0, 6, 0, 0, 6]);
        for action in [Action::Start, Action::ValidateAll, Action::ReloadAgent] {
            let op = Operation {
                action,
                probe: false,
            };
            let refusal = check(op, &p, &named(), HOST).unwrap_err();
            assert_eq!(refusal.messages.len(), 1, "{key}={value:?}");
            assert!(
                matches!(&refusal.messages[0], Message::Reason(r) if r.starts_with(why)),
                "{key}={value:?}: {:?}",
                refusal.messages
            );
        }
        let stop = Operation {
            action: Action::Stop,
            probe: false,
        };
        let accepted = check(stop, &p, &named(), HOST).unwrap();
        assert_eq!(accepted.settings.shutdown, Shutdown::default());
        assert!(
            accepted.warnings[0].starts_with(why),
            "{:?}",
            accepted.warnings
        );
    }
    // Pacemaker's time syntax, as users write it in pcs
    for (text, secs) in [("60s", 60), ("2min", 120), ("90", 90), ("1h", 3600)] {
        let p = params(&[("config", "/x.xml"), ("shutdown_timeout", text)]);
        let op = Operation {
            action: Action::Start,
            probe: false,
        };
        let accepted = check(op, &p, &named(), HOST).unwrap();
        assert_eq!(
            accepted.settings.shutdown.timeout,
            Some(Duration::from_secs(secs)),
            "{text}"
        );
    }
}

/// io_error_policy and io_error_delay: refused where a value is given
/// (validate-all, start, reload-agent); a recurring monitor warns and
/// reports as the anchor; a probe, stop or status never depends on them.
#[test]
fn io_error_values_are_checked_where_they_are_used() {
    for (key, value, why) in [
        (
            "io_error_policy",
            "pause",
            "io_error_policy \"pause\" is not one of",
        ),
        (
            "io_error_delay",
            "soon",
            "io_error_delay \"soon\" is not a time",
        ),
    ] {
        let p = params(&[("config", "/x.xml"), (key, value)]);
        assert_row(key, &p, &named(), HOST, [0, 0, 0, 6, 0, 6, 0, 0, 6]);
        let monitor = Operation {
            action: Action::Monitor,
            probe: false,
        };
        let accepted = check(monitor, &p, &named(), HOST).unwrap();
        assert_eq!(accepted.settings.io_error, IoErrorSettings::default());
        assert!(
            accepted.warnings[0].starts_with(why),
            "{:?}",
            accepted.warnings
        );
    }
    let p = params(&[
        ("config", "/x.xml"),
        ("io_error_policy", "Resume"),
        ("io_error_delay", "2min"),
    ]);
    let op = Operation {
        action: Action::ValidateAll,
        probe: false,
    };
    let io_error = check(op, &p, &named(), HOST).unwrap().settings.io_error;
    assert_eq!(io_error.policy, IoErrorPolicy::Resume);
    assert_eq!(io_error.delay, Duration::from_secs(120));
}
