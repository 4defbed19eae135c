//! The OCF actions: dispatch from the command line and environment to an
//! exit code, and one file per action (monitor, status and the probe share
//! theirs; migrate_to and migrate_from too). Each action reads top to
//! bottom as its steps: it decides, and delegates the work to the
//! capabilities below it ([`crate::lifecycle`], [`crate::migration`],
//! [`crate::guest_data`], [`crate::cluster`], [`crate::guest`]).
//!
//! The sequence is the anchor's `ocf-rarun`: parse the action, answer
//! meta-data at once, check the OCF environment, parse parameters and the
//! domain XML, run the setup checks ([`crate::request::setup`]), then the
//! action itself — or, when the config gives no domain, the actions that
//! look for it without one ([`without_config`]).

pub mod migrate;
pub mod monitor;
pub mod reload;
pub mod start;
pub mod stop;
#[cfg(test)]
pub mod test_support;
pub mod without_config;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cli::{self, Action, Invocation};
use crate::controller::libvirt::LibvirtController;
use crate::controller::rpc::{AbsenceProof, DirectController};
use crate::controller::DomainController;
use crate::domain_xml::DomainConfig;
use crate::guest::agent;
use crate::guest::process::{self as guest_process, GuestProcess};
use crate::host::command::find_in_path;
use crate::metadata::META_DATA;
use crate::ocf::{logging, reason, Env, OcfContext, OcfError, OcfRc, OcfResult};
use crate::params::Params;
use crate::request::config_file::read_config;
use crate::request::setup::{self, Accepted, ConfigFile, HostFacts, Message, Operation};
use crate::request::Request;

/// The real [`Remote`]: the libvirt backend.
fn libvirt_remote(uri: &str, until: std::time::Instant) -> Box<dyn DomainController> {
    Box::new(LibvirtController::new(Some(uri.to_string()), until))
}

/// Runs the agent: the whole life of one invocation.
pub fn run(args: impl IntoIterator<Item = OsString>, env: Env) -> OcfRc {
    let prefix = reason::prefix(&env);
    let (action, word) = match cli::parse(args) {
        Invocation::Info(text) => {
            print!("{text}");
            return OcfRc::Success;
        }
        Invocation::Unsupported(word) => {
            reason::exit_reason(&prefix, &format!("{word}: action not supported"));
            return OcfRc::ErrUnimplemented;
        }
        Invocation::Run(action, word) => (action, word),
    };
    if word == "meta-data" {
        print!("{META_DATA}");
        return OcfRc::Success;
    }
    let finish = |result: OcfResult| -> OcfRc {
        match result {
            Ok(rc) => rc,
            Err(e) => {
                if let Some(msg) = &e.reason {
                    reason::exit_reason(&prefix, msg);
                }
                e.rc
            }
        }
    };
    if let Err(e) = check_ocf_env(&env) {
        return finish(Err(e));
    }
    let ctx = OcfContext::from_env(&env);
    logging::init(&env, &ctx.instance);
    let params = Params::from_env(&env);
    let read_by = ctx.budget().outside_read_end();
    let config_file = params
        .config
        .as_deref()
        .map(|p| read_config(Path::new(p), read_by));
    let op = Operation {
        action,
        probe: ctx.is_probe(),
    };
    let host = HostFacts {
        required_missing: env.get("OCF_TESTER_FAIL_HAVE_BINARY").as_deref() == Some("1"),
        have_csync2: find_in_path("csync2", &env).is_some(),
    };
    let checked = setup::check(
        op,
        &params,
        config_file.as_ref().unwrap_or(&ConfigFile::Unreadable),
        host,
    );
    let Accepted {
        name,
        settings,
        warnings,
    } = match checked {
        Ok(accepted) => accepted,
        Err(mut refusal) => {
            if refusal.unreadable_config && without_config::applies(op.action) {
                let ctl = controller_for(&ctx, &params, op.action, None);
                if let Some(verdict) = without_config::without_config(
                    op.action,
                    &ctx,
                    &params,
                    ctl.as_ref(),
                    &libvirt_remote,
                    &mut refusal.messages,
                ) {
                    return finish(verdict);
                }
            }
            for message in refusal.messages {
                match message {
                    Message::Reason(msg) => reason::exit_reason(&prefix, &msg),
                    Message::Info(msg) => log::info!("{msg}"),
                    Message::Warn(msg) => log::warn!("{msg}"),
                }
            }
            return refusal.rc;
        }
    };
    for warning in warnings {
        // said once per probe or stop, not every monitor interval
        if action == Action::Monitor && !ctx.is_probe() {
            log::debug!("{warning}");
        } else {
            log::warn!("{warning}");
        }
    }
    let domain = match config_file {
        Some(ConfigFile::Read(domain)) => domain,
        _ => DomainConfig::default(),
    };
    let request = Request {
        action,
        ctx,
        config_path: PathBuf::from(params.config.clone().unwrap_or_default()),
        params,
        settings,
        domain,
        name,
    };
    finish(dispatch(&request))
}

/// The checks of `ocf-shellfuncs` on the OCF variables themselves.
fn check_ocf_env(env: &Env) -> Result<(), OcfError> {
    if let Some(root) = env.non_empty("OCF_ROOT") {
        if !Path::new(&root).is_dir() {
            return Err(OcfError::generic(format!(
                "OCF_ROOT points to non-directory {root}."
            )));
        }
    }
    if env.non_empty("OCF_RA_VERSION_MAJOR").is_some()
        && env.non_empty("OCF_RESOURCE_INSTANCE").is_none()
    {
        return Err(OcfError::new(
            OcfRc::ErrArgs,
            "Need to tell us our resource instance name.",
        ));
    }
    Ok(())
}

/// The libvirt controller for this operation: `hypervisor` (unset or
/// empty: libvirt's default URI), every call ending by the operation's
/// work end (the deadline less the exit margin). `emulator`: the config's,
/// for the process table that confirms a probe's "no such domain".
fn controller_for(
    ctx: &OcfContext,
    params: &Params,
    action: Action,
    emulator: Option<&str>,
) -> Box<dyn DomainController> {
    let uri = params.hypervisor.clone().filter(|u| !u.is_empty());
    let end = ctx.work_end();
    match action {
        // state queries: straight over the local socket where possible; a
        // monitor (and status) keeps time for the process-table fallback;
        // a probe (and status) never says "no such domain" on the socket's word alone
        Action::Monitor | Action::Status => {
            let direct = DirectController::new(uri, end, Some(ctx.work_left() / 3));
            if action == Action::Status || ctx.is_probe() {
                let proof = no_emulator_process(ctx, emulator);
                Box::new(direct.confirm_absence(true).absence_proof(proof))
            } else {
                Box::new(direct)
            }
        }
        // Pacemaker runs it once the guest runs here: usually answered
        // over the socket, without loading libvirt.so (the library loads
        // only to wait for events when it has not arrived yet)
        Action::MigrateFrom => Box::new(DirectController::new(uri, end, None)),
        // one state query (and, when the domain runs, its figures): as a
        // recurring monitor's, without the process-table fallback
        Action::ReloadAgent => Box::new(DirectController::new(uri, end, None)),
        _ => Box::new(LibvirtController::new(uri, end)),
    }
}

/// The process table's proof that a domain does not run here: its
/// emulator (cached by monitors, else the config's) is known and no such
/// process names it.
fn no_emulator_process(ctx: &OcfContext, emulator: Option<&str>) -> AbsenceProof {
    let rsctmp = ctx.rsctmp.clone();
    let emulator = emulator.map(str::to_string);
    let until = ctx.budget().outside_read_end();
    Box::new(move |name| {
        guest_process::look_up(&rsctmp, name, emulator.as_deref(), until) == GuestProcess::Absent
    })
}

/// Runs an action whose setup is valid.
fn dispatch(req: &Request) -> OcfResult {
    let emulator = req.domain.emulator.as_deref();
    let ctl = controller_for(&req.ctx, &req.params, req.action, emulator);
    match req.action {
        // the document start would hand libvirt must decode (an encoding the
        // agent cannot read is refused here, not first at the next start)
        Action::ValidateAll => req.config_xml().and_then(|_| agent::validate(req)),
        Action::GetConfig => Ok(OcfRc::Success),
        Action::MetaData => {
            print!("{META_DATA}");
            Ok(OcfRc::Success)
        }
        Action::Start => start::start(req, ctl.as_ref(), &libvirt_remote),
        Action::Stop => stop::stop(req, ctl.as_ref()),
        Action::Monitor => monitor::monitor(req, ctl.as_ref()),
        Action::Status => monitor::status(req, ctl.as_ref()),
        Action::MigrateTo => migrate::migrate_to(req, ctl.as_ref(), &libvirt_remote),
        Action::MigrateFrom => migrate::migrate_from(req, ctl.as_ref()),
        Action::ReloadAgent => reload::reload_agent(req, ctl.as_ref()),
    }
}
