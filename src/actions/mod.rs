//! Action dispatch: from the command line and environment to an exit code.
//!
//! The sequence is the anchor's `ocf-rarun`: parse the action, answer
//! meta-data at once, check the OCF environment, parse parameters and the
//! domain XML, run the setup checks ([`setup`]), then the action itself.

pub mod backing;
pub mod config_guard;
pub mod config_keep;
pub mod config_save;
pub mod domain_tag;
pub mod double_start;
pub mod guest_process;
pub mod housekeeping;
pub mod migrate;
pub mod migrate_options;
pub mod migration_settings;
pub mod migration_uri;
pub mod monitor;
pub mod observe;
pub mod reload;
pub mod setup;
pub mod snapshot;
pub mod snapshot_image;
pub mod start;
pub mod state;
pub mod stop;
#[cfg(test)]
pub mod test_support;
pub mod utilization;

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cli::{self, Action, Invocation};
use crate::controller::libvirt::LibvirtController;
use crate::controller::rpc::DirectController;
use crate::controller::DomainController;
use crate::domain_xml::DomainConfig;
use crate::metadata::META_DATA;
use crate::ocf::{logging, reason, Env, OcfContext, OcfError, OcfRc, OcfResult};
use crate::params::Params;
use setup::{Accepted, ConfigFile, HostFacts, Message, Operation, Settings};

/// Domain XML files larger than this are not read (a config pointing at a
/// device or a huge file must not stall the agent).
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Controllers for other hosts' libvirt (the migration target, the other
/// nodes), by URI, with every call ending by the given instant.
pub type Remote<'a> = &'a (dyn Fn(&str, std::time::Instant) -> Box<dyn DomainController> + Sync);

/// The real [`Remote`]: the libvirt backend.
fn libvirt_remote(uri: &str, until: std::time::Instant) -> Box<dyn DomainController> {
    Box::new(LibvirtController::new(Some(uri.to_string()), until))
}

/// Everything an action needs, resolved once.
#[derive(Debug)]
pub struct Request {
    pub action: Action,
    pub ctx: OcfContext,
    pub params: Params,
    pub config_path: PathBuf,
    /// The checked parameters, typed.
    pub settings: Settings,
    pub domain: DomainConfig,
    /// The domain's name (from the config).
    pub name: String,
}

impl Request {
    /// The domain XML as text (what libvirt is given to create or define).
    pub fn config_xml(&self) -> Result<String, OcfError> {
        let bytes = std::fs::read(&self.config_path).map_err(|e| {
            OcfError::installed(format!("Cannot read {}: {e}", self.config_path.display()))
        })?;
        crate::domain_xml::decode_document(&bytes)
            .map_err(|why| OcfError::configured(format!("{}: {why}", self.config_path.display())))
    }
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
    let config_file = params.config.as_deref().map(|p| read_config(Path::new(p)));
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
    let Accepted { name, settings } = match checked {
        Ok(accepted) => accepted,
        Err(mut refusal) => {
            if refusal.unreadable_config && config_guard::applies(op.action) {
                let ctl = controller_for(&ctx, &params, op.action);
                if let Some(verdict) = config_guard::without_config(
                    op.action,
                    &ctx,
                    &params,
                    ctl.as_ref(),
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

/// Reads and parses the domain XML; unreadable means `test -r` fails.
pub fn read_config(path: &Path) -> ConfigFile {
    use nix::unistd::{access, AccessFlags};
    if access(path, AccessFlags::R_OK).is_err() {
        return ConfigFile::Unreadable;
    }
    let mut bytes = Vec::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAX_CONFIG_BYTES).read_to_end(&mut bytes));
    match read {
        Ok(_) => ConfigFile::Read(DomainConfig::parse(&config_text(&bytes))),
        // readable by access(2) but not as a file (a directory): no name in it
        Err(_) => ConfigFile::Read(DomainConfig::default()),
    }
}

/// The config's text as libvirt reads it; what cannot be decoded is read
/// leniently here (the name is still found) and refused, with its reason,
/// where libvirt is to be given the document (`Request::config_xml`).
fn config_text(bytes: &[u8]) -> String {
    crate::domain_xml::decode_document(bytes)
        .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned())
}

/// A program in PATH (plus the system directories, as `have_binary`).
pub fn find_in_path(program: &str, env: &Env) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = env.get("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/sbin", "/bin", "/usr/sbin", "/usr/bin"])
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        });
    found
}

/// The libvirt controller for this operation: `hypervisor` (unset or
/// empty: libvirt's default URI), every call ending by the operation's
/// work end (the deadline less the exit margin).
fn controller_for(ctx: &OcfContext, params: &Params, action: Action) -> Box<dyn DomainController> {
    let uri = params.hypervisor.clone().filter(|u| !u.is_empty());
    let end = ctx.work_end();
    match action {
        // state queries: straight over the local socket where possible; a
        // monitor (and status) keeps time for the process-table fallback;
        // a probe (and status) never says "no such domain" on the socket's word alone
        Action::Monitor | Action::Status => Box::new(
            DirectController::new(uri, end, Some(ctx.work_left() / 3))
                .confirm_absence(action == Action::Status || ctx.is_probe()),
        ),
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

/// Runs an action whose setup is valid.
fn dispatch(req: &Request) -> OcfResult {
    let ctl = controller_for(&req.ctx, &req.params, req.action);
    match req.action {
        Action::ValidateAll | Action::GetConfig => Ok(OcfRc::Success),
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
