//! The OCF meta-data document, a static file embedded at build time.
//!
//! `meta-data` must work with no environment, no libvirt and as `nobody`
//! (Pacemaker and pcs call it to learn parameters and operation defaults),
//! so it is printed verbatim from `metadata/VirtualDomain.xml`.

/// The meta-data XML, exactly as `metadata/VirtualDomain.xml`.
pub const META_DATA: &str = include_str!("../metadata/VirtualDomain.xml");
