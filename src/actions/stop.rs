//! stop: graceful shutdown with a guaranteed destroy window, then destroy.
//!
//! The anchor gives destroy only the last 5 s of the timeout and sends one
//! ACPI request (lost if the guest's OS is not ready yet). Here the
//! graceful share is `shutdown_timeout` (default two thirds of the stop
//! timeout, capped so destroy always keeps min(20 s, a third)), the
//! request is re-sent with back-off, and waiting is driven by libvirt's
//! lifecycle events instead of one-second polls.

use std::time::{Duration, Instant};

use super::monitor::{emulator_kind, unknown_status};
use super::state::Observed;
use super::{config_save, snapshot, utilization, Request};
use crate::controller::{ControllerError, DomainController, DomainState, ShutdownMode};
use crate::host::process_table::find_domain_process;
use crate::ocf::{OcfError, OcfRc, OcfResult};

/// The most the destroy window needs (libvirt: SIGTERM, 10 s, SIGKILL, cleanup).
pub const MAX_DESTROY_RESERVE: Duration = Duration::from_secs(20);

/// How long the graceful phase may last, measured from the agent's start.
pub fn graceful_window(timeout: Duration, shutdown_timeout: Option<u64>) -> Duration {
    let reserve = MAX_DESTROY_RESERVE.min(timeout / 3);
    let wanted = shutdown_timeout.map_or(timeout * 2 / 3, Duration::from_secs);
    wanted.min(timeout.saturating_sub(reserve))
}

/// The pause before the graceful request is sent again (after `sent`
/// requests): 2 s, 4 s, 8 s, then every 10 s.
pub fn resend_after(sent: u32) -> Duration {
    Duration::from_secs(match sent {
        0 | 1 => 2,
        2 => 4,
        3 => 8,
        _ => 10,
    })
}

/// `stop`.
pub fn stop(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    utilization::forget(req);
    let rc = match Observed::classify(ctl.state(&req.name)) {
        Observed::Inactive => {
            log::info!("Domain {} already stopped.", req.name);
            Ok(OcfRc::Success)
        }
        Observed::Indeterminate(why) => stop_without_libvirt(req, &why),
        Observed::Unknown(what) => {
            log::error!("{}", unknown_status(req, &what));
            force_stop(req, ctl)
        }
        Observed::Active(state) => stop_active(req, ctl, state),
    };
    if req.params.save_config_on_stop {
        config_save::save_config(req, ctl);
    }
    rc
}

fn stop_active(req: &Request, ctl: &dyn DomainController, state: DomainState) -> OcfResult {
    let shutdown_timeout = req.params.shutdown_timeout.as_ref().map(|d| d.value());
    let window = graceful_window(req.ctx.timeout, shutdown_timeout);
    if req.params.force_stop || window.is_zero() {
        return force_stop(req, ctl);
    }
    log::info!("Issuing graceful shutdown request for domain {}.", req.name);
    if !req.params.snapshot.is_empty() && snapshot::save(req, ctl) {
        return Ok(OcfRc::Success);
    }
    if state == DomainState::Paused {
        log::info!(
            "Domain {} is paused and cannot shut down by itself.",
            req.name
        );
        return force_stop(req, ctl);
    }
    let modes = ShutdownMode::parse_list(&req.params.shutdown_mode).unwrap_or_default();
    let graceful_end = req.ctx.started + window;
    let mut sent = 0;
    let mut next_request = Instant::now();
    loop {
        let now = Instant::now();
        if now >= graceful_end {
            break;
        }
        if now >= next_request {
            if let Err(e) = ctl.shutdown(&req.name, &modes) {
                match e {
                    ControllerError::NoDomain => return Ok(OcfRc::Success),
                    ControllerError::Unreachable(why) => return stop_without_libvirt(req, &why),
                    e => log::warn!("Graceful shutdown request for {} failed: {e}", req.name),
                }
            }
            sent += 1;
            next_request = Instant::now() + resend_after(sent);
        }
        let wait = next_request
            .min(graceful_end)
            .saturating_duration_since(Instant::now());
        ctl.wait_event(&req.name, wait);
        match Observed::classify(ctl.state(&req.name)) {
            Observed::Inactive => {
                log::info!("Domain {} stopped gracefully.", req.name);
                return Ok(OcfRc::Success);
            }
            Observed::Active(_) => {}
            Observed::Unknown(_) | Observed::Indeterminate(_) => break,
        }
    }
    force_stop(req, ctl)
}

/// Destroy, then wait until libvirt reports the domain gone.
pub fn force_stop(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    log::info!(
        "Issuing forced shutdown (destroy) request for domain {}.",
        req.name
    );
    match ctl.destroy(&req.name) {
        Ok(()) | Err(ControllerError::NoDomain) | Err(ControllerError::InvalidState(_)) => {}
        Err(ControllerError::Unreachable(why)) => return stop_without_libvirt(req, &why),
        Err(ControllerError::Failed(msg)) => {
            return Err(OcfError::generic(format!("forced stop failed: {msg}")));
        }
    }
    let end = req.wait_end();
    loop {
        match Observed::classify(ctl.state(&req.name)) {
            Observed::Inactive => return Ok(OcfRc::Success),
            Observed::Indeterminate(why) => return stop_without_libvirt(req, &why),
            Observed::Active(_) | Observed::Unknown(_) => {}
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(OcfError::generic(format!(
                "forced stop failed: {} still present after destroy",
                req.name
            )));
        }
        ctl.wait_event(&req.name, left.min(Duration::from_millis(200)));
    }
}

/// libvirt cannot answer. The domain is stopped only if its emulator
/// process is provably absent; otherwise stop fails (Pacemaker fences,
/// which is safer than a second copy of the guest elsewhere).
fn stop_without_libvirt(req: &Request, why: &str) -> OcfResult {
    let absent =
        emulator_kind(req).is_some_and(|kind| find_domain_process(kind, &req.name).is_none());
    if absent {
        log::info!(
            "Domain {} has no emulator process; considered stopped (libvirt: {why}).",
            req.name
        );
        return Ok(OcfRc::Success);
    }
    Err(OcfError::generic(format!(
        "Virtual domain {} has no state during stop operation, bailing out ({why}).",
        req.name
    )))
}

#[cfg(test)]
#[path = "stop_tests.rs"]
mod tests;
