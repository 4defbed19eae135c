//! Migration on the libvirt API: `virDomainMigrate3` with a connection to
//! the target opened here (libvirt's client drives, as `virsh migrate`),
//! or `virDomainMigrateToURI3` when the source libvirtd drives
//! (peer-to-peer). The bandwidth goes in as a typed parameter (set before
//! the job starts, as the anchor's `migrate-setspeed`). While the call
//! blocks the connection thread, a second connection watches the job: it
//! sets the maximum downtime once the job runs (as the anchor's
//! `migrate-setmaxdowntime`, without its fixed 2 s sleep) and aborts a job
//! still running at the watch's time (`virDomainAbortJob`), so the guest
//! stays on the source and the agent answers in time.

use std::mem::ManuallyDrop;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use virt::connect::Connect;
use virt::domain::{Domain, MigrateParameters};
use virt::sys;

use super::flags::flag_bits;
use super::worker::{self, DomHandle, Session};
use super::LibvirtController;
#[cfg(test)]
use crate::controller::MigrationMode;
use crate::controller::{DomainState, MigrateFlag, MigrationSpec, MigrationWatch, Outcome};

/// How often the watcher looks at the job.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// The typed parameters for the spec.
pub(super) fn parameters(spec: &MigrationSpec) -> MigrateParameters {
    let t = &spec.tuning;
    MigrateParameters {
        uri: spec.migrate_uri.clone(),
        bandwidth: spec.bandwidth_mib,
        listen_address: spec.listen_address.clone(),
        parallel_connections: spec
            .parallel_connections
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        bandwidth_postcopy: t.postcopy_bandwidth_mib,
        compression: t.compression.clone(),
        compression_mt_level: t.compression_mt_level,
        compression_mt_threads: t.compression_mt_threads,
        compression_mt_dthreads: t.compression_mt_dthreads,
        compression_xbzrle_cache: t.compression_xbzrle_cache,
        compression_zlib_level: t.compression_zlib_level,
        compression_zstd_level: t.compression_zstd_level,
        auto_converge_initial: t.auto_converge_initial,
        auto_converge_increment: t.auto_converge_increment,
        migrate_disks: t.migrate_disks.clone(),
        disks_port: t.disks_port,
        disks_uri: t.disks_uri.clone(),
        graphics_uri: t.graphics_uri.clone(),
        tls_destination: t.tls_destination.clone(),
        ..MigrateParameters::default()
    }
}

/// One migration call, on the connection thread; the domain's state on
/// the target when the call had a connection to it.
fn migrate_call(
    dom: &Domain,
    spec: &MigrationSpec,
) -> Result<Option<DomainState>, virt::error::Error> {
    let flags = flag_bits(spec);
    if spec.has(MigrateFlag::PeerToPeer) {
        return dom
            .migrate_to_uri3(Some(&spec.dest_uri), parameters(spec), flags)
            .map(|()| None);
    }
    let dconn = ManuallyDrop::new(Connect::open(Some(&spec.dest_uri))?);
    let out = dom
        .migrate3(&dconn, parameters(spec), flags)
        .map(|arrived| {
            let arrived = DomHandle::new(arrived);
            let (mut state, mut reason) = (0, 0);
            // SAFETY: a valid domain on the open target connection; both
            // out-pointers point to live c_ints.
            let read =
                unsafe { sys::virDomainGetState(arrived.as_ptr(), &mut state, &mut reason, 0) };
            (read == 0).then(|| DomainState::from_raw(u32::try_from(state).unwrap_or(u32::MAX)))
        });
    // SAFETY: `dconn` is an open connection owned here and not used after
    // (virt's Drop of Connect panics on a failed close: never dropped).
    unsafe {
        sys::virConnectClose(dconn.as_ptr());
    }
    out
}

/// How long the end of the migration call waits for the watcher to stop.
const WATCHER_STOP_WAIT: Duration = Duration::from_millis(300);

/// Ends the watcher when dropped, waiting a moment for it to let go of
/// the domain (a watcher stuck in a frozen daemon is abandoned).
struct StopWatching {
    /// Dropped to wake the watcher at once.
    stop: Option<Sender<()>>,
    stopped: Option<Receiver<()>>,
}

impl Drop for StopWatching {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(stopped) = &self.stopped {
            let _ = stopped.recv_timeout(WATCHER_STOP_WAIT);
        }
    }
}

impl LibvirtController {
    pub(super) fn migrate_domain(
        &self,
        name: &str,
        spec: &MigrationSpec,
        watch: &MigrationWatch,
        by: Instant,
    ) -> Outcome<Option<DomainState>> {
        let _stop = self.watch_job(name, *watch);
        let (name, spec) = (name.to_string(), spec.clone());
        self.call(by, move |s| {
            s.with_domain(&name, |dom| migrate_call(dom, &spec))
        })
    }

    /// Starts the watcher on a connection of its own; it runs until the
    /// returned guard is dropped (or forever, stuck in a frozen daemon:
    /// the thread is abandoned, as the connection thread of a hung call).
    fn watch_job(&self, name: &str, watch: MigrationWatch) -> StopWatching {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let mut guard = StopWatching {
            stop: Some(stop_tx),
            stopped: None,
        };
        let Ok(side) = worker::spawn(self.uri.clone()) else {
            log::warn!("cannot start the migration watcher thread");
            return guard;
        };
        let (stopped_tx, stopped_rx) = mpsc::channel();
        let name = name.to_string();
        let job: worker::Job = Box::new(move |s: &mut Session| {
            let outcome = s.with_domain(&name, |dom| {
                watch_loop(dom, &name, &watch, &stop_rx);
                Ok(())
            });
            if let Err(e) = outcome {
                log::warn!("Cannot watch the migration of {name}: {e}");
            }
            let _ = stopped_tx.send(());
        });
        if side.send(job).is_err() {
            log::warn!("the migration watcher thread is gone");
        } else {
            guard.stopped = Some(stopped_rx);
        }
        guard
    }
}

/// Sets the downtime once the job runs; aborts it at its time.
fn watch_loop(dom: &Domain, name: &str, watch: &MigrationWatch, stop: &Receiver<()>) {
    let mut downtime = watch.max_downtime_ms;
    let mut aborted = false;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(WATCH_EVERY) {
        let running = dom
            .job_info()
            .is_ok_and(|job| job.r#type != sys::VIR_DOMAIN_JOB_NONE as i32);
        if let (true, Some(ms)) = (running, downtime) {
            match dom.migrate_set_max_downtime(ms, 0) {
                Ok(()) => log::info!("{name}: Setting max migration downtime to {ms} ms."),
                Err(e) => log::warn!("{name}: cannot set the migration downtime: {}", e.message()),
            }
            downtime = None;
        }
        if running && !aborted && Instant::now() >= watch.abort_at {
            log::warn!("{name}: migration still running at its deadline: aborting it.");
            // SAFETY: `dom` is a valid domain handle for the loop's duration.
            if unsafe { sys::virDomainAbortJob(dom.as_ptr()) } < 0 {
                log::warn!(
                    "{name}: aborting the migration failed: {}",
                    virt::error::Error::last_error().message()
                );
            }
            aborted = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_parameters() {
        let mut spec = MigrationSpec {
            dest_uri: "qemu+tcp://n2/system".into(),
            ..Default::default()
        };
        assert_eq!(flag_bits(&spec), sys::VIR_MIGRATE_LIVE);
        spec.mode = MigrationMode::Pause;
        assert_eq!(flag_bits(&spec), 0, "pause: not live");
        spec.flags = vec![MigrateFlag::PeerToPeer, MigrateFlag::Tunnelled];
        assert_eq!(
            flag_bits(&spec),
            sys::VIR_MIGRATE_PEER2PEER | sys::VIR_MIGRATE_TUNNELLED
        );
        spec.bandwidth_mib = Some(10);
        spec.migrate_uri = Some("tcp:n2-mig:49200".into());
        spec.parallel_connections = Some(4);
        let p = parameters(&spec);
        assert_eq!(p.bandwidth, Some(10));
        assert_eq!(p.uri.as_deref(), Some("tcp:n2-mig:49200"));
        assert_eq!(p.parallel_connections, Some(4));
        assert_eq!(p.listen_address, None);
    }
}
