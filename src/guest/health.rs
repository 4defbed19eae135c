//! The user's `monitor_scripts`: the guest's own health checks, run after
//! libvirt says the domain runs (by monitor, and by start and migrate_from
//! before they answer), each bounded by the operation's time.

use std::process::Command;

use crate::host::command::run_bounded;
use crate::ocf::{OcfError, OcfRc, OcfResult};
use crate::request::Request;

/// Runs `monitor_scripts` in order; the first failure fails the monitor.
pub fn run_monitor_scripts(req: &Request) -> OcfResult {
    for script in &req.params.monitor_scripts {
        let outcome = run_bounded(Command::new(script), req.ctx.work_left());
        let (code, output) = match outcome {
            Ok(done) if done.success() => {
                log::debug!(
                    "Monitor command \"{script}\" for domain {} completed successfully with output: {}",
                    req.name,
                    done.output
                );
                continue;
            }
            Ok(done) => (done.code.to_string(), done.output),
            Err(e) => ("an error".to_string(), e),
        };
        return Err(OcfError::generic(format!(
            "Monitor command \"{script}\" for domain {} returned {code} with output: {output}",
            req.name
        )));
    }
    Ok(OcfRc::Success)
}
