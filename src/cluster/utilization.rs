//! Utilization attributes (`cpu`, `host_memory`, `hv_memory`) written to
//! the CIB for Pacemaker's placement strategies.
//!
//! The anchor runs up to three `virsh dominfo` and six `crm_resource` per
//! monitor. Here the values come from one libvirt call, and `crm_resource`
//! runs only when a value differs from what this node last wrote
//! (remembered under `HA_RSCTMP`), so a steady-state monitor starts no
//! process at all. Someone else may change or delete a value in the CIB
//! meanwhile (the anchor puts it back at its next monitor): a probe, and
//! the first monitor [`RECHECK_AFTER`] after the last look, read the CIB's
//! values and correct what differs. `unset_utilization_*` removes an attribute whatever the
//! `autoset_*` flag says (the anchor only honours it when autoset is off).
//!
//! The figures come from libvirt while the domain runs here, and from the
//! config XML when libvirt says it does not (see [`Figures::from_config`]):
//! Pacemaker's placement needs them before the first start, which the
//! anchor never provides for a transient domain.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

pub use super::attribute::Wanted;
use super::cib_file;
use super::cib_write::{self, Failure};
use super::crm_resource;
use crate::cli::Action;
use crate::controller::DomainInfo;
use crate::domain_sizes;
use crate::domain_xml::DomainConfig;
use crate::host::state_files;
use crate::params::Params;
use crate::request::Request;
use crate::timing::{CIB_CALL_CAP, CIB_RECHECK_AFTER};

/// How long what this node wrote is trusted before the CIB is read again
/// (see [`CIB_RECHECK_AFTER`]).
pub const RECHECK_AFTER: Duration = CIB_RECHECK_AFTER;

/// The figures the attributes are set from (`None`: not known).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// The current vCPU count.
    pub cpu: Option<u64>,
    /// The maximum memory in MiB, truncated.
    pub memory_mib: Option<u64>,
    /// Read from the config, not from a running domain: they only fill in
    /// an attribute the CIB does not have yet. The node where the domain
    /// runs may have written live figures (a vCPU hot-plugged), and a probe
    /// elsewhere must not put the config's back.
    pub fill_only: bool,
}

impl From<DomainInfo> for Figures {
    fn from(info: DomainInfo) -> Figures {
        Figures {
            cpu: Some(u64::from(info.vcpus)),
            memory_mib: Some(info.max_memory_kib / 1024),
            fill_only: false,
        }
    }
}

impl Figures {
    /// The figures libvirt would report once the config is defined; a
    /// value libvirt would refuse is left out, and why is logged.
    pub fn from_config(domain: &DomainConfig) -> Figures {
        let cpu = domain_sizes::vcpus(domain)
            .map_err(|why| log::info!("No cpu utilization from the config: {why}"))
            .ok();
        let memory_mib = domain_sizes::max_memory_kib(domain)
            .map_err(|why| log::info!("No memory utilization from the config: {why}"))
            .ok();
        Figures {
            cpu: cpu.map(u64::from),
            memory_mib: memory_mib.map(|kib| kib / 1024),
            fill_only: true,
        }
    }
}

/// Whether any attribute is to be set from the domain's figures (an
/// attribute to unset, or not managed, needs none of them).
pub fn needs_info(p: &Params) -> bool {
    [
        (p.autoset_utilization_cpu, p.unset_utilization_cpu),
        (
            p.autoset_utilization_host_memory,
            p.unset_utilization_host_memory,
        ),
        (
            p.autoset_utilization_hv_memory,
            p.unset_utilization_hv_memory,
        ),
    ]
    .iter()
    .any(|&(autoset, unset)| autoset && !unset)
}

/// The attributes this monitor wants, from the parameters and the figures.
pub fn wanted(req: &Request, figures: Figures) -> BTreeMap<&'static str, Wanted> {
    let p = &req.params;
    let attrs = [
        (
            "cpu",
            p.autoset_utilization_cpu,
            p.unset_utilization_cpu,
            figures.cpu,
        ),
        (
            "host_memory",
            p.autoset_utilization_host_memory,
            p.unset_utilization_host_memory,
            figures.memory_mib,
        ),
        (
            "hv_memory",
            p.autoset_utilization_hv_memory,
            p.unset_utilization_hv_memory,
            figures.memory_mib,
        ),
    ];
    attrs
        .into_iter()
        .filter_map(|(attr, autoset, unset, value)| {
            let want = if unset {
                Wanted::Delete
            } else if autoset {
                Wanted::Set(value?)
            } else {
                return None;
            };
            Some((attr, want))
        })
        .collect()
}

fn encode(memory: &BTreeMap<String, Wanted>) -> String {
    memory
        .iter()
        .map(|(k, v)| match v {
            Wanted::Set(n) => format!("{k}={n}"),
            Wanted::Delete => format!("{k}="),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads the remembered-utilization state file (`attr=value` lines; pub for
/// fuzz/: it is outside data).
pub fn decode(text: &str) -> BTreeMap<String, Wanted> {
    text.lines()
        .filter_map(|line| {
            let (k, v) = line.split_once('=')?;
            let want = if v.is_empty() {
                Wanted::Delete
            } else {
                Wanted::Set(v.parse().ok()?)
            };
            Some((k.to_string(), want))
        })
        .collect()
}

/// Brings the CIB's utilization in line with `wanted`, touching the CIB
/// only for attributes that changed since the last write (or all of them
/// on a re-check): through libcib in one change ([`cib_write`]), or with
/// `crm_resource` when libcib cannot be loaded ([`crm_resource`]).
pub fn update(req: &Request, figures: Figures) {
    let wanted = wanted(req, figures);
    if wanted.is_empty() {
        return;
    }
    let path = state_files::remembered_utilization(&req.ctx.rsctmp, &req.ctx.instance);
    let mut memory = state_files::read(&path)
        .map(|t| decode(&t))
        .unwrap_or_default();
    let probe = req.action == Action::Monitor && req.ctx.is_probe();
    let recheck = !memory.is_empty() && (probe || looked_long_ago(&path));
    let changed: Vec<_> = wanted
        .into_iter()
        .filter(|(attr, want)| recheck || memory.get(*attr) != Some(want))
        .collect();
    if changed.is_empty() {
        return;
    }
    let written = write(req, &changed, figures.fill_only, recheck);
    let mut all_checked = true;
    for ((attr, want), ok) in changed.into_iter().zip(written) {
        if ok {
            memory.insert(attr.to_string(), want);
        }
        all_checked &= ok;
    }
    state_files::write_if_changed(&path, &encode(&memory));
    if recheck && all_checked {
        looked_now(&path);
    }
}

/// Makes the CIB hold `changed`; whether each attribute now does.
fn write(req: &Request, changed: &[(&str, Wanted)], fill_only: bool, recheck: bool) -> Vec<bool> {
    // a clone instance (`R:N`): crm_resource's rules for a clone's
    // attributes (the clone's own set) are not reproduced here
    if req.ctx.instance.contains(':') {
        return crm_resource::write(req, changed, fill_only, recheck);
    }
    let by = Instant::now() + req.ctx.work_left().min(CIB_CALL_CAP);
    if let Some(file) = &req.ctx.offline_cib {
        if cib_file::holds(file, &req.ctx.instance, changed, fill_only, by) {
            log::debug!(
                "Utilization of {} already in {}",
                req.ctx.instance,
                file.display()
            );
            return vec![true; changed.len()];
        }
    }
    match cib_write::apply(&req.ctx.instance, changed, fill_only, by) {
        Ok(done) => done,
        Err(Failure::NoLibrary(why)) => {
            log::debug!("Utilization through crm_resource: {why}");
            crm_resource::write(req, changed, fill_only, recheck)
        }
        Err(Failure::NotConnected) => {
            log::debug!("Unable to set utilization attribute, cib is not available");
            vec![false; changed.len()]
        }
        Err(Failure::Cib(why)) => {
            log::warn!(
                "Unable to update utilization of {}: {why}",
                req.ctx.instance
            );
            vec![false; changed.len()]
        }
    }
}

/// Whether the memory file was last confirmed [`RECHECK_AFTER`] ago or
/// more (its modification time is the last write or look).
fn looked_long_ago(path: &Path) -> bool {
    let modified = std::fs::symlink_metadata(path).and_then(|m| m.modified());
    modified.is_ok_and(|t| {
        SystemTime::now()
            .duration_since(t)
            .is_ok_and(|age| age >= RECHECK_AFTER)
    })
}

/// Marks the memory file as confirmed now (its content unchanged).
fn looked_now(path: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let touched = std::fs::OpenOptions::new()
        .append(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()));
    if let Err(e) = touched {
        log::debug!("Cannot mark {} as checked: {e}", path.display());
    }
}

/// Forgets what was written (the resource starts or stops here: another
/// node may have written other values meanwhile).
pub fn forget(req: &Request) {
    let _ = std::fs::remove_file(state_files::remembered_utilization(
        &req.ctx.rsctmp,
        &req.ctx.instance,
    ));
}

#[cfg(test)]
#[path = "utilization_tests.rs"]
mod tests;
