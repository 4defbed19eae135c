//! The resource tag ([`crate::controller::tag`]) on the libvirt API:
//! `virDomainSetMetadata` to write it, and one listing
//! (`virConnectListAllDomains`, then `virDomainGetMetadata` per domain) to
//! find the domains that carry one. Both run as one job on the connection
//! thread, so they are bounded like every other call.

use virt::domain::Domain;
use virt::sys;

use std::time::Instant;

use super::errors::from_virt;
use super::worker::DomHandle;
use super::LibvirtController;
use crate::controller::tag::{ResourceTag, TaggedDomain, NAMESPACE, PREFIX};
use crate::controller::{ControllerError, Outcome};

/// `virDomainMetadataType` of an element in a namespace of one's own.
const ELEMENT: i32 = sys::VIR_DOMAIN_METADATA_ELEMENT as i32;

impl LibvirtController {
    /// Writes the tag, completed with the domain's name and UUID, into
    /// the live definition when the domain runs and into the persistent
    /// one when it has one (an element of the same namespace is
    /// replaced). Returns the UUID.
    pub(super) fn tag_domain(&self, name: &str, tag: &ResourceTag, by: Instant) -> Outcome<String> {
        let (tag, name) = (tag.clone(), name.to_string());
        self.on_domain(&name.clone(), by, move |dom| {
            let uuid = dom.uuid_string()?;
            let xml = tag.for_domain(&name, &uuid).to_xml();
            let mut flags = 0;
            if dom.is_active()? {
                flags |= sys::VIR_DOMAIN_AFFECT_LIVE;
            }
            if dom.is_persistent()? {
                flags |= sys::VIR_DOMAIN_AFFECT_CONFIG;
            }
            if flags != 0 {
                dom.set_metadata(ELEMENT, Some(&xml), Some(PREFIX), Some(NAMESPACE), flags)?;
            }
            Ok(uuid)
        })
    }

    /// The tagged domains among all those libvirt knows here.
    pub(super) fn list_tagged(&self, by: Instant) -> Outcome<Vec<TaggedDomain>> {
        self.call(by, |s| {
            s.with_conn(|conn| {
                let all: Vec<DomHandle> = conn
                    .list_all_domains(0)?
                    .into_iter()
                    .map(DomHandle::new)
                    .collect();
                let mut found = Vec::new();
                for dom in &all {
                    if let Some(tagged) = read_tag(dom)? {
                        found.push(tagged);
                    }
                }
                Ok(found)
            })
        })
    }
}

/// The tag of one domain (the live definition of a running one), `None`
/// when it has none or vanished since the listing; other errors fail the
/// whole listing (a domain of ours could hide behind them).
fn read_tag(dom: &Domain) -> Result<Option<TaggedDomain>, virt::error::Error> {
    let skip = |e: virt::error::Error| {
        let code = e.code().to_raw();
        if code == sys::VIR_ERR_NO_DOMAIN_METADATA
            || matches!(from_virt(&e), ControllerError::NoDomain)
        {
            Ok(None)
        } else {
            Err(e)
        }
    };
    let xml = match dom.metadata(ELEMENT, Some(NAMESPACE), 0) {
        Ok(xml) => xml,
        Err(e) => return skip(e),
    };
    let Some(tag) = ResourceTag::parse(&xml) else {
        return Ok(None);
    };
    let identity = dom
        .name()
        .and_then(|name| Ok((name, dom.uuid_string()?, dom.is_active()?)));
    match identity {
        Ok((name, uuid, active)) => Ok(Some(TaggedDomain {
            name,
            uuid,
            active,
            tag,
        })),
        Err(e) => skip(e),
    }
}
