//! The guest's data, which the agent must never lose: the user's config
//! file (saved back atomically: [`config_save`]; kept through libvirt's
//! define and undefine: [`config_keep`], [`definition`]), the saved memory
//! image of `snapshot` ([`snapshot`], checked by [`snapshot_image`]) and
//! the copy-on-write overlay of `backingfile` ([`backing`]).

pub mod backing;
pub mod config_keep;
pub mod config_save;
pub mod definition;
pub mod snapshot;
pub mod snapshot_image;
