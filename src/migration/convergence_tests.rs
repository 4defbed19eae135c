//! The convergence policy's decisions as tables: looks at a job (time,
//! data left, pass) in, actions out.

use super::*;
use JobAction::*;

const MIB: u64 = 1 << 20;

/// A look `t` seconds into the job.
type Look = (u64, u64, u64); // (seconds, MiB left, iteration)

/// Actions and when they were taken (seconds into the job).
type Taken = Vec<(u64, JobAction)>;

/// The actions the policy takes over the looks, with their times; the
/// job started at `t0`, the agent's deadline is `abort_after` s later.
fn run(t0: Instant, policy: Policy, looks: &[Look]) -> Taken {
    let mut c = Convergence::new(policy);
    let mut out = Vec::new();
    for &(t, left, iteration) in looks {
        let job = JobSample {
            elapsed_ms: t * 1000,
            data_remaining: left * MIB,
            data_processed: 10 * MIB,
            mem_total: 128 * MIB,
            bandwidth: 50 * MIB,
            iteration,
            ..JobSample::default()
        };
        for d in c.decide(t0 + Duration::from_secs(t), &job) {
            assert!(!d.why.is_empty());
            out.push((t, d.action));
        }
    }
    out
}

fn policy(t0: Instant, abort_after: u64) -> Policy {
    Policy::plain(None, t0 + Duration::from_secs(abort_after))
}

/// Looks once a second from `from` to `to`, the data left and pass fixed.
fn flat(from: u64, to: u64, left: u64, iteration: u64) -> Vec<Look> {
    (from..=to).map(|t| (t, left, iteration)).collect()
}

#[test]
fn defaults_keep_todays_behaviour() {
    let t0 = Instant::now();
    // the downtime once, the abort once at the deadline, nothing else
    let p = Policy::plain(Some(500), t0 + Duration::from_secs(60));
    assert_eq!(
        run(t0, p, &flat(0, 70, 40, 3)),
        [(0, SetMaxDowntime(500)), (60, Abort)]
    );
    assert_eq!(run(t0, policy(t0, 60), &flat(0, 59, 40, 3)), []);
}

#[test]
fn downtime_is_raised_in_steps_while_the_copy_stalls() {
    let t0 = Instant::now();
    let stepping = |initial, max| Policy {
        max_downtime_ms: Some(max),
        ..Policy::plain(initial, t0 + Duration::from_secs(600))
    };
    // (policy, looks, actions)
    let table: Vec<(Policy, Vec<Look>, Taken)> = vec![
        // first pass: never raised, however long
        (
            stepping(Some(300), 2000),
            flat(0, 20, 5, 1),
            vec![(0, SetMaxDowntime(300))],
        ),
        // later passes gaining: not raised
        (
            stepping(Some(300), 2000),
            (0..20).map(|t| (t, 100 - t, 2)).collect(),
            vec![(0, SetMaxDowntime(300))],
        ),
        // stalled at 5 MiB (needs 125 ms): one step of (2000-300)/5 every 2 s, up to the max
        (
            stepping(Some(300), 2000),
            flat(0, 20, 5, 2),
            vec![
                (0, SetMaxDowntime(300)),
                (2, SetMaxDowntime(640)),
                (4, SetMaxDowntime(980)),
                (6, SetMaxDowntime(1320)),
                (8, SetMaxDowntime(1660)),
                (10, SetMaxDowntime(2000)),
            ],
        ),
        // stalled at 40 MiB at 50 MiB/s: needs 1000 ms (+25 %): straight there
        (
            stepping(Some(300), 2000),
            flat(0, 4, 40, 2),
            vec![
                (0, SetMaxDowntime(300)),
                (2, SetMaxDowntime(1000)),
                (4, SetMaxDowntime(1340)),
            ],
        ),
        // libvirt's 300 ms as the base when migration_downtime is unset
        (
            stepping(None, 800),
            flat(0, 4, 5, 2),
            vec![(2, SetMaxDowntime(400)), (4, SetMaxDowntime(500))],
        ),
        // a max below the start: nothing to raise
        (
            stepping(Some(500), 400),
            flat(0, 6, 5, 2),
            vec![(0, SetMaxDowntime(500))],
        ),
    ];
    for (i, (p, looks, want)) in table.into_iter().enumerate() {
        assert_eq!(run(t0, p, &looks), want, "row {i}");
    }
}

#[test]
fn timeouts_fire_their_action_once() {
    let t0 = Instant::now();
    let with = |per_gib: Option<u64>, progress: Option<u64>, on_expiry| Policy {
        completion_per_gib: per_gib.map(Duration::from_secs),
        progress_timeout: progress.map(Duration::from_secs),
        on_expiry,
        ..policy(t0, 600)
    };
    // 128 MiB at 800 s per GiB: 100 s
    let gaining: Vec<Look> = (0..=120).map(|t| (t, 1000 - t, 2)).collect();
    let table = [
        (
            with(Some(800), None, OnExpiry::Abort),
            gaining.clone(),
            vec![(100, Abort)],
        ),
        (
            with(Some(800), None, OnExpiry::Pause),
            gaining.clone(),
            vec![(100, Pause)],
        ),
        (
            with(Some(800), None, OnExpiry::PostCopy),
            gaining.clone(),
            vec![(100, StartPostCopy)],
        ),
        // no progress since 10 s: fires at 40 s
        (
            with(None, Some(30), OnExpiry::Abort),
            [flat(0, 9, 500, 1), flat(10, 60, 20, 3)].concat(),
            vec![(40, Abort)],
        ),
        // the earlier of the two
        (
            with(Some(800), Some(30), OnExpiry::Pause),
            [flat(0, 9, 500, 1), flat(10, 60, 20, 3)].concat(),
            vec![(40, Pause)],
        ),
        // progress keeps the progress timeout away
        (
            with(None, Some(30), OnExpiry::Abort),
            gaining.clone(),
            vec![],
        ),
    ];
    for (i, (p, looks, want)) in table.into_iter().enumerate() {
        assert_eq!(run(t0, p, &looks), want, "row {i}");
    }
}

#[test]
fn after_a_pause_only_the_deadline_abort_remains_and_post_copy_is_never_aborted() {
    let t0 = Instant::now();
    let looks: Vec<Look> = flat(0, 700, 20, 3);
    let p = |on_expiry| Policy {
        completion_per_gib: Some(Duration::from_secs(800)),
        on_expiry,
        ..policy(t0, 600)
    };
    assert_eq!(
        run(t0, p(OnExpiry::Pause), &looks),
        [(100, Pause), (600, Abort)]
    );
    assert_eq!(
        run(t0, p(OnExpiry::PostCopy), &looks),
        [(100, StartPostCopy)]
    );
}

#[test]
fn a_switch_is_never_later_than_a_fifth_before_the_deadline() {
    let t0 = Instant::now();
    // 800 s per GiB would be 100 s; the deadline at 50 s caps a pause at 40 s
    let looks = flat(0, 60, 20, 3);
    let p = |on_expiry| Policy {
        completion_per_gib: Some(Duration::from_secs(800)),
        on_expiry,
        ..policy(t0, 50)
    };
    assert_eq!(
        run(t0, p(OnExpiry::Pause), &looks),
        [(40, Pause), (50, Abort)]
    );
    assert_eq!(
        run(t0, p(OnExpiry::PostCopy), &looks),
        [(40, StartPostCopy)]
    );
    // an abort has nothing to finish: at the deadline
    assert_eq!(run(t0, p(OnExpiry::Abort), &looks), [(50, Abort)]);
}

#[test]
fn virsh_timeout_and_postcopy_after_precopy() {
    let t0 = Instant::now();
    let timeout = |action| Policy {
        fixed_timeout: Some((Duration::from_secs(10), action)),
        ..policy(t0, 600)
    };
    let looks = flat(0, 20, 20, 3);
    assert_eq!(run(t0, timeout(OnExpiry::Pause), &looks), [(10, Pause)]);
    assert_eq!(
        run(t0, timeout(OnExpiry::PostCopy), &looks),
        [(10, StartPostCopy)]
    );
    let after_precopy = Policy {
        postcopy_after_precopy: true,
        ..policy(t0, 600)
    };
    let looks = [flat(0, 5, 100, 1), flat(6, 9, 20, 2)].concat();
    assert_eq!(run(t0, after_precopy, &looks), [(6, StartPostCopy)]);
}

#[test]
fn settings_become_the_policy() {
    use crate::request::migrate_options::parse;
    use crate::request::migration_settings::{ConvergenceSettings, MigrationSettings};
    let at = Instant::now();
    let words = [
        "--postcopy",
        "--timeout",
        "30",
        "--timeout-postcopy",
        "--postcopy-after-precopy",
    ];
    let settings = MigrationSettings {
        options: parse(&words.map(String::from)).unwrap(),
        convergence: ConvergenceSettings {
            max_downtime_ms: Some(2000),
            completion_per_gib: Some(800),
            progress_timeout: Some(60),
            on_expiry: OnExpiry::Pause,
            auto_converge: true,
        },
        ..MigrationSettings::default()
    };
    assert_eq!(
        Policy::from_settings(&settings, Some(300), at),
        Policy {
            initial_downtime_ms: Some(300),
            max_downtime_ms: Some(2000),
            completion_per_gib: Some(Duration::from_secs(800)),
            progress_timeout: Some(Duration::from_secs(60)),
            on_expiry: OnExpiry::Pause,
            fixed_timeout: Some((Duration::from_secs(30), OnExpiry::PostCopy)),
            postcopy_after_precopy: true,
            abort_at: at,
        }
    );
    assert_eq!(
        Policy::from_settings(&MigrationSettings::default(), None, at),
        Policy::plain(None, at)
    );
}
