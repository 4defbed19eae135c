//! Scenarios f–j: migrations and starts that must fail cleanly, in time,
//! the guest left where it was: an unreachable target, a migration aborted
//! at its deadline, a domain that never arrives, migrate_to of a stopped
//! domain, and double-start protection (ours).

use super::*;

impl Pass<'_> {
    // ---------------------------------------------------------------- f

    pub(super) fn target_unreachable(&mut self) {
        let (src, boot, tick) = self.ensure_running();
        let dst = other(src);
        let (s, d) = (format!("n{src}"), format!("n{dst}"));
        self.lab.libvirtd(dst, "stop");
        let run = self.step(
            "f migrate_to, target libvirtd down",
            src,
            "migrate_to",
            T_MIGRATE_TO,
            &Self::migrate_params(&s, &d),
        );
        self.lab.libvirtd(dst, "start");
        self.check(
            in_time(&run, T_MIGRATE_TO) && says_migration_failed(&run, &d),
            format!("f libvirtd down: answered late or without the reason: {run:?}"),
        );
        let tick = self.still_running(src, &boot, tick, "f libvirtd down");
        self.nothing_on(dst, "f libvirtd down");

        let run = self.step(
            "f migrate_to, target nosuchhost",
            src,
            "migrate_to",
            T_MIGRATE_TO,
            &Self::migrate_params(&s, "nosuchhost"),
        );
        self.check(
            in_time(&run, T_MIGRATE_TO) && says_migration_failed(&run, "nosuchhost"),
            format!("f nosuchhost: answered late or without the reason: {run:?}"),
        );
        self.still_running(src, &boot, tick, "f nosuchhost");
    }

    // ---------------------------------------------------------------- g

    /// At 1 MiB/s the guest needs over a minute; the timeout is 15 s. After
    /// the run, the guest must run on the source and nothing on the target.
    /// Leaves the source's speed limit at 1 MiB/s: no migration after this.
    pub(super) fn deadline(&mut self) {
        const T: u64 = 15_000;
        let (src, boot, tick) = self.ensure_running();
        let dst = other(src);
        let (s, d) = (format!("n{src}"), format!("n{dst}"));
        let mut params = Self::migrate_params(&s, &d);
        params.push(("migration_speed", "1"));
        let api_log = self.api_log_on(src);
        let mark = self.agent_log_mark(src);
        let run = self.step("g migrate_to speed 1, T=15s", src, "migrate_to", T, &params);
        if run.code != 124 {
            self.check(
                in_time(&run, T) && says_migration_failed(&run, &d),
                format!("g: answered late or without the reason: {run:?}"),
            );
        }
        // libvirt also cancels the job when its client goes: only libvirtd's
        // own log of the calls it received shows who aborted it
        let aborts = self.api_log_off(src, "virDomainAbortJob");
        self.info(format!(
            "g: virDomainAbortJob calls received by n{src}'s libvirtd: {aborts}"
        ));
        if self.agent == Agent::Ours {
            self.check(
                api_log,
                "g: cannot switch on libvirtd's API log (virt-admin)",
            );
            self.check(
                aborts == 1,
                format!("g: the agent called virDomainAbortJob {aborts} times, not once"),
            );
            let log = self.agent_log_since(src, mark);
            let progress = log.lines().filter(|l| l.contains("% done, ")).count();
            self.check(
                progress >= 2,
                format!("g: {progress} progress lines in the agent's log over ~12 s"),
            );
            let reason = run.reason().unwrap_or_default();
            self.check(
                reason.contains("migrate_to deadline") && reason.contains(", pass "),
                format!("g: the reason names neither the deadline nor the last look: {reason}"),
            );
        }
        // what is left of the job right after the answer (or the kill)
        let (_, job) = self.lab.virsh(src, &["domjobinfo", NAME]);
        let active = !job.contains("None");
        self.info(format!(
            "g: right after migrate_to: job on n{src} {}; on n{dst}: {:?}",
            if active { "still active" } else { "none" },
            self.lab.state(dst, NAME)
        ));
        let t = Instant::now();
        let idle = support::eventually(Duration::from_secs(10), || {
            self.lab
                .virsh(src, &["domjobinfo", NAME])
                .1
                .contains("None")
        });
        if idle && active {
            self.info(format!(
                "g: the job on n{src} ended {:.2}s later (libvirt aborts it when the client goes)",
                t.elapsed().as_secs_f64()
            ));
        }
        if !idle {
            self.info("g: the job went on for 10 s more: domjobabort");
            self.lab.virsh(src, &["domjobabort", NAME]);
        }
        self.check(
            idle,
            format!("g: the migration job on n{src} still runs 10 s after migrate_to ended"),
        );
        let still = self.lab.tick_after(src, NAME, &boot, tick, 15).is_some();
        self.check(still, "g: the guest no longer runs on the source");
        self.nothing_on(dst, "g");
    }

    // ---------------------------------------------------------------- h

    pub(super) fn nothing_arrives(&mut self) {
        const T: u64 = 10_000;
        let (src, boot, tick) = self.ensure_running();
        let dst = other(src);
        let (s, d) = (format!("n{src}"), format!("n{dst}"));
        let run = self.step(
            "h migrate_from, nothing arrives, T=10s",
            dst,
            "migrate_from",
            T,
            &Self::migrate_params(&s, &d),
        );
        if run.code != 124 {
            self.check(
                in_time(&run, T)
                    && run.reason().is_some_and(|r| {
                        r.starts_with(&format!(
                            "{NAME}: migrate_from: the domain has not arrived from {s}"
                        ))
                    }),
                format!("h: answered late or without the reason: {run:?}"),
            );
        }
        self.nothing_on(dst, "h");
        self.still_running(src, &boot, tick, "h");
    }

    // ---------------------------------------------------------------- j

    pub(super) fn not_running(&mut self) {
        self.lab.destroy_everywhere(NAME);
        let run = self.step(
            "j migrate_to, not running",
            1,
            "migrate_to",
            T_MIGRATE_TO,
            &Self::migrate_params("n1", "n2"),
        );
        let want = format!("{NAME}: migrate_to: Not active locally!");
        self.check(
            run.reason().as_deref() == Some(want.as_str()),
            format!("j: reason {:?}, expected {want:?}", run.reason()),
        );
        self.nothing_on(2, "j");
    }

    // ---------------------------------------------------------------- i

    /// Double-start protection (ours only): before starting, ask the nodes
    /// in double_start_nodes whether the guest runs there, and refuse if it
    /// does. ASSUMPTION, by design: a node that cannot be asked (its
    /// libvirtd stopped: connection refused; or frozen: no answer within
    /// the bound min(10 s, start timeout / 4)) is taken as NOT running the
    /// guest, and the start proceeds. That favours availability: if the
    /// guest does run there (as here: n1's qemu keeps running while its
    /// libvirtd is down), it now runs twice. Only fencing protects from
    /// that; the protection covers the case where the other node answers.
    pub(super) fn double_start(&mut self) {
        const T: u64 = 20_000;
        let bound = Duration::from_millis((T / 4).min(10_000));
        let guard = [
            ("double_start_protection", "true"),
            ("double_start_nodes", "n1"),
        ];
        self.lab.destroy_everywhere(NAME);
        let start = self.step("i start n1", 1, "start", T_START, &[]);
        if !self.check(
            start.code == 0 && self.lab.state(1, NAME) == "running",
            "i: the guest does not run on n1",
        ) {
            return;
        }
        let run = self.step("i start n2, guest runs on n1", 2, "start", T, &guard);
        self.check(
            run.reason().is_some_and(|r| r.contains("n1")),
            format!("i: the reason does not name n1: {:?}", run.reason()),
        );
        self.nothing_on(2, "i refused");

        // stopped first: its start on n2 (the check refused at once) is
        // the reference for the frozen case's, measured in this run
        let mut reference = ("the plain start on n1", start.elapsed);
        for (what, step, down, up) in [
            (
                "stopped",
                "i start n2, n1's libvirtd stopped",
                "stop",
                "start",
            ),
            (
                "frozen",
                "i start n2, n1's libvirtd frozen",
                "freeze",
                "thaw",
            ),
        ] {
            self.lab.libvirtd(1, down);
            let run = self.step(step, 2, "start", T, &guard);
            self.lab.libvirtd(1, up);
            // the bound, plus the start itself: at most twice the reference
            self.check(
                run.elapsed <= bound + reference.1 * 2,
                format!(
                    "i n1 {what}: start took {:?} (bound {bound:?} + twice {}: {:?})",
                    run.elapsed, reference.0, reference.1
                ),
            );
            reference = ("the start with n1's libvirtd stopped", run.elapsed);
            let state = self.lab.state(2, NAME);
            self.check(
                state == "running",
                format!("i n1 {what}: the guest is {state:?} on n2"),
            );
            self.lab.virsh(2, &["destroy", NAME]);
        }
        self.lab.destroy_everywhere(NAME);
    }
}
