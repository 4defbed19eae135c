//! Asking libvirt for a domain's state with patience. A libvirtd restart
//! shows as "no state", a refused or dropped connection, or a call that
//! never returns; an error may be passing. The anchor tolerates "no state"
//! (spec §10.1); here every such answer is asked again, on a fresh
//! connection when the old one is wedged, until libvirt gives a definite
//! answer or the time allowed is up. Only then does the caller decide.

use std::time::Instant;

use crate::controller::DomainController;
use crate::guest::state::Observed;

pub use crate::timing::{retry_pause, QUERY_CAP};
use crate::timing::{FIRST_RETRY_PAUSE, MAX_RETRY_PAUSE};

/// One state query, ending by `until` and within [`QUERY_CAP`].
pub fn observe(ctl: &dyn DomainController, name: &str, until: Instant) -> Observed {
    let end = until.min(Instant::now() + QUERY_CAP);
    Observed::classify(ctl.state(name, end))
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
    let mut pause = FIRST_RETRY_PAUSE;
    loop {
        let seen = observe(ctl, name, until);
        if seen.is_definite() || enough(&seen) || Instant::now() + pause >= until {
            return seen;
        }
        log::debug!("State of {name} not known yet ({seen:?}); asking again.");
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_RETRY_PAUSE);
        ctl.recover();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::fake::FakeController;
    use crate::controller::DomainState;
    use std::time::Duration;

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
}
