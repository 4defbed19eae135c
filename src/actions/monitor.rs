//! monitor (and probe) and status: is the domain running here?
//!
//! The anchor's mapping of libvirt states, then the user's monitor
//! scripts, then the housekeeping every monitor does (emulator cache,
//! utilization, config save). When libvirt cannot answer, the process
//! table decides, as the anchor does — but never by looping forever.
//!
//! Depth 10 (`OCF_CHECK_LEVEL=10`) also reads libvirt's reason for a pause
//! ([`crate::guest::pause`]); `io_error_policy` acts on a guest paused by a
//! disk I/O error ([`crate::guest::io_error`]).

use crate::controller::{DomainController, DomainState, StateDetail};
use crate::guest::agent::{self, AGENT_LEVEL};
use crate::guest::health::run_monitor_scripts;
use crate::guest::io_error;
use crate::guest::pause::{failure_reason, PauseCause, REASON_LEVEL};
use crate::guest::process::{self as guest_process, GuestProcess};
use crate::guest::state::{unknown_observation, Observed};
use crate::lifecycle::housekeeping;
use crate::ocf::logging::NOTICE;
use crate::ocf::{OcfError, OcfRc, OcfResult};
use crate::request::setup::IoErrorPolicy;
use crate::request::Request;

/// `monitor`: state, monitor scripts, housekeeping.
pub fn monitor(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    let level = req.ctx.check_level;
    let wants_reason = level >= REASON_LEVEL
        || (req.settings.io_error.policy != IoErrorPolicy::Report && !req.ctx.is_probe());
    let (answer, detail) = if wants_reason {
        // the reason comes with the state: one query, as at depth 0
        let answer = ctl.state_detail(&req.name, req.ctx.work_end());
        (answer.clone().map(|d| d.state), answer.ok())
    } else {
        (ctl.state(&req.name, req.ctx.work_end()), None)
    };
    let observed = Observed::classify(answer);
    let result = match &observed {
        Observed::Indeterminate(why) => process_fallback(req, why),
        Observed::Active(state) => {
            log::debug!(
                "Virtual domain {} is currently {}.",
                req.name,
                state.virsh_word()
            );
            pause_check(req, ctl, detail, level)
                .and_then(|_| agent_check(req, ctl, level, *state))
                .and_then(|_| run_monitor_scripts(req))
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

/// Depth 10 and `io_error_policy`: a pause nobody asked for. `detail`:
/// the state with its reason, when it was asked for.
fn pause_check(
    req: &Request,
    ctl: &dyn DomainController,
    detail: Option<StateDetail>,
    level: u32,
) -> OcfResult {
    let Some(detail) = detail else {
        return Ok(OcfRc::Success);
    };
    match PauseCause::of(detail) {
        Some(PauseCause::IoError) => io_error::on_pause(req, ctl, level),
        Some(cause) if level >= REASON_LEVEL => Err(OcfError::generic(failure_reason(
            ctl,
            &req.name,
            cause,
            req.ctx.work_end(),
        ))),
        _ => {
            io_error::on_healthy(req);
            Ok(OcfRc::Success)
        }
    }
}

/// Depth 20: the guest agent answers (not asked of a paused guest: its
/// agent cannot answer, and depth 10 already judged the pause).
fn agent_check(
    req: &Request,
    ctl: &dyn DomainController,
    level: u32,
    state: DomainState,
) -> OcfResult {
    if level < AGENT_LEVEL || state == DomainState::Paused {
        return Ok(OcfRc::Success);
    }
    agent::check(req, ctl)
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

#[cfg(test)]
#[path = "monitor_tests.rs"]
mod tests;
