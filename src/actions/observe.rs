//! Asking libvirt for a domain's state with patience. A libvirtd restart
//! shows as "no state", a refused or dropped connection, or a call that
//! never returns; an error may be passing. The anchor tolerates "no state"
//! (spec §10.1); here every such answer is asked again, on a fresh
//! connection when the old one is wedged, until libvirt gives a definite
//! answer or the time allowed is up. Only then does the caller decide.

use std::time::{Duration, Instant};

use super::state::Observed;
use crate::controller::{within, DomainController};

/// The most one state query may take before it is asked again on a fresh
/// connection (a state query needs no domain job: a healthy daemon
/// answers at once, even while a long job runs).
pub const QUERY_CAP: Duration = Duration::from_secs(5);

/// The first pause between two queries; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// One state query, ending by `until` and within [`QUERY_CAP`].
pub fn observe(ctl: &dyn DomainController, name: &str, until: Instant) -> Observed {
    let end = until.min(Instant::now() + QUERY_CAP);
    within(ctl, end, || Observed::classify(ctl.state(name)))
}

/// Asks until the answer is definite ([`Observed::is_definite`]), `enough`
/// accepts an indefinite one (e.g. "the guest's process is gone"), or no
/// time is left before `until`; returns the last answer.
pub fn observe_patiently(
    ctl: &dyn DomainController,
    name: &str,
    until: Instant,
    mut enough: impl FnMut(&Observed) -> bool,
) -> Observed {
    let mut pause = FIRST_PAUSE;
    loop {
        let seen = observe(ctl, name, until);
        if seen.is_definite() || enough(&seen) || Instant::now() + pause >= until {
            return seen;
        }
        log::debug!("State of {name} not known yet ({seen:?}); asking again.");
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_PAUSE);
        ctl.recover();
    }
}

/// The pause after the `n`th failed attempt of a retried call (0-based).
pub fn retry_pause(n: u32) -> Duration {
    FIRST_PAUSE.saturating_mul(1 << n.min(8)).min(MAX_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::fake::FakeController;
    use crate::controller::DomainState;

    #[test]
    fn indefinite_answers_are_asked_again_until_definite() {
        let fake = FakeController::with("vm1", DomainState::Running);
        fake.script_unreachable(3);
        let seen = observe_patiently(
            &fake,
            "vm1",
            Instant::now() + Duration::from_secs(10),
            |_| false,
        );
        assert_eq!(seen, Observed::Active(DomainState::Running));
        assert_eq!(fake.count("state"), 4);
        assert_eq!(fake.count("recover"), 3);
    }

    #[test]
    fn gives_up_when_the_time_is_up_or_enough_is_known() {
        let fake = FakeController {
            unreachable: Some("down".into()),
            ..Default::default()
        };
        let until = Instant::now() + Duration::from_millis(700);
        let seen = observe_patiently(&fake, "vm1", until, |_| false);
        assert!(matches!(seen, Observed::Indeterminate(_)));
        assert!(Instant::now() <= until, "past its end");
        assert!(fake.count("state") >= 2);
        let fake = FakeController {
            unreachable: Some("down".into()),
            ..Default::default()
        };
        observe_patiently(
            &fake,
            "vm1",
            Instant::now() + Duration::from_secs(10),
            |_| true,
        );
        assert_eq!(fake.count("state"), 1);
    }

    #[test]
    fn pauses_double_up_to_two_seconds() {
        let ms: Vec<u128> = (0..6).map(|n| retry_pause(n).as_millis()).collect();
        assert_eq!(ms, vec![200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(retry_pause(u32::MAX), MAX_PAUSE);
    }
}
