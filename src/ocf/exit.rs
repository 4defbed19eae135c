//! OCF exit codes and the error type every action returns.
//!
//! One place maps outcomes to the numbers Pacemaker reads, so no action
//! can invent an exit code of its own.

use std::fmt;

/// The exit codes of the OCF resource agent API (and LSB `status` 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OcfRc {
    Success = 0,
    ErrGeneric = 1,
    ErrArgs = 2,
    ErrUnimplemented = 3,
    ErrPerm = 4,
    ErrInstalled = 5,
    ErrConfigured = 6,
    NotRunning = 7,
}

impl OcfRc {
    /// LSB "program is not running", returned by `status` when the setup is invalid.
    /// It shares the number 3 with [`OcfRc::ErrUnimplemented`].
    pub const LSB_STATUS_STOPPED: OcfRc = OcfRc::ErrUnimplemented;

    pub fn code(self) -> u8 {
        self as u8
    }

    /// The name Pacemaker's tools use for the code.
    pub fn name(self) -> &'static str {
        match self {
            OcfRc::Success => "OCF_SUCCESS",
            OcfRc::ErrGeneric => "OCF_ERR_GENERIC",
            OcfRc::ErrArgs => "OCF_ERR_ARGS",
            OcfRc::ErrUnimplemented => "OCF_ERR_UNIMPLEMENTED",
            OcfRc::ErrPerm => "OCF_ERR_PERM",
            OcfRc::ErrInstalled => "OCF_ERR_INSTALLED",
            OcfRc::ErrConfigured => "OCF_ERR_CONFIGURED",
            OcfRc::NotRunning => "OCF_NOT_RUNNING",
        }
    }
}

impl fmt::Display for OcfRc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

impl From<OcfRc> for std::process::ExitCode {
    fn from(rc: OcfRc) -> Self {
        std::process::ExitCode::from(rc.code())
    }
}

/// An action that ends with an exit code and, usually, an exit reason.
///
/// `reason` is printed as the operation's exit reason (what `crm_mon`
/// shows); `None` means the code speaks for itself (e.g. a probe that
/// finds the resource stopped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rc}: {}", reason.as_deref().unwrap_or("(no exit reason)"))]
pub struct OcfError {
    pub rc: OcfRc,
    pub reason: Option<String>,
}

impl OcfError {
    pub fn new(rc: OcfRc, reason: impl Into<String>) -> Self {
        OcfError {
            rc,
            reason: Some(reason.into()),
        }
    }

    pub fn silent(rc: OcfRc) -> Self {
        OcfError { rc, reason: None }
    }

    pub fn generic(reason: impl Into<String>) -> Self {
        Self::new(OcfRc::ErrGeneric, reason)
    }

    pub fn installed(reason: impl Into<String>) -> Self {
        Self::new(OcfRc::ErrInstalled, reason)
    }

    pub fn configured(reason: impl Into<String>) -> Self {
        Self::new(OcfRc::ErrConfigured, reason)
    }
}

/// What every action returns: the final code (0 or 7 are not errors for
/// monitor) or an error with its reason.
pub type OcfResult = Result<OcfRc, OcfError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_ocf_numbers() {
        let table = [
            (OcfRc::Success, 0),
            (OcfRc::ErrGeneric, 1),
            (OcfRc::ErrArgs, 2),
            (OcfRc::ErrUnimplemented, 3),
            (OcfRc::ErrPerm, 4),
            (OcfRc::ErrInstalled, 5),
            (OcfRc::ErrConfigured, 6),
            (OcfRc::NotRunning, 7),
        ];
        for (rc, n) in table {
            assert_eq!(rc.code(), n, "{rc:?}");
        }
        assert_eq!(OcfRc::LSB_STATUS_STOPPED.code(), 3);
    }
}
