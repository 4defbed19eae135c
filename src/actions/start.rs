//! start: bring the domain up from its config, idempotently.
//!
//! Order as the anchor, except that pools and networks are started first:
//! already running → done; start pools and networks if asked; restore a
//! saved state if there is one; clear a stale persistent definition of
//! the same name (without ever losing the user's config file); create (or
//! define + start, in backing-file mode); then wait until a monitor passes
//! — by libvirt events, and never past the timeout.

use std::time::{Duration, Instant};

use super::config_keep::keeping_config;
use super::monitor::{run_monitor_scripts, unknown_observation, unknown_status};
use super::observe::{observe, observe_patiently, retry_pause};
use super::state::Observed;
use super::{
    backing, domain_tag, double_start, housekeeping, snapshot, utilization, Remote, Request,
};
use crate::controller::{ControllerError, DomainController, DomainState};
use crate::domain_xml::{with_uuid, DomainConfig};
use crate::host::systemd;
use crate::ocf::{OcfError, OcfRc, OcfResult};

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
        let hypervisor = super::migrate::hypervisor_uri(req, ctl)?;
        double_start::refuse_if_running_elsewhere(req, nodes, &hypervisor, remote)?;
    }
    systemd::ensure_shutdown_ordering(short_limit(req));
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

pub(super) fn short_limit(req: &Request) -> Duration {
    req.ctx.work_left().min(Duration::from_secs(10))
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

/// Defines the domain from the config, leaving the file as it is. A
/// config without `<uuid>` redefines an existing definition with its UUID
/// (libvirt refuses the same name with a new, random one). The
/// definition is tagged with this resource.
pub(super) fn define(req: &Request, ctl: &dyn DomainController, xml: &str) -> Result<(), OcfError> {
    let existing_uuid = match req.domain.uuid {
        Some(_) => None,
        None => ctl
            .inactive_xml(&req.name, req.ctx.work_end())
            .ok()
            .and_then(|x| DomainConfig::parse(&x).uuid),
    };
    let xml = existing_uuid
        .and_then(|uuid| with_uuid(xml, &uuid))
        .unwrap_or_else(|| xml.to_string());
    keeping_config(&req.config_path, || ctl.define(&xml, req.ctx.work_end())).map_err(|e| {
        OcfError::generic(format!("Failed to define virtual domain {}: {e}", req.name))
    })?;
    domain_tag::tag(req, ctl);
    Ok(())
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

/// `start_resources`: the storage pools and networks the domain uses.
pub(super) fn start_resources(req: &Request, ctl: &dyn DomainController) -> Result<(), OcfError> {
    for pool in &req.domain.pools {
        ctl.ensure_pool_active(pool, req.ctx.work_end())
            .map_err(|e| {
                OcfError::generic(format!(
                    "Failed to start required virtual storage pool {pool}: {e}"
                ))
            })?;
    }
    for network in &req.domain.networks {
        ctl.ensure_network_active(network, req.ctx.work_end())
            .map_err(|e| {
                OcfError::generic(format!(
                    "Failed to start required virtual network {network}: {e}"
                ))
            })?;
    }
    Ok(())
}

fn not_arrived(req: &Request, detail: &str) -> OcfError {
    OcfError::generic(format!(
        "{}: migrate_from: the domain has not arrived from {} in time{detail}",
        req.name,
        req.ctx.migrate_source.as_deref().unwrap_or("the source")
    ))
}

/// How the domain comes to run here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arrival {
    /// Created by this start: not running means it stopped again.
    Started,
    /// Migrating in: not running yet means not arrived yet.
    Migrating,
}

/// Waits until the domain runs and the monitor scripts pass. A woken
/// domain may still be pmsuspended for a moment; a libvirtd restarting
/// meanwhile is waited for.
pub(super) fn wait_until_running(
    req: &Request,
    ctl: &dyn DomainController,
    arrival: Arrival,
) -> OcfResult {
    let end = req.ctx.work_end();
    loop {
        let failure = match observe(ctl, &req.name, end) {
            Observed::Active(state) => match run_monitor_scripts(req) {
                Ok(_) => {
                    housekeeping::after_monitor(req, ctl, &Observed::Active(state));
                    if arrival == Arrival::Started {
                        log::info!("Virtual domain {} started.", req.name);
                    }
                    return Ok(OcfRc::Success);
                }
                Err(e) => e,
            },
            Observed::Inactive if arrival == Arrival::Migrating => not_arrived(req, ""),
            Observed::Inactive => {
                return Err(OcfError::generic(format!(
                    "Virtual domain {} stopped right after it was started",
                    req.name
                )));
            }
            seen @ (Observed::Crashed | Observed::Unrecognized(_)) => {
                return Err(unknown_observation(req, &seen));
            }
            seen @ Observed::PmSuspended => unknown_observation(req, &seen),
            Observed::Failed(why) | Observed::Indeterminate(why) => {
                ctl.recover();
                match arrival {
                    Arrival::Started => {
                        OcfError::generic(format!("Virtual domain {}: {why}", req.name))
                    }
                    Arrival::Migrating => not_arrived(req, &format!(" (libvirt: {why})")),
                }
            }
        };
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(failure);
        }
        ctl.wait_event(&req.name, left.min(Duration::from_secs(1)));
        if Instant::now() >= end {
            // a query now would only say "no time left"
            return Err(failure);
        }
    }
}

#[cfg(test)]
#[path = "start_tests.rs"]
mod tests;
