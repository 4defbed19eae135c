//! The checks that run before every action, and how their failures map to
//! exit codes per action — the anchor's `ocf-rarun` prologue and
//! `validate_all`, as one pure decision table.
//!
//! The routing is what keeps a cluster safe: a stop whose config vanished
//! returns 0 (nothing to stop here), a probe returns 7, a recurring monitor
//! fails, and start/validate return the validation code.

use super::migration_settings::{migration_settings, start_settings};
pub use super::settings::{
    io_error_settings, settings, shutdown_settings, IoErrorPolicy, IoErrorSettings, Settings,
    Shutdown,
};
use crate::cli::Action;
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
    /// The refusal's cause is a config file that gives no domain (it cannot
    /// be read, in time or at all, or names none; everything checked before
    /// it passed): the guards of `config_guard` apply.
    pub unreadable_config: bool,
}

/// The actions whose setup checks the migration settings.
pub fn uses_migration_settings(action: Action) -> bool {
    matches!(
        action,
        Action::ValidateAll | Action::MigrateTo | Action::MigrateFrom | Action::ReloadAgent
    )
}

/// A setup that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The domain's name (from the config).
    pub name: String,
    pub settings: Settings,
    /// Warnings to log before the action runs (a value the action does not
    /// need, or replaces with its default).
    pub warnings: Vec<String>,
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

    /// The action as the logs name it.
    fn action_word(self) -> &'static str {
        match self.action {
            Action::Monitor if self.probe => "probe",
            Action::Monitor => "monitor",
            Action::Stop => "stop",
            Action::Status => "status",
            _ => "this action",
        }
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
    let mut warnings = Vec::new();
    if params.force_stop && !params.snapshot.is_empty() {
        let reason = "The 'force_stop' and 'snapshot' options can not be used together.";
        if !only_observes_or_stops(op.action) {
            messages.push(Message::Reason(reason.into()));
            return Err(invalid_env(op, OcfRc::ErrConfigured, INVALID_ENV, messages));
        }
        // force_stop wins in stop (destroy, no snapshot saved)
        warnings.push(format!("{reason} force_stop applies."));
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
        // as an unreadable file: emptied or cut short mid-write, a directory,
        // a FIFO, a read that timed out — the domain may well run here
        messages.push(Message::Reason("Unable to determine domain name.".into()));
        let mut refusal = invalid_env(op, OcfRc::ErrInstalled, INVALID_ENV, messages);
        refusal.unreadable_config = true;
        return Err(refusal);
    };
    if params.sync_config_on_stop && !host.have_csync2 {
        return Err(missing_csync2());
    }
    checked_settings(op, params).map(|(settings, more)| {
        warnings.extend(more);
        Accepted {
            name,
            settings,
            warnings,
        }
    })
}

/// The actions whose answer a parameter value the anchor validates
/// (`force_stop` with `snapshot`, `migration_speed`, `migration_downtime`,
/// `stateless` without `backingfile`) must not change: routed as the
/// anchor's "invalid environment", a probe would answer 7 and a stop 0 for
/// a guest that runs, and Pacemaker would start a second copy. Their
/// answer is the guest's real state (a stop really stops it); start,
/// validate-all and the migrations still refuse the value as the anchor.
pub fn only_observes_or_stops(action: Action) -> bool {
    matches!(action, Action::Stop | Action::Monitor | Action::Status)
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

/// [`settings`], the shutdown settings and the migration settings, each
/// checked by the actions that use them: a value one action needs never
/// changes what another answers.
fn checked_settings(op: Operation, params: &Params) -> Result<(Settings, Vec<String>), Refusal> {
    let mut warnings = Vec::new();
    let mut settings = match settings(params) {
        Ok(settings) => settings,
        Err(reason) if only_observes_or_stops(op.action) => {
            warnings.push(format!("{reason} (ignored by {})", op.action_word()));
            Settings::default()
        }
        Err(reason) => {
            let messages = vec![Message::Reason(reason.into())];
            return Err(invalid_env(op, OcfRc::ErrConfigured, INVALID_ENV, messages));
        }
    };
    match (shutdown_settings(params), op.action) {
        (Ok(shutdown), _) => settings.shutdown = shutdown,
        // refused where a value is given to the cluster: before a start,
        // when validated, when reloaded
        (Err(reason), Action::ValidateAll | Action::Start | Action::ReloadAgent) => {
            return Err(configuration_error(reason));
        }
        // a stop still stops the guest, with the defaults
        (Err(reason), Action::Stop) => {
            warnings.push(format!("{reason}; stopping with the defaults."));
        }
        // probes, monitors, status and migrations do not shut down
        (Err(_), _) => {}
    }
    match (io_error_settings(params), op.action) {
        (Ok(io_error), _) => settings.io_error = io_error,
        (Err(reason), Action::ValidateAll | Action::Start | Action::ReloadAgent) => {
            return Err(configuration_error(reason));
        }
        // a recurring monitor still answers, as the anchor would
        (Err(reason), Action::Monitor) if !op.probe => {
            warnings.push(format!("{reason}; monitoring with io_error_policy=report."));
        }
        // only recurring monitors act on the policy
        (Err(_), _) => {}
    }
    let migration = match op.action {
        Action::Start => Some(start_settings(params)),
        action if uses_migration_settings(action) => Some(migration_settings(params)),
        _ => None,
    };
    if let Some(checked) = migration {
        settings.migration = checked.map_err(|reason| {
            invalid_env(
                op,
                OcfRc::ErrConfigured,
                INVALID_ENV,
                vec![Message::Reason(reason)],
            )
        })?;
    }
    Ok((settings, warnings))
}

/// A value this agent checks itself: 6 and the reason, whatever the action.
fn configuration_error(reason: String) -> Refusal {
    Refusal {
        rc: OcfRc::ErrConfigured,
        messages: vec![Message::Reason(reason)],
        unreadable_config: false,
    }
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
    if let Err(refusal) = checked_settings(op, params) {
        return refusal;
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
