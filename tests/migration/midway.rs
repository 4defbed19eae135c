//! Scenarios m and n: a libvirtd restarted in the middle of a migration
//! job (the target's, then the source's), the job throttled to 1 MiB/s so
//! that it is surely running. Each agent must answer within its timeout
//! (the anchor's hangs are recorded in the expected table, not failed
//! here), and afterwards the guest runs exactly once, with its boot id,
//! ticking where it is.

use super::*;

const T: u64 = 30_000;

impl Pass<'_> {
    fn restart_during_job(&mut self, id: &str, whose: &str) {
        let (src, boot, tick) = self.ensure_running();
        let dst = other(src);
        let host = if whose == "target" { dst } else { src };
        let (s, d) = (format!("n{src}"), format!("n{dst}"));
        let mut params = Self::migrate_params(&s, &d);
        params.push(("migration_speed", "1"));
        let step = format!("{id} migrate_to, {whose}'s libvirtd restarted");
        let lab = self.lab;
        let (run, running) = std::thread::scope(|sc| {
            let agent = sc.spawn(|| self.step(&step, src, "migrate_to", T, &params));
            let running = support::eventually(Duration::from_secs(10), || {
                !lab.virsh(src, &["domjobinfo", NAME]).1.contains("None")
            });
            lab.libvirtd(host, "restart");
            (agent.join().expect("migrate_to thread"), running)
        });
        self.check(running, format!("{id}: the job never ran on n{src}"));
        if run.code != 124 {
            self.check(
                in_time(&run, T) && (run.code == 0 || run.reason().is_some()),
                format!("{id}: answered late or without a reason: {run:?}"),
            );
        }
        // the guest once, wherever it is, still the same boot
        let settled = support::eventually(Duration::from_secs(15), || {
            lab.virsh(src, &["domjobinfo", NAME]).1.contains("None")
                || lab.state(src, NAME).is_empty()
        });
        let states: Vec<String> = (1..=2).map(|i| lab.state(i, NAME)).collect();
        let running: Vec<usize> = (1..=2).filter(|&i| states[i - 1] == "running").collect();
        self.info(format!(
            "{id}: job settled {settled}; afterwards n1 {:?}, n2 {:?}",
            states[0], states[1]
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
    }

    // ---------------------------------------------------------------- m

    pub(super) fn target_libvirtd_restarted(&mut self) {
        self.restart_during_job("m", "target");
    }

    // ---------------------------------------------------------------- n

    pub(super) fn source_libvirtd_restarted(&mut self) {
        self.restart_during_job("n", "source");
    }
}
