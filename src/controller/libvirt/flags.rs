//! libvirt's flag words for the agent's typed choices: one place that maps
//! each enum variant to its `VIR_*` bit.

use virt::sys;

use crate::controller::{MigrateFlag, MigrationMode, MigrationSpec, ShutdownMode};

/// Undefine also drops what would make a plain undefine fail, keeping data:
/// managed-save image (useless: the agent always starts from its config),
/// snapshot and checkpoint metadata (the disk data stays), and the NVRAM
/// file is *kept* (deleting it would lose the guest's UEFI variables).
pub(super) const UNDEFINE_FLAGS: u32 = sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | sys::VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    | sys::VIR_DOMAIN_UNDEFINE_KEEP_NVRAM;

/// `virDomainShutdownFlags` for the modes (empty: the hypervisor's default).
pub(super) fn shutdown_flags(modes: &[ShutdownMode]) -> u32 {
    modes.iter().fold(0, |acc, m| {
        acc | match m {
            ShutdownMode::Acpi => sys::VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN,
            ShutdownMode::Agent => sys::VIR_DOMAIN_SHUTDOWN_GUEST_AGENT,
            ShutdownMode::Initctl => sys::VIR_DOMAIN_SHUTDOWN_INITCTL,
            ShutdownMode::Signal => sys::VIR_DOMAIN_SHUTDOWN_SIGNAL,
            ShutdownMode::Paravirt => sys::VIR_DOMAIN_SHUTDOWN_PARAVIRT,
        }
    })
}

/// `virDomainMigrateFlags` for the spec.
pub(super) fn flag_bits(spec: &MigrationSpec) -> u32 {
    let live = match spec.mode {
        MigrationMode::Live => sys::VIR_MIGRATE_LIVE,
        MigrationMode::Pause => 0,
    };
    spec.flags.iter().fold(live, |acc, flag| {
        acc | match flag {
            MigrateFlag::PeerToPeer => sys::VIR_MIGRATE_PEER2PEER,
            MigrateFlag::Tunnelled => sys::VIR_MIGRATE_TUNNELLED,
            MigrateFlag::PersistDest => sys::VIR_MIGRATE_PERSIST_DEST,
            MigrateFlag::UndefineSource => sys::VIR_MIGRATE_UNDEFINE_SOURCE,
            MigrateFlag::Compressed => sys::VIR_MIGRATE_COMPRESSED,
            MigrateFlag::AutoConverge => sys::VIR_MIGRATE_AUTO_CONVERGE,
            MigrateFlag::Unsafe => sys::VIR_MIGRATE_UNSAFE,
            MigrateFlag::AbortOnError => sys::VIR_MIGRATE_ABORT_ON_ERROR,
            MigrateFlag::Parallel => sys::VIR_MIGRATE_PARALLEL,
            MigrateFlag::Tls => sys::VIR_MIGRATE_TLS,
            MigrateFlag::PausedOnTarget => sys::VIR_MIGRATE_PAUSED,
            MigrateFlag::CopyStorageAll => sys::VIR_MIGRATE_NON_SHARED_DISK,
            MigrateFlag::CopyStorageInc => sys::VIR_MIGRATE_NON_SHARED_INC,
            MigrateFlag::PostCopy => sys::VIR_MIGRATE_POSTCOPY,
            MigrateFlag::ChangeProtection => sys::VIR_MIGRATE_CHANGE_PROTECTION,
            MigrateFlag::RdmaPinAll => sys::VIR_MIGRATE_RDMA_PIN_ALL,
            MigrateFlag::ZeroCopy => sys::VIR_MIGRATE_ZEROCOPY,
        }
    })
}
