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
pub mod manpage;
pub mod metadata;
pub mod ocf;
mod panic_guard;
pub mod params;

use std::process::ExitCode;

/// The whole agent, as `main` runs it.
pub fn main_entry() -> ExitCode {
    let env = ocf::Env::from_process();
    panic_guard::install(ocf::reason::prefix(&env));
    actions::run(std::env::args_os(), env)
}
