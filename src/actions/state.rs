//! The anchor's state mapping: what a libvirt answer means for the
//! cluster (running, stopped, or something Pacemaker must treat as failed).

use crate::controller::{ControllerError, DomainState, Outcome};
use crate::ocf::OcfRc;

/// A domain state query, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// running, idle/blocked, paused, in shutdown: the resource is up.
    Active(DomainState),
    /// shut off, or not defined at all.
    Inactive,
    /// crashed, pmsuspended, a state newer than us, or an unexpected error.
    Unknown(String),
    /// libvirt is unreachable, or says "no state": ask the process table.
    Indeterminate(String),
}

impl Observed {
    pub fn classify(answer: Outcome<DomainState>) -> Observed {
        match answer {
            Ok(
                s @ (DomainState::Running
                | DomainState::Blocked
                | DomainState::Paused
                | DomainState::Shutdown),
            ) => Observed::Active(s),
            Ok(DomainState::Shutoff) | Err(ControllerError::NoDomain) => Observed::Inactive,
            Ok(DomainState::NoState) => Observed::Indeterminate("domain has no state".into()),
            Ok(s @ (DomainState::Crashed | DomainState::PmSuspended | DomainState::Other(_))) => {
                Observed::Unknown(s.virsh_word().to_string())
            }
            Err(ControllerError::Unreachable(msg)) => Observed::Indeterminate(msg),
            Err(ControllerError::InvalidState(msg) | ControllerError::Failed(msg)) => {
                Observed::Unknown(msg)
            }
        }
    }

    /// The monitor result for this observation (before monitor scripts).
    /// `None`: indeterminate, the caller must look elsewhere.
    pub fn monitor_rc(&self) -> Option<OcfRc> {
        match self {
            Observed::Active(_) => Some(OcfRc::Success),
            Observed::Inactive => Some(OcfRc::NotRunning),
            Observed::Unknown(_) => Some(OcfRc::ErrGeneric),
            Observed::Indeterminate(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_state_table() {
        use DomainState::*;
        let table = [
            (Ok(Running), Some(0)),
            (Ok(Blocked), Some(0)),
            (Ok(Paused), Some(0)),
            (Ok(Shutdown), Some(0)),
            (Ok(Shutoff), Some(7)),
            (Err(ControllerError::NoDomain), Some(7)),
            (Ok(Crashed), Some(1)),
            (Ok(PmSuspended), Some(1)),
            (Ok(Other(42)), Some(1)),
            (Err(ControllerError::Failed("boom".into())), Some(1)),
            (Ok(NoState), None),
            (Err(ControllerError::Unreachable("down".into())), None),
        ];
        for (answer, want) in table {
            let label = format!("{answer:?}");
            let got = Observed::classify(answer).monitor_rc().map(|rc| rc.code());
            assert_eq!(got, want, "{label}");
        }
    }
}
