//! libvirt errors → [`ControllerError`].
//!
//! The mapping works on the raw `virErrorNumber` / `virErrorDomain` and the
//! message, so it can be unit-tested without libvirt (virt's `Error` has no
//! public constructor).

use std::os::raw::c_int;

use virt::sys;

use crate::controller::ControllerError;

/// Classifies one libvirt error raised by a call on an open connection.
/// (Failures of `virConnectOpen` itself are always `Unreachable`.)
pub(crate) fn classify(code: u32, domain: u32, message: &str) -> ControllerError {
    let msg = message.to_string();
    if code == sys::VIR_ERR_NO_DOMAIN || message.contains("no domain with matching") {
        ControllerError::NoDomain
    } else if connection_broken(code, domain, message) {
        ControllerError::Unreachable(msg)
    } else if code == sys::VIR_ERR_OPERATION_INVALID {
        ControllerError::InvalidState(msg)
    } else {
        ControllerError::Failed(msg)
    }
}

/// Whether the error says the connection to libvirt itself failed
/// (refused, lost mid-call, never opened, not authorised).
fn connection_broken(code: u32, domain: u32, message: &str) -> bool {
    matches!(
        code,
        sys::VIR_ERR_NO_CONNECT
            | sys::VIR_ERR_RPC
            | sys::VIR_ERR_AUTH_FAILED
            | sys::VIR_ERR_AUTH_CANCELLED
            | sys::VIR_ERR_AUTH_UNAVAILABLE
    ) || (domain == sys::VIR_FROM_RPC && code == sys::VIR_ERR_SYSTEM_ERROR)
        || [
            "End of file while reading data",
            "client socket is closed",
            "keepalive timeout",
        ]
        .iter()
        .any(|m| message.contains(m))
}

/// Whether the driver rejected the flags (so a flag-less retry makes sense).
pub(crate) fn flags_rejected(e: &virt::error::Error) -> bool {
    matches!(
        e.code().to_raw(),
        sys::VIR_ERR_INVALID_ARG | sys::VIR_ERR_NO_SUPPORT | sys::VIR_ERR_ARGUMENT_UNSUPPORTED
    )
}

/// Maps an error of the `virt` crate.
pub(crate) fn from_virt(e: &virt::error::Error) -> ControllerError {
    classify(e.code().to_raw(), e.domain().to_raw(), e.message())
}

/// The thread's last libvirt error when a raw `sys::` call returned < 0.
pub(crate) fn check(rc: c_int) -> Result<c_int, virt::error::Error> {
    if rc < 0 {
        Err(virt::error::Error::last_error())
    } else {
        Ok(rc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ControllerError::*;

    #[test]
    fn not_found_is_no_domain() {
        assert_eq!(
            classify(
                sys::VIR_ERR_NO_DOMAIN,
                sys::VIR_FROM_TEST,
                "Domain not found"
            ),
            NoDomain
        );
        // A domain that vanished between lookup and query.
        let vanished = "Domain not found: no domain with matching uuid '6695eb01-f6a4'";
        assert_eq!(
            classify(sys::VIR_ERR_NO_DOMAIN, sys::VIR_FROM_QEMU, vanished),
            NoDomain
        );
        assert_eq!(classify(sys::VIR_ERR_INTERNAL_ERROR, 0, vanished), NoDomain);
    }

    #[test]
    fn operation_invalid_is_invalid_state() {
        let m = "Requested operation is not valid: domain is not running";
        assert_eq!(
            classify(sys::VIR_ERR_OPERATION_INVALID, sys::VIR_FROM_DOMAIN, m),
            InvalidState(m.into())
        );
    }

    #[test]
    fn connection_failures_are_unreachable() {
        let cases = [
            (
                sys::VIR_ERR_SYSTEM_ERROR,
                sys::VIR_FROM_RPC,
                "Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory",
            ),
            (
                sys::VIR_ERR_SYSTEM_ERROR,
                sys::VIR_FROM_RPC,
                "unable to connect to server at '127.0.0.1:1': Connection refused",
            ),
            (sys::VIR_ERR_NO_CONNECT, sys::VIR_FROM_NONE, "no connection driver available"),
            (sys::VIR_ERR_AUTH_FAILED, sys::VIR_FROM_RPC, "authentication failed"),
            (sys::VIR_ERR_RPC, sys::VIR_FROM_RPC, "RPC error"),
            (
                sys::VIR_ERR_SYSTEM_ERROR,
                sys::VIR_FROM_RPC,
                "End of file while reading data: Input/output error",
            ),
            (sys::VIR_ERR_INTERNAL_ERROR, sys::VIR_FROM_RPC, "client socket is closed"),
        ];
        for (code, dom, msg) in cases {
            assert_eq!(classify(code, dom, msg), Unreachable(msg.into()), "{msg}");
        }
    }

    #[test]
    fn everything_else_fails() {
        let m = "unsupported flags (0x1) in function testDomainShutdownFlags";
        assert_eq!(
            classify(sys::VIR_ERR_INVALID_ARG, sys::VIR_FROM_TEST, m),
            Failed(m.into())
        );
        // A system error of a driver (not the RPC layer) is the domain's problem.
        let m = "cannot open file '/x.state': Permission denied";
        assert_eq!(
            classify(sys::VIR_ERR_SYSTEM_ERROR, sys::VIR_FROM_QEMU, m),
            Failed(m.into())
        );
        assert_eq!(
            classify(sys::VIR_ERR_INTERNAL_ERROR, sys::VIR_FROM_QEMU, "x"),
            Failed("x".into())
        );
    }
}
