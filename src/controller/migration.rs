//! What a migration asks of the hypervisor, in the controller's own terms:
//! flags and typed parameters (no virsh words, no strings parsed again),
//! and what to do while the job runs.

use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A migration behaviour (`virDomainMigrateFlags`), as a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MigrateFlag {
    /// The source libvirtd drives the migration (`--p2p`).
    PeerToPeer,
    /// Memory travels inside libvirt's own connection (`--tunnelled`).
    Tunnelled,
    /// Define the domain persistently on the target (`--persistent`).
    PersistDest,
    /// Remove the source's persistent definition (`--undefinesource`).
    UndefineSource,
    /// Compress the memory pages (`--compressed`).
    Compressed,
    /// Throttle the guest's vCPUs until it converges (`--auto-converge`).
    AutoConverge,
    /// Migrate even when libvirt deems it unsafe (`--unsafe`).
    Unsafe,
    /// Abort on I/O errors during the migration (`--abort-on-error`).
    AbortOnError,
    /// Several connections for the memory (`--parallel`).
    Parallel,
    /// Encrypt the memory stream with TLS (`--tls`).
    Tls,
    /// Leave the domain paused on the target (`--suspend`).
    PausedOnTarget,
    /// Copy non-shared storage, whole disks (`--copy-storage-all`).
    CopyStorageAll,
    /// Copy non-shared storage, incrementally (`--copy-storage-inc`).
    CopyStorageInc,
    /// Allow a switch to post-copy during the job (`--postcopy`).
    PostCopy,
    /// No configuration change to the domain until the end (`--change-protection`).
    ChangeProtection,
    /// Pin all memory for an RDMA migration (`--rdma-pin-all`).
    RdmaPinAll,
    /// Send memory pages without copying them (`--zerocopy`, with `--parallel`).
    ZeroCopy,
}

/// How the guest runs while its memory is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MigrationMode {
    /// It keeps running; paused only for the final switch-over.
    #[default]
    Live,
    /// It is paused for the whole copy (rgmanager's `migrate=pause`):
    /// the shortest total time, and no convergence problem.
    Pause,
}

/// One migration, fully decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrationSpec {
    /// The target's libvirt.
    pub dest_uri: String,
    /// Where qemu sends the memory (`None`: libvirt chooses).
    pub migrate_uri: Option<String>,
    pub mode: MigrationMode,
    /// Sorted, without duplicates.
    pub flags: Vec<MigrateFlag>,
    /// Bandwidth limit in MiB/s (`None`: libvirt's default, unlimited).
    pub bandwidth_mib: Option<u64>,
    pub listen_address: Option<String>,
    pub parallel_connections: Option<u32>,
    pub tuning: MigrateTuning,
}

/// The other typed parameters of a migration (`virsh migrate`'s valued
/// words); each `None` or empty keeps libvirt's default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrateTuning {
    /// Bandwidth limit once in post-copy, MiB/s (`--postcopy-bandwidth`).
    pub postcopy_bandwidth_mib: Option<u64>,
    /// The compression methods (`--comp-methods`, in its order; each
    /// one `compression` typed parameter).
    pub compression: Vec<String>,
    pub compression_mt_level: Option<i32>,
    pub compression_mt_threads: Option<i32>,
    pub compression_mt_dthreads: Option<i32>,
    /// xbzrle's page cache, bytes.
    pub compression_xbzrle_cache: Option<u64>,
    pub compression_zlib_level: Option<i32>,
    pub compression_zstd_level: Option<i32>,
    /// Auto-converge's first throttle and its increment, percent.
    pub auto_converge_initial: Option<i32>,
    pub auto_converge_increment: Option<i32>,
    /// The disks to copy (targets such as `vda`; `--migrate-disks`).
    pub migrate_disks: Vec<String>,
    pub disks_port: Option<i32>,
    pub disks_uri: Option<String>,
    pub graphics_uri: Option<String>,
    pub tls_destination: Option<String>,
}

impl MigrationSpec {
    pub fn has(&self, flag: MigrateFlag) -> bool {
        self.flags.contains(&flag)
    }
}

/// One look at a running migration job (libvirt's job statistics), in
/// bytes and milliseconds; 0 where libvirt did not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobSample {
    pub elapsed_ms: u64,
    pub data_total: u64,
    pub data_processed: u64,
    pub data_remaining: u64,
    /// The guest's memory.
    pub mem_total: u64,
    /// How fast the guest dirties memory, bytes/s.
    pub dirty_rate: u64,
    /// How fast memory is sent, bytes/s.
    pub bandwidth: u64,
    /// The pass over memory (1: the first, bulk copy).
    pub iteration: u64,
    /// Auto-converge's current vCPU throttle, percent.
    pub throttle: u64,
    /// The guest's pause at the switch-over (completed jobs only).
    pub downtime_ms: u64,
}

/// Bytes as MiB, one decimal.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

impl JobSample {
    /// Whether libvirt gave any figures of the data yet.
    pub fn has_data(&self) -> bool {
        self.data_processed + self.data_remaining > 0
    }

    /// The share of the data sent so far, of what is known to be sent.
    pub fn percent(&self) -> u64 {
        let known = self.data_processed + self.data_remaining;
        (self.data_processed * 100).checked_div(known).unwrap_or(0)
    }

    /// The progress line logged while the job runs.
    pub fn progress(&self, downtime_limit: Option<u64>) -> String {
        let mut line = format!(
            "{}% done, {} left, dirty {}/s, sent {}/s, iteration {}",
            self.percent(),
            mib(self.data_remaining),
            mib(self.dirty_rate),
            mib(self.bandwidth),
            self.iteration
        );
        match downtime_limit {
            Some(ms) => line += &format!(", downtime limit {ms} ms"),
            None => line += ", downtime limit libvirt's",
        }
        if self.throttle > 0 {
            line += &format!(", vCPUs throttled {}%", self.throttle);
        }
        line
    }

    /// The last look in a few words, for an exit reason.
    pub fn brief(&self) -> String {
        format!(
            "at {}%, {} MiB left, dirty {} MiB/s, pass {}",
            self.percent(),
            self.data_remaining >> 20,
            self.dirty_rate >> 20,
            self.iteration
        )
    }

    /// A completed job's figures.
    pub fn completion(&self) -> String {
        format!(
            "total {:.1} s, downtime {} ms, {} sent",
            self.elapsed_ms as f64 / 1000.0,
            self.downtime_ms,
            mib(self.data_processed.max(self.data_total))
        )
    }
}

/// What the watcher does to a running migration job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobAction {
    /// `virDomainMigrateSetMaxDowntime`.
    SetMaxDowntime(u64),
    /// `virDomainSuspend`: the copy finishes with the guest paused; it
    /// resumes on the target.
    Pause,
    /// `virDomainMigrateStartPostCopy`: the guest runs on the target at
    /// once, its memory fetched from the source on demand.
    StartPostCopy,
    /// `virDomainAbortJob`: the guest stays on the source.
    Abort,
}

/// An action and why it is taken (for the log and the exit reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: JobAction,
    pub why: String,
}

/// Decides, from each look at the running job, what to do to it.
pub trait Steering: Send {
    /// The actions for the job as seen at `now`.
    fn decide(&mut self, now: Instant, job: &JobSample) -> Vec<Decision>;
    /// The maximum downtime (ms) set so far (`None`: libvirt's own).
    fn downtime_limit(&self) -> Option<u64>;
}

/// What the watcher saw and did, read by the agent after the call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobReport {
    /// The last look at the running job.
    pub last: Option<JobSample>,
    /// libvirt's statistics of the completed job, when it could be read.
    pub completed: Option<JobSample>,
    /// The decisions carried out, in order.
    pub taken: Vec<Decision>,
    /// The migration call failed with its connection to the target's
    /// libvirt closed (the target host or its libvirtd gone mid-job).
    pub target_lost: bool,
}

/// What happens while the migration job runs: the steering decides, the
/// report records.
#[derive(Clone)]
pub struct MigrationWatch {
    pub steering: Arc<Mutex<dyn Steering>>,
    pub report: Arc<Mutex<JobReport>>,
}

impl MigrationWatch {
    pub fn new(steering: impl Steering + 'static) -> Self {
        MigrationWatch {
            steering: Arc::new(Mutex::new(steering)),
            report: Arc::default(),
        }
    }

    /// A copy of the report so far.
    pub fn report(&self) -> JobReport {
        self.report.lock().map(|r| r.clone()).unwrap_or_default()
    }
}
