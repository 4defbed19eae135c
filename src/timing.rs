//! The operation's time and every way the agent splits it, in one place.
//!
//! Pacemaker gives each action a timeout and kills the agent when it runs
//! out; a stop killed that way is a fence. So every wait the agent makes is
//! a share of that one budget, and the shares must nest: the graceful
//! shutdown ends early enough that destroy keeps its window, destroy ends
//! early enough that the agent still reports its own code and reason, and
//! no single query may eat a phase. [`TimeBudget`] owns those splits, and
//! the constants below are the tuning knobs, each with why it has its value.

use std::time::{Duration, Instant};

/// The most the destroy window needs: libvirt sends SIGTERM, waits 10 s,
/// sends SIGKILL and cleans up; 20 s covers that with room for a loaded host.
pub const MAX_DESTROY_RESERVE: Duration = Duration::from_secs(20);

/// The most one state query may take before it is asked again on a fresh
/// connection: a state query needs no domain job, so a healthy daemon
/// answers at once even while a long job runs.
pub const QUERY_CAP: Duration = Duration::from_secs(5);

/// The most reading a file of outside data (the domain XML, the process
/// table) may take: a local file answers in microseconds; one on a hard NFS
/// mount whose server is gone never does, and must not hang the action.
pub const OUTSIDE_READ_CAP: Duration = Duration::from_secs(5);

/// How often the migration watcher logs the job's progress: often enough
/// that a stalled job shows in the log within seconds, rarely enough that a
/// migration of minutes stays tens of lines.
pub const MIGRATION_PROGRESS_EVERY: Duration = Duration::from_secs(3);

/// How long a migration may go, after its first pass, without a new low of
/// the data left to copy before the convergence policy raises the allowed
/// downtime one step: a pass over a lab guest's dirty memory takes well
/// under a second, so two seconds without a new low means the copy no
/// longer gains on the guest.
pub const DOWNTIME_STALL: Duration = Duration::from_secs(2);

/// The steps from `migration_downtime` to `migration_max_downtime` (Nova's
/// default is 10 steps on a timer; fewer here, as each step also waits for
/// a stall and may jump to the downtime the data left needs).
pub const DOWNTIME_STEPS: u64 = 5;

/// qemu's maximum downtime when libvirt sets none: 300 ms.
pub const DEFAULT_DOWNTIME_MS: u64 = 300;

/// The latest a pause or post-copy switch may come: a fifth of the time
/// from the job's start to the agent's abort is left for the paused copy
/// (or the post-copy) to finish before that abort.
pub fn switch_deadline(started: Instant, abort_at: Instant) -> Instant {
    abort_at - abort_at.saturating_duration_since(started) / 5
}

/// The most a local step that needs no libvirt may take (systemd's
/// daemon-reload for the shutdown ordering): it must never eat the time a
/// start or migrate_from needs to wait for the domain.
pub const SHORT_STEP_CAP: Duration = Duration::from_secs(10);

/// The most `virt-xml-validate` may take on a saved config: a schema check
/// of a few kilobytes takes well under a second.
pub const VALIDATE_CAP: Duration = Duration::from_secs(30);

/// The most the double-start guard may take in all (every other node's
/// libvirt asked in parallel): a node that cannot answer in that time is
/// off, fenced or without libvirtd, and Pacemaker only starts a resource
/// elsewhere once such a node is known down.
pub const DOUBLE_START_CHECK_CAP: Duration = Duration::from_secs(10);

/// The most `crm_node -l` may take (a local IPC question to Pacemaker).
pub const CLUSTER_QUERY_CAP: Duration = Duration::from_secs(5);

/// The longest single wait for a lifecycle event while waiting for a
/// domain to run: a missed event costs at most this much.
pub const ARRIVAL_POLL: Duration = Duration::from_secs(1);

/// The longest single wait for an event while waiting for a destroyed
/// domain to be gone (libvirt reports it within milliseconds).
pub const GONE_POLL: Duration = Duration::from_millis(200);

/// The most one `crm_resource` run may take (a CIB query or change over
/// Pacemaker's local IPC answers in tens of milliseconds; a CIB busy with
/// an election may take seconds).
pub const CIB_CALL_CAP: Duration = Duration::from_secs(10);

/// How long what this node wrote into the CIB is trusted before a recurring
/// monitor reads the CIB again (someone may have changed or deleted a
/// utilization attribute); a probe always reads it. Once every 5 minutes
/// keeps the steady state free of processes.
pub const CIB_RECHECK_AFTER: Duration = Duration::from_secs(300);

/// After a child exits, how long its output pipe may stay open (held by
/// something it left running) before that is killed.
pub const PIPE_GRACE: Duration = Duration::from_millis(150);

/// How long to wait for a killed child to be reaped, and for the last bytes
/// once the pipe's holders are killed (SIGKILL is quick; a process stuck in
/// the kernel is not waited for).
pub const AFTER_KILL: Duration = Duration::from_millis(200);

/// Time the direct socket client keeps before its deadline for the caller
/// to report a failure itself.
pub const DIRECT_CALL_RESERVE: Duration = Duration::from_millis(100);

/// First pause between two attempts of a retried call; it doubles up to
/// [`MAX_RETRY_PAUSE`] (a restarting libvirtd takes about a second to
/// accept connections again).
pub const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(200);
/// The longest pause between two attempts.
pub const MAX_RETRY_PAUSE: Duration = Duration::from_secs(2);

/// The pause after the `n`th failed attempt of a retried call (0-based).
pub fn retry_pause(n: u32) -> Duration {
    FIRST_RETRY_PAUSE
        .saturating_mul(1 << n.min(8))
        .min(MAX_RETRY_PAUSE)
}

/// The pause before the graceful shutdown request is sent again (after
/// `sent` requests): 2 s, 4 s, 8 s, then every 10 s. A guest whose OS is
/// still booting ignores ACPI; the back-off catches the moment it is ready
/// without flooding a guest that is already shutting down.
pub fn resend_after(sent: u32) -> Duration {
    Duration::from_secs(match sent {
        0 | 1 => 2,
        2 => 4,
        3 => 8,
        _ => 10,
    })
}

/// One operation's time: from the agent's start to Pacemaker's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBudget {
    pub started: Instant,
    pub timeout: Duration,
}

impl TimeBudget {
    pub fn new(started: Instant, timeout: Duration) -> Self {
        TimeBudget { started, timeout }
    }

    /// The instant at which Pacemaker gives up on this operation.
    pub fn deadline(&self) -> Instant {
        self.started + self.timeout
    }

    /// The time kept free at the end of the operation so that an action
    /// that cannot finish still reports its own code and reason, with room
    /// for a scheduling hiccup: a tenth of the timeout, at least 1 s (but
    /// never more than half of a very short timeout).
    pub fn exit_margin(&self) -> Duration {
        (self.timeout / 10)
            .max(Duration::from_secs(1))
            .min(self.timeout / 2)
    }

    /// How long the work may last in all: the timeout less the exit margin.
    pub fn work_time(&self) -> Duration {
        self.timeout - self.exit_margin()
    }

    /// When all work must have ended. Every libvirt call, wait and child
    /// process of the action ends by then.
    pub fn work_end(&self) -> Instant {
        self.started + self.work_time()
    }

    /// Time left before [`Self::work_end`].
    pub fn work_left(&self) -> Duration {
        self.work_end().saturating_duration_since(Instant::now())
    }

    /// The destroy window a stop keeps before [`Self::work_end`]: enough
    /// for libvirt's destroy ([`MAX_DESTROY_RESERVE`]), at most a third of
    /// the timeout.
    pub fn destroy_reserve(&self) -> Duration {
        MAX_DESTROY_RESERVE.min(self.timeout / 3)
    }

    /// How long the graceful shutdown may last, from the agent's start:
    /// `shutdown_timeout`, else two thirds of the timeout, and never into
    /// the destroy window.
    pub fn graceful_window(&self, shutdown_timeout: Option<Duration>) -> Duration {
        let wanted = shutdown_timeout.unwrap_or(self.timeout * 2 / 3);
        wanted.min(self.work_time() - self.destroy_reserve())
    }

    /// When the graceful shutdown ends (see [`Self::graceful_window`]).
    pub fn graceful_end(&self, shutdown_timeout: Option<Duration>) -> Instant {
        self.started + self.graceful_window(shutdown_timeout)
    }

    /// The time a migration keeps after libvirt's migration call for
    /// verifying and answering, and between aborting a job and the end of
    /// the call: a tenth of the timeout, between 1 s and 5 s.
    pub fn migration_reserve(&self) -> Duration {
        (self.timeout / 10).clamp(Duration::from_secs(1), Duration::from_secs(5))
    }

    /// The share of what is left that a preliminary step of a migration
    /// may take (the source's state, the config save): a quarter, so the
    /// migration itself keeps most of the time.
    pub fn preliminary_end(&self) -> Instant {
        Instant::now() + self.work_left() / 4
    }

    /// When the double-start guard must have its answers.
    pub fn double_start_end(&self) -> Instant {
        Instant::now() + DOUBLE_START_CHECK_CAP.min(self.timeout / 4)
    }

    /// How long a short local step may take, if started now.
    pub fn short_step(&self) -> Duration {
        self.work_left().min(SHORT_STEP_CAP)
    }

    /// When a read of outside data must have answered, if started now.
    pub fn outside_read_end(&self) -> Instant {
        Instant::now() + OUTSIDE_READ_CAP.min(self.work_left() / 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(ms: u64) -> TimeBudget {
        TimeBudget::new(Instant::now(), Duration::from_millis(ms))
    }

    #[test]
    fn exit_margin_is_a_tenth_at_least_a_second() {
        let margin = |ms| budget(ms).exit_margin();
        assert_eq!(margin(90_000), Duration::from_secs(9));
        assert_eq!(margin(8_000), Duration::from_secs(1));
        assert_eq!(margin(20_000), Duration::from_secs(2));
        assert_eq!(margin(1_000), Duration::from_millis(500));
    }

    /// The documented splits (README, stop): default graceful share two
    /// thirds of the timeout, destroy keeps min(20 s, T/3) before the end
    /// of work, the exit margin after it.
    #[test]
    fn stop_splits_at_common_timeouts() {
        let s = Duration::from_secs;
        // T = 90 s: margin 9, reserve 20: graceful 60 (≤ 81 − 20)
        assert_eq!(budget(90_000).graceful_window(None), s(60));
        // T = 30 s: margin 3, reserve 10: graceful 17 (not 20: destroy keeps 10, not 7)
        assert_eq!(budget(30_000).graceful_window(None), s(17));
        assert_eq!(budget(90_000).graceful_window(Some(s(30))), s(30));
        assert_eq!(budget(90_000).graceful_window(Some(s(85))), s(61));
        assert_eq!(budget(90_000).graceful_window(Some(s(0))), s(0));
    }

    /// The invariant, for every timeout and shutdown_timeout: graceful,
    /// then a destroy window of min(20 s, T/3), then the exit margin, all
    /// inside the timeout.
    #[test]
    fn every_split_nests_inside_the_timeout() {
        let s = Duration::from_secs;
        for ms in [
            500, 1_000, 3_000, 5_000, 8_000, 20_000, 30_000, 60_000, 90_000, 3_600_000,
        ] {
            for st in [None, Some(s(0)), Some(s(10)), Some(s(100_000))] {
                let b = budget(ms);
                let graceful_end = b.graceful_end(st);
                let destroy = b.work_end() - graceful_end;
                assert!(
                    destroy >= s(20).min(b.timeout / 3),
                    "{ms} {st:?}: {destroy:?}"
                );
                assert!(b.work_end() + b.exit_margin() == b.deadline(), "{ms}");
                assert!(b.exit_margin() >= Duration::from_millis(ms / 10).min(s(1)));
                assert!(graceful_end >= b.started);
            }
        }
    }

    #[test]
    fn retry_pauses_double_up_to_two_seconds() {
        let ms: Vec<u128> = (0..6).map(|n| retry_pause(n).as_millis()).collect();
        assert_eq!(ms, vec![200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(retry_pause(u32::MAX), MAX_RETRY_PAUSE);
    }

    #[test]
    fn resend_backs_off() {
        let got: Vec<u64> = (1..7).map(|n| resend_after(n).as_secs()).collect();
        assert_eq!(got, vec![2, 4, 8, 10, 10, 10]);
    }

    #[test]
    fn outside_reads_get_a_share_of_what_is_left() {
        assert!(budget(90_000).outside_read_end() <= Instant::now() + OUTSIDE_READ_CAP);
        let short = budget(4_000);
        assert!(short.outside_read_end() <= Instant::now() + short.work_time() / 4);
    }
}
