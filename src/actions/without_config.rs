//! An action whose config file cannot be read (shared storage not mounted
//! yet, or gone) must not answer "not running" / "stopped" for a domain
//! that runs here: the anchor does, and Pacemaker may then start a second
//! copy elsewhere (issues #856, #1231). The domain is identified without
//! the file: by the name read from the config the last time here
//! (remembered under `HA_RSCTMP`), and by the resource tag libvirt carries
//! in the domain's definition to every node it runs on ([`domain_tag`]).
//! A probe, monitor or status then answers from the domain's real state,
//! a stop stops it for real before it answers, a migrate_to migrates it
//! (a 5 there made Pacemaker stop it and ban the node instead: the chaos
//! campaign's config_empty fault) and a migrate_from waits for it. Only when nothing identifies a domain do the anchor's answers
//! stand.

use crate::actions::migrate;
use crate::actions::monitor;
use crate::actions::stop;
use crate::cli::Action;
use crate::controller::{DomainController, Remote};
use crate::domain_xml::DomainConfig;
use crate::guest::observe;
use crate::guest::process::{self as guest_process, GuestProcess};
use crate::guest::state::Observed;
use crate::guest::tag::{self as domain_tag, Identity, Remembered};
use crate::ocf::logging::NOTICE;
use crate::ocf::{OcfContext, OcfError, OcfRc, OcfResult};
use crate::params::Params;
use crate::request::setup::{self, Message};
use crate::request::Request;

/// Whether an action with an unreadable config looks for its domain.
pub fn applies(action: Action) -> bool {
    matches!(
        action,
        Action::Monitor | Action::Status | Action::Stop | Action::MigrateTo | Action::MigrateFrom
    )
}

/// The verdict of an action whose config could not be read, or `None` to
/// answer as the anchor (probe 7, stop 0, …) because nothing identifies a
/// domain of this resource, or the one identified is not here. What was
/// found instead (copies of its tag, inactive definitions) is added to the
/// anchor's exit reasons in `messages`.
pub fn without_config(
    action: Action,
    ctx: &OcfContext,
    params: &Params,
    ctl: &dyn DomainController,
    remote: Remote,
    messages: &mut [Message],
) -> Option<OcfResult> {
    if !applies(action) {
        return None;
    }
    let listing = domain_tag::list(ctl, ctx.work_end());
    let identity = domain_tag::identify(&ctx.instance, Remembered::read(ctx).as_ref(), &listing);
    let name = match identity {
        Identity::Unknown(found) => {
            if let Some(found) = found {
                log::warn!("Configuration file not readable; {found}: none is the resource's.");
                for message in messages.iter_mut() {
                    if let Message::Reason(text) = message {
                        *text = format!("Found only domains {found}; {text}");
                    }
                }
            }
            return None;
        }
        Identity::Ambiguous(why) => return Some(Err(OcfError::generic(why))),
        Identity::Domain { name, found_by } => {
            log::info!(
                "Configuration file not readable; resource {} is domain {name} (by {found_by}).",
                ctx.instance
            );
            name
        }
    };
    let req = remembered_request(action, ctx, params, name);
    match action {
        Action::Monitor if ctx.is_probe() => probe(&req, ctl),
        Action::Monitor => Some(monitor::monitor(&req, ctl)),
        Action::Status => Some(monitor::status(&req, ctl)),
        Action::Stop => stop_remembered(&req, ctl),
        Action::MigrateTo => Some(migrate::migrate_to(&req, ctl, remote)),
        _ => Some(migrate::arrival(&req, ctl)),
    }
}

/// A request for the identified domain: no config to read or write back.
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
        Observed::Indeterminate(why) => {
            match guest_process::look_up(&req.ctx.rsctmp, name, None, read_by(req)) {
                GuestProcess::Running(pid) => running(format!("process {pid}")),
                GuestProcess::Absent => None,
                GuestProcess::Unknown => Some(Err(OcfError::generic(format!(
                    "Configuration file not readable and state of {name} unknown: {why}"
                )))),
            }
        }
        other => Some(Err(OcfError::generic(format!(
            "Virtual domain {name} has unknown status \"{}\"!",
            other.unknown_word().unwrap_or_default()
        )))),
    }
}

/// When a process-table scan must have answered.
fn read_by(req: &Request) -> std::time::Instant {
    req.ctx.budget().outside_read_end()
}

/// The remembered domain is stopped through the normal stop path when it
/// is here (graceful, then destroy); absent, the anchor's 0 stands.
fn stop_remembered(req: &Request, ctl: &dyn DomainController) -> Option<OcfResult> {
    let seen = observe::observe(ctl, &req.name, req.ctx.work_end());
    let absent = seen == Observed::Inactive
        || (matches!(seen, Observed::Indeterminate(_))
            && guest_process::look_up(&req.ctx.rsctmp, &req.name, None, read_by(req))
                == GuestProcess::Absent);
    if absent {
        return None;
    }
    log::info!(
        "Configuration file not readable, but domain {} may run here: stopping it.",
        req.name
    );
    Some(stop::stop(req, ctl))
}

#[cfg(test)]
#[path = "without_config_tests.rs"]
mod tests;
