//! The anchor's state mapping: what a libvirt answer means for the
//! cluster (running, stopped, or something Pacemaker must treat as failed).
//!
//! The type keeps apart what libvirt *reported* (a state, even an odd one)
//! from what it could not tell (an error, an unreachable daemon, "no
//! state"): only a reported state may ever lead to `destroy`.

use crate::controller::{ControllerError, DomainState, Outcome};
use crate::ocf::OcfError;
use crate::request::Request;

/// A domain state query, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// running, idle/blocked, paused, in shutdown: the resource is up.
    Active(DomainState),
    /// shut off, or not defined at all.
    Inactive,
    /// libvirt reports the guest crashed (its qemu may still exist).
    Crashed,
    /// libvirt reports the guest suspended to RAM by its own OS.
    PmSuspended,
    /// A state number newer than this agent: reported, never acted on.
    Unrecognized(u32),
    /// libvirt answered the query with an error: nothing is known.
    Failed(String),
    /// libvirt is unreachable, or says "no state": ask again, or ask the
    /// process table.
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
            Ok(DomainState::Crashed) => Observed::Crashed,
            Ok(DomainState::PmSuspended) => Observed::PmSuspended,
            Ok(DomainState::Other(n)) => Observed::Unrecognized(n),
            Err(ControllerError::Unreachable(msg)) => Observed::Indeterminate(msg),
            Err(ControllerError::InvalidState(msg) | ControllerError::Failed(msg)) => {
                Observed::Failed(msg)
            }
        }
    }

    /// Whether libvirt gave an answer that settles the question (a state,
    /// or "no such domain"); errors and silence do not.
    pub fn is_definite(&self) -> bool {
        !matches!(self, Observed::Failed(_) | Observed::Indeterminate(_))
    }

    /// What the anchor's "unknown status" message quotes, for the
    /// observations that are neither up nor down.
    pub fn unknown_word(&self) -> Option<String> {
        match self {
            Observed::Crashed => Some(DomainState::Crashed.virsh_word().into()),
            Observed::PmSuspended => Some(DomainState::PmSuspended.virsh_word().into()),
            Observed::Unrecognized(n) => Some(format!("state {n}")),
            Observed::Failed(msg) => Some(msg.clone()),
            _ => None,
        }
    }
}

/// The anchor's "unknown status" error.
pub fn unknown_status(req: &Request, what: &str) -> OcfError {
    OcfError::generic(format!(
        "Virtual domain {} has unknown status \"{what}\"!",
        req.name
    ))
}

/// The anchor's "unknown status" error for an observation neither up nor down.
pub fn unknown_observation(req: &Request, seen: &Observed) -> OcfError {
    unknown_status(req, &seen.unknown_word().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_not_states() {
        let failed = Observed::classify(Err(ControllerError::Failed("internal error".into())));
        assert_eq!(failed, Observed::Failed("internal error".into()));
        assert!(!failed.is_definite());
        let invalid = Observed::classify(Err(ControllerError::InvalidState("x".into())));
        assert!(!invalid.is_definite());
        assert!(!Observed::classify(Ok(DomainState::NoState)).is_definite());
        for reported in [
            DomainState::Crashed,
            DomainState::PmSuspended,
            DomainState::Other(9),
        ] {
            assert!(
                Observed::classify(Ok(reported)).is_definite(),
                "{reported:?}"
            );
        }
        assert_eq!(
            Observed::classify(Ok(DomainState::Other(9))).unknown_word(),
            Some("state 9".into())
        );
    }
}
