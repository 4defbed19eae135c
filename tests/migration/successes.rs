//! Scenarios a–e: migrations that must succeed, live (same boot id, ticks
//! going on), for ours and the anchor: the round trip with Pacemaker's
//! environment, --p2p --tunnelled, pause mode (ours), a mapped target or
//! the suffix (the anchor), speed and downtime.

use super::*;

impl Pass<'_> {
    // ---------------------------------------------------------------- a

    pub(super) fn round_trip(&mut self) {
        self.lab.destroy_everywhere(NAME);
        let start = self.step("a start n1", 1, "start", T_START, &[]);
        if start.code != 0 {
            return;
        }
        let Some((boot, tick)) = self.lab.live_tick(1, NAME, 90) else {
            self.check(
                false,
                "a: the guest started by the agent does not tick on n1",
            );
            return;
        };
        let (_, _, moved) = self.migrate(
            "a migrate_to n1->n2",
            "a migrate_from n2",
            (1, &boot, tick),
            &[],
        );
        if !moved {
            for step in [
                "a stop n1 (already gone)",
                "a monitor n2",
                "a monitor n1",
                "a migrate_to n2->n1",
                "a migrate_from n1",
            ] {
                self.not_run(step, "the guest did not move to n2");
            }
            return;
        }
        self.step("a stop n1 (already gone)", 1, "stop", T_STOP, &[]);
        let (_, k) = self.lab.live_tick(2, NAME, 10).unwrap_or_default();
        self.check(k > tick, "a: the guest ticks on n2 after the stop on n1");
        let recurring = [("CRM_meta_interval", "10000")];
        self.step("a monitor n2", 2, "monitor", T_MONITOR, &recurring);
        self.step("a monitor n1", 1, "monitor", T_MONITOR, &recurring);
        self.migrate(
            "a migrate_to n2->n1",
            "a migrate_from n1",
            (2, &boot, k),
            &[],
        );
    }

    // ---------------------------------------------------------------- b

    pub(super) fn p2p_tunnelled(&mut self) {
        let (src, boot, tick) = self.ensure_running();
        self.migrate(
            "b migrate_to --p2p --tunnelled",
            "b migrate_from",
            (src, &boot, tick),
            &[("migrate_options", "--p2p --tunnelled")],
        );
        // two compression methods, as virsh takes them (one typed
        // parameter each): libvirt reports xbzrle's cache in the job
        let (src, boot, tick) = self.ensure_running();
        let (_, _, moved) = self.migrate(
            "b migrate_to --comp-methods mt,xbzrle",
            "b migrate_from --comp-methods",
            (src, &boot, tick),
            &[("migrate_options", "--compressed --comp-methods mt,xbzrle")],
        );
        if moved {
            let (_, job) = self
                .lab
                .virsh(other(src), &["domjobinfo", "--completed", NAME]);
            self.check(
                job.contains("Compression cache"),
                format!("b: no xbzrle figures in the completed job: {job}"),
            );
        }
    }

    // ---------------------------------------------------------------- c

    /// Pause mode (ours only): the guest is paused before its memory goes
    /// over, so the source reports "Suspended" early in the migration, not
    /// at the switch-over as a live one does (e). Throttled to 10 MiB/s so
    /// that the transfer takes several seconds.
    pub(super) fn pause_mode(&mut self) {
        let (src, boot, tick) = self.ensure_running();
        let events = Events::watch(self.lab, src, 40);
        let t0 = now_secs();
        let (to, _, moved) = self.migrate(
            "c migrate_to migration_mode=pause",
            "c migrate_from",
            (src, &boot, tick),
            &[("migration_mode", "pause"), ("migration_speed", "10")],
        );
        let seen = events.read("Stopped", 5);
        self.report_events("c", t0, to.elapsed, &seen);
        if moved {
            // paused for the whole transfer: the downtime is most of the job
            let (elapsed, _, downtime) = self.completed_job(other(src));
            self.check(
                matches!((elapsed, downtime), (Some(e), Some(d)) if d >= e / 2.0),
                format!("c: downtime {downtime:?} ms of a {elapsed:?} ms job: not paused"),
            );
            let first = seen.iter().find(|(_, e)| e.starts_with("Suspended"));
            let duration = to.elapsed.as_secs_f64();
            self.check(
                first.is_some_and(|(t, _)| t - t0 <= duration / 3.0),
                format!(
                    "c: the guest was not paused early in the migration (events {seen:?}, \
                     migrate_to {duration:.2}s)"
                ),
            );
        }
    }

    fn report_events(&mut self, scenario: &str, t0: f64, took: Duration, seen: &[(f64, String)]) {
        let list: Vec<String> = seen
            .iter()
            .map(|(t, e)| format!("{e} at {:.2}s", t - t0))
            .collect();
        self.info(format!(
            "{scenario}: source events {} (migrate_to took {:.2}s)",
            list.join(", "),
            took.as_secs_f64()
        ));
    }

    // ---------------------------------------------------------------- d

    /// A migration network: n2-mig / n1-mig name the hosts' eth1 on their
    /// own bridge. What arrives there is in eth1's byte counter.
    pub(super) fn mapped(&mut self) {
        let (src, boot, tick) = self.ensure_running();
        let dst = other(src);
        let mapping = format!("n{dst}:n{dst}-mig");
        let param = match self.agent {
            Agent::Anchor => ("migration_network_suffix", "-mig"),
            Agent::Ours => ("migration_mapping", mapping.as_str()),
        };
        let before = self.lab.rx_bytes(dst, "eth1");
        let (to, _, moved) = self.migrate(
            "d migrate_to mapped",
            "d migrate_from mapped",
            (src, &boot, tick),
            &[param],
        );
        let got = self.lab.rx_bytes(dst, "eth1").saturating_sub(before);
        self.info(format!(
            "d: {}={} -> n{dst} received {:.1} MiB on its migration network (eth1)",
            param.0,
            param.1,
            got as f64 / 1048576.0
        ));
        if to.code == 0 {
            self.check(
                got > 0,
                format!("d: nothing arrived at n{dst}-mig: the mapped name was not used"),
            );
        }
        if to.code == 0 {
            // both hand qemu tcp:n2-mig:PORT (the anchor for the suffix,
            // ours for a mapped target): the memory goes there too
            self.check(got > 32 << 20, format!("d: only {got} bytes on n{dst}-mig"));
        }
        let (src, boot, tick) = if moved {
            (
                dst,
                boot,
                self.lab.live_tick(dst, NAME, 10).map_or(tick, |t| t.1),
            )
        } else {
            self.ensure_running()
        };
        let dst = other(src);
        let bad = format!("n{dst}:nosuch-mig");
        let param = match self.agent {
            Agent::Anchor => ("migration_network_suffix", "-nosuch"),
            Agent::Ours => ("migration_mapping", bad.as_str()),
        };
        let (s, d) = (format!("n{src}"), format!("n{dst}"));
        let mut params = Self::migrate_params(&s, &d);
        params.push(param);
        let run = self.step(
            "d migrate_to mapped, unresolvable",
            src,
            "migrate_to",
            T_MIGRATE_TO,
            &params,
        );
        self.check(
            in_time(&run, T_MIGRATE_TO) && says_migration_failed(&run, &d),
            format!("d unresolvable: answered late or without the reason: {run:?}"),
        );
        self.still_running(src, &boot, tick, "d unresolvable");
        self.nothing_on(dst, "d unresolvable");
    }

    /// `domjobinfo --completed` of the incoming migration on `host`: time
    /// elapsed (ms), data processed (MiB), total downtime (ms).
    fn completed_job(&mut self, host: usize) -> (Option<f64>, Option<f64>, Option<f64>) {
        let (_, job) = self.lab.virsh(host, &["domjobinfo", "--completed", NAME]);
        let field = |name: &str| -> Option<f64> {
            job.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().rev().nth(1))
                .and_then(|v| v.parse().ok())
        };
        let fields = (
            field("Time elapsed:"),
            field("Data processed:"),
            field("Total downtime:"),
        );
        self.info(format!(
            "domjobinfo --completed on n{host}: time elapsed {:?} ms, data processed {:?} MiB, \
             total downtime {:?} ms",
            fields.0, fields.1, fields.2
        ));
        fields
    }

    // ---------------------------------------------------------------- e

    /// migration_speed=10 (MiB/s) and migration_downtime=500 (ms): the job
    /// on the destination took as long as the throttle makes it, the
    /// source's max downtime read 500 while the job ran, and the source saw
    /// "Suspended" only at the switch-over (live).
    pub(super) fn throttled(&mut self) {
        let (src, boot, tick) = self.ensure_running();
        let dst = other(src);
        let events = Events::watch(self.lab, src, 40);
        let t0 = now_secs();
        let lab = self.lab;
        let mut downtimes: Vec<String> = Vec::new();
        let (to, from, moved) = std::thread::scope(|s| {
            let agent = s.spawn(|| {
                self.migrate(
                    "e migrate_to speed 10 downtime 500",
                    "e migrate_from",
                    (src, &boot, tick),
                    &[("migration_speed", "10"), ("migration_downtime", "500")],
                )
            });
            // the anchor sets the downtime 2 s into the migration
            std::thread::sleep(Duration::from_millis(1500));
            while !agent.is_finished() {
                let (ok, out) = lab.virsh(src, &["migrate-getmaxdowntime", NAME]);
                if ok {
                    downtimes.push(out.trim().to_string());
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            agent.join().expect("migration thread")
        });
        let seen = events.read("Stopped", 5);
        self.report_events("e", t0, to.elapsed, &seen);
        downtimes.dedup();
        self.info(format!(
            "e: max downtime on n{src} during the job: {downtimes:?}"
        ));
        if from.is_none() {
            return;
        }
        self.check(
            downtimes.iter().any(|d| d == "500"),
            format!("e: the max downtime never read 500 during the job: {downtimes:?}"),
        );
        let (elapsed, processed, downtime) = self.completed_job(dst);
        self.info(format!("e: total downtime {downtime:?} ms (limit 500)"));
        // the throttle: at most 10 MiB/s (half again for rounding and bursts)
        self.check(
            matches!((elapsed, processed), (Some(ms), Some(mib)) if mib / (ms / 1000.0) <= 15.0),
            format!("e: faster than 10 MiB/s: {processed:?} MiB in {elapsed:?} ms"),
        );
        if moved {
            let duration = to.elapsed.as_secs_f64();
            let first = seen.iter().find(|(_, e)| e.starts_with("Suspended"));
            self.check(
                first.is_some_and(|(t, _)| t - t0 >= duration * 2.0 / 3.0),
                format!("e: a live migration paused the guest early: {seen:?}"),
            );
        }
    }
}
