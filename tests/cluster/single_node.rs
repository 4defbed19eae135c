//! A one-node cluster on n1: what a user does first with a VM resource.
//! Create (the README's pcs command), reload without restart, recovery
//! after the guest's qemu is killed, disable/enable, cleanup (crmsh), a change of
//! `config` (a restart for both agents), switching the anchor's running
//! resource to ours and back (tests/cluster/switching.rs), delete.

use std::time::Duration;

use crate::multihost::MultiLab;
use crate::support::eventually;
use crate::{booted, Report, Vm};

const N1: usize = 1;

pub fn run(lab: &MultiLab, vms: &[Vm], report: &mut Report) {
    if let Err(e) = lab.pcmk_up(&[N1], &[N1]) {
        report.failures.push(format!("one-node cluster up: {e}"));
        return;
    }
    report.info("one-node cluster n1 online");
    let mut boots = Vec::new();
    for vm in vms {
        let (ok, out) = vm.create(lab, N1, &[]);
        report.check(
            vm,
            ok,
            format!("pcs resource create --wait: {}", last_line(&out)),
        );
        report.check(vm, lab.located(N1, vm.rsc) == ["n1"], "created: Started n1");
        let boot = booted(lab, N1, vm.guest, None, 60);
        report.check(vm, boot.is_some(), "the guest boots on n1 (console ticks)");
        boots.push(boot.map(|b| b.0).unwrap_or_default());
    }

    // first, while the history holds only the start: a later cleanup
    // re-probes the running resource, and Pacemaker 2.1.5 keeps that probe
    // as last_failure_0 without a restart digest, so the next parameter
    // change is a restart even when every changed parameter is reloadable
    // (pcmk__check_action_config)
    reload(lab, vms, &mut boots, report);

    // qemu dies under the cluster's feet: the recurring monitor notices,
    // Pacemaker stops and starts it again on the node, fail-count 1
    for vm in vms {
        lab.exec(
            N1,
            &[
                "sh",
                "-c",
                &format!("kill -KILL $(cat /run/libvirt/qemu/{}.pid)", vm.guest),
            ],
        );
    }
    for (vm, boot) in vms.iter().zip(boots.iter_mut()) {
        let again = booted(lab, N1, vm.guest, Some(boot), 90);
        report.check(
            vm,
            again.is_some(),
            "qemu killed: restarted on n1 (a new boot ticks)",
        );
        report.check(
            vm,
            eventually(Duration::from_secs(30), || {
                lab.fail_count(N1, vm.rsc, "n1") == 1
            }),
            "qemu killed: fail-count 1 on n1",
        );
        *boot = again.map(|b| b.0).unwrap_or_default();
    }

    // disable stops the guest (the transient domain is gone), enable boots it
    for (vm, boot) in vms.iter().zip(boots.iter_mut()) {
        let (ok, out) = lab.pcs(N1, &["resource", "disable", vm.rsc, "--wait=120"]);
        report.check(
            vm,
            ok,
            format!("pcs resource disable --wait: {}", last_line(&out)),
        );
        report.check(
            vm,
            lab.state(N1, vm.guest).is_empty() && lab.located(N1, vm.rsc).is_empty(),
            "disabled: the domain is gone from n1 and Pacemaker shows it stopped",
        );
        let (ok, out) = lab.pcs(N1, &["resource", "enable", vm.rsc, "--wait=120"]);
        report.check(
            vm,
            ok,
            format!("pcs resource enable --wait: {}", last_line(&out)),
        );
        let again = booted(lab, N1, vm.guest, Some(boot), 60);
        report.check(vm, again.is_some(), "enabled: a new boot ticks on n1");
        *boot = again.map(|b| b.0).unwrap_or_default();
    }

    // cleanup forgets the failure; the guest keeps running (SUSE's shell:
    // crmsh's `crm resource cleanup`, after `crm configure show` of it)
    for (vm, boot) in vms.iter().zip(boots.iter()) {
        let (_, shown) = lab.exec(N1, &["timeout", "60", "crm", "configure", "show", vm.rsc]);
        // crmsh writes the default provider's agents short: `VirtualDomain`
        // is ocf:heartbeat:VirtualDomain
        let agents: &[&str] = if vm.anchor {
            &["ocf:heartbeat:VirtualDomain", "VirtualDomain"]
        } else {
            &["ocf:rust:VirtualDomain"]
        };
        report.check(
            vm,
            agents
                .iter()
                .any(|a| shown.contains(&format!("primitive {} {a} ", vm.rsc))),
            format!("crm configure show: {}", shown.lines().next().unwrap_or("")),
        );
        let failures = lab.fail_count(N1, vm.rsc, "n1");
        let (ok, out) = lab.exec(
            N1,
            &["timeout", "200", "crm", "resource", "cleanup", vm.rsc],
        );
        report.check(vm, ok, format!("crm resource cleanup: {}", last_line(&out)));
        lab.settle(N1, 120);
        report.check(
            vm,
            failures == 1 && lab.fail_count(N1, vm.rsc, "n1") == 0,
            format!("cleanup: fail-count {failures} → none"),
        );
        report.check(
            vm,
            lab.tick_after(N1, vm.guest, boot, 0, 10).is_some()
                && lab.located(N1, vm.rsc) == ["n1"],
            "cleanup: the same boot still ticks, Started n1",
        );
    }

    change_config(lab, vms, &mut boots, report);

    // the README's switch of a running resource between the agents
    if let Some(i) = vms.iter().position(|vm| vm.anchor) {
        crate::switching::run(lab, &vms[i], &boots[i], report);
    }

    for vm in vms {
        let (ok, out) = lab.pcs(N1, &["resource", "delete", vm.rsc]);
        report.check(vm, ok, format!("pcs resource delete: {}", last_line(&out)));
        report.check(
            vm,
            eventually(Duration::from_secs(30), || {
                lab.state(N1, vm.guest).is_empty()
            }),
            "deleted: the guest was stopped first (domain gone from n1)",
        );
    }
}

/// `pcs resource update` of parameters that need no restart (a migration
/// and a utilization parameter): ours reloads (reload-agent, the same boot
/// goes on, the utilization attribute is removed at once); the anchor has
/// no reload and restarts the guest.
fn reload(lab: &MultiLab, vms: &[Vm], boots: &mut [String], report: &mut Report) {
    for (vm, boot) in vms.iter().zip(boots.iter_mut()) {
        let starts = lab.op_results(N1, "start", vm.rsc, "ok");
        let reloads = lab.op_results(N1, "reload-agent", vm.rsc, "ok");
        report.check(
            vm,
            eventually(Duration::from_secs(20), || {
                lab.utilization(N1, vm.rsc, "cpu").as_deref() == Some("1")
            }),
            "before the update: utilization cpu=1 (set by the monitor)",
        );
        let (ok, out) = lab.pcs(
            N1,
            &[
                "resource",
                "update",
                vm.rsc,
                "migration_speed=50",
                "autoset_utilization_cpu=false",
                "unset_utilization_cpu=true",
            ],
        );
        report.check(
            vm,
            ok,
            format!(
                "pcs resource update (reloadable parameters): {}",
                last_line(&out)
            ),
        );
        lab.settle(N1, 120);
        let restarted = lab.op_results(N1, "start", vm.rsc, "ok") > starts;
        let reloaded = lab.op_results(N1, "reload-agent", vm.rsc, "ok") > reloads;
        if vm.anchor {
            report.check(
                vm,
                restarted && !reloaded,
                "reloadable update: restarted (the anchor has no reload-agent)",
            );
            let again = booted(lab, N1, vm.guest, Some(boot), 60);
            *boot = again.map(|b| b.0).unwrap_or_default();
        } else {
            report.check(
                vm,
                reloaded && !restarted,
                "reloadable update: reload-agent ran, no stop/start",
            );
            report.check(
                vm,
                lab.still_ticks(N1, vm.guest, boot, 10),
                "reloadable update: the same boot still ticks",
            );
        }
        report.check(
            vm,
            eventually(Duration::from_secs(30), || {
                lab.utilization(N1, vm.rsc, "cpu").is_none()
            }),
            "unset_utilization_cpu=true: the cpu attribute is removed",
        );
    }
}

/// A new config path: not reloadable, a restart from the new file.
fn change_config(lab: &MultiLab, vms: &[Vm], boots: &mut [String], report: &mut Report) {
    for (vm, boot) in vms.iter().zip(boots.iter_mut()) {
        let copy = vm.xml.with_file_name(format!("{}-copy.xml", vm.guest));
        let copied = std::fs::copy(&vm.xml, &copy).is_ok();
        let starts = lab.op_results(N1, "start", vm.rsc, "ok");
        let config = format!("config={}", copy.display());
        let (ok, out) = lab.pcs(N1, &["resource", "update", vm.rsc, &config]);
        report.check(
            vm,
            copied && ok,
            format!("pcs resource update config=…: {}", last_line(&out)),
        );
        lab.settle(N1, 120);
        report.check(
            vm,
            lab.op_results(N1, "start", vm.rsc, "ok") > starts,
            "config changed: Pacemaker restarted the resource",
        );
        let again = booted(lab, N1, vm.guest, Some(boot), 60);
        report.check(
            vm,
            again.is_some(),
            "config changed: a new boot ticks on n1",
        );
        *boot = again.map(|b| b.0).unwrap_or_default();
    }
}

pub fn last_line(out: &str) -> &str {
    out.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}
