//! State queries straight over the local libvirt daemon's socket, without
//! loading libvirt.so.
//!
//! Why it exists: a monitor asks a few things (the domain's state, its vCPUs
//! and memory for utilization, its emulator for the process-table cache),
//! and loading libvirt.so with its ~57 libraries costs more than everything
//! else the monitor does. For a local URI, or libvirt's default one
//! ([`endpoint`]), this controller asks the daemon itself, in libvirt's RPC
//! protocol ([`wire`], [`session`]), as libvirt's own client would: same
//! socket, same procedures, no authentication (root). Anything it cannot
//! settle with certainty — another URI, an authentication request, a daemon
//! error other than "no such domain", a malformed reply, a socket that does
//! not connect; "no such domain" too when the caller asks for
//! [`DirectController::confirm_absence`] and its [`AbsenceProof`] (the
//! process table) does not prove it — is asked again through the
//! libvirt library ([`LibvirtController`]), which is also used for every
//! other call. A daemon that does not answer in time is reported
//! unreachable at once, as the library backend would after its own timeout.

mod bounded_io;
pub mod endpoint;
pub mod session;
pub mod wire;

use std::cell::{OnceCell, RefCell};
use std::path::Path;
use std::time::{Duration, Instant};

use super::libvirt::LibvirtController;
use super::{
    ControllerError, DiskError, DomainController, DomainInfo, DomainState, Outcome, ResourceTag,
    ShutdownMode, StateDetail, TaggedDomain,
};
use crate::domain_xml::DomainConfig;
use crate::ocf::Env;
use crate::timing::DIRECT_CALL_RESERVE;
use endpoint::{Client, ClientConf, Endpoint};
use session::{CallError, Session};
use wire::{DomainRef, ERR_NO_DOMAIN};

/// libvirt's client configuration for root.
const CLIENT_CONF: &str = "/etc/libvirt/libvirt.conf";

/// What a direct query came to.
enum Direct<T> {
    /// A certain answer (including "no such domain" and "unreachable").
    Answer(Outcome<T>),
    /// Not settled: ask the library.
    Fallback(String),
}

/// Proof, independent of which daemon answered, that a domain has no
/// process here (the caller's process-table scan): `true` when absence is
/// proven, `false` when a process runs or the scan cannot tell.
pub type AbsenceProof = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// A [`DomainController`] answering `state` and `info` over the socket.
pub struct DirectController {
    endpoint: Option<Endpoint>,
    uri: Option<String>,
    deadline: Instant,
    call_cap: Option<Duration>,
    session: RefCell<Option<Session>>,
    /// The last domain looked up (a monitor asks about one domain).
    looked_up: RefCell<Option<DomainRef>>,
    /// Set when the daemon did not answer in time: what later calls return.
    gave_up: RefCell<Option<String>>,
    /// "No such domain" from the socket is not believed alone.
    confirm_absence: bool,
    /// What proves it without the library.
    absence_proof: Option<AbsenceProof>,
    library: OnceCell<LibvirtController>,
}

impl DirectController {
    /// A controller for `uri` (`None`: libvirt's default URI) whose calls
    /// end before `deadline`; no I/O yet.
    pub fn new(uri: Option<String>, deadline: Instant, call_cap: Option<Duration>) -> Self {
        let endpoint = endpoint::resolve(uri.as_deref(), &this_client(), Path::exists);
        Self::at(endpoint, uri, deadline, call_cap)
    }

    /// A controller using `endpoint` (`None`: the library for everything)
    /// and the library at `uri` for the rest.
    pub fn at(
        endpoint: Option<Endpoint>,
        uri: Option<String>,
        deadline: Instant,
        call_cap: Option<Duration>,
    ) -> Self {
        DirectController {
            endpoint,
            uri,
            deadline,
            call_cap,
            session: RefCell::new(None),
            looked_up: RefCell::new(None),
            gave_up: RefCell::new(None),
            confirm_absence: false,
            absence_proof: None,
            library: OnceCell::new(),
        }
    }

    /// Whether a "no such domain" answered over the socket must be
    /// confirmed before it is believed: by `proof` (see
    /// [`Self::absence_proof`]) or else through the library. For probes:
    /// they are rare, and a wrong "absent" makes Pacemaker start the
    /// domain a second time elsewhere. Recurring monitors keep the socket's
    /// answer.
    pub fn confirm_absence(mut self, confirm: bool) -> Self {
        self.confirm_absence = confirm;
        self
    }

    /// What confirms a "no such domain" without loading libvirt.so: a
    /// domain that runs here has an emulator process whichever daemon
    /// manages it, so a process table without one confirms the socket's
    /// answer (the one doubt the library would settle is whether the
    /// socket was the daemon libvirt would have chosen). When the proof
    /// fails (a process runs, the emulator is unknown, the scan is late)
    /// the library is asked.
    pub fn absence_proof(mut self, proof: AbsenceProof) -> Self {
        self.absence_proof = Some(proof);
        self
    }

    /// Whether the library backend had to be used (libvirt.so loaded).
    pub fn used_library(&self) -> bool {
        self.library.get().is_some()
    }

    /// The library backend, created on first use.
    fn library(&self) -> &LibvirtController {
        let library = self.library.get_or_init(|| {
            let ctl = LibvirtController::new(self.uri.clone(), self.deadline);
            match self.call_cap {
                Some(cap) => ctl.with_call_timeout(cap),
                None => ctl,
            }
        });
        library
    }

    /// When a direct call that must answer by `by` must have ended.
    fn call_deadline(&self, by: Instant) -> Instant {
        let end = self
            .deadline
            .checked_sub(DIRECT_CALL_RESERVE)
            .unwrap_or(self.deadline);
        let end = end.min(by);
        match self.call_cap {
            Some(cap) => end.min(Instant::now() + cap),
            None => end,
        }
    }

    /// Runs `query` on the domain `name` over the socket.
    fn direct<T>(
        &self,
        name: &str,
        by: Instant,
        query: impl FnOnce(&mut Session, &DomainRef) -> Result<T, CallError>,
    ) -> Direct<T> {
        let Some(endpoint) = &self.endpoint else {
            return Direct::Fallback("not a local URI".into());
        };
        if let Some(msg) = self.gave_up.borrow().as_ref() {
            return Direct::Answer(Err(ControllerError::Unreachable(msg.clone())));
        }
        let deadline = self.call_deadline(by);
        let outcome = self.with_session(endpoint, deadline, |s| {
            let cached = self.looked_up.borrow().clone().filter(|d| d.name == name);
            let dom = match cached {
                Some(dom) => dom,
                None => s.lookup(name)?,
            };
            let answer = query(s, &dom)?;
            *self.looked_up.borrow_mut() = Some(dom);
            Ok(answer)
        });
        match outcome {
            Ok(answer) => Direct::Answer(Ok(answer)),
            Err(CallError::Remote(e)) if e.code == ERR_NO_DOMAIN => {
                *self.looked_up.borrow_mut() = None;
                if !self.confirm_absence {
                    Direct::Answer(Err(ControllerError::NoDomain))
                } else if self.absence_proof.as_ref().is_some_and(|proof| proof(name)) {
                    log::debug!("{name}: no such domain, and no emulator process here");
                    Direct::Answer(Err(ControllerError::NoDomain))
                } else {
                    Direct::Fallback(format!("confirming \"{}\"", e.message))
                }
            }
            Err(CallError::TimedOut) => {
                let waited = deadline.saturating_duration_since(Instant::now());
                let msg = format!(
                    "libvirt did not answer on {} in time ({:.1} s left)",
                    endpoint.socket.display(),
                    waited.as_secs_f64()
                );
                *self.session.borrow_mut() = None;
                *self.gave_up.borrow_mut() = Some(msg.clone());
                Direct::Answer(Err(ControllerError::Unreachable(msg)))
            }
            Err(other) => {
                *self.session.borrow_mut() = None;
                Direct::Fallback(format!("{other:?}"))
            }
        }
    }

    /// Runs `f` on the open session, connecting and opening it first.
    fn with_session<T>(
        &self,
        endpoint: &Endpoint,
        deadline: Instant,
        f: impl FnOnce(&mut Session) -> Result<T, CallError>,
    ) -> Result<T, CallError> {
        let mut slot = self.session.borrow_mut();
        if slot.is_none() {
            let mut s = Session::connect(&endpoint.socket, deadline)?;
            s.open(&endpoint.name)?;
            *slot = Some(s);
        }
        let session = slot
            .as_mut()
            .ok_or(CallError::Protocol("no session".into()))?;
        session.set_deadline(deadline);
        f(session)
    }

    /// A direct answer, or the library's.
    fn settle<T>(
        &self,
        what: &str,
        direct: Direct<T>,
        library: impl FnOnce(&LibvirtController) -> Outcome<T>,
    ) -> Outcome<T> {
        match direct {
            Direct::Answer(outcome) => outcome,
            Direct::Fallback(why) => {
                log::debug!("{what}: asking through libvirt ({why})");
                library(self.library())
            }
        }
    }
}

/// This process as libvirt's client library sees it: its effective uid,
/// its environment (which the library reads too) and root's client
/// configuration.
fn this_client() -> Client {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let is_root = unsafe { nix::libc::geteuid() } == 0;
    let conf = std::fs::read_to_string(CLIENT_CONF).ok();
    Client {
        is_root,
        default_uri_env: Env::from_process().non_empty("LIBVIRT_DEFAULT_URI"),
        conf: ClientConf::parse(conf.as_deref()),
    }
}

impl Drop for DirectController {
    fn drop(&mut self) {
        if let Some(session) = self.session.get_mut().take() {
            session.close();
        }
    }
}

/// Trait methods answered by the library backend alone.
macro_rules! delegate_to_library {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(&self, $($arg: $ty),*) -> $ret {
            self.library().$name($($arg),*)
        })*
    };
}

impl DomainController for DirectController {
    fn state(&self, name: &str, by: Instant) -> Outcome<DomainState> {
        self.state_detail(name, by).map(|d| d.state)
    }

    fn state_detail(&self, name: &str, by: Instant) -> Outcome<StateDetail> {
        let direct = self.direct(name, by, |s, dom| {
            s.state(dom).map(|(state, reason)| StateDetail {
                state: DomainState::from_raw(state),
                reason,
            })
        });
        self.settle("state", direct, |l| l.state_detail(name, by))
    }

    fn info(&self, name: &str, by: Instant) -> Outcome<DomainInfo> {
        let direct = self.direct(name, by, |s, dom| {
            s.info(dom).map(|i| DomainInfo {
                vcpus: i.nr_virt_cpu,
                max_memory_kib: i.max_mem_kib,
            })
        });
        self.settle("info", direct, |l| l.info(name, by))
    }

    fn emulator(&self, name: &str, by: Instant) -> Outcome<Option<String>> {
        let direct = self.direct(name, by, |s, dom| {
            s.xml_desc(dom)
                .map(|xml| DomainConfig::parse(&xml).emulator)
        });
        self.settle("emulator", direct, |l| l.emulator(name, by))
    }

    /// Forgets a daemon that did not answer: the next call connects afresh.
    fn recover(&self) {
        if self.gave_up.borrow_mut().take().is_some() {
            *self.session.borrow_mut() = None;
            *self.looked_up.borrow_mut() = None;
        }
        if let Some(library) = self.library.get() {
            library.recover();
        }
    }

    delegate_to_library! {
        fn is_persistent(name: &str, by: Instant) -> Outcome<bool>;
        fn undefine(name: &str, by: Instant) -> Outcome<()>;
        fn create(xml: &str, by: Instant) -> Outcome<()>;
        fn define(xml: &str, by: Instant) -> Outcome<()>;
        fn start_defined(name: &str, by: Instant) -> Outcome<()>;
        fn resume(name: &str, by: Instant) -> Outcome<()>;
        fn shutdown(name: &str, modes: &[ShutdownMode], by: Instant) -> Outcome<()>;
        fn destroy(name: &str, by: Instant) -> Outcome<()>;
        fn save(name: &str, path: &Path, by: Instant) -> Outcome<()>;
        fn restore(path: &Path, by: Instant) -> Outcome<()>;
        fn save_image_xml(path: &Path, by: Instant) -> Outcome<String>;
        fn inactive_xml(name: &str, by: Instant) -> Outcome<String>;
        fn wait_event(name: &str, timeout: Duration) -> bool;
        fn disk_errors(name: &str, by: Instant) -> Outcome<Vec<DiskError>>;
        fn agent_ping(name: &str, by: Instant) -> Outcome<()>;
        fn wakeup(name: &str, by: Instant) -> Outcome<()>;
        fn ensure_pool_active(pool: &str, by: Instant) -> Outcome<()>;
        fn ensure_network_active(network: &str, by: Instant) -> Outcome<()>;
        fn set_tag(name: &str, tag: &ResourceTag, by: Instant) -> Outcome<String>;
        fn tagged_domains(by: Instant) -> Outcome<Vec<TaggedDomain>>;
    }
}
