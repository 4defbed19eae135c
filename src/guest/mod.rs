//! What the agent knows about its guest: the state libvirt reports and
//! what it means for the cluster ([`state`]), asked with patience through
//! a restarting daemon ([`observe`]); the guest's process when libvirt
//! cannot answer ([`process`]); the resource tag that identifies the
//! resource's domain without its config ([`tag`]); and the user's monitor
//! scripts ([`health`]); the monitor depths: why a paused guest is paused
//! ([`pause`]), the I/O-error policy ([`io_error`]), the guest agent ([`agent`]).

pub mod agent;
pub mod health;
pub mod io_error;
pub mod observe;
pub mod pause;
pub mod process;
pub mod state;
pub mod tag;
