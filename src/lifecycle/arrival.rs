//! Bringing the domain up here, the steps start and migrate_from share: the
//! storage pools and networks it needs ([`start_resources`]), and the wait
//! until it runs and its monitor passes ([`wait_until_running`]) — by
//! libvirt's lifecycle events, and never past the operation's time.

use std::time::Instant;

use crate::controller::DomainController;
use crate::guest::health::run_monitor_scripts;
use crate::guest::observe::observe;
use crate::guest::state::{unknown_observation, Observed};
use crate::lifecycle::housekeeping;
use crate::ocf::{OcfError, OcfRc, OcfResult};
use crate::request::Request;
use crate::timing::ARRIVAL_POLL;

/// `start_resources`: the storage pools and networks the domain uses.
pub fn start_resources(req: &Request, ctl: &dyn DomainController) -> Result<(), OcfError> {
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
pub enum Arrival {
    /// Created by this start: not running means it stopped again.
    Started,
    /// Migrating in: not running yet means not arrived yet.
    Migrating,
}

/// Waits until the domain runs and the monitor scripts pass. A woken
/// domain may still be pmsuspended for a moment; a libvirtd restarting
/// meanwhile is waited for.
pub fn wait_until_running(
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
        ctl.wait_event(&req.name, left.min(ARRIVAL_POLL));
        if Instant::now() >= end {
            // a query now would only say "no time left"
            return Err(failure);
        }
    }
}
