//! reload-agent (OCF 1.1): Pacemaker calls it instead of stop + start when
//! only parameters marked `reloadable="1"` in the meta-data changed.
//!
//! The agent keeps no state between calls, so the new values take effect
//! at the next action by themselves. Their check has run by now, as for a
//! start (an invalid value: 6 with the reason; a config that cannot be
//! read: 0 with a warning, see `setup`). What reload-agent applies at
//! once is what a monitor would: the utilization attributes under the new
//! `autoset_utilization_*` / `unset_utilization_*`, when the domain runs
//! here. The guest itself is never touched, and the answer is 0 whatever
//! libvirt says: the next monitor reports on the guest.

use crate::controller::DomainController;
use crate::guest::state::Observed;
use crate::lifecycle::housekeeping;
use crate::ocf::{OcfRc, OcfResult};
use crate::request::Request;

/// What reload-agent does after its state query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The domain runs here: report the utilization now.
    Apply,
    /// Not running here: nothing to apply before the next start.
    NothingHere,
    /// libvirt cannot tell: the next monitor applies it (a warning says why).
    Later(String),
}

/// The step for an observation of the domain.
pub fn step(observed: &Observed) -> Step {
    match observed {
        Observed::Active(_) => Step::Apply,
        Observed::Inactive => Step::NothingHere,
        Observed::Failed(why) | Observed::Indeterminate(why) => Step::Later(why.clone()),
        other => Step::Later(format!(
            "domain state {}",
            other.unknown_word().unwrap_or_default()
        )),
    }
}

/// `reload-agent`: always 0 once the parameters passed their checks.
pub fn reload_agent(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    let observed = Observed::classify(ctl.state(&req.name, req.ctx.work_end()));
    match step(&observed) {
        Step::Apply => {
            housekeeping::report_utilization(req, ctl, &observed);
            log::info!(
                "Virtual domain {}: parameters reloaded, utilization brought up to date.",
                req.name
            );
        }
        Step::NothingHere => log::info!(
            "Virtual domain {} is not running here: the parameters apply from its next start.",
            req.name
        ),
        Step::Later(why) => log::warn!(
            "Virtual domain {}: parameters reloaded, utilization left to the next monitor ({why}).",
            req.name
        ),
    }
    Ok(OcfRc::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::test_support::request;
    use crate::controller::fake::FakeController;
    use crate::controller::{ControllerError, DomainState};

    #[test]
    fn only_a_domain_active_here_gets_its_utilization_now() {
        assert_eq!(
            step(&Observed::Active(DomainState::Paused)),
            Step::Apply,
            "paused is active, as for monitor"
        );
        assert_eq!(step(&Observed::Inactive), Step::NothingHere);
        assert_eq!(
            step(&Observed::Indeterminate("down".into())),
            Step::Later("down".into())
        );
        assert_eq!(
            step(&Observed::Failed("oops".into())),
            Step::Later("oops".into())
        );
        assert_eq!(
            step(&Observed::Crashed),
            Step::Later("domain state crashed".into())
        );
    }

    #[test]
    fn every_answer_of_libvirt_is_a_successful_reload() {
        let req = request(&[]);
        let running = FakeController::with("vm1", DomainState::Running);
        let absent = FakeController::default();
        let unreachable = FakeController {
            unreachable: Some("libvirtd down".into()),
            ..Default::default()
        };
        let failing = FakeController::with("vm1", DomainState::Running);
        failing
            .fail_next
            .borrow_mut()
            .push_back(ControllerError::Failed("internal error".into()));
        for ctl in [&running, &absent, &unreachable, &failing] {
            assert_eq!(reload_agent(&req, ctl), Ok(OcfRc::Success));
        }
        // with every autoset flag off no figure is needed: one state query, nothing else
        assert_eq!(*running.calls.borrow(), vec!["state vm1".to_string()]);
    }

    #[test]
    fn a_domain_not_running_here_is_left_to_its_next_start() {
        // (a monitor would take the figures from the config here: reload does not)
        let stopped = FakeController::with("vm1", DomainState::Shutoff);
        let req = request(&[("OCF_RESKEY_autoset_utilization_cpu", "true")]);
        assert_eq!(reload_agent(&req, &stopped), Ok(OcfRc::Success));
        assert_eq!(*stopped.calls.borrow(), vec!["state vm1".to_string()]);
    }
}
