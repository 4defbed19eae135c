//! stop: graceful shutdown with a guaranteed destroy window, then destroy.
//!
//! The anchor gives destroy only the last 5 s of the timeout and sends one
//! ACPI request (lost if the guest's OS is not ready yet). Here the
//! graceful share is `shutdown_timeout` (default two thirds of the stop
//! timeout, capped so destroy always keeps min(20 s, a third) before the
//! end of work: [`crate::timing`]), the
//! request is re-sent with back-off, and waiting is driven by libvirt's
//! lifecycle events instead of one-second polls.

use std::time::Instant;

use crate::cluster::utilization;
use crate::controller::{ControllerError, DomainController, DomainState};
use crate::guest::observe::{observe, observe_patiently};
use crate::guest::process::{self as guest_process, GuestProcess};
use crate::guest::state::unknown_status;
use crate::guest::state::Observed;
use crate::guest::{agent, io_error};
use crate::guest_data::config_save;
use crate::guest_data::snapshot;
use crate::ocf::{OcfError, OcfRc, OcfResult};
use crate::request::Request;
use crate::timing::{resend_after, retry_pause, GONE_POLL, QUERY_CAP};

/// `stop`.
pub fn stop(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    utilization::forget(req);
    io_error::forget(req);
    agent::forget(req);
    if req.params.save_config_on_stop {
        // while the domain is still defined (a transient one is gone after
        // the stop), within the graceful window: destroy keeps its time
        let until = graceful_end(req)
            .max(Instant::now() + QUERY_CAP)
            .min(req.ctx.work_end());
        config_save::save_config(req, ctl, until);
        ctl.recover();
    }
    stop_domain(req, ctl)
}

/// When the graceful phase ends (measured from the agent's start; see
/// [`TimeBudget::graceful_end`](crate::timing::TimeBudget::graceful_end)).
fn graceful_end(req: &Request) -> Instant {
    req.ctx.budget().graceful_end(req.settings.shutdown.timeout)
}

fn stop_domain(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    // a restarting libvirtd gets the graceful window to answer; the destroy
    // window is never spent waiting for a first answer
    let first_answer_by = graceful_end(req)
        .max(Instant::now() + QUERY_CAP)
        .min(req.ctx.work_end());
    let settled = |seen: &Observed| matches!(seen, Observed::Indeterminate(_)) && guest_gone(req);
    match observe_patiently(ctl, &req.name, first_answer_by, settled) {
        Observed::Inactive => {
            log::info!("Domain {} already stopped.", req.name);
            Ok(OcfRc::Success)
        }
        Observed::Indeterminate(why) if guest_gone(req) => considered_stopped(req, &why),
        Observed::Active(state) => stop_active(req, ctl, state),
        seen => {
            if let Some(what) = seen.unknown_word() {
                log::error!("{}", unknown_status(req, &what));
            }
            force_stop(req, ctl)
        }
    }
}

fn stop_active(req: &Request, ctl: &dyn DomainController, state: DomainState) -> OcfResult {
    let graceful_end = graceful_end(req);
    if req.params.force_stop || Instant::now() >= graceful_end {
        return force_stop(req, ctl);
    }
    log::info!("Issuing graceful shutdown request for domain {}.", req.name);
    // every call before destroy ends with the graceful window, whatever
    // libvirtd does (a job holding the domain's lock, a missing guest
    // agent, a frozen daemon): the destroy window stays whole
    let mut save_failed = None;
    let graceful = (|| {
        if !req.params.snapshot.is_empty() {
            match snapshot::save(req, ctl, graceful_end) {
                Ok(()) => return Some(Ok(OcfRc::Success)),
                Err(why) => save_failed = Some(why),
            }
            // a save cut off by the window leaves its connection wedged
            ctl.recover();
        }
        if state == DomainState::Paused {
            log::info!(
                "Domain {} is paused and cannot shut down by itself.",
                req.name
            );
            return None;
        }
        shut_down_gracefully(req, ctl, graceful_end)
    })();
    let stopped = graceful.unwrap_or_else(|| force_stop(req, ctl));
    match save_failed {
        Some(why) => snapshot::after_failed_save(req, ctl, stopped, &why),
        None => stopped,
    }
}

/// Sends the graceful request (again, with back-off) until the domain is
/// gone or `graceful_end`. `None`: not stopped, destroy it.
fn shut_down_gracefully(
    req: &Request,
    ctl: &dyn DomainController,
    graceful_end: Instant,
) -> Option<OcfResult> {
    let modes = &req.settings.shutdown.modes;
    let mut sent = 0;
    let mut next_request = Instant::now();
    while Instant::now() < graceful_end {
        if Instant::now() >= next_request {
            match ctl.shutdown(&req.name, modes, graceful_end) {
                Ok(()) => {}
                Err(ControllerError::NoDomain) => return Some(Ok(OcfRc::Success)),
                Err(ControllerError::Unreachable(why)) => {
                    log::warn!(
                        "Graceful shutdown request for {} got no answer: {why}",
                        req.name
                    );
                    ctl.recover();
                }
                Err(e) => log::warn!("Graceful shutdown request for {} failed: {e}", req.name),
            }
            sent += 1;
            next_request = Instant::now() + resend_after(sent);
        }
        let wait = next_request
            .min(graceful_end)
            .saturating_duration_since(Instant::now());
        ctl.wait_event(&req.name, wait);
        match observe(ctl, &req.name, graceful_end) {
            Observed::Inactive => {
                log::info!("Domain {} stopped gracefully.", req.name);
                return Some(Ok(OcfRc::Success));
            }
            Observed::Indeterminate(why) if guest_gone(req) => {
                return Some(considered_stopped(req, &why));
            }
            Observed::Indeterminate(_) => ctl.recover(),
            Observed::Active(_) | Observed::Failed(_) => {}
            Observed::Crashed | Observed::PmSuspended | Observed::Unrecognized(_) => return None,
        }
    }
    None
}

/// Destroy, then wait until libvirt reports the domain gone. A call that
/// gets no answer is tried again on a fresh connection until the time is
/// up; the guest's emulator process found gone ends the stop at once.
pub fn force_stop(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    log::info!(
        "Issuing forced shutdown (destroy) request for domain {}.",
        req.name
    );
    let end = req.ctx.work_end();
    let mut attempt = 0;
    loop {
        ctl.recover();
        let failure = match ctl.destroy(&req.name, end) {
            Ok(()) | Err(ControllerError::NoDomain) | Err(ControllerError::InvalidState(_)) => {
                break;
            }
            Err(ControllerError::Unreachable(why)) if guest_gone(req) => {
                return considered_stopped(req, &why);
            }
            Err(ControllerError::Unreachable(why)) => no_state_failure(req, &why),
            Err(ControllerError::Failed(msg)) => {
                if observe(ctl, &req.name, end) == Observed::Inactive {
                    return Ok(OcfRc::Success);
                }
                OcfError::generic(format!("forced stop failed: {msg}"))
            }
        };
        let pause = retry_pause(attempt);
        if Instant::now() + pause >= end {
            return Err(failure);
        }
        std::thread::sleep(pause);
        attempt += 1;
    }
    wait_until_gone(req, ctl, end)
}

fn wait_until_gone(req: &Request, ctl: &dyn DomainController, end: Instant) -> OcfResult {
    loop {
        let failure = match observe(ctl, &req.name, end) {
            Observed::Inactive => return Ok(OcfRc::Success),
            Observed::Indeterminate(why) if guest_gone(req) => {
                return considered_stopped(req, &why);
            }
            Observed::Indeterminate(why) => {
                ctl.recover();
                no_state_failure(req, &why)
            }
            _ => OcfError::generic(format!(
                "forced stop failed: {} still present after destroy",
                req.name
            )),
        };
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(failure);
        }
        ctl.wait_event(&req.name, left.min(GONE_POLL));
    }
}

/// The guest's emulator process is provably absent (libvirt aside).
fn guest_gone(req: &Request) -> bool {
    guest_process::look_up(
        &req.ctx.rsctmp,
        &req.name,
        req.domain.emulator.as_deref(),
        req.ctx.budget().outside_read_end(),
    ) == GuestProcess::Absent
}

fn considered_stopped(req: &Request, why: &str) -> OcfResult {
    log::info!(
        "Domain {} has no emulator process; considered stopped (libvirt: {why}).",
        req.name
    );
    Ok(OcfRc::Success)
}

/// libvirt cannot answer and the guest's process may run: stop fails
/// (Pacemaker fences, which is safer than a second copy of the guest
/// elsewhere).
fn no_state_failure(req: &Request, why: &str) -> OcfError {
    OcfError::generic(format!(
        "Virtual domain {} has no state during stop operation, bailing out ({why}).",
        req.name
    ))
}

#[cfg(test)]
#[path = "stop_tests.rs"]
mod tests;
