//! The libvirt backend of [`super::DomainController`] (work in progress).
