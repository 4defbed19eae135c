//! What every monitor does besides answering: keep the emulator cache the
//! process-table fallback needs, report utilization, save the config, and
//! remember the domain name for probes that cannot read the config.

use super::state::Observed;
use super::{config_save, utilization, Request};
use crate::controller::DomainController;
use crate::host::state_files;

/// Runs after every monitor, whatever its result; never changes it.
pub fn after_monitor(req: &Request, ctl: &dyn DomainController, observed: &Observed) {
    remember_domain(req);
    let active = matches!(observed, Observed::Active(_));
    if active {
        cache_emulator(req, ctl);
    }
    let info = if active && utilization::needs_info(&req.params) {
        ctl.info(&req.name).ok()
    } else {
        None
    };
    utilization::update(req, info);
    if req.params.save_config_on_stop && active {
        config_save::save_config(req, ctl, req.ctx.work_end());
    }
}

/// Keeps `HA_RSCTMP/VirtualDomain-<name>-emu.state` current. The config's
/// `<emulator>` is used when present (no libvirt call); otherwise the live
/// definition is asked once and cached.
fn cache_emulator(req: &Request, ctl: &dyn DomainController) {
    let path = state_files::emulator_cache(&req.ctx.rsctmp, &req.name);
    let emulator = match req.domain.emulator_basename() {
        Some(base) => base.to_string(),
        None if state_files::read(&path).is_some() => return,
        None => match ctl.emulator(&req.name) {
            Ok(Some(e)) => crate::domain_xml::basename(&e).unwrap_or(&e).to_string(),
            _ => return,
        },
    };
    state_files::write_if_changed(&path, &emulator);
}

/// Remembers which domain this resource manages (see `probe_guard`).
pub fn remember_domain(req: &Request) {
    let path = state_files::remembered_domain(&req.ctx.rsctmp, &req.ctx.instance);
    state_files::write_if_changed(&path, &req.name);
}
