//! monitor (and probe) and status: is the domain running here?
//!
//! The anchor's mapping of libvirt states, then the user's monitor
//! scripts, then the housekeeping every monitor does (emulator cache,
//! utilization, config save). When libvirt cannot answer, the process
//! table decides, as the anchor does — but never by looping forever.

use crate::controller::DomainController;
use crate::guest::health::run_monitor_scripts;
use crate::guest::process::{self as guest_process, GuestProcess};
use crate::guest::state::{unknown_observation, Observed};
use crate::lifecycle::housekeeping;
use crate::ocf::logging::NOTICE;
use crate::ocf::{OcfError, OcfRc, OcfResult};
use crate::request::Request;

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
        // a state number newer than this agent: the anchor's "no state",
        // so the process table decides (a newer libvirt's state must not
        // make Pacemaker restart a guest that runs)
        Observed::Unrecognized(n) => process_fallback(
            req,
            &format!("libvirt reports state {n}, which this agent does not know"),
        ),
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

#[cfg(test)]
#[path = "state_table_tests.rs"]
mod state_table_tests;
