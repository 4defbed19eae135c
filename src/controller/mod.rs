//! The domain controller: everything the agent asks of the hypervisor,
//! behind one trait so action logic can be tested without libvirt.
//!
//! One backend ([`libvirt`]) implements it on the libvirt C API through
//! the `virt` crate. Every call is bounded by the operation deadline the
//! controller was built with: a stopped, refusing or frozen libvirtd makes
//! a call fail with [`ControllerError::Unreachable`], never hang.

#[cfg(test)]
pub mod fake;
pub mod libvirt;
pub mod migration;
pub mod rpc;
pub mod tag;

use std::path::Path;
use std::time::{Duration, Instant};

pub use migration::{
    Decision, JobAction, JobReport, JobSample, MigrateFlag, MigrateTuning, MigrationMode,
    MigrationSpec, MigrationWatch, Steering,
};
pub use tag::{ResourceTag, TaggedDomain};

/// Controllers for other hosts' libvirt (the migration target, the other
/// nodes), by URI, with every call ending by the given instant.
pub type Remote<'a> = &'a (dyn Fn(&str, Instant) -> Box<dyn DomainController> + Sync);

/// libvirt's domain states (`virDomainState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainState {
    NoState,
    Running,
    Blocked,
    Paused,
    /// "in shutdown": the guest is shutting down.
    Shutdown,
    Shutoff,
    Crashed,
    PmSuspended,
    /// A value newer than this agent.
    Other(u32),
}

impl DomainState {
    pub fn from_raw(raw: u32) -> DomainState {
        match raw {
            0 => DomainState::NoState,
            1 => DomainState::Running,
            2 => DomainState::Blocked,
            3 => DomainState::Paused,
            4 => DomainState::Shutdown,
            5 => DomainState::Shutoff,
            6 => DomainState::Crashed,
            7 => DomainState::PmSuspended,
            other => DomainState::Other(other),
        }
    }

    /// The word `virsh domstate` prints (what the anchor's logs show).
    pub fn virsh_word(self) -> &'static str {
        match self {
            DomainState::NoState | DomainState::Other(_) => "no state",
            DomainState::Running => "running",
            DomainState::Blocked => "idle",
            DomainState::Paused => "paused",
            DomainState::Shutdown => "in shutdown",
            DomainState::Shutoff => "shut off",
            DomainState::Crashed => "crashed",
            DomainState::PmSuspended => "pmsuspended",
        }
    }
}

/// A state with libvirt's reason for it (`virDomainGetState`'s second
/// answer, e.g. `VIR_DOMAIN_PAUSED_IOERROR` for a paused domain); the
/// reason's meaning depends on the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateDetail {
    pub state: DomainState,
    pub reason: i32,
}

/// One disk's error as libvirt records it (`virDomainGetDiskErrors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskError {
    /// The disk's target or source, as libvirt names it (`vda`, a path).
    pub device: String,
    /// `virDomainDiskErrorCode`: 1 unspecified, 2 no space.
    pub code: i32,
}

impl DiskError {
    /// The words `virsh domblkerror` prints for the code.
    pub fn reason_text(&self) -> &'static str {
        match self.code {
            0 => "no error",
            2 => "no space",
            _ => "unspecified error",
        }
    }
}

/// The figures utilization is computed from (`virsh dominfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainInfo {
    /// Current number of virtual CPUs ("CPU(s)").
    pub vcpus: u32,
    /// Maximum memory in KiB ("Max memory").
    pub max_memory_kib: u64,
}

/// A graceful shutdown method (`virsh shutdown --mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    Acpi,
    Agent,
    Initctl,
    Signal,
    Paravirt,
}

impl ShutdownMode {
    /// Parses `shutdown_mode` (a comma-separated list, as `virsh shutdown --mode`;
    /// the words in any case: the anchor never read the parameter, so a
    /// resource switched from it may carry `ACPI`). The empty string is the
    /// hypervisor's default (an empty list).
    pub fn parse_list(text: &str) -> Result<Vec<ShutdownMode>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| match w.to_ascii_lowercase().as_str() {
                "acpi" => Ok(ShutdownMode::Acpi),
                "agent" => Ok(ShutdownMode::Agent),
                "initctl" => Ok(ShutdownMode::Initctl),
                "signal" => Ok(ShutdownMode::Signal),
                "paravirt" => Ok(ShutdownMode::Paravirt),
                other => Err(other.to_string()),
            })
            .collect()
    }
}

/// Why a controller call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControllerError {
    /// libvirt could not be reached, refused, or did not answer in time.
    #[error("libvirt unreachable: {0}")]
    Unreachable(String),
    /// The domain does not exist (or vanished while we looked at it).
    #[error("domain not found")]
    NoDomain,
    /// The operation is not valid in the domain's state (e.g. destroy of an inactive domain).
    #[error("{0}")]
    InvalidState(String),
    /// libvirt answered with another error.
    #[error("{0}")]
    Failed(String),
}

pub type Outcome<T> = Result<T, ControllerError>;

/// Everything the actions need from a hypervisor, addressed by domain name.
///
/// Every call that talks to the hypervisor receives `by`, the instant it
/// must have answered by (and never later than the deadline the controller
/// was built with): a call that has not answered then fails with
/// [`ControllerError::Unreachable`]. The bound is a value of each call, so
/// the bounds of an action's steps nest by construction — a step's short
/// bound cannot outlive the step, nor lengthen the bound of the next one.
pub trait DomainController {
    /// The domain's state; [`ControllerError::NoDomain`] when it is not defined.
    fn state(&self, name: &str, by: Instant) -> Outcome<DomainState>;
    /// The state and libvirt's reason for it, from the same answer.
    /// Default: the state with reason 0 ("unknown").
    fn state_detail(&self, name: &str, by: Instant) -> Outcome<StateDetail> {
        self.state(name, by)
            .map(|state| StateDetail { state, reason: 0 })
    }
    /// The disks with an error libvirt recorded (an I/O error that paused
    /// the guest names its disk here until the guest runs again).
    fn disk_errors(&self, name: &str, _by: Instant) -> Outcome<Vec<DiskError>> {
        Err(ControllerError::Failed(format!(
            "cannot read the disk errors of {name}: not supported"
        )))
    }
    /// Asks the guest's qemu guest agent for an answer (`guest-get-time`
    /// through libvirt): `Ok` when the agent answered.
    fn agent_ping(&self, name: &str, _by: Instant) -> Outcome<()> {
        Err(ControllerError::Failed(format!(
            "cannot ask the guest agent of {name}: not supported"
        )))
    }
    /// vCPUs and maximum memory of the domain.
    fn info(&self, name: &str, by: Instant) -> Outcome<DomainInfo>;
    /// The `<emulator>` of the live definition (`None` when it has none).
    fn emulator(&self, name: &str, by: Instant) -> Outcome<Option<String>>;
    /// Whether a persistent definition of that name exists.
    fn is_persistent(&self, name: &str, by: Instant) -> Outcome<bool>;
    /// Removes a persistent definition (inactive domains only).
    fn undefine(&self, name: &str, by: Instant) -> Outcome<()>;
    /// Starts a transient domain from XML (`virsh create`).
    fn create(&self, xml: &str, by: Instant) -> Outcome<()>;
    /// Defines a persistent domain from XML (`virsh define`).
    fn define(&self, xml: &str, by: Instant) -> Outcome<()>;
    /// Starts a defined domain (`virsh start`).
    fn start_defined(&self, name: &str, by: Instant) -> Outcome<()>;
    /// Resumes a paused domain.
    fn resume(&self, name: &str, by: Instant) -> Outcome<()>;
    /// Asks the guest to shut down with these methods (empty: the default).
    fn shutdown(&self, name: &str, modes: &[ShutdownMode], by: Instant) -> Outcome<()>;
    /// Pulls the plug.
    fn destroy(&self, name: &str, by: Instant) -> Outcome<()>;
    /// Saves the RAM state to `path` and stops the domain (`virsh save`).
    fn save(&self, name: &str, path: &Path, by: Instant) -> Outcome<()>;
    /// Starts a domain from a state file (`virsh restore`).
    fn restore(&self, path: &Path, by: Instant) -> Outcome<()>;
    /// The domain XML stored in a state file (`virsh save-image-dumpxml`):
    /// fails when libvirt cannot read the file as a complete save image.
    fn save_image_xml(&self, path: &Path, by: Instant) -> Outcome<String>;
    /// The inactive XML with security info (`dumpxml --inactive --security-info`).
    fn inactive_xml(&self, name: &str, by: Instant) -> Outcome<String>;
    /// Blocks until a lifecycle event for `name` arrives or `timeout` passes.
    /// Returns whether an event arrived. Implementations may return early
    /// without an event; callers always re-check the state.
    fn wait_event(&self, name: &str, timeout: Duration) -> bool;
    /// The URI of the connection: libvirt's default URI, resolved, when
    /// the controller was built without one.
    fn uri(&self, _by: Instant) -> Outcome<String> {
        Err(ControllerError::Failed("no URI: not supported".into()))
    }
    /// Migrates the running domain `name` as `spec` says and returns when
    /// libvirt's migration call does (by `by` at the latest); meanwhile
    /// the job's statistics go to `watch`'s steering, whose decisions
    /// (downtime, pause, post-copy, abort) are carried out, and its report
    /// records the last look and the completed job's figures. On success, the domain's state on
    /// the target when the backend could read it through the migration's
    /// own connection (`None`: ask the target). The caller verifies where
    /// the domain runs.
    fn migrate(
        &self,
        name: &str,
        _spec: &MigrationSpec,
        _watch: &MigrationWatch,
        _by: Instant,
    ) -> Outcome<Option<DomainState>> {
        Err(ControllerError::Failed(format!(
            "cannot migrate {name}: not supported"
        )))
    }
    /// After a call that did not answer in time, the connection it used is
    /// wedged (the call may still be stuck inside libvirt): abandon it, so
    /// the next call opens a fresh connection with its own bounded time.
    /// Does nothing when the connection is healthy.
    fn recover(&self) {}
    /// Wakes a pmsuspended domain.
    fn wakeup(&self, name: &str, _by: Instant) -> Outcome<()> {
        Err(ControllerError::Failed(format!(
            "cannot wake up {name}: not supported"
        )))
    }
    /// Starts storage pool `pool` if inactive, refreshes it if active.
    fn ensure_pool_active(&self, pool: &str, _by: Instant) -> Outcome<()> {
        Err(ControllerError::Failed(format!(
            "cannot start pool {pool}: not supported"
        )))
    }
    /// Writes `tag`, completed with the domain's name and UUID, into the
    /// domain's definition (see [`tag`]): the live one when it runs, the
    /// persistent one when it has one. Returns the domain's UUID.
    fn set_tag(&self, name: &str, _tag: &ResourceTag, _by: Instant) -> Outcome<String> {
        Err(ControllerError::Failed(format!(
            "cannot tag {name}: not supported"
        )))
    }
    /// Every domain libvirt knows here (running or defined) whose
    /// definition carries a tag, with its own name, UUID and whether it
    /// runs, in one bounded listing.
    fn tagged_domains(&self, _by: Instant) -> Outcome<Vec<TaggedDomain>> {
        Err(ControllerError::Failed(
            "cannot list tagged domains: not supported".into(),
        ))
    }
    /// Starts network `network` if inactive.
    fn ensure_network_active(&self, network: &str, _by: Instant) -> Outcome<()> {
        Err(ControllerError::Failed(format!(
            "cannot start network {network}: not supported"
        )))
    }
}
