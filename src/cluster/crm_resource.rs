//! Utilization through `crm_resource` processes: the fallback when libcib
//! cannot be loaded (and for a clone instance, whose attributes follow
//! crm_resource's clone rules). One process per attribute read or written,
//! run one after another: side by side against an offline CIB (`CIB_file`)
//! each run would write back the file as it read it, and only the last
//! change would survive.

use std::process::Command;

use super::attribute::{in_cib, Wanted};
use crate::host::command::run_bounded;
use crate::request::Request;
use crate::timing::CIB_CALL_CAP;

/// Makes the CIB hold `changed`; whether each attribute now does. On a
/// re-check, or for a config figure (`fill_only`), the CIB's value is read
/// first.
pub fn write(
    req: &Request,
    changed: &[(&str, Wanted)],
    fill_only: bool,
    recheck: bool,
) -> Vec<bool> {
    changed
        .iter()
        .map(|(attr, want)| {
            if (fill_only && matches!(want, Wanted::Set(_))) || recheck {
                match attribute_value(req, attr) {
                    // a config figure fills in, never replaces
                    Some(Some(_)) if fill_only => return true,
                    Some(now) if in_cib(want, now.as_deref()) => return true,
                    Some(_) => {}
                    None => return false,
                }
            }
            write_attribute(req, attr, want)
        })
        .collect()
}

/// The resource's utilization attribute `attr` in the CIB: `Some(None)`
/// when it has none, `None` when the CIB could not be asked. crm_resource
/// 2.1.5 answers an absent attribute with status 0, nothing on stdout and
/// "Attribute 'X' not found" on stderr.
fn attribute_value(req: &Request, attr: &str) -> Option<Option<String>> {
    let mut cmd = utilization_command(req);
    cmd.arg(format!("--get-parameter={attr}")).arg("--quiet");
    match run_bounded(cmd, req.ctx.work_left().min(CIB_CALL_CAP)) {
        Ok(done) if done.success() => {
            let text = done.output.trim();
            let absent = text.is_empty() || text.contains("not found");
            Some((!absent).then(|| text.to_string()))
        }
        Ok(done) => {
            log::debug!(
                "crm_resource could not read utilization attribute {attr}: {}",
                done.output
            );
            None
        }
        Err(e) => {
            log::debug!("crm_resource not run for utilization attribute {attr}: {e}");
            None
        }
    }
}

/// `crm_resource --resource=<this resource> --utilization`, to be completed.
fn utilization_command(req: &Request) -> Command {
    let mut cmd = Command::new("crm_resource");
    cmd.arg(format!("--resource={}", req.ctx.instance))
        .arg("--utilization");
    cmd
}

fn write_attribute(req: &Request, attr: &str, want: &Wanted) -> bool {
    let mut cmd = utilization_command(req);
    match want {
        Wanted::Set(value) => cmd
            .arg(format!("--set-parameter={attr}"))
            .arg(format!("--parameter-value={value}")),
        Wanted::Delete => cmd.arg(format!("--delete-parameter={attr}")),
    };
    match run_bounded(cmd, req.ctx.work_left().min(CIB_CALL_CAP)) {
        Ok(done) if done.success() => true,
        Ok(done)
            if done.output.contains("not connected")
                || done.output.contains("Transport endpoint") =>
        {
            log::debug!("Unable to set utilization attribute, cib is not available");
            false
        }
        Ok(done) => {
            let verb = if *want == Wanted::Delete {
                "unset"
            } else {
                "set"
            };
            // an attribute that is already absent counts as deleted
            let absent = *want == Wanted::Delete && done.output.contains("not found");
            if !absent {
                log::warn!(
                    "crm_resource failed to {verb} utilization attribute {attr}: {}",
                    done.output
                );
            }
            absent
        }
        Err(e) => {
            log::debug!("crm_resource not run for utilization attribute {attr}: {e}");
            false
        }
    }
}
