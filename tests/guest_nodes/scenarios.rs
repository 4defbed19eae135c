//! The scenario of tests/guest_nodes.rs for one guest, in the two-node
//! cluster n1 n2: what the user does with pcs, what Pacemaker logged (each
//! node's pacemaker.log: "Result of OP operation for RSC on NODE: RESULT"),
//! what crm_mon shows and what happened in the guest.

use std::time::Instant;

use crate::guests::{Guest, Kind};
use crate::multihost::MultiLab;
use crate::{poll, Report, DIR};

const HOSTS: [usize; 2] = [1, 2];

fn log_lines(i: usize) -> Vec<String> {
    std::fs::read(format!("{DIR}/n{i}/log/pacemaker.log"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Where every node's pacemaker.log ends now.
struct Mark([usize; 2]);

fn mark() -> Mark {
    Mark(HOSTS.map(|i| log_lines(i).len()))
}

impl Mark {
    /// nI's log lines after the mark.
    fn since(&self, i: usize) -> Vec<String> {
        log_lines(i).into_iter().skip(self.0[i - 1]).collect()
    }

    /// Index of the first line after the mark in nI's log containing `needle`.
    fn find_in(&self, i: usize, needle: &str) -> Option<usize> {
        self.since(i).iter().position(|l| l.contains(needle))
    }

    /// The first line after the mark in any node's log containing `needle`.
    fn line(&self, needle: &str) -> Option<String> {
        HOSTS
            .iter()
            .find_map(|&i| self.since(i).into_iter().find(|l| l.contains(needle)))
    }
}

/// "Result of OP operation for RSC on NODE: WHAT" (NODE "" = any node).
fn result(op: &str, rsc: &str, node: &str, what: &str) -> String {
    if node.is_empty() {
        format!("Result of {op} operation for {rsc} on ")
    } else {
        format!("Result of {op} operation for {rsc} on {node}: {what}")
    }
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

/// The host (1 or 2) Pacemaker runs `rsc` on, if exactly one.
fn host_of(lab: &MultiLab, rsc: &str) -> Option<usize> {
    match lab.located(1, rsc).as_slice() {
        [n] => n.strip_prefix('n').and_then(|i| i.parse().ok()),
        _ => None,
    }
}

/// The connection to the guest was (re)started after `m` and crm_mon shows
/// the guest node online with the Dummy (if `dummy`) on it.
fn node_up(lab: &MultiLab, g: &Guest, m: &Mark, dummy: bool) -> bool {
    HOSTS.iter().any(|&i| {
        m.find_in(i, &result("start", &g.name, &format!("n{i}"), "ok"))
            .is_some()
    }) && guest_online(lab, &g.name)
        && (!dummy || lab.located(1, &g.dummy) == [g.name.clone()])
}

/// `pcs resource create RSC … meta remote-node=NAME …`, then waits until
/// the guest node is online. The host the VM resource runs on.
fn create_guest(lab: &MultiLab, g: &Guest, report: &mut Report) -> Option<usize> {
    let m = mark();
    let t = Instant::now();
    let mut args: Vec<String> = vec!["resource".into(), "create".into(), g.rsc.clone()];
    args.extend(g.create_args());
    let v: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out) = lab.pcs(1, &v);
    report.check(
        g,
        ok,
        format!(
            "pcs resource create {} {}: {}",
            g.rsc,
            g.meta_words(),
            last_line(&out)
        ),
    );
    let up = poll(120, || node_up(lab, g, &m, false));
    report.check(
        g,
        up,
        format!(
            "guest node {} online (crm_mon GuestOnline) {:.1}s after create",
            g.name,
            t.elapsed().as_secs_f64()
        ),
    );
    if g.options {
        // the cluster reached the guest at remote-addr:remote-port (its name resolves nowhere)
        let host = host_of(lab, &g.name).unwrap_or(1);
        let dst = format!("{}:{}", g.addr, g.port);
        let (_, conns) = lab.exec(host, &["ss", "-tnH", "state", "established", "dst", &dst]);
        report.check(
            g,
            !conns.trim().is_empty(),
            format!("n{host} is connected to {dst}: {}", conns.trim()),
        );
    }
    if up {
        host_of(lab, &g.rsc)
    } else {
        None
    }
}

/// A Dummy with a location preference for the guest node runs there.
fn place_dummy(lab: &MultiLab, g: &Guest, report: &mut Report) -> bool {
    let d = g.dummy.as_str();
    let (ok1, o1) = lab.pcs(
        1,
        &[
            "resource",
            "create",
            d,
            "ocf:pacemaker:Dummy",
            "op",
            "monitor",
            "interval=5s",
        ],
    );
    let (ok2, o2) = lab.pcs(1, &["constraint", "location", d, "prefers", &g.name]);
    report.check(
        g,
        ok1 && ok2,
        format!(
            "pcs resource create {d} ocf:pacemaker:Dummy; pcs constraint location {d} prefers {}: {}{}",
            g.name,
            last_line(&o1),
            last_line(&o2)
        ),
    );
    let on = poll(60, || lab.located(1, d) == [g.name.clone()]);
    // crm_resource --locate names the node while the start is still pending
    // (record-pending): a guest killed then leaves the transition waiting
    // for that start until the connection's monitor times out (~60 s)
    let settled = lab.settle(1, 90);
    report.check(
        g,
        on && settled,
        format!("{d} runs on the guest node {} (cluster idle)", g.name),
    )
}

/// Deletes the Dummy and the VM resource, waits until the cluster is idle
/// and forgets failures.
fn delete(lab: &MultiLab, g: &Guest, report: &mut Report) {
    let (ok1, _) = lab.pcs(1, &["resource", "delete", &g.dummy, "--force"]);
    let (ok2, o2) = lab.pcs(1, &["resource", "delete", &g.rsc, "--force"]);
    lab.settle(1, 120);
    lab.pcs(1, &["resource", "cleanup"]);
    let gone = HOSTS.iter().all(|&i| g.state(lab, i).is_empty());
    report.check(
        g,
        ok1 && ok2 && gone,
        format!(
            "pcs resource delete {} {}: the domain is gone ({})",
            g.dummy,
            g.rsc,
            last_line(&o2)
        ),
    );
}

/// The guest dies (qemu / the container's init killed on `host`):
/// Pacemaker "fences" the guest node by recovering its VM resource and
/// starts the guest's resources in it again.
fn kill(lab: &MultiLab, g: &Guest, host: usize, report: &mut Report) {
    let ups = g.ups();
    let m = mark();
    let t = Instant::now();
    let (ok, out) = g.kill(lab, host);
    let what = match g.kind {
        Kind::Vm => "qemu",
        Kind::Container => "the container's init",
    };
    report.check(g, ok, format!("SIGKILL to {what} on n{host} {out}"));
    let back = poll(120, || g.ups() > ups && node_up(lab, g, &m, true));
    report.check(
        g,
        back,
        format!(
            "{what} killed: the guest booted again, its node is back, {} runs on it again after {:.1}s",
            g.dummy,
            t.elapsed().as_secs_f64()
        ),
    );
    let fenced = format!("Fence (reboot) {} (resource: {})", g.name, g.rsc);
    report.check(
        g,
        m.line(&fenced).is_some(),
        format!("the guest node was fenced by recovering its resource ('{fenced}')"),
    );
}

/// `pcs resource move` to the other host. VM (allow-migrate=true): a live
/// migration, the guest's resources keep running (same boot, no stop of the
/// Dummy). Container: stopped (the Dummy first) and started on the other
/// host, then the Dummy again.
fn move_to_other(lab: &MultiLab, g: &Guest, host: usize, report: &mut Report) -> usize {
    let other = 3 - host;
    let ups = g.ups();
    let m = mark();
    let t = Instant::now();
    let node = format!("n{other}");
    let (ok, out) = lab.pcs(1, &["resource", "move", &g.rsc, &node, "--wait=120"]);
    let moved = poll(60, || {
        host_of(lab, &g.rsc) == Some(other)
            && host_of(lab, &g.name) == Some(other)
            && node_up(lab, g, &m, true)
    });
    report.check(
        g,
        ok && moved,
        format!(
            "pcs resource move {} {node}: the VM resource and the connection {} on {node}, {} on the guest ({:.1}s): {}",
            g.rsc,
            g.name,
            g.dummy,
            t.elapsed().as_secs_f64(),
            last_line(&out)
        ),
    );
    let dummy_stop = m.line(&result("stop", &g.dummy, "", ""));
    match g.kind {
        Kind::Vm => {
            let migrated = m
                .line(&result("migrate_to", &g.rsc, &format!("n{host}"), "ok"))
                .is_some()
                && m.line(&result("migrate_from", &g.rsc, &node, "ok"))
                    .is_some();
            report.check(
                g,
                migrated && g.ups() == ups && dummy_stop.is_none(),
                format!(
                    "live migration: migrate_to + migrate_from ok, the same boot, {} never stopped",
                    g.dummy
                ),
            );
        }
        Kind::Container => {
            report.check(
                g,
                dummy_stop.is_some() && g.ups() > ups,
                format!("no live migration for containers: {} stopped, the container restarted on {node}", g.dummy),
            );
        }
    }
    other
}

/// `pcs resource disable`: the Dummy on the guest stops first, then the
/// connection, then the VM (all on `host`).
fn disable(lab: &MultiLab, g: &Guest, host: usize, report: &mut Report) {
    let m = mark();
    let t = Instant::now();
    let (ok, out) = lab.pcs(1, &["resource", "disable", &g.rsc, "--wait=120"]);
    report.check(
        g,
        ok,
        format!(
            "pcs resource disable {} --wait: {} ({:.1}s)",
            g.rsc,
            last_line(&out),
            t.elapsed().as_secs_f64()
        ),
    );
    let n = format!("n{host}");
    let d = m.find_in(host, &result("stop", &g.dummy, &g.name, "ok"));
    let c = m.find_in(host, &result("stop", &g.name, &n, "ok"));
    let v = m.find_in(host, &result("stop", &g.rsc, &n, "ok"));
    report.check(
        g,
        matches!((d, c, v), (Some(d), Some(c), Some(v)) if d < c && c < v),
        format!(
            "disable: {} stopped on the guest, then the connection {}, then {} (n{host}'s log lines {d:?} < {c:?} < {v:?})",
            g.dummy, g.name, g.rsc
        ),
    );
    report.check(
        g,
        g.state(lab, host).is_empty(),
        format!("disabled: the domain is gone from {n}"),
    );
    if g.kind == Kind::Vm {
        report.check(
            g,
            g.console(host).contains("guest: power button: stopping pacemaker-remoted"),
            "disabled: the guest got the ACPI power button and stopped pacemaker-remoted (a clean shutdown)",
        );
    }
}

/// remote-connect-timeout: with a port nobody listens on and 8 s to
/// connect, the connection's start gives up within those 8 s and the guest
/// is stopped (its node cannot come up).
fn connect_timeout(lab: &MultiLab, g: &Guest, report: &mut Report) {
    let (ok1, o1) = lab.pcs(
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
    let m = mark();
    let t = Instant::now();
    let (ok2, o2) = lab.pcs(1, &["resource", "enable", &g.rsc]);
    report.check(
        g,
        ok1 && ok2,
        format!(
            "pcs resource update {} meta remote-port=3199 remote-connect-timeout=8s; pcs resource enable: {}{}",
            g.rsc,
            last_line(&o1),
            last_line(&o2)
        ),
    );
    let failed = format!("Result of start operation for {} on n", g.name);
    let seen = poll(60, || {
        m.line(&failed).is_some_and(|l| l.contains("Timed Out"))
    });
    let secs = t.elapsed().as_secs_f64();
    let line = m.line(&failed).unwrap_or_default();
    report.check(
        g,
        seen && line.contains("after 8s") && secs <= 8.0 + 8.0,
        format!(
            "wrong port: the connection's start timed out within remote-connect-timeout ({secs:.1}s after enable): {}",
            line.find("Result of").map_or("", |i| &line[i..]).split(" | ").next().unwrap_or("")
        ),
    );
    report.check(
        g,
        poll(60, || HOSTS.iter().all(|&i| g.state(lab, i).is_empty())),
        "wrong port: the guest is stopped again",
    );
}

/// The whole life of one guest node.
pub fn run(lab: &MultiLab, g: &Guest, report: &mut Report) {
    let Some(host) = create_guest(lab, g, report) else {
        delete(lab, g, report);
        return;
    };
    if !place_dummy(lab, g, report) {
        delete(lab, g, report);
        return;
    }
    kill(lab, g, host, report);
    let host = host_of(lab, &g.rsc).unwrap_or(host);
    let host = move_to_other(lab, g, host, report);
    let host = host_of(lab, &g.rsc).unwrap_or(host);
    disable(lab, g, host, report);
    if g.options {
        connect_timeout(lab, g, report);
    }
    delete(lab, g, report);
}
