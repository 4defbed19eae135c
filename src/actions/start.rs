//! start: bring the domain up from its config, idempotently.
//!
//! Order as the anchor, except that pools and networks are started first:
//! already running → done; start pools and networks if asked; restore a
//! saved state if there is one; clear a stale persistent definition of
//! the same name (without ever losing the user's config file); create (or
//! define + start, in backing-file mode); then wait until a monitor passes
//! — by libvirt events, and never past the timeout.

use std::time::Instant;

use crate::cluster::utilization;
use crate::controller::Remote;
use crate::controller::{ControllerError, DomainController, DomainState};
use crate::guest::observe::{observe_patiently, retry_pause};
use crate::guest::state::unknown_status;
use crate::guest::state::Observed;
use crate::guest::tag as domain_tag;
use crate::guest_data::backing;
use crate::guest_data::config_keep::keeping_config;
use crate::guest_data::definition::define;
use crate::guest_data::snapshot;
use crate::host::systemd;
use crate::lifecycle::arrival::{start_resources, wait_until_running, Arrival};
use crate::migration::double_start;
use crate::migration::target::hypervisor_uri;
use crate::ocf::{OcfError, OcfRc, OcfResult};
use crate::request::Request;

/// `start`; a domain that runs afterwards carries this resource's tag.
pub fn start(req: &Request, ctl: &dyn DomainController, remote: Remote) -> OcfResult {
    let started = start_domain(req, ctl, remote);
    if started.is_ok() {
        domain_tag::tag(req, ctl);
    }
    started
}

fn start_domain(req: &Request, ctl: &dyn DomainController, remote: Remote) -> OcfResult {
    utilization::forget(req);
    // a restarting libvirtd, or a passing error, is asked again until the
    // time is up: an error is never taken for a state
    match observe_patiently(ctl, &req.name, req.ctx.work_end(), |_| false) {
        Observed::Active(DomainState::Paused) => return resume(req, ctl),
        Observed::Active(_) => {
            log::info!("Virtual domain {} already running.", req.name);
            return Ok(OcfRc::Success);
        }
        Observed::Inactive => {}
        Observed::PmSuspended => {
            log::warn!("{}", unknown_status(req, "pmsuspended"));
            if wake_up(req, ctl) {
                return wait_until_running(req, ctl, Arrival::Started);
            }
            destroy_before_start(req, ctl, "pmsuspended")?;
        }
        Observed::Crashed => {
            log::warn!("{}", unknown_status(req, "crashed"));
            destroy_before_start(req, ctl, "crashed")?;
        }
        Observed::Unrecognized(n) => {
            return Err(OcfError::generic(format!(
                "Cannot start {}: libvirt reports state {n}, unknown to this agent",
                req.name
            )));
        }
        Observed::Failed(why) | Observed::Indeterminate(why) => {
            return Err(OcfError::generic(format!(
                "Cannot start {}: its state is unknown ({why})",
                req.name
            )));
        }
    }
    if let Some(nodes) = &req.settings.migration.double_start_nodes {
        let hypervisor = hypervisor_uri(req, ctl)?;
        double_start::refuse_if_running_elsewhere(req, nodes, &hypervisor, remote)?;
    }
    systemd::ensure_shutdown_ordering(req.ctx.budget().short_step());
    // before the restore (unlike the anchor): a saved guest's disks may be
    // in a pool that is not active yet
    if req.params.start_resources {
        start_resources(req, ctl)?;
    }
    if let Some(restored) = snapshot::restore(req, ctl) {
        return restored;
    }
    if !req.params.persistent {
        undefine_stale_definition(req, ctl);
    }
    if req.params.backingfile.is_empty() {
        create(req, ctl)?;
    } else {
        backing::define_and_start(req, ctl)?;
    }
    wait_until_running(req, ctl, Arrival::Started)
}

/// `create` from the config (`persistent`: define from it, then start).
/// A call whose answer is lost (libvirtd restarting) may have started the
/// domain or not: the state decides whether it is sent again.
fn create(req: &Request, ctl: &dyn DomainController) -> Result<(), OcfError> {
    let xml = req.config_xml()?;
    if req.params.persistent {
        define(req, ctl, &xml)?;
        return launch(req, ctl, || {
            ctl.start_defined(&req.name, req.ctx.work_end())
        });
    }
    launch(req, ctl, || ctl.create(&xml, req.ctx.work_end()))
}

fn launch(
    req: &Request,
    ctl: &dyn DomainController,
    call: impl Fn() -> Result<(), ControllerError>,
) -> Result<(), OcfError> {
    let end = req.ctx.work_end();
    let mut attempt = 0;
    loop {
        let why = match call() {
            Ok(()) => return Ok(()),
            Err(ControllerError::Unreachable(why)) => why,
            Err(e) => return Err(start_failed(req, &e.to_string())),
        };
        let pause = retry_pause(attempt);
        if Instant::now() + pause >= end {
            return Err(start_failed(req, &why));
        }
        std::thread::sleep(pause);
        attempt += 1;
        ctl.recover();
        match observe_patiently(ctl, &req.name, end, |_| false) {
            Observed::Inactive => log::info!("Starting {} again after: {why}", req.name),
            Observed::Active(_) => return Ok(()),
            other => return Err(start_failed(req, &format!("{other:?} after: {why}"))),
        }
    }
}

fn start_failed(req: &Request, why: &str) -> OcfError {
    OcfError::generic(format!(
        "Failed to start virtual domain {}: {why}",
        req.name
    ))
}

/// A paused domain is resumed: a started resource is one that runs.
fn resume(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    log::info!("Virtual domain {} is paused; resuming it.", req.name);
    ctl.resume(&req.name, req.ctx.work_end()).map_err(|e| {
        OcfError::generic(format!("Failed to resume paused domain {}: {e}", req.name))
    })?;
    Ok(OcfRc::Success)
}

/// Wakes a pmsuspended domain; whether the driver did.
fn wake_up(req: &Request, ctl: &dyn DomainController) -> bool {
    match ctl.wakeup(&req.name, req.ctx.work_end()) {
        Ok(()) => {
            log::info!("Woke up pmsuspended domain {}.", req.name);
            true
        }
        Err(e) => {
            log::info!("Cannot wake up domain {}: {e}", req.name);
            false
        }
    }
}

/// A domain libvirt *reports* crashed (or pmsuspended and not wakeable)
/// is destroyed so the start can create it afresh. Never for an error.
fn destroy_before_start(
    req: &Request,
    ctl: &dyn DomainController,
    what: &str,
) -> Result<(), OcfError> {
    log::info!(
        "Destroying domain {} ({what}) before starting it.",
        req.name
    );
    match ctl.destroy(&req.name, req.ctx.work_end()) {
        Ok(()) | Err(ControllerError::NoDomain) | Err(ControllerError::InvalidState(_)) => Ok(()),
        Err(e) => Err(OcfError::generic(format!(
            "Cannot clear {what} domain {}: {e}",
            req.name
        ))),
    }
}

/// A persistent definition with our name would make `create` fail: remove
/// it (without losing the user's config, see [`config_keep`]).
fn undefine_stale_definition(req: &Request, ctl: &dyn DomainController) {
    if !ctl
        .is_persistent(&req.name, req.ctx.work_end())
        .unwrap_or(false)
    {
        return;
    }
    log::info!(
        "Removing the persistent definition of {} before starting it.",
        req.name
    );
    keeping_config(&req.config_path, || {
        if let Err(e) = ctl.undefine(&req.name, req.ctx.work_end()) {
            log::warn!("Undefining {} failed: {e}", req.name);
        }
    });
}

#[cfg(test)]
#[path = "start_tests.rs"]
mod tests;
