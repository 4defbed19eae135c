//! A three-node cluster n1..n3 (each host its own libvirtd) with
//! allow-migrate=true: `pcs resource move` live-migrates the guest (same
//! boot id, Pacemaker records migrate_to and migrate_from, no start); a
//! node powered off has its guest started on another node; the node
//! rejoining probes and does not start a second copy; a migration the
//! target refuses is recovered with the guest running once, never twice.

use std::time::Duration;

use crate::cluster::Subject;
use crate::multihost::MultiLab;
use crate::single_node::last_line;
use crate::support::eventually;
use crate::{booted, Report, Vm};

const ALL: [usize; 3] = [1, 2, 3];

pub fn run(lab: &MultiLab, vms: &[Vm], report: &mut Report) {
    let mut boots = Vec::new();
    for vm in vms {
        let (ok, out) = vm.create(lab, 1, &[]);
        report.check(
            vm,
            ok,
            format!("pcs resource create --wait: {}", last_line(&out)),
        );
        let node = host_of(lab, vm);
        let boot = node.and_then(|i| booted(lab, i, vm.guest, None, 60));
        report.check(
            vm,
            boot.is_some(),
            "created: Started, the guest ticks there",
        );
        boots.push(boot.map(|b| b.0).unwrap_or_default());
    }

    // live migration to n3 (from n1 first when it starts on n3)
    for (vm, boot) in vms.iter().zip(boots.iter()) {
        if host_of(lab, vm) == Some(3) {
            move_live(lab, vm, boot, 1, Shell::Pcs, report);
        }
        // SUSE's shell for this one, as its HA guide moves a VM
        move_live(lab, vm, boot, 3, Shell::Crm, report);
    }

    // what the moves cost, as Pacemaker recorded it (exec-time)
    for vm in vms {
        let records: Vec<String> = lab
            .op_records(1, vm.rsc)
            .into_iter()
            .filter(|(op, ..)| op.starts_with("migrate") || op == "monitor")
            .map(|(op, interval, ms)| match interval {
                0 => format!("{op} {ms} ms"),
                _ => format!("{op}/{}s {ms} ms", interval / 1000),
            })
            .collect();
        report.info(format!(
            "{}: exec-time in the CIB: {}",
            vm.tag(),
            records.join(", ")
        ));
    }

    // n3 loses power with both guests: each is started on another node
    lab.power_off(3);
    report.info("n3 powered off");
    for (vm, boot) in vms.iter().zip(boots.iter_mut()) {
        let moved = eventually(Duration::from_secs(90), || {
            matches!(host_of(lab, vm), Some(1 | 2))
        });
        report.check(vm, moved, "n3 powered off: Started on n1 or n2");
        let again = host_of(lab, vm).and_then(|i| booted(lab, i, vm.guest, Some(boot), 60));
        report.check(
            vm,
            again.is_some(),
            "n3 powered off: a new boot ticks on the new node",
        );
        *boot = again.map(|b| b.0).unwrap_or_default();
    }

    // n3 powers on and rejoins: its probes find nothing, nothing starts twice
    let probes: Vec<usize> = vms
        .iter()
        .map(|vm| lab.op_results(3, "probe", vm.rsc, "not running"))
        .collect();
    lab.power_on(3);
    let rejoined = lab.pcmk_up(&ALL, &[3]);
    report.info(format!(
        "n3 back: {}",
        rejoined.as_ref().map_or("failed", |_| "rejoined")
    ));
    lab.settle(1, 120);
    for (vm, before) in vms.iter().zip(probes) {
        report.check(
            vm,
            lab.op_results(3, "probe", vm.rsc, "not running") > before,
            "n3 rejoined: its probe answered 'not running'",
        );
        running_once(lab, vm, "n3 rejoined", report);
    }

    refused_migration(lab, vms, report);

    for vm in vms {
        let (ok, out) = lab.pcs(1, &["resource", "delete", vm.rsc]);
        report.check(vm, ok, format!("pcs resource delete: {}", last_line(&out)));
    }
}

/// The host Pacemaker says the resource is active on (exactly one).
pub fn host_of(lab: &MultiLab, vm: &Vm) -> Option<usize> {
    match lab.located(1, vm.rsc).as_slice() {
        [node] => node.strip_prefix('n')?.parse().ok(),
        _ => None,
    }
}

/// The domain runs on exactly one host, the one Pacemaker names.
fn running_once(lab: &MultiLab, vm: &Vm, when: &str, report: &mut Report) {
    let running = lab.running_on(&ALL, vm.guest);
    let located = host_of(lab, vm);
    report.check(
        vm,
        running.len() == 1 && located == running.first().copied(),
        format!("{when}: running once (libvirt: {running:?}, Pacemaker: {located:?})"),
    );
}

/// The cluster shell a step is given with.
#[derive(Clone, Copy)]
enum Shell {
    /// `pcs resource move RSC NODE --wait=120`
    Pcs,
    /// crmsh: `crm -w resource move RSC NODE`
    Crm,
}

/// `pcs resource move` or `crm resource move` to n`to`: a live migration,
/// not a restart.
fn move_live(lab: &MultiLab, vm: &Vm, boot: &str, to: usize, shell: Shell, report: &mut Report) {
    let Some(from) = host_of(lab, vm) else {
        report.check(
            vm,
            false,
            format!("move to n{to}: the resource is not Started"),
        );
        return;
    };
    let tick = lab
        .tick_after(from, vm.guest, boot, 0, 10)
        .map_or(0, |t| t.1);
    let to_before = lab.op_results(from, "migrate_to", vm.rsc, "ok");
    let from_before = lab.op_results(to, "migrate_from", vm.rsc, "ok");
    let starts = lab.op_results_anywhere("start", vm.rsc, "ok");
    let node = format!("n{to}");
    let (ok, out, what) = match shell {
        Shell::Pcs => {
            let (ok, out) = lab.pcs(1, &["resource", "move", vm.rsc, &node, "--wait=120"]);
            (ok, out, format!("pcs resource move n{from} → n{to}"))
        }
        Shell::Crm => {
            let (ok, out) = lab.exec(
                1,
                &[
                    "timeout", "200", "crm", "-w", "resource", "move", vm.rsc, &node,
                ],
            );
            lab.settle(1, 120);
            // crm keeps the move's location constraint (pcs 0.11 drops its own)
            lab.exec(1, &["timeout", "60", "crm", "resource", "clear", vm.rsc]);
            (ok, out, format!("crm -w resource move n{from} → n{to}"))
        }
    };
    report.check(vm, ok, format!("{what}: {}", last_line(&out)));
    report.check(
        vm,
        lab.located(1, vm.rsc) == [node.clone()],
        format!("{what}: Started n{to}"),
    );
    report.check(
        vm,
        lab.tick_after(to, vm.guest, boot, tick, 30).is_some(),
        format!("{what}: the same boot ticks on n{to} (live)"),
    );
    report.check(
        vm,
        lab.op_results(from, "migrate_to", vm.rsc, "ok") > to_before
            && lab.op_results(to, "migrate_from", vm.rsc, "ok") > from_before
            && lab.op_results_anywhere("start", vm.rsc, "ok") == starts,
        format!("{what}: Pacemaker ran migrate_to and migrate_from, no start"),
    );
    report.check(
        vm,
        lab.state(from, vm.guest).is_empty(),
        format!("{what}: gone from n{from}"),
    );
}

/// The target's libvirt refuses the incoming migration (its qemu hook says
/// no): migrate_to fails, Pacemaker recovers, the guest runs once.
fn refused_migration(lab: &MultiLab, vms: &[Vm], report: &mut Report) {
    for vm in vms {
        let Some(from) = host_of(lab, vm) else {
            report.check(vm, false, "refused migration: the resource is not Started");
            continue;
        };
        let to = if from == 3 { 1 } else { 3 };
        let flag = lab.dir.join(format!("n{to}/etc-libvirt/refuse-migrations"));
        let _ = std::fs::write(&flag, "");
        let failed = lab.op_results(from, "migrate_to", vm.rsc, "error");
        let node = format!("n{to}");
        let (_, out) = lab.pcs(1, &["resource", "move", vm.rsc, &node, "--wait=120"]);
        lab.settle(1, 120);
        report.info(format!(
            "{}: move n{from} → n{to} refused: pcs said {}",
            vm.tag(),
            last_line(&out)
        ));
        report.check(
            vm,
            lab.op_results(from, "migrate_to", vm.rsc, "error") > failed,
            format!("refused migration: migrate_to on n{from} failed"),
        );
        running_once(lab, vm, "refused migration, recovered", report);
        let _ = std::fs::remove_file(&flag);
        lab.pcs(1, &["resource", "clear", vm.rsc]);
        lab.settle(1, 120);
        let ticking = host_of(lab, vm).and_then(|i| booted(lab, i, vm.guest, None, 60));
        report.check(
            vm,
            ticking.is_some(),
            "refused migration, recovered: the guest ticks",
        );
    }
}
