//! Utilization attributes (`cpu`, `host_memory`, `hv_memory`) written to
//! the CIB for Pacemaker's placement strategies.
//!
//! The anchor runs up to three `virsh dominfo` and six `crm_resource` per
//! monitor. Here the values come from one libvirt call, and `crm_resource`
//! runs only when a value differs from what this node last wrote
//! (remembered under `HA_RSCTMP`), so a steady-state monitor starts no
//! process at all. `unset_utilization_*` removes an attribute whatever the
//! `autoset_*` flag says (the anchor only honours it when autoset is off).
//!
//! The figures come from libvirt while the domain runs here, and from the
//! config XML when libvirt says it does not (see [`Figures::from_config`]):
//! Pacemaker's placement needs them before the first start, which the
//! anchor never provides for a transient domain.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use super::Request;
use crate::controller::DomainInfo;
use crate::domain_sizes;
use crate::domain_xml::DomainConfig;
use crate::host::command::run_bounded;
use crate::host::state_files;
use crate::params::Params;

/// What should happen to one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Set(u64),
    Delete,
}

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

/// Brings the CIB's utilization in line with `wanted`, calling
/// `crm_resource` only for attributes that changed since the last write.
pub fn update(req: &Request, figures: Figures) {
    let wanted = wanted(req, figures);
    if wanted.is_empty() {
        return;
    }
    let path = state_files::remembered_utilization(&req.ctx.rsctmp, &req.ctx.instance);
    let mut memory = state_files::read(&path)
        .map(|t| decode(&t))
        .unwrap_or_default();
    let changed: Vec<_> = wanted
        .into_iter()
        .filter(|(attr, want)| memory.get(*attr) != Some(want))
        .collect();
    // one crm_resource per attribute, side by side: each is 15-40 ms, and a
    // start (which forgets what was written) owes all of them
    let written: Vec<bool> = std::thread::scope(|scope| {
        let runs: Vec<_> = changed
            .iter()
            .map(|(attr, want)| {
                scope.spawn(move || {
                    if figures.fill_only && matches!(want, Wanted::Set(_)) {
                        match attribute_present(req, attr) {
                            // the CIB has a value: it stays (remembered as done)
                            Some(true) => return true,
                            Some(false) => {}
                            None => return false,
                        }
                    }
                    write_attribute(req, attr, want)
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().unwrap_or(false))
            .collect()
    });
    for ((attr, want), ok) in changed.into_iter().zip(written) {
        if ok {
            memory.insert(attr.to_string(), want);
        }
    }
    state_files::write_if_changed(&path, &encode(&memory));
}

/// Forgets what was written (the resource starts or stops here: another
/// node may have written other values meanwhile).
pub fn forget(req: &Request) {
    let _ = std::fs::remove_file(state_files::remembered_utilization(
        &req.ctx.rsctmp,
        &req.ctx.instance,
    ));
}

/// Whether the resource's utilization has `attr` in the CIB (None: the CIB
/// could not be asked). crm_resource 2.1.5 answers an absent attribute with
/// status 0, nothing on stdout and "Attribute 'X' not found" on stderr.
fn attribute_present(req: &Request, attr: &str) -> Option<bool> {
    let mut cmd = utilization_command(req);
    cmd.arg(format!("--get-parameter={attr}")).arg("--quiet");
    match run_bounded(cmd, req.ctx.work_left().min(Duration::from_secs(10))) {
        Ok(done) if done.success() => {
            let text = done.output.trim();
            Some(!text.is_empty() && !text.contains("not found"))
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
    match run_bounded(cmd, req.ctx.work_left().min(Duration::from_secs(10))) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_round_trips() {
        let mut m = BTreeMap::new();
        m.insert("cpu".to_string(), Wanted::Set(2));
        m.insert("hv_memory".to_string(), Wanted::Delete);
        assert_eq!(decode(&encode(&m)), m);
        assert_eq!(decode("garbage\ncpu=x\n"), BTreeMap::new());
    }

    #[test]
    fn the_domains_figures_are_needed_only_to_set_an_attribute() {
        let p = |pairs: &[(&str, &str)]| crate::actions::test_support::request(pairs).params;
        let off = [
            ("OCF_RESKEY_autoset_utilization_cpu", "false"),
            ("OCF_RESKEY_autoset_utilization_host_memory", "false"),
            ("OCF_RESKEY_autoset_utilization_hv_memory", "false"),
        ];
        assert!(!needs_info(&p(&off)));
        let mut one = off.to_vec();
        one[1].1 = "true";
        assert!(needs_info(&p(&one)));
        one.push(("OCF_RESKEY_unset_utilization_host_memory", "true"));
        assert!(!needs_info(&p(&one)), "unset wins over autoset");
    }

    #[test]
    fn config_figures_fill_what_libvirt_would_report() {
        let cfg = |xml: &str| Figures::from_config(&DomainConfig::parse(xml));
        assert_eq!(
            cfg("<domain><vcpu current='2'>4</vcpu><memory unit='MiB'>1536</memory></domain>"),
            Figures {
                cpu: Some(2),
                memory_mib: Some(1536),
                fill_only: true,
            }
        );
        assert_eq!(
            cfg("<domain><memory unit='KB'>100000</memory></domain>"),
            Figures {
                cpu: Some(1),
                memory_mib: Some(95),
                fill_only: true,
            },
            "97657 KiB: 95 MiB truncated, as the anchor's %d"
        );
        assert_eq!(
            cfg("<domain><vcpu>x</vcpu><memory unit='parsec'>1</memory></domain>"),
            Figures {
                fill_only: true,
                ..Figures::default()
            }
        );
    }

    #[test]
    fn a_figure_that_is_not_known_sets_nothing_but_unset_still_applies() {
        let req = crate::actions::test_support::request(&[
            ("OCF_RESKEY_autoset_utilization_cpu", "true"),
            ("OCF_RESKEY_autoset_utilization_host_memory", "true"),
            ("OCF_RESKEY_unset_utilization_hv_memory", "true"),
        ]);
        let partial = Figures {
            cpu: Some(3),
            memory_mib: None,
            fill_only: false,
        };
        let want: BTreeMap<_, _> = [("cpu", Wanted::Set(3)), ("hv_memory", Wanted::Delete)].into();
        assert_eq!(wanted(&req, partial), want);
    }
}
