//! Monitor depth 20 (`OCF_CHECK_LEVEL=20`): the guest answers. Depth 10
//! plus a qemu guest agent ping through libvirt (`guest-get-time`, see
//! [`DomainController::agent_ping`]), bounded by a share of the monitor's
//! time.
//!
//! A guest still booting has no agent yet: until the agent has answered
//! once since the guest was started here (stop forgets), a silent agent
//! is healthy, with a warning, for [`BOOT_GRACE`] from the first depth-20
//! monitor that found it silent; after that, or once it has answered, a
//! silent agent is a failure with libvirt's reason. A domain without a
//! guest agent channel cannot be asked: validate-all with
//! `OCF_CHECK_LEVEL=20` refuses it (6), a depth-20 monitor fails.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::controller::DomainController;
use crate::domain_xml::GUEST_AGENT_CHANNEL;
use crate::host::state_files;
use crate::ocf::{OcfError, OcfRc, OcfResult};
use crate::request::Request;

/// The monitor depth from which the guest agent is asked.
pub const AGENT_LEVEL: u32 = 20;

/// How long a guest may boot before its agent must answer.
pub const BOOT_GRACE: Duration = Duration::from_secs(300);

/// The ping's share of the monitor's remaining time (a half: the rest of
/// the monitor, housekeeping, still fits), capped.
const PING_CAP: Duration = Duration::from_secs(10);

/// What the record file says.
const ANSWERED: &str = "answered";

/// The agent's answer at depth 20.
pub fn check(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    if !req.domain.guest_agent_channel {
        return Err(OcfError::generic(no_channel(req)));
    }
    let ping_end = Instant::now() + (req.ctx.work_left() / 2).min(PING_CAP);
    let path = state_files::guest_agent_record(&req.ctx.rsctmp, &req.name);
    let answer = ctl.agent_ping(&req.name, ping_end);
    let record = state_files::read(&path);
    let why = match answer {
        Ok(()) => {
            state_files::write_if_changed(&path, ANSWERED);
            return Ok(OcfRc::Success);
        }
        Err(e) => {
            // a ping that ran out of time leaves its connection wedged
            ctl.recover();
            e
        }
    };
    if record.as_deref() == Some(ANSWERED) {
        return Err(OcfError::generic(format!(
            "The guest agent of virtual domain {} does not answer: {why}",
            req.name
        )));
    }
    let now = now_secs();
    let since = record
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or_else(|| {
            state_files::write_if_changed(&path, &now.to_string());
            now
        });
    let silent = now.saturating_sub(since);
    if silent < BOOT_GRACE.as_secs() {
        log::warn!(
            "The guest agent of virtual domain {} has not answered yet ({silent} s; \
             booting guests get {} s): {why}",
            req.name,
            BOOT_GRACE.as_secs()
        );
        return Ok(OcfRc::Success);
    }
    Err(OcfError::generic(format!(
        "The guest agent of virtual domain {} has not answered in {silent} s since it \
         was first asked: {why}",
        req.name
    )))
}

/// validate-all: a resource asking depth 20 needs a guest agent channel.
pub fn validate(req: &Request) -> OcfResult {
    if req.ctx.check_level >= AGENT_LEVEL && !req.domain.guest_agent_channel {
        return Err(OcfError::configured(no_channel(req)));
    }
    Ok(OcfRc::Success)
}

/// Forgets whether the agent answered (stop: a new start is a new boot).
pub fn forget(req: &Request) {
    let _ = std::fs::remove_file(state_files::guest_agent_record(&req.ctx.rsctmp, &req.name));
}

fn no_channel(req: &Request) -> String {
    format!(
        "OCF_CHECK_LEVEL={} asks the guest agent, but the domain {} has no guest agent \
         channel (<channel type='unix'><target type='virtio' name='{GUEST_AGENT_CHANNEL}'/>)",
        req.ctx.check_level, req.name
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
