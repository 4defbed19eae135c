//! Defining the domain from its config (`persistent`, backing-file mode)
//! without ever losing the user's file: libvirt may delete and rewrite it
//! ([`keeping_config`] puts the very inode back), an existing definition's
//! UUID is kept, and the definition carries the resource's tag.

use crate::controller::DomainController;
use crate::domain_xml::{with_uuid, DomainConfig};
use crate::guest::tag;
use crate::guest_data::config_keep::keeping_config;
use crate::ocf::OcfError;
use crate::request::Request;

/// Defines the domain from the config, leaving the file as it is. A
/// config without `<uuid>` redefines an existing definition with its UUID
/// (libvirt refuses the same name with a new, random one). The
/// definition is tagged with this resource.
pub fn define(req: &Request, ctl: &dyn DomainController, xml: &str) -> Result<(), OcfError> {
    let existing_uuid = match req.domain.uuid {
        Some(_) => None,
        None => ctl
            .inactive_xml(&req.name, req.ctx.work_end())
            .ok()
            .and_then(|x| DomainConfig::parse(&x).uuid),
    };
    let xml = existing_uuid
        .and_then(|uuid| with_uuid(xml, &uuid))
        .unwrap_or_else(|| xml.to_string());
    keeping_config(&req.config_path, || ctl.define(&xml, req.ctx.work_end())).map_err(|e| {
        OcfError::generic(format!("Failed to define virtual domain {}: {e}", req.name))
    })?;
    tag::tag(req, ctl);
    Ok(())
}
