//! Live migration's decisions below the actions: the URIs of the target
//! and of the migration stream composed from the parameters ([`uri`],
//! [`target`]), and the double-start guard that asks the other nodes'
//! libvirt before a start ([`double_start`]), and the convergence policy
//! that steers a running migration job ([`convergence`]). The checked migration
//! settings themselves are read with the request
//! ([`crate::request::migration_settings`]).

pub mod convergence;
pub mod double_start;
pub mod target;
pub mod uri;
