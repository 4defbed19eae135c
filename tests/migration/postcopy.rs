//! Scenario l, post-copy part: the dirtying guest of converging.rs (it
//! never converges by pre-copy) completed by post-copy on real hosts. The
//! lab's qemu runs unprivileged (`libvirt-qemu`), and post-copy needs
//! userfaultfd: without `vm.unprivileged_userfaultfd=1` qemu refuses the
//! capability ("migrate-set-capabilities: Postcopy is not supported"), so
//! the sysctl is set to 1 for these runs and put back after them (also when
//! a check panics). Both agents: virsh's `--postcopy
//! --postcopy-after-precopy`; ours: `migration_timeout_action=postcopy`
//! (the completion timeout switches); ours: the target powered off while
//! in post-copy (the guest's memory is split between the hosts: it is lost,
//! as the meta-data says), migrate_to 1 in time, then Pacemaker's recovery
//! (stop on the source, start afresh there). At 32 MiB/s the first pass
//! takes about 4 s, so these runs cost little.

use super::converging::DIRTY;
use super::*;

const SYSCTL: &str = "/proc/sys/vm/unprivileged_userfaultfd";
const SPEED: &str = "32";
const T: u64 = 40_000;

/// `vm.unprivileged_userfaultfd=1` while alive; the old value put back
/// when dropped.
struct UserFaultFd(String);

impl UserFaultFd {
    fn allow() -> Option<UserFaultFd> {
        let old = std::fs::read_to_string(SYSCTL).ok()?;
        std::fs::write(SYSCTL, "1").ok()?;
        Some(UserFaultFd(old.trim().to_string()))
    }
}

impl Drop for UserFaultFd {
    fn drop(&mut self) {
        let _ = std::fs::write(SYSCTL, &self.0);
    }
}

impl Pass<'_> {
    /// The post-copy runs, the guest (boot `boot`) running on `at.0`.
    pub(super) fn postcopy(&mut self, xml: &str, boot: &str, at: (usize, u64)) {
        let Some(_uffd) = UserFaultFd::allow() else {
            self.check(false, format!("l post-copy: cannot write {SYSCTL}"));
            return;
        };
        let base = [("config", xml), ("migration_speed", SPEED)];
        let words = [
            base[0],
            base[1],
            ("migrate_options", "--postcopy --postcopy-after-precopy"),
        ];
        let at = self.postcopy_migration("dirtying, --postcopy-after-precopy", boot, at, &words);
        if self.agent != Agent::Ours {
            return;
        }
        let policy = [
            base[0],
            base[1],
            ("migration_completion_timeout", "40"),
            ("migration_timeout_action", "postcopy"),
        ];
        let mark = self.agent_log_mark(at.0);
        let src = at.0;
        let at =
            self.postcopy_migration("dirtying, completion timeout, postcopy", boot, at, &policy);
        let log = self.agent_log_since(src, mark);
        self.check(
            log.contains("switched to post-copy"),
            "l completion timeout, postcopy: no switch to post-copy in the agent's log",
        );
        self.postcopy_failure(xml, at.0);
    }

    /// One migration that must complete through post-copy: the guest runs
    /// on the target (checked by dirty_migration) and nowhere else.
    fn postcopy_migration(
        &mut self,
        what: &str,
        boot: &str,
        (src, tick): (usize, u64),
        extra: &[(&str, &str)],
    ) -> (usize, u64) {
        let at = self.dirty_migration(what, (src, boot, tick), extra);
        let left = self.lab.state(src, DIRTY);
        self.check(
            at.0 != src && left.is_empty(),
            format!(
                "l {what}: not moved to n{}, or left on n{src}: {left:?}",
                other(src)
            ),
        );
        at
    }

    /// The target powered off while the guest runs there in post-copy
    /// (`--postcopy-bandwidth 1`: the rest of its memory comes slowly):
    /// migrate_to answers 1 in time; the half left on the source is
    /// stopped, and a fresh start there runs the guest again (a new boot).
    fn postcopy_failure(&mut self, xml: &str, src: usize) {
        let dst = other(src);
        let (s, d) = (format!("n{src}"), format!("n{dst}"));
        let mut params = Self::migrate_params(&s, &d);
        params.extend([
            ("config", xml),
            ("migration_speed", SPEED),
            (
                "migrate_options",
                "--postcopy --postcopy-after-precopy --postcopy-bandwidth 1",
            ),
        ]);
        let step = "l migrate_to, target powered off in post-copy";
        let lab = self.lab;
        let dir = lab.dir.to_str().unwrap().to_string();
        let power = |script: &str| {
            let out = lab.script(script, &[&dir, &dst.to_string()], Duration::from_secs(90));
            assert!(out.status.success(), "{script} n{dst}: {}", text(&out));
        };
        let (run, in_postcopy) = std::thread::scope(|sc| {
            let agent = sc.spawn(|| self.step(step, src, "migrate_to", T, &params));
            let in_postcopy = support::eventually(Duration::from_secs(30), || {
                lab.virsh(src, &["domstate", "--reason", DIRTY])
                    .1
                    .contains("post-copy")
            });
            power("host-kill.sh");
            (agent.join().expect("migrate_to thread"), in_postcopy)
        });
        self.check(in_postcopy, "l post-copy failure: never in post-copy");
        self.check(
            in_time(&run, T)
                && run
                    .reason()
                    .is_some_and(|r| r.contains("in post-copy: connection to the target lost")),
            format!("l post-copy failure: answered late or without naming the cause: {run:?}"),
        );
        let (_, left) = self.lab.virsh(src, &["domstate", "--reason", DIRTY]);
        self.info(format!(
            "l post-copy failure: rc {} after {:.1}s, reason {:?}; on n{src}: {left:?}",
            run.code,
            run.elapsed.as_secs_f64(),
            run.reason().unwrap_or_default()
        ));
        // Pacemaker's recovery of a failed migrate_to: stop, then start
        let config = [("config", xml)];
        self.step(
            "l stop after the failed post-copy",
            src,
            "stop",
            T_STOP,
            &config,
        );
        let gone = self.lab.state(src, DIRTY);
        self.check(
            gone.is_empty(),
            format!("l post-copy failure: still on n{src} after the stop: {gone:?}"),
        );
        power("host-start.sh");
        self.step(
            "l start afresh after the failed post-copy",
            src,
            "start",
            T_START,
            &config,
        );
        let fresh = self.lab.live_tick(src, DIRTY, 60);
        self.check(
            fresh.is_some() && self.lab.state(dst, DIRTY).is_empty(),
            format!("l post-copy failure: the fresh guest does not run once, on n{src}"),
        );
    }
}
