//! Scenario l: a guest that rewrites 16 MiB of memory in a loop (about a
//! hundred MiB/s under TCG) migrated at 8 MiB/s: without help no pass ever
//! gets the data left under the default 300 ms downtime. The anchor with
//! its defaults (killed at the timeout), ours with its defaults (aborted
//! before it, the guest stays), ours with the convergence policy
//! (`migration_max_downtime`: converges, the downtime within the limit).

use super::*;

const DIRTY: &str = "vdm-d1";
const T: u64 = 40_000;
/// The downtime the policy may raise to (ms): 16 MiB at 8 MiB/s need 2 s.
const LIMIT: &str = "4000";

impl Pass<'_> {
    /// Waits until no job runs on nI for DIRTY (else aborts it).
    fn job_gone(&mut self, host: usize) {
        let gone = support::eventually(Duration::from_secs(10), || {
            self.lab
                .virsh(host, &["domjobinfo", DIRTY])
                .1
                .contains("None")
        });
        if !gone {
            self.info(format!(
                "l: the job on n{host} still ran 10 s after migrate_to: domjobabort"
            ));
            self.lab.virsh(host, &["domjobabort", DIRTY]);
        }
    }

    pub(super) fn converging(&mut self) {
        let xml = self.lab.guest(DIRTY, "dirty:16");
        let xml = xml.to_str().unwrap().to_string();
        let config = [("config", xml.as_str())];
        self.lab.destroy_everywhere(DIRTY);
        self.step("l start dirtying guest n1", 1, "start", T_START, &config);
        let Some((boot, tick)) = self.lab.live_tick(1, DIRTY, 60) else {
            self.check(false, "l: the dirtying guest does not tick on n1");
            return;
        };
        let console = format!("{DIR}/n1/var-log-libvirt/qemu/{DIRTY}.console");
        let dirtying = support::eventually(Duration::from_secs(30), || {
            std::fs::read_to_string(&console).is_ok_and(|c| c.contains("guest: dirtying"))
        });
        self.check(dirtying, "l: the guest never started dirtying its memory");
        let mut params = Self::migrate_params("n1", "n2");
        params.extend([config[0], ("migration_speed", "8")]);
        let run = self.step(
            "l migrate_to dirtying, defaults",
            1,
            "migrate_to",
            T,
            &params,
        );
        self.job_gone(1);
        let stayed = self.lab.tick_after(1, DIRTY, &boot, tick, 15);
        self.check(
            stayed.is_some(),
            "l defaults: the guest no longer runs on n1",
        );
        self.info(format!(
            "l: defaults: converged {}, {:.1} s, {}",
            run.code == 0,
            run.elapsed.as_secs_f64(),
            run.reason().unwrap_or_default()
        ));
        if self.agent == Agent::Ours {
            let (boot, tick) = stayed.unwrap_or((boot, tick));
            params.push(("migration_max_downtime", LIMIT));
            let mark = self.agent_log_mark(1);
            let to = self.step("l migrate_to dirtying, policy", 1, "migrate_to", T, &params);
            let log = self.agent_log_since(1, mark);
            let raised = log
                .lines()
                .filter(|l| l.contains("Setting max migration downtime"))
                .count();
            let done = log.lines().find(|l| l.contains(" MiB sent."));
            self.info(format!(
                "l: policy: {raised} downtime settings; completion: {}",
                done.unwrap_or("(not logged)")
            ));
            self.check(raised >= 1, "l policy: the downtime was never raised");
            self.check(
                done.is_some(),
                "l policy: no completion figures in the agent's log",
            );
            if to.code == 0 {
                self.step(
                    "l migrate_from dirtying, policy",
                    2,
                    "migrate_from",
                    T_MIGRATE_FROM,
                    &params,
                );
                let moved = self.lab.tick_after(2, DIRTY, &boot, tick, 15).is_some();
                self.check(moved, "l policy: the guest does not go on ticking on n2");
                let (_, job) = self.lab.virsh(2, &["domjobinfo", "--completed", DIRTY]);
                let field = |name: &str| {
                    job.lines()
                        .find(|l| l.starts_with(name))
                        .and_then(|l| l.split_whitespace().rev().nth(1))
                        .and_then(|v| v.parse::<f64>().ok())
                };
                let downtime = field("Total downtime:");
                self.info(format!(
                    "l: policy: converged, {:.1} s, downtime {downtime:?} ms (limit {LIMIT}), \
                     data {:?} MiB",
                    to.elapsed.as_secs_f64(),
                    field("Data processed:")
                ));
                self.check(
                    downtime.is_some_and(|d| d <= LIMIT.parse::<f64>().unwrap()),
                    format!("l policy: downtime {downtime:?} ms over the limit {LIMIT}"),
                );
            } else {
                self.job_gone(1);
            }
        }
        self.lab.destroy_everywhere(DIRTY);
    }
}
