//! monitor (and probe) and status: is the domain running here?
//!
//! The anchor's mapping of libvirt states, then the user's monitor
//! scripts, then the housekeeping every monitor does (emulator cache,
//! utilization, config save). When libvirt cannot answer, the process
//! table decides, as the anchor does — but never by looping forever.

use std::process::Command;

use super::guest_process::{self, GuestProcess};
use super::state::Observed;
use super::{housekeeping, Request};
use crate::controller::DomainController;
use crate::host::command::run_bounded;
use crate::ocf::logging::NOTICE;
use crate::ocf::{OcfError, OcfRc, OcfResult};

/// `monitor`: state, monitor scripts, housekeeping.
pub fn monitor(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    let observed = Observed::classify(ctl.state(&req.name, req.ctx.work_end()));
    let result = match &observed {
        Observed::Indeterminate(why) => process_fallback(req, why),
        Observed::Active(state) => {
            log::debug!(
                "Virtual domain {} is currently {}.",
                req.name,
                state.virsh_word()
            );
            run_monitor_scripts(req)
        }
        Observed::Inactive => {
            log::debug!("Virtual domain {} is not running.", req.name);
            Ok(OcfRc::NotRunning)
        }
        other => Err(unknown_observation(req, other)),
    };
    housekeeping::after_monitor(req, ctl, &observed);
    result
}

/// `status`: the state alone, as OCF codes (0, 7, 1) like the anchor.
pub fn status(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    match Observed::classify(ctl.state(&req.name, req.ctx.work_end())) {
        Observed::Active(_) => Ok(OcfRc::Success),
        Observed::Inactive => Ok(OcfRc::NotRunning),
        Observed::Indeterminate(why) => Err(OcfError::generic(format!(
            "Virtual domain {} has no state: {why}",
            req.name
        ))),
        other => Err(unknown_observation(req, &other)),
    }
}

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

/// libvirt cannot answer: look for the guest's process.
pub fn process_fallback(req: &Request, why: &str) -> OcfResult {
    let emulator = req.domain.emulator.as_deref();
    match guest_process::look_up(
        &req.ctx.rsctmp,
        &req.name,
        emulator,
        req.ctx.budget().outside_read_end(),
    ) {
        GuestProcess::Unknown => {
            if req.ctx.is_probe() {
                log::info!(target: NOTICE, "Unable to determine emulator for {}", req.name);
            }
            Err(OcfError::generic(format!(
                "Cannot determine the state of {}: {why}; no emulator process to look for",
                req.name
            )))
        }
        GuestProcess::Running(pid) => {
            log::info!(
                target: NOTICE,
                "Virtual domain {} is running (process {pid}); libvirt: {why}",
                req.name
            );
            Ok(OcfRc::Success)
        }
        GuestProcess::Absent => {
            log::info!(target: NOTICE, "Virtual domain {} has no process; libvirt: {why}", req.name);
            Ok(OcfRc::NotRunning)
        }
    }
}

/// Runs `monitor_scripts` in order; the first failure fails the monitor.
pub fn run_monitor_scripts(req: &Request) -> OcfResult {
    for script in &req.params.monitor_scripts {
        let outcome = run_bounded(Command::new(script), req.ctx.work_left());
        let (code, output) = match outcome {
            Ok(done) if done.success() => {
                log::debug!(
                    "Monitor command \"{script}\" for domain {} completed successfully with output: {}",
                    req.name,
                    done.output
                );
                continue;
            }
            Ok(done) => (done.code.to_string(), done.output),
            Err(e) => ("an error".to_string(), e),
        };
        return Err(OcfError::generic(format!(
            "Monitor command \"{script}\" for domain {} returned {code} with output: {output}",
            req.name
        )));
    }
    Ok(OcfRc::Success)
}
