//! A one-node cluster recovers a guest qemu paused on a disk I/O error
//! (ours only: the anchor has no monitor depths). The resource's monitor
//! operation carries `OCF_CHECK_LEVEL=10`; the guest's disk is a qcow2
//! image on a tiny tmpfs mounted inside n1 (the hosts' mount namespaces are
//! private) that the guest fills on its first boot (make-guest.sh `fill`),
//! so qemu pauses it. The monitor fails with the cause, `crm_mon` shows
//! the exit reason, and Pacemaker stops and starts the guest: a new boot,
//! which does not fill the disk again, runs.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::cluster::Subject;
use crate::multihost::MultiLab;
use crate::single_node::last_line;
use crate::support::eventually;
use crate::{booted, Report};

const N1: usize = 1;
const RSC: &str = "vm-io";
const GUEST: &str = "vdc-io";
const REASON: &str = "Virtual domain vdc-io is paused by a disk I/O error: vda (no space)";

/// The report's tag for this resource.
struct IoGuest;

impl Subject for IoGuest {
    fn tag(&self) -> String {
        "ours-io".into()
    }
}

pub fn run(lab: &MultiLab, report: &mut Report) {
    let who = IoGuest;
    let guest_dir = lab.dir.join("guest");
    let fs_dir = guest_dir.join(format!("{GUEST}-fs"));
    let disk = fs_dir.join("disk.qcow2");
    let Some(xml) = make_guest(&guest_dir, &disk) else {
        report.failures.push("make-guest.sh fill failed".into());
        return;
    };
    let fs = fs_dir.to_str().unwrap();
    let setup = format!(
        "mount -t tmpfs -o size=12m,mode=0755 tmpfs {fs} && fallocate -l 4M {fs}/ballast && \
         qemu-img create -q -f qcow2 {fs}/disk.qcow2 64M"
    );
    let (ok, out) = lab.exec(N1, &["sh", "-c", &setup]);
    if !report.check(
        &who,
        ok,
        format!("a tiny tmpfs in n1 holds the disk: {out}"),
    ) {
        return;
    }
    if let Err(e) = lab.pcmk_up(&[N1], &[N1]) {
        report
            .failures
            .push(format!("one-node cluster up (io error): {e}"));
        return;
    }
    let config = format!("config={}", xml.display());
    let (ok, out) = lab.pcs(
        N1,
        &[
            "resource",
            "create",
            RSC,
            "ocf:rust:VirtualDomain",
            &config,
            "hypervisor=qemu:///system",
            "op",
            "monitor",
            "interval=5s",
            "timeout=30s",
            "OCF_CHECK_LEVEL=10",
            "--wait=120",
        ],
    );
    report.check(
        &who,
        ok,
        format!(
            "pcs resource create … OCF_CHECK_LEVEL=10: {}",
            last_line(&out)
        ),
    );
    let first = booted(lab, N1, GUEST, None, 60);
    report.check(
        &who,
        first.is_some(),
        "the guest boots on n1 and fills its disk",
    );
    let first = first.map(|b| b.0).unwrap_or_default();
    report.check(
        &who,
        eventually(Duration::from_secs(180), || {
            lab.fail_count(N1, RSC, "n1") >= 1
        }),
        "paused by the I/O error: the depth-10 monitor fails (fail-count 1)",
    );
    let (_, status) = lab.exec(N1, &["timeout", "30", "crm_mon", "-1"]);
    report.check(
        &who,
        status.contains(REASON),
        format!("crm_mon shows the exit reason \"{REASON}\""),
    );
    let again = booted(lab, N1, GUEST, Some(&first), 120);
    report.check(
        &who,
        again.is_some(),
        "recovered: stopped and started on n1 (a new boot ticks)",
    );
    report.check(
        &who,
        lab.op_results(N1, "stop", RSC, "ok") >= 1 && lab.wait_located(N1, RSC, "n1", 60),
        "the recovery was a stop and a start; Started n1",
    );
    let (ok, out) = lab.pcs(N1, &["resource", "delete", RSC]);
    report.check(
        &who,
        ok,
        format!("pcs resource delete: {}", last_line(&out)),
    );
    eventually(Duration::from_secs(60), || {
        lab.state(N1, GUEST) != "running"
    });
    lab.virsh(N1, &["destroy", GUEST]);
    lab.exec(N1, &["umount", fs]);
}

/// The guest's XML (make-guest.sh fill with --disk, the console and tick
/// format of the multihost lab's guests). make-guest.sh wants the disk to
/// exist: an empty placeholder, hidden in n1 by the tmpfs mounted over it.
fn make_guest(guest_dir: &Path, disk: &Path) -> Option<std::path::PathBuf> {
    std::fs::create_dir_all(disk.parent()?).ok()?;
    std::fs::write(disk, b"").ok()?;
    let console = format!("/var/log/libvirt/qemu/{GUEST}.console");
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/lab/make-guest.sh"
        ))
        .args([
            "--disk",
            disk.to_str()?,
            "--console",
            &console,
            "--tick-boot",
        ])
        .args([GUEST, guest_dir.to_str()?, "fill"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| guest_dir.join(format!("{GUEST}.xml")))
}
