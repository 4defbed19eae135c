//! What the agent needs from the local host besides libvirt: the process
//! table (to see a guest when libvirt cannot answer), small state files
//! under `HA_RSCTMP`, reads of outside data bounded in time, and child processes that can never outlive their
//! time budget, and files replaced atomically.

pub mod atomic_file;
pub mod bounded;
pub mod command;
pub mod leftovers;
pub mod mounts;
pub mod process_table;
pub mod state_files;
pub mod systemd;
