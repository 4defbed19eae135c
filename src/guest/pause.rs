//! Why a paused guest is paused (monitor depth 10, `OCF_CHECK_LEVEL=10`).
//!
//! The anchor counts every `paused` domain as running. A guest qemu paused
//! because its storage failed, because its watchdog fired, or after a
//! crash turned into a pause is dead to its users, though: at depth 10 the
//! monitor reads libvirt's reason for the pause (from the same state
//! answer, [`StateDetail`]) and fails on those, naming the cause and, for
//! an I/O error, the disk and libvirt's words for the error. A pause an
//! operator, a save, a snapshot or a migration asked for stays healthy.

use std::time::Instant;

use crate::controller::{DomainController, DomainState, StateDetail};

/// The monitor depth from which the pause reason is checked.
pub const REASON_LEVEL: u32 = 10;

/// `virDomainPausedReason` values that mean the guest cannot run on.
const PAUSED_IOERROR: i32 = 5;
const PAUSED_WATCHDOG: i32 = 6;
const PAUSED_CRASHED: i32 = 10;
const PAUSED_POSTCOPY_FAILED: i32 = 13;

/// A pause that is a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseCause {
    IoError,
    Watchdog,
    Crashed,
    PostcopyFailed,
}

impl PauseCause {
    /// The failure behind a state, if it is a pause that is one.
    pub fn of(detail: StateDetail) -> Option<PauseCause> {
        if detail.state != DomainState::Paused {
            return None;
        }
        match detail.reason {
            PAUSED_IOERROR => Some(PauseCause::IoError),
            PAUSED_WATCHDOG => Some(PauseCause::Watchdog),
            PAUSED_CRASHED => Some(PauseCause::Crashed),
            PAUSED_POSTCOPY_FAILED => Some(PauseCause::PostcopyFailed),
            _ => None,
        }
    }

    /// How the exit reason names the cause.
    fn words(self) -> &'static str {
        match self {
            PauseCause::IoError => "a disk I/O error",
            PauseCause::Watchdog => "its watchdog",
            PauseCause::Crashed => "a guest crash",
            PauseCause::PostcopyFailed => "a failed post-copy migration",
        }
    }
}

/// The disks libvirt recorded errors on, as "vda (no space)", or why
/// they are not known.
pub fn disk_error_words(ctl: &dyn DomainController, name: &str, by: Instant) -> String {
    match ctl.disk_errors(name, by) {
        Ok(errors) if !errors.is_empty() => errors
            .iter()
            .map(|e| format!("{} ({})", e.device, e.reason_text()))
            .collect::<Vec<_>>()
            .join(", "),
        Ok(_) => "no disk error recorded".into(),
        Err(e) => format!("disk errors unknown: {e}"),
    }
}

/// The exit reason for a guest paused by `cause` (for an I/O error: with
/// the disks and libvirt's error words).
pub fn failure_reason(
    ctl: &dyn DomainController,
    name: &str,
    cause: PauseCause,
    by: Instant,
) -> String {
    let mut reason = format!("Virtual domain {name} is paused by {}", cause.words());
    if cause == PauseCause::IoError {
        reason.push_str(&format!(": {}", disk_error_words(ctl, name, by)));
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paused(reason: i32) -> StateDetail {
        StateDetail {
            state: DomainState::Paused,
            reason,
        }
    }

    #[test]
    fn failures_are_the_pauses_nobody_asked_for() {
        assert_eq!(PauseCause::of(paused(5)), Some(PauseCause::IoError));
        assert_eq!(PauseCause::of(paused(6)), Some(PauseCause::Watchdog));
        assert_eq!(PauseCause::of(paused(10)), Some(PauseCause::Crashed));
        assert_eq!(PauseCause::of(paused(13)), Some(PauseCause::PostcopyFailed));
        // unknown, user, migration, save, dump, from snapshot, shutting
        // down, snapshot, starting up, post-copy, API error, newer ones
        for healthy in [0, 1, 2, 3, 4, 7, 8, 9, 11, 12, 14, 99] {
            assert_eq!(PauseCause::of(paused(healthy)), None, "{healthy}");
        }
        let running = StateDetail {
            state: DomainState::Running,
            reason: 5,
        };
        assert_eq!(PauseCause::of(running), None, "reason 5 of running");
    }
}
