//! What a migration asks of the hypervisor, in the controller's own terms:
//! flags and typed parameters (no virsh words, no strings parsed again),
//! and what to do while the job runs.

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
    /// The compression method (`--comp-methods`).
    pub compression: Option<String>,
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

/// What happens while the migration job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationWatch {
    /// The maximum downtime (ms) to set once the job runs (`None`: libvirt's).
    pub max_downtime_ms: Option<u64>,
    /// When a job still running is aborted, so that the guest stays on the
    /// source and the agent still answers in time.
    pub abort_at: Instant,
}
