//! The convergence policy: what to do to a running migration job, decided
//! from its statistics alone. A guest that dirties memory faster than the
//! network copies it never finishes a live migration by itself; this
//! raises the allowed downtime in steps while the copy stops gaining,
//! fires a completion deadline (proportional to the guest's memory, as
//! Nova's and KubeVirt's) and a progress timeout, and then aborts, pauses
//! or switches to post-copy as configured. The agent's own deadline (the
//! migrate_to timeout) always aborts a job still running. Pure: the
//! watcher feeds it looks at the job and carries out what it returns, so
//! every decision is table-tested without libvirt.

use std::time::{Duration, Instant};

use crate::controller::{Decision, JobAction, JobSample, Steering};
use crate::request::migrate_options::OnTimeout;
use crate::request::migration_settings::{MigrationSettings, OnExpiry};
use crate::timing::{switch_deadline, DEFAULT_DOWNTIME_MS, DOWNTIME_STALL, DOWNTIME_STEPS};

/// Bytes in a GiB.
const GIB: u64 = 1 << 30;

/// The policy's settings for one migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `migration_downtime`, set once the job runs (`None`: libvirt's).
    pub initial_downtime_ms: Option<u64>,
    /// `migration_max_downtime`: the downtime may be raised up to it.
    pub max_downtime_ms: Option<u64>,
    /// `migration_completion_timeout`: seconds per GiB of guest memory.
    pub completion_per_gib: Option<Duration>,
    /// `migration_progress_timeout`: the longest time without a new low
    /// of the data left to copy.
    pub progress_timeout: Option<Duration>,
    /// What either of those two does when it fires.
    pub on_expiry: OnExpiry,
    /// virsh's `--timeout N` and its own action.
    pub fixed_timeout: Option<(Duration, OnExpiry)>,
    /// `--postcopy-after-precopy`: switch once the first pass is done.
    pub postcopy_after_precopy: bool,
    /// The agent's deadline: a job still running then is aborted.
    pub abort_at: Instant,
}

impl Policy {
    /// The policy the migration settings ask for.
    pub fn from_settings(
        settings: &MigrationSettings,
        initial_downtime_ms: Option<u64>,
        abort_at: Instant,
    ) -> Self {
        let c = &settings.convergence;
        let options = &settings.options;
        Policy {
            max_downtime_ms: c.max_downtime_ms,
            completion_per_gib: c.completion_per_gib.map(Duration::from_secs),
            progress_timeout: c.progress_timeout.map(Duration::from_secs),
            on_expiry: c.on_expiry,
            fixed_timeout: options.timeout.map(|(secs, action)| {
                let action = match action {
                    OnTimeout::Suspend => OnExpiry::Pause,
                    OnTimeout::PostCopy => OnExpiry::PostCopy,
                };
                (Duration::from_secs(secs), action)
            }),
            postcopy_after_precopy: options.postcopy_after_precopy,
            ..Policy::plain(initial_downtime_ms, abort_at)
        }
    }

    /// Today's behaviour: the downtime set once, the abort at the deadline.
    pub fn plain(initial_downtime_ms: Option<u64>, abort_at: Instant) -> Self {
        Policy {
            initial_downtime_ms,
            max_downtime_ms: None,
            completion_per_gib: None,
            progress_timeout: None,
            on_expiry: OnExpiry::Abort,
            fixed_timeout: None,
            postcopy_after_precopy: false,
            abort_at,
        }
    }
}

/// The policy and what it has seen and done so far.
#[derive(Debug)]
pub struct Convergence {
    policy: Policy,
    /// The downtime limit set (`None`: libvirt's, untouched).
    downtime: Option<u64>,
    started: bool,
    /// The lowest data left seen, and when.
    best: Option<(u64, Instant)>,
    last_raise: Option<Instant>,
    /// A pause or post-copy switch was made (only the abort remains).
    switched: Option<JobAction>,
    aborted: bool,
}

impl Convergence {
    pub fn new(policy: Policy) -> Self {
        Convergence {
            policy,
            downtime: None,
            started: false,
            best: None,
            last_raise: None,
            switched: None,
            aborted: false,
        }
    }

    /// The deadlines that may fire a pause, post-copy or abort, with why.
    fn deadlines(&self, started: Instant, job: &JobSample) -> Vec<(Instant, OnExpiry, String)> {
        let p = &self.policy;
        let mut out = Vec::new();
        if let Some(per_gib) = p.completion_per_gib.filter(|_| job.mem_total > 0) {
            let secs = per_gib.as_secs_f64() * job.mem_total as f64 / GIB as f64;
            let at = started + Duration::from_secs_f64(secs);
            out.push((at, p.on_expiry, format!("not complete after {secs:.0} s")));
        }
        if let (Some(limit), Some((_, at))) = (p.progress_timeout, self.best) {
            let why = format!("no progress for {} s", limit.as_secs());
            out.push((at + limit, p.on_expiry, why));
        }
        if let Some((limit, action)) = p.fixed_timeout {
            let why = format!("--timeout {} s", limit.as_secs());
            out.push((started + limit, action, why));
        }
        let cap = switch_deadline(started, p.abort_at);
        out.into_iter()
            .map(|(at, action, why)| match action {
                OnExpiry::Abort => (at, action, why),
                _ => (at.min(cap), action, why),
            })
            .collect()
    }

    /// The next downtime step, when the copy stalls after its first pass.
    fn raise(&mut self, now: Instant, job: &JobSample) -> Option<Decision> {
        let max = self.policy.max_downtime_ms?;
        let current = self.downtime.unwrap_or(DEFAULT_DOWNTIME_MS);
        let since = self.best.map(|(_, at)| at).max(self.last_raise)?;
        if job.iteration < 2
            || current >= max
            || now.saturating_duration_since(since) < DOWNTIME_STALL
        {
            return None;
        }
        let base = self
            .policy
            .initial_downtime_ms
            .unwrap_or(DEFAULT_DOWNTIME_MS);
        let step = (max.saturating_sub(base) / DOWNTIME_STEPS).max(1);
        // the pause the data left needs at the current speed, with a quarter more
        let needed = job
            .data_remaining
            .saturating_mul(1250)
            .checked_div(job.bandwidth)
            .unwrap_or(0);
        let next = (current + step).max(needed).min(max);
        self.downtime = Some(next);
        self.last_raise = Some(now);
        Some(Decision {
            action: JobAction::SetMaxDowntime(next),
            why: format!(
                "no progress for {} s: downtime {current} -> {next} ms",
                DOWNTIME_STALL.as_secs()
            ),
        })
    }
}

fn act(action: OnExpiry, why: String) -> Decision {
    let (action, what) = match action {
        OnExpiry::Abort => (JobAction::Abort, "aborted"),
        OnExpiry::Pause => (JobAction::Pause, "guest paused to complete"),
        OnExpiry::PostCopy => (JobAction::StartPostCopy, "switched to post-copy"),
    };
    Decision {
        action,
        why: format!("{why}: {what}"),
    }
}

impl Steering for Convergence {
    fn decide(&mut self, now: Instant, job: &JobSample) -> Vec<Decision> {
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            if let Some(ms) = self.policy.initial_downtime_ms {
                self.downtime = Some(ms);
                out.push(Decision {
                    action: JobAction::SetMaxDowntime(ms),
                    why: format!("downtime {ms} ms"),
                });
            }
        }
        if self.best.is_none_or(|(low, _)| job.data_remaining < low) {
            self.best = Some((job.data_remaining, now));
        }
        if self.aborted || self.switched == Some(JobAction::StartPostCopy) {
            // nothing undoes post-copy: the job ends by itself
            return out;
        }
        if now >= self.policy.abort_at {
            self.aborted = true;
            out.push(act(OnExpiry::Abort, "at the migrate_to deadline".into()));
            return out;
        }
        if self.switched.is_some() {
            return out;
        }
        if self.policy.postcopy_after_precopy && job.iteration >= 2 {
            out.push(act(OnExpiry::PostCopy, "first pass done".into()));
        } else {
            let started = now
                .checked_sub(Duration::from_millis(job.elapsed_ms))
                .unwrap_or(now);
            let expired = self
                .deadlines(started, job)
                .into_iter()
                .filter(|(at, _, _)| now >= *at)
                .min_by_key(|(at, _, _)| *at);
            match expired {
                Some((_, action, why)) => out.push(act(action, why)),
                None => out.extend(self.raise(now, job)),
            }
        }
        for d in &out {
            match d.action {
                JobAction::Abort => self.aborted = true,
                JobAction::Pause | JobAction::StartPostCopy => self.switched = Some(d.action),
                JobAction::SetMaxDowntime(_) => {}
            }
        }
        out
    }

    fn downtime_limit(&self) -> Option<u64> {
        self.downtime
    }
}

#[cfg(test)]
#[path = "convergence_tests.rs"]
mod tests;
