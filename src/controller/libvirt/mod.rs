//! The libvirt backend of [`DomainController`], on the libvirt C API through
//! the `virt` crate (raw `virt::sys` where virt 0.5 has no wrapper or a buggy
//! one), never forking `virsh`.
//!
//! Why it exists: the shell agent runs `virsh` with no timeout, so a stopped
//! or frozen libvirtd makes every action hang until Pacemaker kills it
//! (anchor §10.2 #1). Here every call is bounded by the operation deadline:
//! one thread ([`worker`]) owns the connection and runs the calls; the caller
//! waits at most until the deadline, the per-call cap or the bound the call
//! was given (`by`). When a call does not answer in time
//! the connection is marked hung and every later call fails at once with
//! [`ControllerError::Unreachable`], until [`DomainController::recover`]
//! abandons the stuck thread (the process exits when the action is done)
//! and the next call opens a fresh connection on a new one.
//!
//! Traps handled: virt's `Domain::state()` swallows errors (we call
//! `virDomainGetState`), its `Drop` of `Connect`/`Domain` panics when the C
//! close fails (never dropped, see [`worker`]), libvirt prints errors on
//! stderr unless its error callback is cleared, and lifecycle events need
//! the event loop registered before the connection is opened, after which
//! the loop must run or libvirtd drops a connection idle for ~30 s
//! ([`events`]).

mod disk_errors;
pub mod dynload;
mod errors;
mod events;
mod flags;
mod job_stats;
mod migrate;
mod resources;
mod tag;
mod worker;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use virt::sys;

use super::{
    ControllerError, DiskError, DomainController, DomainInfo, DomainState, MigrationSpec,
    MigrationWatch, Outcome, ResourceTag, ShutdownMode, StateDetail, TaggedDomain,
};
use crate::domain_xml::DomainConfig;
use errors::{check, flags_rejected};
use flags::{shutdown_flags, UNDEFINE_FLAGS};
use worker::{release, Job, Session};

/// A [`DomainController`] talking to libvirt at one URI.
pub struct LibvirtController {
    uri: Option<String>,
    deadline: Instant,
    call_cap: Option<Duration>,
    worker: Mutex<Option<Sender<Job>>>,
    /// Set when a call did not answer in time: the message every later call
    /// returns until [`DomainController::recover`].
    hung: Mutex<Option<String>>,
    /// The last time a call did not answer (kept across `recover`): why a
    /// later call found no time left.
    last_hang: Mutex<Option<String>>,
    hub: Arc<events::Hub>,
    /// Events numbered above this are news for `wait_event`: the newest
    /// event number when the latest call was sent (or `wait_event` returned).
    cursor: AtomicU64,
}

impl LibvirtController {
    /// A controller for `uri` (`None`: libvirt's default URI) whose calls all
    /// end before `deadline`. No I/O: the connection opens on the first call.
    pub fn new(uri: Option<String>, deadline: Instant) -> Self {
        LibvirtController {
            uri,
            deadline,
            call_cap: None,
            worker: Mutex::new(None),
            hung: Mutex::new(None),
            last_hang: Mutex::new(None),
            hub: Arc::new(events::Hub::default()),
            cursor: AtomicU64::new(0),
        }
    }

    /// Caps every single call at `d` (still bounded by the deadline).
    pub fn with_call_timeout(mut self, d: Duration) -> Self {
        self.call_cap = Some(d);
        self
    }

    /// Registers the callback if needed; true when registered just now.
    fn register_events(&self) -> Outcome<bool> {
        let hub = Arc::clone(&self.hub);
        self.dispatch(self.deadline, move |s| s.watch_events(&hub))
    }

    /// Time left before the controller's deadline.
    fn time_left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// How long a call that must answer by `by` may take.
    fn budget(&self, by: Instant) -> Duration {
        let left = by
            .min(self.deadline)
            .saturating_duration_since(Instant::now());
        self.call_cap.map_or(left, |cap| left.min(cap))
    }

    fn hung_message(&self) -> Option<String> {
        lock(&self.hung).clone()
    }

    fn is_hung(&self) -> bool {
        self.hung_message().is_some()
    }

    /// Runs `f` on the connection thread, marking a news point for events.
    fn call<T, F>(&self, by: Instant, f: F) -> Outcome<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Session) -> Outcome<T> + Send + 'static,
    {
        self.cursor.store(self.hub.seq(), Ordering::SeqCst);
        self.dispatch(by, f)
    }

    /// Runs `f` on the connection thread and waits for it within the budget.
    fn dispatch<T, F>(&self, by: Instant, f: F) -> Outcome<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Session) -> Outcome<T> + Send + 'static,
    {
        if let Some(msg) = self.hung_message() {
            return Err(ControllerError::Unreachable(msg));
        }
        let wait = self.budget(by);
        if wait.is_zero() {
            let earlier = lock(&self.last_hang).clone();
            return Err(ControllerError::Unreachable(match earlier {
                Some(why) => format!("{why}; no time left before the operation deadline"),
                None => "no time left before the operation deadline".into(),
            }));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let job: Job = Box::new(move |session| {
            let _ = tx.send(f(session));
        });
        {
            let mut worker = lock(&self.worker);
            if worker.is_none() {
                let spawned = worker::spawn(self.uri.clone()).map_err(|e| {
                    ControllerError::Failed(format!("cannot start the libvirt thread: {e}"))
                })?;
                *worker = Some(spawned);
            }
            let sent = worker.as_ref().map(|w| w.send(job));
            if !matches!(sent, Some(Ok(()))) {
                return Err(ControllerError::Failed("the libvirt thread is gone".into()));
            }
        }
        match rx.recv_timeout(wait) {
            Ok(out) => out,
            Err(RecvTimeoutError::Timeout) => {
                // (libvirtd waits up to 30 s for a domain's job lock)
                let msg = format!(
                    "libvirt did not answer within {:.1} s (libvirtd hung, or the call waits \
                     for another job on the domain)",
                    wait.as_secs_f64()
                );
                log::debug!("{msg}; giving up on this connection");
                *lock(&self.hung) = Some(msg.clone());
                *lock(&self.last_hang) = Some(msg.clone());
                Err(ControllerError::Unreachable(msg))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err(ControllerError::Failed("the libvirt thread stopped".into()))
            }
        }
    }

    /// A domain call by name.
    fn on_domain<T, F>(&self, name: &str, by: Instant, f: F) -> Outcome<T>
    where
        T: Send + 'static,
        F: FnOnce(&virt::domain::Domain) -> Result<T, virt::error::Error> + Send + 'static,
    {
        let name = name.to_string();
        self.call(by, move |s| s.with_domain(&name, f))
    }
}

/// A mutex's guard, also after a panic elsewhere (the data stays valid).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn c_path(path: &Path) -> Outcome<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| ControllerError::Failed(format!("invalid path {}", path.display())))
}

impl DomainController for LibvirtController {
    fn uri(&self, by: Instant) -> Outcome<String> {
        self.call(by, |s| s.with_conn(|conn| conn.uri()))
    }

    fn migrate(
        &self,
        name: &str,
        spec: &MigrationSpec,
        watch: &MigrationWatch,
        by: Instant,
    ) -> Outcome<Option<DomainState>> {
        self.migrate_domain(name, spec, watch, by)
    }

    /// The stuck connection thread keeps its job; dropping its sender ends
    /// it once libvirt lets go. Lifecycle callbacks are registered again on
    /// the fresh connection by the next `wait_event`.
    fn recover(&self) {
        let mut hung = lock(&self.hung);
        if let Some(msg) = hung.take() {
            log::debug!("abandoning the wedged libvirt connection ({msg})");
            *lock(&self.worker) = None;
        }
    }

    fn state(&self, name: &str, by: Instant) -> Outcome<DomainState> {
        self.state_detail(name, by).map(|d| d.state)
    }

    fn state_detail(&self, name: &str, by: Instant) -> Outcome<StateDetail> {
        self.on_domain(name, by, |dom| {
            let (mut state, mut reason) = (0, 0);
            // SAFETY: `dom` is a valid domain; both out-pointers point to
            // live c_ints. (virt's state() drops this call's error.)
            check(unsafe { sys::virDomainGetState(dom.as_ptr(), &mut state, &mut reason, 0) })?;
            Ok(StateDetail {
                state: DomainState::from_raw(u32::try_from(state).unwrap_or(u32::MAX)),
                reason,
            })
        })
    }

    fn disk_errors(&self, name: &str, by: Instant) -> Outcome<Vec<DiskError>> {
        self.on_domain(name, by, disk_errors::read)
    }

    /// `virDomainGetTime`: libvirt answers it only through the guest agent
    /// (`guest-get-time`), in libvirt.so itself (virDomainQemuAgentCommand
    /// would need libvirt-qemu.so) and on every libvirt the agent supports.
    fn agent_ping(&self, name: &str, by: Instant) -> Outcome<()> {
        self.on_domain(name, by, |dom| {
            let (mut seconds, mut nseconds) = (0, 0);
            // SAFETY: `dom` is a valid domain; both out-pointers are live.
            check(unsafe { sys::virDomainGetTime(dom.as_ptr(), &mut seconds, &mut nseconds, 0) })
                .map(drop)
        })
    }

    fn info(&self, name: &str, by: Instant) -> Outcome<DomainInfo> {
        self.on_domain(name, by, |dom| {
            let info = dom.info()?;
            Ok(DomainInfo {
                vcpus: info.nr_virt_cpu,
                max_memory_kib: info.max_mem,
            })
        })
    }

    fn emulator(&self, name: &str, by: Instant) -> Outcome<Option<String>> {
        self.on_domain(name, by, |dom| {
            Ok(DomainConfig::parse(&dom.xml_desc(0)?).emulator)
        })
    }

    fn is_persistent(&self, name: &str, by: Instant) -> Outcome<bool> {
        match self.on_domain(name, by, |dom| dom.is_persistent()) {
            Err(ControllerError::NoDomain) => Ok(false),
            other => other,
        }
    }

    fn undefine(&self, name: &str, by: Instant) -> Outcome<()> {
        self.on_domain(name, by, |dom| match dom.undefine_flags(UNDEFINE_FLAGS) {
            Err(e) if flags_rejected(&e) => dom.undefine(),
            other => other,
        })
    }

    fn create(&self, xml: &str, by: Instant) -> Outcome<()> {
        let xml = xml.to_string();
        self.call(by, move |s| {
            s.with_conn(|conn| conn.create_domain_xml(&xml, 0).map(release))
        })
    }

    fn define(&self, xml: &str, by: Instant) -> Outcome<()> {
        let xml = xml.to_string();
        self.call(by, move |s| {
            s.with_conn(|conn| conn.define_domain_xml(&xml).map(release))
        })
    }

    fn start_defined(&self, name: &str, by: Instant) -> Outcome<()> {
        self.on_domain(name, by, |dom| dom.create().map(drop))
    }

    fn resume(&self, name: &str, by: Instant) -> Outcome<()> {
        self.on_domain(name, by, |dom| dom.resume().map(drop))
    }

    fn shutdown(&self, name: &str, modes: &[ShutdownMode], by: Instant) -> Outcome<()> {
        let flags = shutdown_flags(modes);
        self.on_domain(name, by, move |dom| {
            if flags == 0 {
                dom.shutdown().map(drop)
            } else {
                dom.shutdown_flags(flags).map(drop)
            }
        })
    }

    fn destroy(&self, name: &str, by: Instant) -> Outcome<()> {
        self.on_domain(name, by, |dom| dom.destroy())
    }

    fn save(&self, name: &str, path: &Path, by: Instant) -> Outcome<()> {
        let path = c_path(path)?;
        self.on_domain(name, by, move |dom| {
            // SAFETY: valid domain, NUL-terminated path, null dxml is allowed.
            check(unsafe {
                sys::virDomainSaveFlags(dom.as_ptr(), path.as_ptr(), std::ptr::null(), 0)
            })
            .map(drop)
        })
    }

    fn restore(&self, path: &Path, by: Instant) -> Outcome<()> {
        let path = c_path(path)?;
        self.call(by, move |s| {
            s.with_conn(|conn| {
                // SAFETY: open connection, NUL-terminated path.
                check(unsafe { sys::virDomainRestore(conn.as_ptr(), path.as_ptr()) }).map(drop)
            })
        })
    }

    fn save_image_xml(&self, path: &Path, by: Instant) -> Outcome<String> {
        let path = path.to_string_lossy().into_owned();
        self.call(by, move |s| {
            s.with_conn(|conn| conn.save_image_xml_desc(&path, 0))
        })
    }

    fn wakeup(&self, name: &str, by: Instant) -> Outcome<()> {
        self.on_domain(name, by, |dom| dom.pm_wakeup(0))
    }

    fn set_tag(&self, name: &str, tag: &ResourceTag, by: Instant) -> Outcome<String> {
        self.tag_domain(name, tag, by)
    }

    fn tagged_domains(&self, by: Instant) -> Outcome<Vec<TaggedDomain>> {
        self.list_tagged(by)
    }

    fn ensure_pool_active(&self, pool: &str, by: Instant) -> Outcome<()> {
        let pool = pool.to_string();
        self.call(by, move |s| {
            s.with_conn(|conn| resources::pool_active(conn, &pool))
        })
    }

    fn ensure_network_active(&self, network: &str, by: Instant) -> Outcome<()> {
        let network = network.to_string();
        self.call(by, move |s| {
            s.with_conn(|conn| resources::network_active(conn, &network))
        })
    }

    fn inactive_xml(&self, name: &str, by: Instant) -> Outcome<String> {
        self.on_domain(name, by, |dom| {
            dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE | sys::VIR_DOMAIN_XML_SECURE)
        })
    }

    /// Events are only recorded once the callback is registered (lazily,
    /// here): so the
    /// call that registers returns `true` at once, a spurious wakeup that
    /// makes the caller re-check the state it may have missed an event of.
    fn wait_event(&self, name: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout.min(self.time_left());
        let got = !self.is_hung()
            && match self.register_events() {
                Ok(true) => true,
                Ok(false) => self
                    .hub
                    .wait_for(name, self.cursor.load(Ordering::SeqCst), end),
                Err(_) => false,
            };
        if !got {
            std::thread::sleep(end.saturating_duration_since(Instant::now()));
        }
        self.cursor.store(self.hub.seq(), Ordering::SeqCst);
        got
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
