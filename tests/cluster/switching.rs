//! The README's "Switching from ocf:heartbeat:VirtualDomain", done on a
//! running guest in the one-node cluster: unmanage, change the primitive's
//! provider with cibadmin, refresh (the new agent probes and finds the
//! guest running), manage again. Then back to heartbeat the same way. The
//! guest must not restart at any point: same boot, no stop or start.

use std::time::Duration;

use crate::multihost::MultiLab;
use crate::single_node::last_line;
use crate::support::eventually;
use crate::{Report, Vm};

const N1: usize = 1;

pub fn run(lab: &MultiLab, vm: &Vm, boot: &str, report: &mut Report) {
    let starts = lab.op_results(N1, "start", vm.rsc, "ok");
    let stops = lab.op_results(N1, "stop", vm.rsc, "ok");
    for provider in ["rust", "heartbeat"] {
        let what = format!("switch to ocf:{provider}:VirtualDomain");
        let probes = lab.op_results(N1, "probe", vm.rsc, "ok");
        let monitors = lab.op_results(N1, "monitor", vm.rsc, "ok");
        let primitive = format!("<primitive id=\"{}\" provider=\"{provider}\"/>", vm.rsc);
        let steps = [
            lab.pcs(N1, &["resource", "unmanage", vm.rsc]),
            lab.exec(
                N1,
                &[
                    "timeout",
                    "30",
                    "cibadmin",
                    "--modify",
                    "--xml-text",
                    &primitive,
                ],
            ),
            lab.exec(
                N1,
                &[
                    "timeout",
                    "60",
                    "crm_resource",
                    "--refresh",
                    "--resource",
                    vm.rsc,
                ],
            ),
        ];
        lab.settle(N1, 60);
        let managed = lab.pcs(N1, &["resource", "manage", vm.rsc]);
        lab.settle(N1, 60);
        let failed: Vec<&str> = steps
            .iter()
            .chain([&managed])
            .filter(|(ok, _)| !ok)
            .map(|(_, out)| last_line(out))
            .collect();
        report.check(
            vm,
            failed.is_empty(),
            format!("{what}: unmanage, cibadmin --modify, refresh, manage {failed:?}"),
        );
        let agent = format!("(ocf:{provider}:VirtualDomain)");
        let (_, status) = lab.exec(N1, &["timeout", "30", "crm_mon", "-1"]);
        let line = status
            .lines()
            .find(|l| l.contains(vm.rsc))
            .unwrap_or("")
            .to_string();
        report.check(
            vm,
            line.contains(&agent) && line.contains("Started n1") && !line.contains("unmanaged"),
            format!("{what}: crm_mon says {}", line.trim()),
        );
        report.check(
            vm,
            lab.op_results(N1, "probe", vm.rsc, "ok") > probes,
            format!("{what}: the new agent's probe found the guest running"),
        );
        report.check(
            vm,
            eventually(Duration::from_secs(20), || {
                lab.op_results(N1, "monitor", vm.rsc, "ok") > monitors
            }),
            format!("{what}: its recurring monitor answers ok"),
        );
        report.check(
            vm,
            lab.still_ticks(N1, vm.guest, boot, 10)
                && lab.op_results(N1, "start", vm.rsc, "ok") == starts
                && lab.op_results(N1, "stop", vm.rsc, "ok") == stops,
            format!("{what}: the same boot ticks, no stop or start"),
        );
    }
}
