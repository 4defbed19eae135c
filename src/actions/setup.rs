//! The checks that run before every action, and how their failures map to
//! exit codes per action — the anchor's `ocf-rarun` prologue and
//! `validate_all`, as one pure decision table.
//!
//! The routing is what keeps a cluster safe: a stop whose config vanished
//! returns 0 (nothing to stop here), a probe returns 7, a recurring monitor
//! fails, and start/validate return the validation code.

use super::migration_settings::{migration_settings, MigrationSettings};
use crate::cli::Action;
use crate::controller::ShutdownMode;
use crate::domain_xml::DomainConfig;
use crate::ocf::OcfRc;
use crate::params::Params;

/// The anchor's generic message for an invalid environment.
pub const INVALID_ENV: &str = "environment is invalid, resource considered stopped";

/// What the prologue learned about the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
// one value per invocation: its size does not matter, a Box would only
// clutter every construction
#[allow(clippy::large_enum_variant)]
pub enum ConfigFile {
    Unreadable,
    Read(DomainConfig),
}

/// Facts about the host the checks depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFacts {
    /// `OCF_TESTER_FAIL_HAVE_BINARY=1`: ocf-tester's way to pretend the
    /// agent's required programs are missing.
    pub required_missing: bool,
    /// `csync2` is in PATH.
    pub have_csync2: bool,
}

/// One thing the prologue tells the world before it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `ocf-exit-reason:` line (and an ERROR log).
    Reason(String),
    /// INFO log only.
    Info(String),
    /// WARNING log only (no exit reason: the action succeeds).
    Warn(String),
}

/// The prologue refused the action: print `messages`, exit with `rc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rc: OcfRc,
    pub messages: Vec<Message>,
    /// The refusal's cause is a config file that cannot be read or names no
    /// domain (empty or half-written: the chaos campaign's "config emptied
    /// on one node" made a stop answer 0 while the guest ran, and Pacemaker
    /// started a second copy elsewhere); everything else checked before it
    /// passed: the guards of `config_guard` apply.
    pub unreadable_config: bool,
}

/// The parameters whose text had to be checked, as typed values: what the
/// actions use (never the text again).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    pub shutdown_modes: Vec<ShutdownMode>,
    /// `shutdown_timeout` in seconds (`None`: unset).
    pub shutdown_timeout: Option<u64>,
    pub migration_speed: u64,
    pub migration_downtime: u64,
    /// Checked only for the actions that migrate or may (see
    /// [`uses_migration_settings`]); the defaults otherwise.
    pub migration: MigrationSettings,
}

/// The actions whose setup checks the migration settings.
pub fn uses_migration_settings(action: Action) -> bool {
    matches!(
        action,
        Action::ValidateAll
            | Action::Start
            | Action::MigrateTo
            | Action::MigrateFrom
            | Action::ReloadAgent
    )
}

/// A setup that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The domain's name (from the config).
    pub name: String,
    pub settings: Settings,
}

/// The operation as the checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub action: Action,
    /// A monitor with interval 0.
    pub probe: bool,
}

impl Operation {
    fn is_probe(self) -> bool {
        self.action == Action::Monitor && self.probe
    }
}

/// Runs the checks in the anchor's order.
pub fn check(
    op: Operation,
    params: &Params,
    config: &ConfigFile,
    host: HostFacts,
) -> Result<Accepted, Refusal> {
    let mut messages = Vec::new();
    let Some(config_path) = params.config.as_ref() else {
        return Err(Refusal {
            rc: OcfRc::ErrConfigured,
            messages: vec![Message::Reason("config: required parameter not set".into())],
            unreadable_config: false,
        });
    };
    if host.required_missing {
        return Err(invalid_env(
            op,
            OcfRc::ErrInstalled,
            "virsh: required binary not installed",
            messages,
        ));
    }
    let path = config_path.to_string_lossy();
    if params.force_stop && !params.snapshot.is_empty() {
        messages.push(Message::Reason(
            "The 'force_stop' and 'snapshot' options can not be used together.".into(),
        ));
        return Err(invalid_env(op, OcfRc::ErrConfigured, INVALID_ENV, messages));
    }
    let domain = match config {
        ConfigFile::Unreadable if op.action == Action::ReloadAgent => {
            return Err(reload_without_config(
                op,
                params,
                host,
                &path,
                "cannot be read",
            ));
        }
        ConfigFile::Unreadable => {
            messages.push(if op.is_probe() {
                Message::Info(format!(
                    "Configuration file {path} not readable during probe."
                ))
            } else if op.action == Action::Stop {
                Message::Info(format!(
                    "Configuration file {path} not readable, resource considered stopped."
                ))
            } else {
                Message::Reason(format!(
                    "Configuration file {path} does not exist or not readable."
                ))
            });
            let mut refusal = invalid_env(op, OcfRc::ErrInstalled, INVALID_ENV, messages);
            refusal.unreadable_config = true;
            return Err(refusal);
        }
        ConfigFile::Read(domain) => domain,
    };
    let Some(name) = domain.name.clone() else {
        if op.action == Action::ReloadAgent {
            return Err(reload_without_config(
                op,
                params,
                host,
                &path,
                "names no domain",
            ));
        }
        messages.push(Message::Reason("Unable to determine domain name.".into()));
        let mut refusal = invalid_env(op, OcfRc::ErrInstalled, INVALID_ENV, messages);
        refusal.unreadable_config = true;
        return Err(refusal);
    };
    if params.sync_config_on_stop && !host.have_csync2 {
        return Err(missing_csync2());
    }
    match checked_settings(op, params) {
        Ok(settings) => Ok(Accepted { name, settings }),
        Err(reason) => {
            messages.push(Message::Reason(reason));
            Err(invalid_env(op, OcfRc::ErrConfigured, INVALID_ENV, messages))
        }
    }
}

fn missing_csync2() -> Refusal {
    Refusal {
        rc: OcfRc::ErrInstalled,
        messages: vec![Message::Reason(
            "Setup problem: couldn't find command: csync2".into(),
        )],
        unreadable_config: false,
    }
}

/// [`settings`], and the migration settings where the action uses them.
fn checked_settings(op: Operation, params: &Params) -> Result<Settings, String> {
    let mut settings = settings(params)?;
    if uses_migration_settings(op.action) {
        settings.migration = migration_settings(params)?;
    }
    Ok(settings)
}

/// The checked parameters as types, or the first failure's reason (in
/// the anchor's order of checks).
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
    let shutdown_timeout = match &params.shutdown_timeout {
        None => None,
        Some(d) => Some(
            d.valid()
                .ok_or("shutdown_timeout has to be a decimal value")?,
        ),
    };
    let shutdown_modes = ShutdownMode::parse_list(&params.shutdown_mode).map_err(|_| {
        "shutdown_mode has to be a comma-separated list of acpi, agent, initctl, signal, paravirt"
    })?;
    Ok(Settings {
        shutdown_modes,
        shutdown_timeout,
        migration_speed,
        migration_downtime,
        migration: MigrationSettings::default(),
    })
}

/// reload-agent's row for a config that does not give the domain (shared
/// storage away, a file being rewritten): the new parameters change how
/// the agent treats the guest, never the guest itself, so there is nothing
/// to refuse — a failed reload-agent would make Pacemaker restart a guest
/// that runs well. The next monitor, start or stop meets the file with its
/// own rules (a recurring monitor fails, stop still finds the domain).
/// The parameters themselves are still checked, as with a readable file.
fn reload_without_config(
    op: Operation,
    params: &Params,
    host: HostFacts,
    path: &str,
    why: &str,
) -> Refusal {
    if params.sync_config_on_stop && !host.have_csync2 {
        return missing_csync2();
    }
    if let Err(reason) = checked_settings(op, params) {
        let messages = vec![Message::Reason(reason)];
        return invalid_env(op, OcfRc::ErrConfigured, INVALID_ENV, messages);
    }
    Refusal {
        rc: OcfRc::Success,
        messages: vec![Message::Warn(format!(
            "Configuration file {path} {why}: reload-agent leaves the domain as it is; \
             the new parameters apply from the next action that reads it."
        ))],
        unreadable_config: false,
    }
}

/// `handle_invalid_env`: the per-action routing of a failed check.
fn invalid_env(op: Operation, rc: OcfRc, msg: &str, mut messages: Vec<Message>) -> Refusal {
    let rc = match op.action {
        Action::Stop => {
            messages.push(Message::Info(msg.into()));
            OcfRc::Success
        }
        Action::Monitor if op.probe => {
            messages.push(Message::Info(msg.into()));
            OcfRc::NotRunning
        }
        Action::Monitor => {
            messages.push(Message::Reason(msg.into()));
            OcfRc::ErrGeneric
        }
        Action::Status => {
            messages.push(Message::Info(msg.into()));
            OcfRc::LSB_STATUS_STOPPED
        }
        _ => {
            messages.push(Message::Reason(msg.into()));
            rc
        }
    };
    Refusal {
        rc,
        messages,
        unreadable_config: false,
    }
}

#[cfg(test)]
#[path = "setup_tests.rs"]
mod tests;
