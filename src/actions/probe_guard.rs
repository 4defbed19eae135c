//! A probe whose config file cannot be read (shared storage not mounted
//! yet) must not answer "not running" for a domain that runs here: the
//! anchor does, and Pacemaker may then start a second copy elsewhere.
//! The domain name read from the config the last time is remembered under
//! `HA_RSCTMP`; with it, the probe asks libvirt (or the process table).

use super::state::Observed;
use crate::controller::DomainController;
use crate::host::process_table::{find_domain_process, EmulatorKind};
use crate::host::state_files;
use crate::ocf::logging::NOTICE;
use crate::ocf::{OcfContext, OcfError, OcfRc, OcfResult};

/// The verdict for a probe with an unreadable config, or `None` to answer
/// as the anchor (7) because nothing here runs the domain (or no name was
/// ever remembered).
pub fn probe_without_config(ctx: &OcfContext, ctl: &dyn DomainController) -> Option<OcfResult> {
    let name = state_files::read(&state_files::remembered_domain(&ctx.rsctmp, &ctx.instance))?;
    let running = |how: String| {
        log::info!(
            target: NOTICE,
            "Configuration file not readable, but domain {name} is running here ({how})."
        );
        Some(Ok(OcfRc::Success))
    };
    match Observed::classify(ctl.state(&name)) {
        Observed::Active(state) => running(state.virsh_word().to_string()),
        Observed::Inactive => None,
        Observed::Unknown(what) => Some(Err(OcfError::generic(format!(
            "Virtual domain {name} has unknown status \"{what}\"!"
        )))),
        Observed::Indeterminate(why) => {
            let emulator = state_files::read(&state_files::emulator_cache(&ctx.rsctmp, &name));
            let Some(kind) = emulator.as_deref().and_then(EmulatorKind::of) else {
                return Some(Err(OcfError::generic(format!(
                    "Configuration file not readable and state of {name} unknown: {why}"
                ))));
            };
            find_domain_process(kind, &name).map(|pid| running(format!("process {pid}")))?
        }
    }
}
