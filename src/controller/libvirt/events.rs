//! libvirt's event loop and domain lifecycle events (for `wait_event`).
//!
//! libvirt delivers events through its event loop: the default
//! implementation must be registered before a connection is opened. Trap
//! (seen here with libvirt 9.0): once it is registered, the remote driver
//! tells libvirtd the client does keepalive, libvirtd pings every 5 s and
//! closes a connection that does not answer 5 pings, so a connection idle
//! for ~30 s while nobody runs the loop dies ("Cannot write data: Broken
//! pipe" on the next call). Hence the loop thread starts with the first
//! connection: one thread asleep in poll(), nothing else. The lifecycle
//! callback itself is registered only by `wait_event`: virt
//! 0.5 has no wrapper for `virConnectDomainEventRegisterAny`, so it is a raw
//! `extern "C"` function that records the domain's name in a [`Hub`] and
//! wakes the waiters.

use std::collections::VecDeque;
use std::ffi::CStr;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use virt::connect::Connect;
use virt::sys;

/// How many recent events a hub remembers.
const KEEP: usize = 64;

/// Recent lifecycle events of one connection, numbered.
#[derive(Default)]
pub(crate) struct Hub {
    state: Mutex<Recent>,
    arrived: Condvar,
}

#[derive(Default)]
struct Recent {
    seq: u64,
    events: VecDeque<(u64, String)>,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Recent> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The number of the newest event (0: none yet).
    pub(crate) fn seq(&self) -> u64 {
        self.lock().seq
    }

    pub(crate) fn push(&self, name: String) {
        let mut r = self.lock();
        r.seq += 1;
        let seq = r.seq;
        r.events.push_back((seq, name));
        while r.events.len() > KEEP {
            r.events.pop_front();
        }
        drop(r);
        self.arrived.notify_all();
    }

    /// Waits until an event numbered above `after` names `name`, or `until`.
    pub(crate) fn wait_for(&self, name: &str, after: u64, until: Instant) -> bool {
        let mut r = self.lock();
        loop {
            if r.events.iter().any(|(s, n)| *s > after && n == name) {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            r = match self.arrived.wait_timeout(r, left) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// `virEventRegisterDefaultImpl`, once per process, before any connection.
fn register_default_impl() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Err(e) = virt::event::event_register_default_impl() {
            log::debug!("libvirt event loop registration failed: {}", e.message());
        }
    });
}

/// Registers libvirt's default event loop and starts the thread that runs
/// it (once per process; it never ends, the process exits when the action
/// is done). Call before opening a connection.
pub(crate) fn start_loop() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        register_default_impl();
        let spawned = std::thread::Builder::new()
            .name("libvirt-events".into())
            .spawn(|| loop {
                if virt::event::event_run_default_impl().is_err() {
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
        if let Err(e) = spawned {
            log::debug!("cannot start the libvirt event thread: {e}");
        }
    });
}

/// Registers the lifecycle callback on `conn` for all domains; returns the
/// callback id.
pub(crate) fn register(conn: &Connect, hub: &Arc<Hub>) -> Result<c_int, virt::error::Error> {
    let opaque = Arc::into_raw(Arc::clone(hub)) as *mut c_void;
    let cb: sys::virConnectDomainEventCallback = Some(lifecycle);
    // SAFETY: libvirt calls the callback of VIR_DOMAIN_EVENT_ID_LIFECYCLE
    // with the 5-argument signature of virConnectDomainEventCallback; the
    // generic type only exists to be cast back (libvirt's documented usage,
    // VIR_DOMAIN_EVENT_CALLBACK). Both are nullable fn pointers of equal size.
    let generic = unsafe {
        std::mem::transmute::<
            sys::virConnectDomainEventCallback,
            sys::virConnectDomainEventGenericCallback,
        >(cb)
    };
    // SAFETY: `conn` is an open connection; a null domain means all
    // domains; `opaque` is a leaked Arc<Hub> that `release_hub` reclaims
    // when libvirt drops the registration.
    let id = unsafe {
        sys::virConnectDomainEventRegisterAny(
            conn.as_ptr(),
            std::ptr::null_mut(),
            sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE as c_int,
            generic,
            opaque,
            Some(release_hub),
        )
    };
    // On failure the Arc is deliberately leaked: whether libvirt already
    // called the free callback is not documented, and a double free is worse
    // than a few leaked bytes in a short-lived process.
    super::errors::check(id)
}

/// The lifecycle callback: records the domain's name. Never unwinds.
unsafe extern "C" fn lifecycle(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    _event: c_int,
    _detail: c_int,
    opaque: *mut c_void,
) -> c_int {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if dom.is_null() || opaque.is_null() {
            return;
        }
        // SAFETY: `dom` is valid for the duration of the callback; the name
        // it returns is owned by the domain object (not freed here).
        let name = unsafe { sys::virDomainGetName(dom) };
        if name.is_null() {
            return;
        }
        // SAFETY: libvirt returns a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: `opaque` is the Arc<Hub> given at registration, alive
        // until `release_hub` runs (after the last callback).
        let hub = unsafe { &*(opaque as *const Hub) };
        hub.push(name);
    }));
    0
}

/// libvirt's free callback for the opaque pointer: drops the hub's Arc.
unsafe extern "C" fn release_hub(opaque: *mut c_void) {
    if !opaque.is_null() {
        // SAFETY: `opaque` came from Arc::into_raw in `register`, and libvirt
        // calls this exactly once per successful registration.
        drop(unsafe { Arc::from_raw(opaque as *const Hub) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_wakes_for_the_right_name_only() {
        let hub = Arc::new(Hub::default());
        let before = hub.seq();
        let h = Arc::clone(&hub);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            h.push("other".into());
            std::thread::sleep(Duration::from_millis(50));
            h.push("vm1".into());
        });
        let (start, wait) = (Instant::now(), Duration::from_secs(5));
        assert!(hub.wait_for("vm1", before, start + wait));
        assert!(
            start.elapsed() < wait / 2,
            "woken by the event, not the end"
        );
        t.join().unwrap();
        // Already seen events do not count again.
        let now = hub.seq();
        assert!(!hub.wait_for("vm1", now, Instant::now() + Duration::from_millis(30)));
        // ... but events newer than the cursor do, even if they came first.
        assert!(hub.wait_for("vm1", before, Instant::now()));
    }

    #[test]
    fn hub_keeps_only_recent_events() {
        let hub = Hub::default();
        for i in 0..(KEEP + 10) {
            hub.push(format!("d{i}"));
        }
        assert_eq!(hub.seq(), (KEEP + 10) as u64);
        assert!(!hub.wait_for("d0", 0, Instant::now()));
        assert!(hub.wait_for(&format!("d{}", KEEP + 9), 0, Instant::now()));
    }
}
