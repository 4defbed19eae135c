//! migrate_to's exit reason: what it names as the cause of a failure.

use super::*;
use crate::controller::Decision;

/// The failure's cause: the agent's decision first, else libvirt's
/// message, naming the target when the migration's connection to it broke.
#[test]
fn cause_names_what_broke() {
    let eof = ControllerError::Unreachable("End of file while reading data".into());
    let lost = JobReport {
        target_lost: true,
        ..JobReport::default()
    };
    let cases: [(&JobReport, &ControllerError, &str); 5] = [
        (
            &JobReport {
                taken: vec![Decision {
                    action: JobAction::StartPostCopy,
                    why: "first pass done: switched to post-copy".into(),
                }],
                target_lost: true,
                ..JobReport::default()
            },
            &eof,
            "in post-copy: connection to the target lost: End of file while reading data \
             (first pass done: switched to post-copy)",
        ),
        (
            &lost,
            &eof,
            "connection to the target lost: End of file while reading data",
        ),
        (
            &JobReport::default(),
            &eof,
            "libvirt unreachable: End of file while reading data",
        ),
        (
            &lost,
            &ControllerError::Failed("operation failed".into()),
            "operation failed",
        ),
        (
            &JobReport {
                taken: vec![Decision {
                    action: JobAction::Abort,
                    why: "at the migrate_to deadline: aborted".into(),
                }],
                target_lost: true,
                ..JobReport::default()
            },
            &eof,
            "at the migrate_to deadline: aborted",
        ),
    ];
    for (report, error, want) in cases {
        assert_eq!(cause(report, error), want);
    }
}
