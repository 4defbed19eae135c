//! Scenarios r, q: faults of a whole host or of the network in the middle
//! of a migration job (1 MiB/s, so that it surely runs): the migration
//! network cut (r: the target's `eth1` down, the migration going over it
//! by the anchor's `migration_network_suffix` or our `migration_mapping`;
//! brought up again once the agent answered), the target host powered off
//! (q: host-kill.sh; powered on again afterwards, so it may run anywhere in
//! the list, but it is last). Each agent must answer within its timeout
//! with a reason (the anchor's hangs are recorded as 124 in the expected
//! table, not failed here); afterwards the guest runs exactly once, on the
//! source, with its boot id, ticking: what Pacemaker's recovery after a
//! failed migrate_to (1) needs.

use super::*;

/// The network cut stalls the job without an error: the agent answers at
/// its deadline (or is killed there), so a shorter timeout keeps CI short.
const T_CUT: u64 = 15_000;
/// The power-off breaks the migration's connections at once.
const T_OFF: u64 = 30_000;

impl Pass<'_> {
    /// The guest is where a failed migrate_to leaves it: on the source;
    /// ours names the cause (`cause` in its exit reason).
    fn on_source(&mut self, id: &str, src: usize, at: Option<usize>, run: &Run, cause: &str) {
        self.info(format!(
            "{id}: rc {} after {:.1}s, reason {:?}",
            run.code,
            run.elapsed.as_secs_f64(),
            run.reason().unwrap_or_default()
        ));
        if self.agent == Agent::Ours {
            let reason = run.reason().unwrap_or_default();
            self.check(
                reason.contains(cause),
                format!("{id}: the exit reason does not say {cause:?}: {reason:?}"),
            );
        }
        if run.code != 0 {
            self.check(
                at == Some(src),
                format!("{id}: migrate_to failed, but the guest is not (only) on n{src}: {at:?}"),
            );
        }
    }

    // ---------------------------------------------------------------- r

    /// The migration network (the target's eth1) cut during the job.
    pub(super) fn migration_network_cut(&mut self) {
        let (src, ..) = self.ensure_running();
        let dst = other(src);
        let mapping = format!("n{dst}:n{dst}-mig");
        let mapped = match self.agent {
            Agent::Anchor => ("migration_network_suffix", "-mig"),
            Agent::Ours => ("migration_mapping", mapping.as_str()),
        };
        let link = |lab: &MultiLab, host: usize, how: &str| {
            let (ok, out) = lab.exec(host, &["ip", "link", "set", "eth1", how]);
            assert!(ok, "eth1 {how} on n{host}: {out}");
        };
        let (at, run) = self.fault_then(
            "r migrate_to, migration network cut",
            true,
            (T_CUT, &[mapped]),
            |lab, host| {
                // cut while memory flows (not while the target prepares)
                support::eventually(Duration::from_secs(10), || {
                    let (_, job) = lab.virsh(other(host), &["domjobinfo", NAME]);
                    converging::job_field(&job, "Data processed:").is_some_and(|d| d > 0.0)
                });
                link(lab, host, "down")
            },
            |lab, host| link(lab, host, "up"),
        );
        self.on_source("r", src, at, &run, "deadline");
    }

    // ---------------------------------------------------------------- q

    /// The target host powered off during the job (host-kill.sh), powered
    /// on again once the agent answered.
    pub(super) fn target_powered_off(&mut self) {
        let (src, ..) = self.ensure_running();
        let dir = self.lab.dir.to_str().unwrap().to_string();
        let power = |lab: &MultiLab, host: usize, script: &str| {
            let out = lab.script(script, &[&dir, &host.to_string()], Duration::from_secs(90));
            assert!(out.status.success(), "{script} n{host}: {}", text(&out));
        };
        let (at, run) = self.fault_then(
            "q migrate_to, target powered off",
            true,
            (T_OFF, &[]),
            |lab, host| power(lab, host, "host-kill.sh"),
            |lab, host| power(lab, host, "host-start.sh"),
        );
        self.on_source("q", src, at, &run, "connection to the target lost");
    }
}
