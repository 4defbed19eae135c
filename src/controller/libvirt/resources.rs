//! The storage pools and networks a domain needs (`start_resources`),
//! started when inactive. Pool and network objects are leaked on purpose:
//! virt's Drop panics when the free fails, and the process is short-lived.

use virt::connect::Connect;

/// Starts pool `pool` if inactive, refreshes it if active.
pub(super) fn pool_active(conn: &Connect, pool: &str) -> Result<(), virt::error::Error> {
    let p = std::mem::ManuallyDrop::new(conn.lookup_storage_pool_by_name(pool)?);
    if p.is_active()? {
        let _ = p.refresh(0);
        Ok(())
    } else {
        p.create(0).map(drop)
    }
}

/// Starts network `network` if inactive.
pub(super) fn network_active(conn: &Connect, network: &str) -> Result<(), virt::error::Error> {
    let n = std::mem::ManuallyDrop::new(conn.lookup_network_by_name(network)?);
    if n.is_active()? {
        Ok(())
    } else {
        n.create().map(drop)
    }
}
