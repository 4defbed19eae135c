//! Scenario l: a guest that rewrites 16 MiB of memory in a loop (about a
//! hundred MiB/s under TCG) migrated at 8 MiB/s: without help no pass ever
//! gets the data left under the default 300 ms downtime. For both agents:
//! their defaults (the anchor is killed at the timeout; ours aborts before
//! it and the guest stays), and virsh's own `--timeout 4` (the guest is
//! paused after 4 s so the copy completes: honoured by both). For ours,
//! also the convergence policy (`migration_max_downtime`: converges live,
//! the downtime within the limit) and a completion timeout from the guest's
//! memory that pauses it (`migration_completion_timeout=40`, 5 s for its
//! 128 MiB). One guest for all, moved back and forth.

use super::*;

pub(super) const DIRTY: &str = "vdm-d1";
const T: u64 = 40_000;
/// The downtime the policy may raise to (ms): 16 MiB at 8 MiB/s need 2 s.
const LIMIT: &str = "4000";

/// A field of `virsh domjobinfo --completed` (its number).
pub(super) fn job_field(job: &str, name: &str) -> Option<f64> {
    job.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().rev().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
}

impl Pass<'_> {
    /// Waits until no job runs on nI for DIRTY (else aborts it).
    pub(super) fn job_gone(&mut self, host: usize) {
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

    /// One migration of the dirtying guest from `src` (running `boot`,
    /// last seen at `tick`) with `extra`; where it runs afterwards and a
    /// tick seen there.
    pub(super) fn dirty_migration(
        &mut self,
        what: &str,
        (src, boot, tick): (usize, &str, u64),
        extra: &[(&str, &str)],
    ) -> (usize, u64) {
        let dst = other(src);
        let (s, d) = (format!("n{src}"), format!("n{dst}"));
        let mut params = Self::migrate_params(&s, &d);
        params.extend_from_slice(extra);
        let mark = self.agent_log_mark(src);
        let to = self.step(
            &format!("l migrate_to {what}"),
            src,
            "migrate_to",
            T,
            &params,
        );
        let log = self.agent_log_since(src, mark);
        if to.code != 0 {
            self.job_gone(src);
            let stayed = self.lab.tick_after(src, DIRTY, boot, tick, 15);
            self.check(
                stayed.is_some(),
                format!("l {what}: failed, and the guest no longer runs on n{src}"),
            );
            self.info(format!(
                "l: {what}: not converged, {:.1} s, {}",
                to.elapsed.as_secs_f64(),
                to.reason().unwrap_or_default()
            ));
            return (src, stayed.map_or(tick, |(_, t)| t));
        }
        self.step(
            &format!("l migrate_from {what}"),
            dst,
            "migrate_from",
            T_MIGRATE_FROM,
            &params,
        );
        let moved = self.lab.tick_after(dst, DIRTY, boot, tick, 15);
        self.check(
            moved.is_some(),
            format!("l {what}: the guest does not go on ticking on n{dst}"),
        );
        let (_, job) = self.lab.virsh(dst, &["domjobinfo", "--completed", DIRTY]);
        let downtime = job_field(&job, "Total downtime:");
        self.info(format!(
            "l: {what}: converged, {:.1} s, downtime {downtime:?} ms, data {:?} MiB",
            to.elapsed.as_secs_f64(),
            job_field(&job, "Data processed:")
        ));
        if extra.iter().any(|(k, _)| *k == "migration_max_downtime") {
            let raised = log
                .lines()
                .filter(|l| l.contains("Setting max migration downtime"))
                .count();
            let done = log.lines().find(|l| l.contains(" MiB sent."));
            self.info(format!(
                "l: {what}: {raised} downtime settings; completion: {}",
                done.unwrap_or("(not logged)")
            ));
            self.check(
                raised >= 1,
                format!("l {what}: the downtime was never raised"),
            );
            self.check(
                done.is_some(),
                format!("l {what}: no completion figures in the agent's log"),
            );
            self.check(
                downtime.is_some_and(|d| d <= LIMIT.parse::<f64>().unwrap()),
                format!("l {what}: downtime {downtime:?} ms over the limit {LIMIT}"),
            );
        }
        (dst, moved.map_or(tick, |(_, t)| t))
    }

    pub(super) fn converging(&mut self) {
        let xml = self.lab.guest(DIRTY, "dirty:16");
        let xml = xml.to_str().unwrap().to_string();
        self.lab.destroy_everywhere(DIRTY);
        let config = [("config", xml.as_str())];
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
        let base = [config[0], ("migration_speed", "8")];
        let at = self.dirty_migration("dirtying, defaults", (1, &boot, tick), &base);
        let timeout = [base[0], base[1], ("migrate_options", "--timeout 4")];
        let at = self.dirty_migration("dirtying, --timeout 4", (at.0, &boot, at.1), &timeout);
        let at = if self.agent == Agent::Ours {
            let policy = [base[0], base[1], ("migration_max_downtime", LIMIT)];
            let at = self.dirty_migration("dirtying, policy", (at.0, &boot, at.1), &policy);
            // 40 s per GiB of its 128 MiB: paused to complete after 5 s
            let deadline = [
                base[0],
                base[1],
                ("migration_completion_timeout", "40"),
                ("migration_timeout_action", "pause"),
            ];
            let mark = self.agent_log_mark(at.0);
            let src = at.0;
            let at = self.dirty_migration(
                "dirtying, completion timeout",
                (at.0, &boot, at.1),
                &deadline,
            );
            let log = self.agent_log_since(src, mark);
            let fired = log
                .lines()
                .find(|l| l.contains("not complete after 5 s: guest paused"));
            self.check(
                fired.is_some(),
                "l completion timeout: no pause after 5 s (40 s per GiB of 128 MiB) in the log",
            );
            at
        } else {
            at
        };
        self.postcopy(&xml, &boot, at);
        self.lab.destroy_everywhere(DIRTY);
    }
}
