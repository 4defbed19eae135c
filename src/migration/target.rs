//! What the URIs of other hosts are composed from: the hypervisor URI of
//! this node (the `hypervisor` parameter, or libvirt's default as the
//! connection resolved it) and the request's migration parameters. Shared
//! by migrate_to and the double-start guard, which asks the other nodes'
//! libvirt at the URIs a migration to them would use.

use super::uri::MigrationParams;
use crate::controller::DomainController;
use crate::ocf::OcfError;
use crate::request::Request;

/// The URI other hosts' URIs are composed from: `hypervisor`, or
/// libvirt's default URI as the connection resolved it.
pub fn hypervisor_uri(req: &Request, ctl: &dyn DomainController) -> Result<String, OcfError> {
    match req.params.hypervisor.as_deref().filter(|h| !h.is_empty()) {
        Some(h) => Ok(h.to_string()),
        None => ctl.uri(req.ctx.work_end()).map_err(|e| {
            OcfError::generic(format!(
                "{}: cannot learn libvirt's default URI: {e}",
                req.name
            ))
        }),
    }
}

/// The request's parameters for the URI composition; `mapped`: the
/// target was replaced by its `migration_mapping` host.
pub fn uri_params<'a>(req: &'a Request, hypervisor: &'a str, mapped: bool) -> MigrationParams<'a> {
    let p = &req.params;
    MigrationParams {
        hypervisor,
        transport: &p.migration_transport,
        user: p.migration_user.as_deref(),
        network_suffix: &p.migration_network_suffix,
        remoteuri: p.remoteuri.as_deref(),
        migrateuri: p.migrateuri.as_deref(),
        migrate_options: p.migrate_options.as_deref().unwrap_or(""),
        migrateport: p.migrateport.as_deref(),
        mapped,
    }
}

/// A port in qemu's migration range 49152–49215, as the anchor picks it.
pub fn random_port() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    49152 + ((nanos ^ std::process::id()) % 64) as u16
}
