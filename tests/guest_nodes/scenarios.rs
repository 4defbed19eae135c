//! The scenarios of tests/guest_nodes.rs, run on n1's one-node cluster:
//! what the user does with pcs, what Pacemaker logged (n1's
//! pacemaker.log: "Result of OP operation for RSC on NODE: RESULT"), what
//! crm_mon shows and what happened in the guest.

use std::time::Instant;

use crate::guests::{Guest, Kind};
use crate::multihost::MultiLab;
use crate::{poll, Report, DIR};

fn log_lines() -> Vec<String> {
    std::fs::read(format!("{DIR}/n1/log/pacemaker.log"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// pacemaker.log's lines after line `mark`.
fn since(mark: usize) -> Vec<String> {
    log_lines().into_iter().skip(mark).collect()
}

/// Index of the first line after `mark` that contains `needle`.
fn find(mark: usize, needle: &str) -> Option<usize> {
    since(mark).iter().position(|l| l.contains(needle))
}

fn result(op: &str, rsc: &str, node: &str, what: &str) -> String {
    format!("Result of {op} operation for {rsc} on {node}: {what}")
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

/// crm_mon lists NAME as an online guest node.
fn guest_online(lab: &MultiLab, name: &str) -> bool {
    let (_, out) = lab.exec(1, &["timeout", "30", "crm_mon", "-1"]);
    out.lines()
        .any(|l| l.contains("GuestOnline:") && l.split_whitespace().any(|w| w == name))
}

fn pcs_owned(lab: &MultiLab, args: &[String]) -> (bool, String) {
    let v: Vec<&str> = args.iter().map(String::as_str).collect();
    lab.pcs(1, &v)
}

/// Creates the VM resource (meta remote-node=NAME + `meta`), then waits
/// until the connection to the guest is up (its start "ok" in the log)
/// and crm_mon shows the guest node online. Seconds it took, if it did.
fn create_guest(lab: &MultiLab, g: &Guest, meta: &[&str], report: &mut Report) -> Option<f64> {
    let mark = log_lines().len();
    let t = Instant::now();
    let mut args: Vec<String> = vec!["resource".into(), "create".into(), g.rsc.clone()];
    args.extend(g.create_args(meta));
    let (ok, out) = pcs_owned(lab, &args);
    report.check(
        g,
        ok,
        format!(
            "pcs resource create {} … meta remote-node={} {}--force: {}",
            g.rsc,
            g.name,
            meta.iter().map(|m| format!("{m} ")).collect::<String>(),
            last_line(&out)
        ),
    );
    let started = result("start", &g.name, "n1", "ok");
    let up = poll(120, || {
        find(mark, &started).is_some() && guest_online(lab, &g.name)
    });
    let secs = t.elapsed().as_secs_f64();
    report.check(
        g,
        up,
        format!(
            "guest node {} online (crm_mon GuestOnline) {secs:.1}s after create",
            g.name
        ),
    );
    up.then_some(secs)
}

/// A Dummy with a location preference for the guest node runs there.
fn place_dummy(lab: &MultiLab, g: &Guest, report: &mut Report) -> bool {
    let mark = log_lines().len();
    let (ok1, o1) = lab.pcs(
        1,
        &[
            "resource",
            "create",
            &g.dummy,
            "ocf:pacemaker:Dummy",
            "op",
            "monitor",
            "interval=5s",
        ],
    );
    let (ok2, o2) = lab.pcs(1, &["constraint", "location", &g.dummy, "prefers", &g.name]);
    report.check(
        g,
        ok1 && ok2,
        format!(
            "pcs resource create {} ocf:pacemaker:Dummy; pcs constraint location {} prefers {}: {} {}",
            g.dummy,
            g.dummy,
            g.name,
            last_line(&o1),
            last_line(&o2)
        ),
    );
    let on = poll(60, || {
        lab.located(1, &g.dummy) == [g.name.clone()]
            && find(mark, &result("start", &g.dummy, &g.name, "ok")).is_some()
    });
    report.check(
        g,
        on,
        format!(
            "{} started on the guest node {} (crm_resource --locate)",
            g.dummy, g.name
        ),
    )
}

/// Deletes the Dummy and the VM resource (a guest node is removed with its
/// resource), waits until the cluster is idle and forgets failures.
fn delete(lab: &MultiLab, g: &Guest, report: &mut Report) {
    let (ok1, o1) = lab.pcs(1, &["resource", "delete", &g.dummy, "--force"]);
    let (ok2, o2) = lab.pcs(1, &["resource", "delete", &g.rsc, "--force"]);
    lab.settle(1, 120);
    lab.pcs(1, &["resource", "cleanup"]);
    report.check(
        g,
        ok1 && ok2 && g.state(lab).is_empty(),
        format!(
            "pcs resource delete {} and {}: the domain is gone ({} {})",
            g.dummy,
            g.rsc,
            last_line(&o1),
            last_line(&o2)
        ),
    );
}

/// Create, place a Dummy, kill the guest, disable the VM resource.
pub fn lifecycle(lab: &MultiLab, g: &Guest, report: &mut Report) {
    if create_guest(lab, g, &[], report).is_none() || !place_dummy(lab, g, report) {
        delete(lab, g, report);
        return;
    }

    // the guest dies (qemu / the container's init killed): Pacemaker
    // "fences" the guest node by recovering its VM resource and starts the
    // guest's resources in it again
    let ups = g.ups();
    let mark = log_lines().len();
    let t = Instant::now();
    let (ok, out) = g.kill(lab);
    let what = match g.kind {
        Kind::Vm => "qemu",
        Kind::Container => "the container's init",
    };
    report.check(g, ok, format!("SIGKILL to {what}: {out}"));
    let back = poll(120, || {
        g.ups() > ups
            && find(mark, &result("start", &g.name, "n1", "ok")).is_some()
            && lab.located(1, &g.dummy) == [g.name.clone()]
    });
    report.check(
        g,
        back,
        format!(
            "{what} killed: guest restarted, node back, {} runs on it again after {:.1}s",
            g.dummy,
            t.elapsed().as_secs_f64()
        ),
    );
    let fenced = format!("Fence (reboot) {} (resource: {})", g.name, g.rsc);
    report.check(
        g,
        find(mark, &fenced).is_some() && find(mark, &result("start", &g.rsc, "n1", "ok")).is_some(),
        format!(
            "the scheduler fenced the guest by recovering {} ('{fenced}')",
            g.rsc
        ),
    );

    // stopping the VM resource stops the guest's resources first, then the
    // connection, then the guest
    let mark = log_lines().len();
    let t = Instant::now();
    let (ok, out) = lab.pcs(1, &["resource", "disable", &g.rsc, "--wait=120"]);
    let secs = t.elapsed().as_secs_f64();
    report.check(
        g,
        ok,
        format!(
            "pcs resource disable {} --wait: {} ({secs:.1}s)",
            g.rsc,
            last_line(&out)
        ),
    );
    let d = find(mark, &result("stop", &g.dummy, &g.name, "ok"));
    let c = find(mark, &result("stop", &g.name, "n1", "ok"));
    let v = find(mark, &result("stop", &g.rsc, "n1", "ok"));
    report.check(
        g,
        matches!((d, c, v), (Some(d), Some(c), Some(v)) if d < c && c < v),
        format!(
            "disable: stop {} on the guest, then the connection {}, then {} (log lines {d:?} < {c:?} < {v:?})",
            g.dummy, g.name, g.rsc
        ),
    );
    report.check(
        g,
        g.state(lab).is_empty(),
        "disabled: the domain is gone from n1",
    );
    if g.kind == Kind::Vm {
        let console = std::fs::read(format!("{DIR}/n1/var-log-libvirt/qemu/{}.console", g.name))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let tail = console.rsplit("guest: up ").next().unwrap_or("");
        report.check(
            g,
            tail.contains("guest: power button: stopping pacemaker-remoted"),
            "disabled: the guest got the ACPI power button (a clean shutdown)",
        );
    }
    delete(lab, g, report);
}

/// remote-addr, remote-port and remote-connect-timeout.
pub fn remote_options(lab: &MultiLab, g: &Guest, report: &mut Report) {
    let addr = format!("remote-addr={}", g.addr);
    let port = format!("remote-port={}", g.port);
    let meta = [addr.as_str(), port.as_str(), "remote-connect-timeout=30s"];
    if create_guest(lab, g, &meta, report).is_some() {
        let dst = format!("dst {}:{}", g.addr, g.port);
        let mut cmd = vec!["ss", "-tnH", "state", "established"];
        cmd.extend(dst.split_whitespace());
        let (_, conns) = lab.exec(1, &cmd);
        report.check(
            g,
            !conns.trim().is_empty(),
            format!(
                "{} does not resolve; the cluster is connected to {}:{} (ss: {})",
                g.name,
                g.addr,
                g.port,
                conns.trim()
            ),
        );
        place_dummy(lab, g, report);

        // a port nobody listens on, 8 s to connect: the connection's start
        // gives up within those 8 s and the guest is stopped
        let mark = log_lines().len();
        let t = Instant::now();
        let (ok, out) = lab.pcs(
            1,
            &[
                "resource",
                "update",
                &g.rsc,
                "meta",
                "remote-port=3199",
                "remote-connect-timeout=8s",
                "--force",
            ],
        );
        report.check(
            g,
            ok,
            format!(
                "pcs resource update {} meta remote-port=3199 remote-connect-timeout=8s: {}",
                g.rsc,
                last_line(&out)
            ),
        );
        let failed = result("start", &g.name, "n1", "Timed Out");
        let seen = poll(60, || find(mark, &failed).is_some());
        let secs = t.elapsed().as_secs_f64();
        let line = since(mark)
            .into_iter()
            .find(|l| l.contains(&failed))
            .unwrap_or_default();
        report.check(
            g,
            seen && line.contains("after 8s") && secs <= 8.0 + 6.0,
            format!(
                "wrong port: the connection's start timed out after the 8 s remote-connect-timeout ({secs:.1}s after the update): {}",
                line.find("Result of").map_or("", |i| &line[i..]).split(" | ").next().unwrap_or("")
            ),
        );
        report.check(
            g,
            poll(60, || g.state(lab).is_empty()),
            "wrong port: the guest is stopped (its node cannot come up)",
        );
    }
    delete(lab, g, report);
}
