//! A probe or a stop whose config file cannot be read (shared storage not
//! mounted yet, or gone) must not answer "not running" / "stopped" for a
//! domain that runs here: the anchor does, and Pacemaker may then start a
//! second copy elsewhere (issue #856). The domain name read from the
//! config the last time is remembered under `HA_RSCTMP`; with it, the
//! probe asks libvirt (or the process table), and the stop stops the
//! domain for real before it answers.

use super::guest_process::{self, GuestProcess};
use super::setup;
use super::state::Observed;
use super::{observe, stop, Request};
use crate::cli::Action;
use crate::controller::DomainController;
use crate::domain_xml::DomainConfig;
use crate::host::state_files;
use crate::ocf::logging::NOTICE;
use crate::ocf::{OcfContext, OcfError, OcfRc, OcfResult};
use crate::params::Params;

/// The domain this resource ran the last time its config was read here.
pub fn remembered_name(ctx: &OcfContext) -> Option<String> {
    state_files::read(&state_files::remembered_domain(&ctx.rsctmp, &ctx.instance))
}

/// The verdict of an action whose config could not be read, or `None` to
/// answer as the anchor (probe 7, stop 0) because nothing here runs the
/// domain (or no name was ever remembered).
pub fn without_config(
    action: Action,
    ctx: &OcfContext,
    params: &Params,
    ctl: &dyn DomainController,
) -> Option<OcfResult> {
    let name = remembered_name(ctx)?;
    let req = remembered_request(action, ctx, params, name);
    match action {
        Action::Monitor => probe(&req, ctl),
        Action::Stop => stop_remembered(&req, ctl),
        _ => None,
    }
}

/// A request for the remembered domain: no config to read or write back.
fn remembered_request(action: Action, ctx: &OcfContext, params: &Params, name: String) -> Request {
    let mut params = params.clone();
    params.save_config_on_stop = false;
    params.sync_config_on_stop = false;
    let settings = setup::settings(&params).unwrap_or_default();
    Request {
        action,
        ctx: ctx.clone(),
        config_path: params.config.clone().unwrap_or_default().into(),
        params,
        settings,
        domain: DomainConfig {
            name: Some(name.clone()),
            ..DomainConfig::default()
        },
        name,
    }
}

fn probe(req: &Request, ctl: &dyn DomainController) -> Option<OcfResult> {
    let name = &req.name;
    let running = |how: String| {
        log::info!(
            target: NOTICE,
            "Configuration file not readable, but domain {name} is running here ({how})."
        );
        Some(Ok(OcfRc::Success))
    };
    let seen = observe::observe(ctl, name, req.ctx.work_end());
    match seen {
        Observed::Active(state) => running(state.virsh_word().to_string()),
        Observed::Inactive => None,
        Observed::Indeterminate(why) => match guest_process::look_up(&req.ctx.rsctmp, name, None) {
            GuestProcess::Running(pid) => running(format!("process {pid}")),
            GuestProcess::Absent => None,
            GuestProcess::Unknown => Some(Err(OcfError::generic(format!(
                "Configuration file not readable and state of {name} unknown: {why}"
            )))),
        },
        other => Some(Err(OcfError::generic(format!(
            "Virtual domain {name} has unknown status \"{}\"!",
            other.unknown_word().unwrap_or_default()
        )))),
    }
}

/// The remembered domain is stopped through the normal stop path when it
/// is here (graceful, then destroy); absent, the anchor's 0 stands.
fn stop_remembered(req: &Request, ctl: &dyn DomainController) -> Option<OcfResult> {
    let seen = observe::observe(ctl, &req.name, req.ctx.work_end());
    let absent = seen == Observed::Inactive
        || (matches!(seen, Observed::Indeterminate(_))
            && guest_process::look_up(&req.ctx.rsctmp, &req.name, None) == GuestProcess::Absent);
    if absent {
        return None;
    }
    log::info!(
        "Configuration file not readable, but domain {} may run here: stopping it.",
        req.name
    );
    Some(stop::stop(req, ctl))
}
