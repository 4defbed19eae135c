//! ocf:rust:VirtualDomain — a native drop-in replacement for Pacemaker's
//! `ocf:heartbeat:VirtualDomain` resource agent.
//!
//! Layout, from the top down (imports run only downward): [`actions`] are
//! the OCF actions; [`lifecycle`] the steps they share; [`migration`],
//! [`guest_data`] and [`cluster`] the capabilities; [`guest`] what the agent
//! knows about its guest; [`request`] one invocation's checked settings;
//! [`controller`] acts on the hypervisor behind a trait; [`host`],
//! [`params`], [`domain_xml`], [`ocf`] (the OCF contract) and [`timing`]
//! are the foundations.

pub mod actions;
pub mod cli;
pub mod cluster;
pub mod controller;
pub mod domain_sizes;
pub mod domain_xml;
pub mod guest;
pub mod guest_data;
pub mod host;
pub mod lifecycle;
pub mod manpage;
pub mod metadata;
pub mod migration;
pub mod ocf;
pub mod pacemaker_time;
mod panic_guard;
pub mod params;
pub mod request;
pub mod timing;

/// The whole agent, as `main` runs it; ends the process.
pub fn main_entry() -> ! {
    let env = ocf::Env::from_process();
    panic_guard::install(ocf::reason::prefix(&env));
    let rc = actions::run(std::env::args_os(), env);
    exit_now(rc.code())
}

/// Ends the process at once with `code`. Threads of libvirt's may still
/// run (abandoned connections, the event loop, a migration watcher
/// closing its connection), and the C library's exit handlers — libvirt's
/// destructors among them — must not run under them: that was seen as a
/// "double free or corruption" abort once in ~60 migrations. stdout and
/// stderr are flushed first; nothing else is buffered (log lines and
/// files are written as they come).
fn exit_now(code: u8) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: _exit only ends the process; every buffer that matters was
    // flushed above.
    unsafe { nix::libc::_exit(i32::from(code)) }
}
