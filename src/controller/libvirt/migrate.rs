//! Migration on the libvirt API: `virDomainMigrate3` with a connection to
//! the target opened here (libvirt's client drives, as `virsh migrate`),
//! or `virDomainMigrateToURI3` when the source libvirtd drives
//! (peer-to-peer). The bandwidth goes in as a typed parameter (set before
//! the job starts, as the anchor's `migrate-setspeed`). While the call
//! blocks the connection thread, a second connection watches the job: it
//! reads libvirt's job statistics, gives them to the watch's steering (the
//! convergence policy) and carries out its decisions — the maximum downtime
//! (as the anchor's `migrate-setmaxdowntime`, without its fixed 2 s sleep),
//! a pause, a switch to post-copy, an abort (`virDomainAbortJob`, so the
//! guest stays on the source and the agent answers in time) — and logs the
//! progress every few seconds. The completed job's statistics are read on
//! the target through the migration's own connection.

use std::ffi::CString;
use std::mem::ManuallyDrop;
use std::os::raw::c_uint;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use virt::connect::Connect;
use virt::domain::{Domain, MigrateParameters};
use virt::sys;

use super::flags::flag_bits;
use super::job_stats::job_sample;
use super::worker::{self, DomHandle, Session};
use super::LibvirtController;
#[cfg(test)]
use crate::controller::MigrationMode;
use crate::controller::{
    Decision, DomainState, JobAction, JobReport, MigrateFlag, MigrationSpec, MigrationWatch,
    Outcome,
};
use crate::timing::MIGRATION_PROGRESS_EVERY;

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
        // the first method; typed_parameters adds the others
        compression: t.compression.first().cloned(),
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

/// The typed parameters of the call: the crate's, plus one `compression`
/// entry for each method after the first (libvirt takes the parameter
/// several times, as from `virsh migrate --comp-methods mt,xbzrle`; the
/// crate's struct holds one).
fn typed_parameters(spec: &MigrationSpec) -> Vec<sys::virTypedParameter> {
    let mut params = parameters(spec).to_vec();
    for method in spec.tuning.compression.iter().skip(1) {
        params.extend(
            MigrateParameters {
                compression: Some(method.clone()),
                ..MigrateParameters::default()
            }
            .to_vec(),
        );
    }
    params
}

/// One migration call, on the connection thread; the domain's state on
/// the target when the call had a connection to it.
fn migrate_call(
    dom: &Domain,
    spec: &MigrationSpec,
    report: &Mutex<JobReport>,
) -> Result<Option<DomainState>, virt::error::Error> {
    let flags = flag_bits(spec);
    let mut params = typed_parameters(spec);
    let nparams = c_uint::try_from(params.len()).unwrap_or(c_uint::MAX);
    if spec.has(MigrateFlag::PeerToPeer) {
        // (composed from checked names: no NUL; an empty one is refused by libvirt)
        let uri = CString::new(spec.dest_uri.as_str()).unwrap_or_default();
        // SAFETY: a valid domain, a NUL-terminated URI and `nparams`
        // initialised typed parameters, all alive for the call.
        let rc = unsafe {
            sys::virDomainMigrateToURI3(
                dom.as_ptr(),
                uri.as_ptr(),
                params.as_mut_ptr(),
                nparams,
                flags,
            )
        };
        return if rc < 0 {
            Err(virt::error::Error::last_error())
        } else {
            Ok(None)
        };
    }
    let dconn = ManuallyDrop::new(Connect::open(Some(&spec.dest_uri))?);
    // SAFETY: a valid domain and open target connection, `nparams`
    // initialised typed parameters alive for the call; a non-null result
    // is a new domain reference, owned by the `Domain` made from it.
    let arrived = unsafe {
        sys::virDomainMigrate3(
            dom.as_ptr(),
            dconn.as_ptr(),
            params.as_mut_ptr(),
            nparams,
            flags,
        )
    };
    let out = if arrived.is_null() {
        Err(virt::error::Error::last_error())
    } else {
        // SAFETY: see above.
        Ok(unsafe { Domain::from_ptr(arrived) })
    };
    let out = out.map(|arrived| {
        let arrived = DomHandle::new(arrived);
        // libvirt's figures of the completed job (sent by the source),
        // kept there for others to read (virsh domjobinfo --completed)
        let completed =
            sys::VIR_DOMAIN_JOB_STATS_COMPLETED | sys::VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED;
        if let (Some((_, stats)), Ok(mut report)) = (job_sample(&arrived, completed), report.lock())
        {
            report.completed = Some(stats);
        }
        let (mut state, mut reason) = (0, 0);
        // SAFETY: a valid domain on the open target connection; both
        // out-pointers point to live c_ints.
        let read = unsafe { sys::virDomainGetState(arrived.as_ptr(), &mut state, &mut reason, 0) };
        (read == 0).then(|| DomainState::from_raw(u32::try_from(state).unwrap_or(u32::MAX)))
    });
    if out.is_err() && dconn.is_alive() == Ok(false) {
        if let Ok(mut report) = report.lock() {
            report.target_lost = true;
        }
    }
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
        let _stop = self.watch_job(name, watch.clone());
        let (name, spec, report) = (name.to_string(), spec.clone(), watch.report.clone());
        self.call(by, move |s| {
            s.with_domain(&name, |dom| migrate_call(dom, &spec, &report))
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

/// Looks at the job every [`WATCH_EVERY`]: feeds the steering, carries out
/// its decisions, records the last look, logs the progress now and then.
fn watch_loop(dom: &Domain, name: &str, watch: &MigrationWatch, stop: &Receiver<()>) {
    let mut next_log = Instant::now() + MIGRATION_PROGRESS_EVERY;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(WATCH_EVERY) {
        let Some((_, sample)) =
            job_sample(dom, 0).filter(|(kind, _)| *kind != sys::VIR_DOMAIN_JOB_NONE)
        else {
            continue;
        };
        let now = Instant::now();
        let (decisions, limit) = match watch.steering.lock() {
            Ok(mut steering) => (steering.decide(now, &sample), steering.downtime_limit()),
            Err(_) => (Vec::new(), None),
        };
        for decision in &decisions {
            carry_out(dom, name, decision);
        }
        if let Ok(mut report) = watch.report.lock() {
            report.last = Some(sample);
            report.taken.extend(decisions);
        }
        if now >= next_log {
            log::info!("{name}: migration {}", sample.progress(limit));
            next_log = now + MIGRATION_PROGRESS_EVERY;
        }
    }
}

/// One decision, on the job's domain.
fn carry_out(dom: &Domain, name: &str, decision: &Decision) {
    let why = &decision.why;
    // SAFETY (each call below): `dom` is a valid domain handle for the
    // watcher's whole loop.
    let (call, rc) = match decision.action {
        JobAction::SetMaxDowntime(ms) => {
            log::info!("{name}: Setting max migration downtime to {ms} ms ({why}).");
            ("set the downtime", unsafe {
                sys::virDomainMigrateSetMaxDowntime(dom.as_ptr(), ms, 0)
            })
        }
        JobAction::Pause => {
            log::warn!("{name}: migration: {why}.");
            ("pause the guest", unsafe {
                sys::virDomainSuspend(dom.as_ptr())
            })
        }
        JobAction::StartPostCopy => {
            log::warn!("{name}: migration: {why}; a failure from now on loses the guest.");
            ("switch to post-copy", unsafe {
                sys::virDomainMigrateStartPostCopy(dom.as_ptr(), 0)
            })
        }
        JobAction::Abort => {
            log::warn!("{name}: migration: {why}.");
            ("abort the migration", unsafe {
                sys::virDomainAbortJob(dom.as_ptr())
            })
        }
    };
    if rc < 0 {
        log::warn!(
            "{name}: cannot {call}: {}",
            virt::error::Error::last_error().message()
        );
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

    /// `--comp-methods mt,xbzrle`: one `compression` entry per method, in
    /// their order, as virsh passes them.
    #[test]
    fn every_compression_method_is_a_typed_parameter() {
        let mut spec = MigrationSpec::default();
        spec.tuning.compression = vec!["mt".into(), "xbzrle".into()];
        spec.tuning.compression_mt_level = Some(1);
        let params = typed_parameters(&spec);
        let field = |p: &sys::virTypedParameter| {
            // SAFETY: `field` is a NUL-terminated array the crate filled
            unsafe { std::ffi::CStr::from_ptr(p.field.as_ptr()) }
                .to_string_lossy()
                .into_owned()
        };
        let methods: Vec<String> = params
            .iter()
            .filter(|p| field(p) == "compression")
            .map(|p| {
                assert_eq!(p.type_, sys::VIR_TYPED_PARAM_STRING as i32);
                // SAFETY: a string parameter's value is a C string
                unsafe { std::ffi::CStr::from_ptr(p.value.s) }
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(methods, ["mt", "xbzrle"]);
        assert!(params.iter().any(|p| field(p) == "compression.mt.level"));
    }
}
