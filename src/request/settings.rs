//! The checked parameters as typed values: what the actions use, never
//! the text again (ripgrep's low-args → high-args step). Each value is
//! checked by the actions that use it ([`super::setup`] decides which).

use std::time::Duration;

use super::migration_settings::MigrationSettings;
use crate::controller::ShutdownMode;
use crate::pacemaker_time;
use crate::params::Params;

/// The parameters whose text had to be checked, as typed values: what the
/// actions use (never the text again).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    pub shutdown: Shutdown,
    pub migration_speed: u64,
    pub migration_downtime: u64,
    /// Checked only for the actions that migrate or may (see
    /// [`uses_migration_settings`]); the defaults otherwise.
    pub migration: MigrationSettings,
    /// Checked for the actions that use or accept it (see
    /// [`super::setup`]); the default (report) otherwise.
    pub io_error: IoErrorSettings,
}

/// What a monitor does with a guest qemu paused on a disk I/O error
/// (`io_error_policy`, `io_error_delay`; this agent's parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoErrorSettings {
    pub policy: IoErrorPolicy,
    /// `resume`: how long the storage may take to answer again, and the
    /// window in which a second pause is a failure; `destroy`: how long the
    /// guest stays paused before it is destroyed.
    pub delay: Duration,
}

/// `io_error_policy`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoErrorPolicy {
    /// The anchor's: nothing at depth 0, a failure at depth 10.
    #[default]
    Report,
    /// Resume once the storage answers again.
    Resume,
    /// Destroy after the delay (oVirt's KILL).
    Destroy,
}

/// `io_error_delay`'s default.
pub const DEFAULT_IO_ERROR_DELAY: Duration = Duration::from_secs(60);

impl Default for IoErrorSettings {
    fn default() -> Self {
        IoErrorSettings {
            policy: IoErrorPolicy::Report,
            delay: DEFAULT_IO_ERROR_DELAY,
        }
    }
}

/// `io_error_policy` and `io_error_delay`, or why they cannot be used.
pub fn io_error_settings(params: &Params) -> Result<IoErrorSettings, String> {
    let policy = match params.io_error_policy.trim().to_ascii_lowercase().as_str() {
        "report" | "" => IoErrorPolicy::Report,
        "resume" => IoErrorPolicy::Resume,
        "destroy" => IoErrorPolicy::Destroy,
        _ => {
            return Err(format!(
                "io_error_policy \"{}\" is not one of report, resume, destroy",
                params.io_error_policy
            ))
        }
    };
    let delay = match params.io_error_delay.as_deref() {
        None => DEFAULT_IO_ERROR_DELAY,
        Some(text) => pacemaker_time::parse(text)
            .ok_or_else(|| format!("io_error_delay \"{text}\" is not a time (60, 60s, 2min)"))?,
    };
    Ok(IoErrorSettings { policy, delay })
}

/// How stop shuts the guest down (this agent's parameters; the anchor
/// reads neither).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shutdown {
    /// `shutdown_mode`: the methods asked for (empty: libvirt's default).
    pub modes: Vec<ShutdownMode>,
    /// `shutdown_timeout` (`None`: unset, the stop timeout decides).
    pub timeout: Option<Duration>,
}

/// The parameters every action checks, as the anchor does (its
/// `VirtualDomain_validate_all` runs before every action), as types, or the
/// first failure's reason in the anchor's order.
pub fn settings(params: &Params) -> Result<Settings, &'static str> {
    let migration_speed = params
        .migration_speed
        .valid()
        .ok_or("migration_speed has to be a decimal value")?;
    let migration_downtime = params
        .migration_downtime
        .valid()
        .ok_or("migration_downtime has to be a decimal value")?;
    if params.stateless && params.backingfile.is_empty() {
        return Err("Stateless functionality can't be achieved without a backing file.");
    }
    Ok(Settings {
        shutdown: Shutdown::default(),
        migration_speed,
        migration_downtime,
        migration: MigrationSettings::default(),
        io_error: IoErrorSettings::default(),
    })
}

/// `shutdown_mode` and `shutdown_timeout` (Pacemaker's time syntax: `60s`,
/// `2min`, plain seconds), or why they cannot be used.
pub fn shutdown_settings(params: &Params) -> Result<Shutdown, String> {
    let modes = ShutdownMode::parse_list(&params.shutdown_mode).map_err(|word| {
        format!("shutdown_mode \"{word}\" is not one of acpi, agent, initctl, signal, paravirt")
    })?;
    let timeout = match params.shutdown_timeout.as_deref() {
        None => None,
        Some(text) => Some(pacemaker_time::parse(text).ok_or_else(|| {
            format!("shutdown_timeout \"{text}\" is not a time (60, 60s, 500ms, 2min)")
        })?),
    };
    Ok(Shutdown { modes, timeout })
}
