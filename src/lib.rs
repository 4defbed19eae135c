//! ocf:rust:VirtualDomain — a native drop-in replacement for Pacemaker's
//! `ocf:heartbeat:VirtualDomain` resource agent.
//!
//! Layout: [`ocf`] is the OCF contract (environment, exit codes, exit
//! reasons, logging); [`params`] and [`domain_xml`] read the configuration
//! once into types; [`actions`] decides what to do; [`controller`] acts on
//! the hypervisor behind a trait.

pub mod actions;
pub mod cli;
pub mod controller;
pub mod domain_xml;
pub mod host;
pub mod metadata;
pub mod ocf;
pub mod params;

use std::process::ExitCode;

/// The whole agent, as `main` runs it.
pub fn main_entry() -> ExitCode {
    install_panic_guard();
    actions::run(std::env::args_os(), ocf::Env::from_process())
}

/// A bug must still end as an OCF error with a reason, never as a bare
/// abort: print an exit reason and exit 1.
fn install_panic_guard() {
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("internal error: {info}");
        ocf::reason::exit_reason(ocf::reason::DEFAULT_PREFIX, &msg);
        std::process::exit(i32::from(ocf::OcfRc::ErrGeneric.code()));
    }));
}
