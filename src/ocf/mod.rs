//! The OCF contract in one place: environment, exit codes, exit reasons,
//! logging. Nothing here knows about libvirt.

pub mod env;
pub mod exit;
pub mod logging;
pub mod reason;

pub use env::{Env, OcfContext};
pub use exit::{OcfError, OcfRc, OcfResult};
