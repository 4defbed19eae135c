//! Scenarios m–p: faults in the middle of a migration job, throttled to
//! 1 MiB/s so that it is surely running: the target's (m), then the
//! source's (n) libvirtd restarted; the source's libvirtd frozen for 5 s
//! (o) and for good (p: thawed only after the agent answered). Each agent must answer within its timeout
//! (the anchor's hangs are recorded in the expected table, not failed
//! here), and afterwards the guest runs exactly once, with its boot id,
//! ticking where it is. Scenarios r, q (host_faults.rs) reuse it.

use super::*;

const T: u64 = 30_000;

impl Pass<'_> {
    fn restart_during_job(&mut self, id: &str, whose: &str) {
        let target = whose == "target";
        self.fault_during_job(
            &format!("{id} migrate_to, {whose}'s libvirtd restarted"),
            target,
            |lab, host| {
                lab.libvirtd(host, "restart");
            },
        );
    }

    /// migrate_to with `fault` applied to the source's (or the target's)
    /// libvirtd once the job runs, while the agent waits; then `after`
    /// (thaw what is still frozen); the checks of the module comment.
    fn fault_during_job(
        &mut self,
        step: &str,
        on_target: bool,
        fault: impl FnOnce(&MultiLab, usize) + Send,
    ) {
        self.fault_then(step, on_target, (T, &[]), fault, |_, _| {});
    }

    /// The same with the migrate_to timeout and extra parameters given
    /// (`job`), and `after` run once the agent answered; where the guest
    /// runs afterwards (None: not exactly once) and the agent's run.
    pub(super) fn fault_then(
        &mut self,
        step: &str,
        on_target: bool,
        (timeout, extra): (u64, &[(&str, &str)]),
        fault: impl FnOnce(&MultiLab, usize) + Send,
        after: impl FnOnce(&MultiLab, usize),
    ) -> (Option<usize>, Run) {
        let id = step.split(' ').next().unwrap_or(step).to_string();
        let (src, boot, tick) = self.ensure_running();
        let dst = other(src);
        let host = if on_target { dst } else { src };
        let (s, d) = (format!("n{src}"), format!("n{dst}"));
        let mut params = Self::migrate_params(&s, &d);
        params.push(("migration_speed", "1"));
        params.extend_from_slice(extra);
        let lab = self.lab;
        let (run, running) = std::thread::scope(|sc| {
            let agent = sc.spawn(|| self.step(step, src, "migrate_to", timeout, &params));
            let running = support::eventually(Duration::from_secs(10), || {
                !lab.virsh(src, &["domjobinfo", NAME]).1.contains("None")
            });
            fault(lab, host);
            (agent.join().expect("migrate_to thread"), running)
        });
        after(lab, host);
        self.check(running, format!("{id}: the job never ran on n{src}"));
        if run.code != 124 {
            self.check(
                in_time(&run, timeout) && (run.code == 0 || run.reason().is_some()),
                format!("{id}: answered late or without a reason: {run:?}"),
            );
        }
        // the guest once, wherever it is, still the same boot: the job
        // over and at most one copy left (libvirt drops the incoming copy of
        // a failed migration when its connection closes)
        let t = Instant::now();
        let settled = support::eventually(Duration::from_secs(15), || {
            (lab.virsh(src, &["domjobinfo", NAME]).1.contains("None")
                || lab.state(src, NAME).is_empty())
                && (1..=2).filter(|&i| !lab.state(i, NAME).is_empty()).count() <= 1
        });
        let states: Vec<String> = (1..=2).map(|i| lab.state(i, NAME)).collect();
        let running: Vec<usize> = (1..=2).filter(|&i| states[i - 1] == "running").collect();
        self.info(format!(
            "{id}: settled {settled} {:.1}s after the answer; n1 {:?}, n2 {:?}",
            t.elapsed().as_secs_f64(),
            states[0],
            states[1]
        ));
        self.check(
            running.len() == 1 && states.iter().filter(|s| !s.is_empty()).count() == 1,
            format!("{id}: the guest does not run exactly once: {states:?}"),
        );
        if let Some(&at) = running.first() {
            let ticks = lab.tick_after(at, NAME, &boot, tick, 15).is_some();
            self.check(
                ticks,
                format!("{id}: the guest (boot {boot}) does not tick on n{at}"),
            );
        }
        let once = running.len() == 1 && states.iter().filter(|s| !s.is_empty()).count() == 1;
        (running.first().copied().filter(|_| once), run)
    }

    // ---------------------------------------------------------------- m

    pub(super) fn target_libvirtd_restarted(&mut self) {
        self.restart_during_job("m", "target");
    }

    // ---------------------------------------------------------------- n

    pub(super) fn source_libvirtd_restarted(&mut self) {
        self.restart_during_job("n", "source");
    }

    // ---------------------------------------------------------------- o

    /// The source's libvirtd frozen for 5 s, then thawed.
    pub(super) fn source_libvirtd_frozen_and_thawed(&mut self) {
        self.fault_during_job(
            "o migrate_to, source's libvirtd frozen 5 s",
            false,
            |lab, host| {
                lab.libvirtd(host, "freeze");
                std::thread::sleep(Duration::from_secs(5));
                lab.libvirtd(host, "thaw");
            },
        );
    }

    // ---------------------------------------------------------------- p

    /// The source's libvirtd frozen for good (thawed only after the
    /// agent answered, to look and clean up).
    pub(super) fn source_libvirtd_frozen(&mut self) {
        self.fault_then(
            "p migrate_to, source's libvirtd frozen",
            false,
            (T, &[]),
            |lab, host| lab.libvirtd(host, "freeze"),
            |lab, host| lab.libvirtd(host, "thaw"),
        );
    }
}
