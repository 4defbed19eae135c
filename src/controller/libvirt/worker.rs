//! The thread that owns the libvirt connection.
//!
//! Every libvirt call runs here, so the caller can give up waiting (a frozen
//! libvirtd accepts the connection and then never answers) while this thread
//! stays stuck inside libvirt until the process exits. libvirt's last error
//! is thread-local, which is fine: calls and error reads happen on this thread.
//!
//! virt 0.5's `Drop` for `Connect` and `Domain` panics when the C close/free
//! fails, so neither is ever dropped: both live in `ManuallyDrop` and are
//! released through `sys` with the result ignored.

use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::os::raw::c_int;
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::sys;

use super::dynload;
use super::errors::from_virt;
use super::events::{self, Hub};
use crate::controller::{ControllerError, Outcome};

/// Work for the connection thread.
pub(crate) type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// Starts the connection thread; it ends when every sender is gone.
pub(crate) fn spawn(uri: Option<String>) -> std::io::Result<Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("libvirt-conn".into())
        .spawn(move || {
            let mut session = Session { uri, live: None };
            while let Ok(job) = rx.recv() {
                job(&mut session);
            }
            session.close(true);
        })?;
    Ok(tx)
}

/// An open connection and its lifecycle callback, if registered.
struct Live {
    conn: ManuallyDrop<Connect>,
    callback: Option<c_int>,
}

/// The connection state owned by the thread.
pub(crate) struct Session {
    uri: Option<String>,
    live: Option<Live>,
}

/// A domain reference freed with `virDomainFree`, errors ignored.
pub(crate) struct DomHandle(ManuallyDrop<Domain>);

impl DomHandle {
    /// Takes over a domain returned by a virt call (never dropped as `Domain`).
    pub(crate) fn new(dom: Domain) -> Self {
        DomHandle(ManuallyDrop::new(dom))
    }
}

impl Drop for DomHandle {
    fn drop(&mut self) {
        // SAFETY: the handle owns one reference to a valid domain object,
        // released exactly once here; the inner Domain is never dropped.
        unsafe {
            sys::virDomainFree(self.0.as_ptr());
        }
    }
}

impl Deref for DomHandle {
    type Target = Domain;
    fn deref(&self) -> &Domain {
        &self.0
    }
}

/// Releases a domain returned by a virt call (create, define).
pub(crate) fn release(dom: Domain) {
    drop(DomHandle::new(dom));
}

impl Session {
    /// The open connection, opened now if needed (also after it broke).
    fn conn(&mut self) -> Outcome<&mut Live> {
        if let Some(live) = &self.live {
            // SAFETY: the pointer is an open connection owned by `live`;
            // virConnectIsAlive only looks at local client state.
            if unsafe { sys::virConnectIsAlive(live.conn.as_ptr()) } != 1 {
                self.close(false);
            }
        }
        if self.live.is_none() {
            // The event loop must be registered before the open, or events
            // never reach this connection; and once it is, the client offers
            // keepalive, libvirtd pings it and closes it after ~30 s without
            // answers: so the loop must also run (see `events::start_loop`).
            dynload::ensure_loaded().map_err(ControllerError::Unreachable)?;
            virt::error::clear_error_callback();
            events::start_loop();
            let conn = Connect::open(self.uri.as_deref())
                .map_err(|e| ControllerError::Unreachable(e.message().to_string()))?;
            self.live = Some(Live {
                conn: ManuallyDrop::new(conn),
                callback: None,
            });
        }
        match self.live.as_mut() {
            Some(live) => Ok(live),
            None => Err(ControllerError::Unreachable("no libvirt connection".into())),
        }
    }

    /// Closes the connection (deregistering the callback first when the
    /// connection still works); errors are ignored.
    fn close(&mut self, orderly: bool) {
        if let Some(live) = self.live.take() {
            // SAFETY: the pointer is the connection `live` owns; it is not
            // used after this block (the Connect is never dropped).
            unsafe {
                let ptr = live.conn.as_ptr();
                if let (true, Some(id)) = (orderly, live.callback) {
                    sys::virConnectDomainEventDeregisterAny(ptr, id);
                }
                sys::virConnectClose(ptr);
            }
        }
    }

    /// Runs `f` on the connection; a broken connection is dropped so the
    /// next call reopens it.
    pub(crate) fn with_conn<T>(
        &mut self,
        f: impl FnOnce(&Connect) -> Result<T, virt::error::Error>,
    ) -> Outcome<T> {
        let live = self.conn()?;
        let out = f(&live.conn).map_err(|e| from_virt(&e));
        if let Err(ControllerError::Unreachable(_)) = out {
            self.close(false);
        }
        out
    }

    /// Runs `f` on the domain called `name`.
    pub(crate) fn with_domain<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&Domain) -> Result<T, virt::error::Error>,
    ) -> Outcome<T> {
        self.with_conn(|conn| {
            let dom = DomHandle::new(conn.lookup_domain_by_name(name)?);
            f(&dom)
        })
    }

    /// Registers the lifecycle callback on this connection (once); returns
    /// whether it was registered just now.
    pub(crate) fn watch_events(&mut self, hub: &Arc<Hub>) -> Outcome<bool> {
        let live = self.conn()?;
        if live.callback.is_some() {
            return Ok(false);
        }
        match events::register(&live.conn, hub) {
            Ok(id) => {
                live.callback = Some(id);
                Ok(true)
            }
            Err(e) => {
                let err = from_virt(&e);
                if let ControllerError::Unreachable(_) = err {
                    self.close(false);
                }
                Err(err)
            }
        }
    }
}
