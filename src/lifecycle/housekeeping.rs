//! What every monitor does besides answering: keep the emulator cache the
//! process-table fallback needs, report utilization (also reload-agent's
//! part), save the config, and
//! remember the domain name for probes that cannot read the config.

use crate::cluster::utilization;
use crate::cluster::utilization::Figures;
use crate::controller::DomainController;
use crate::guest::state::Observed;
use crate::guest_data::config_save;
use crate::host::state_files;
use crate::request::Request;

/// Runs after every monitor, whatever its result; never changes it.
pub fn after_monitor(req: &Request, ctl: &dyn DomainController, observed: &Observed) {
    remember_domain(req);
    let active = matches!(observed, Observed::Active(_));
    if active {
        cache_emulator(req, ctl);
    }
    report_utilization(req, ctl, observed);
    if req.params.save_config_on_stop && active {
        config_save::save_config(req, ctl, req.ctx.work_end());
    }
}

/// Brings the utilization attributes in line with the parameters: the
/// figures from libvirt when the domain is active here, from the config
/// when libvirt says it is not (shut off or unknown to it: a probe before
/// the first start); none otherwise (libvirt unreachable, crashed, …),
/// which still lets `unset_utilization_*` apply.
pub fn report_utilization(req: &Request, ctl: &dyn DomainController, observed: &Observed) {
    let figures = match observed {
        _ if !utilization::needs_info(&req.params) => Figures::default(),
        Observed::Active(_) => ctl
            .info(&req.name, req.ctx.work_end())
            .map(Figures::from)
            .unwrap_or_default(),
        Observed::Inactive => Figures::from_config(&req.domain),
        _ => Figures::default(),
    };
    utilization::update(req, figures);
}

/// Keeps `HA_RSCTMP/VirtualDomain-<name>-emu.state` current. The config's
/// `<emulator>` is used when present (no libvirt call); otherwise the live
/// definition is asked once and cached.
fn cache_emulator(req: &Request, ctl: &dyn DomainController) {
    let path = state_files::emulator_cache(&req.ctx.rsctmp, &req.name);
    let emulator = match req.domain.emulator_basename() {
        Some(base) => base.to_string(),
        None if state_files::read(&path).is_some() => return,
        None => match ctl.emulator(&req.name, req.ctx.work_end()) {
            Ok(Some(e)) => crate::domain_xml::basename(&e).unwrap_or(&e).to_string(),
            _ => return,
        },
    };
    state_files::write_if_changed(&path, &emulator);
}

/// Remembers which domain this resource manages (see `actions::without_config`),
/// keeping the UUID remembered with the same name.
pub fn remember_domain(req: &Request) {
    crate::guest::tag::Remembered::write(&req.ctx, &req.name, None);
}
