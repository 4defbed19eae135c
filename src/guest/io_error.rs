//! `io_error_policy`: what a recurring monitor does with a guest qemu
//! paused on a disk I/O error (qemu's default `werror=enospc` pauses it
//! when its image's filesystem is full).
//!
//! - `report` (the default, the anchor's): nothing at depth 0, a failure
//!   with the disk and libvirt's words at depth 10 ([`super::pause`]).
//! - `resume`: once every disk image of the config can be read again and
//!   its filesystem has room, ask libvirt to resume the guest, once; a new
//!   I/O-error pause within `io_error_delay` of that resume is a failure,
//!   and so is storage that does not answer within `io_error_delay` of the
//!   first pause seen. Meanwhile the monitor answers 0 with a warning.
//! - `destroy`: the guest may stay paused `io_error_delay`, then it is
//!   destroyed and the monitor fails (oVirt's KILL, for setups with disk
//!   leases: the lease is freed for another node).
//!
//! A disk lease or lock held elsewhere is never taken over: libvirt's lock
//! manager (sanlock, virtlockd) gives a paused guest's leases up and must
//! get them back before qemu runs again, so a resume it refuses is a
//! failure here, never retried. The times are kept in a state file under
//! `HA_RSCTMP` ([`state_files::io_error_record`]).

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::pause::{failure_reason, PauseCause};
use crate::controller::DomainController;
use crate::host::bounded::run_until;
use crate::host::state_files;
use crate::ocf::{OcfError, OcfRc, OcfResult};
use crate::request::setup::IoErrorPolicy;
use crate::request::Request;

/// Free space a disk image's filesystem needs before `resume` resumes.
const ROOM_NEEDED: u64 = 1 << 20;

/// The times of one I/O-error episode, in seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Record {
    /// The first monitor that saw the guest paused on an I/O error.
    first: u64,
    /// When this agent resumed it (0: not yet).
    resumed: u64,
}

impl Record {
    fn parse(text: &str) -> Record {
        let mut numbers = text.split_whitespace().map(|w| w.parse().unwrap_or(0));
        Record {
            first: numbers.next().unwrap_or(0),
            resumed: numbers.next().unwrap_or(0),
        }
    }

    fn load(path: &Path) -> Record {
        state_files::read(path).map_or_else(Record::default, |t| Record::parse(&t))
    }

    fn store(self, path: &Path) {
        state_files::write_if_changed(path, &format!("{} {}", self.first, self.resumed));
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The monitor's answer for a guest paused by an I/O error at `level`.
pub fn on_pause(req: &Request, ctl: &dyn DomainController, level: u32) -> OcfResult {
    let by = req.ctx.work_end();
    let settings = req.settings.io_error;
    let failure = |extra: &str| {
        let reason = failure_reason(ctl, &req.name, PauseCause::IoError, by);
        OcfError::generic(format!("{reason}{extra}"))
    };
    if settings.policy == IoErrorPolicy::Report || req.ctx.is_probe() {
        return if level >= super::pause::REASON_LEVEL {
            Err(failure(""))
        } else {
            Ok(OcfRc::Success)
        };
    }
    let path = state_files::io_error_record(&req.ctx.rsctmp, &req.name);
    let now = now_secs();
    let delay = settings.delay.as_secs();
    let mut record = Record::load(&path);
    if record.resumed != 0 && now.saturating_sub(record.resumed) < delay {
        return Err(failure(&format!(
            "; paused again {} s after io_error_policy=resume resumed it",
            now.saturating_sub(record.resumed)
        )));
    }
    if record.first == 0 || record.resumed != 0 {
        record = Record {
            first: now,
            resumed: 0,
        };
        record.store(&path);
    }
    let paused_for = now.saturating_sub(record.first);
    if settings.policy == IoErrorPolicy::Resume && storage_answers(req, by) {
        let words = failure_reason(ctl, &req.name, PauseCause::IoError, by);
        return match ctl.resume(&req.name, by) {
            Ok(()) => {
                log::warn!("{words}; its storage answers again: resumed (io_error_policy=resume)");
                Record {
                    resumed: now,
                    ..record
                }
                .store(&path);
                Ok(OcfRc::Success)
            }
            Err(e) => Err(OcfError::generic(format!(
                "{words}; libvirt refused to resume it (a disk lease or lock held elsewhere \
                 is never taken over): {e}"
            ))),
        };
    }
    if paused_for < delay {
        log::warn!(
            "Virtual domain {} has been paused by a disk I/O error for {paused_for} s; \
             io_error_policy={} acts after {delay} s",
            req.name,
            policy_word(settings.policy)
        );
        return Ok(OcfRc::Success);
    }
    match settings.policy {
        IoErrorPolicy::Destroy => {
            let words = failure_reason(ctl, &req.name, PauseCause::IoError, by);
            let outcome = match ctl.destroy(&req.name, by) {
                Ok(()) => "destroyed (io_error_policy=destroy)".to_string(),
                Err(e) => format!("destroy failed: {e}"),
            };
            let _ = std::fs::remove_file(&path);
            Err(OcfError::generic(format!(
                "{words}; paused for {paused_for} s, {outcome}"
            )))
        }
        _ => Err(failure(&format!(
            "; its storage did not answer again within {delay} s"
        ))),
    }
}

/// Forgets a finished episode: the guest runs and no resume of ours is
/// recent enough to count.
pub fn on_healthy(req: &Request) {
    if req.settings.io_error.policy == IoErrorPolicy::Report {
        return;
    }
    let path = state_files::io_error_record(&req.ctx.rsctmp, &req.name);
    let record = Record::load(&path);
    if record == Record::default() {
        return;
    }
    let window = req.settings.io_error.delay.as_secs();
    if record.resumed == 0 || now_secs().saturating_sub(record.resumed) >= window {
        let _ = std::fs::remove_file(&path);
    }
}

/// Ends the episode with the guest (stop): a new start is a new guest.
pub fn forget(req: &Request) {
    let _ = std::fs::remove_file(state_files::io_error_record(&req.ctx.rsctmp, &req.name));
}

fn policy_word(policy: IoErrorPolicy) -> &'static str {
    match policy {
        IoErrorPolicy::Report => "report",
        IoErrorPolicy::Resume => "resume",
        IoErrorPolicy::Destroy => "destroy",
    }
}

/// Whether every disk image of the config can be read and has room on
/// its filesystem again (no file images: nothing to ask, libvirt's resume
/// decides, and qemu pauses again if the storage still fails), asked on a thread of its own until `by` (a hung
/// NFS mount is "does not answer").
fn storage_answers(req: &Request, by: Instant) -> bool {
    let files = req.domain.disk_files.clone();
    let until = by.min(Instant::now() + Duration::from_secs(5));
    run_until(until, move || {
        files.iter().all(|f| readable_with_room(Path::new(f)))
    })
    .unwrap_or(false)
}

fn readable_with_room(path: &Path) -> bool {
    use std::io::Read;
    let mut block = [0u8; 512];
    let readable = std::fs::File::open(path).and_then(|mut f| f.read(&mut block));
    if readable.is_err() {
        return false;
    }
    let Some(dir) = path.parent() else {
        return false;
    };
    match nix::sys::statvfs::statvfs(dir) {
        Ok(fs) => fs.blocks_available() * fs.fragment_size() >= ROOM_NEEDED,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_and_tolerate_damage() {
        assert_eq!(
            Record::parse("12 34"),
            Record {
                first: 12,
                resumed: 34
            }
        );
        assert_eq!(Record::parse("x"), Record::default());
        assert_eq!(
            Record::parse("7"),
            Record {
                first: 7,
                resumed: 0
            }
        );
    }
}
