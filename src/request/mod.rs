//! What one invocation asks for, resolved once: the parameters checked into
//! typed [`settings`] by the prologue ([`setup`], [`migration_settings`],
//! [`migrate_options`]), the config file read with a time bound
//! ([`config_file`]), and the [`Request`] that every action and capability
//! reads. It sits below every capability: it knows nothing of the actions
//! nor of what is asked of libvirt.

pub mod compression;
pub mod config_file;
pub mod migrate_options;
pub mod migration_settings;
pub mod settings;
pub mod setup;

use std::path::PathBuf;

use crate::cli::Action;
use crate::domain_xml::DomainConfig;
use crate::ocf::{OcfContext, OcfError};
use crate::params::Params;
use settings::Settings;

/// Everything an action needs, resolved once.
#[derive(Debug)]
pub struct Request {
    pub action: Action,
    pub ctx: OcfContext,
    pub params: Params,
    pub config_path: PathBuf,
    /// The checked parameters, typed.
    pub settings: Settings,
    pub domain: DomainConfig,
    /// The domain's name (from the config).
    pub name: String,
}

impl Request {
    /// The domain XML as text, as libvirt reads it (decoded from the
    /// encoding its declaration names: libvirt is handed UTF-8), read within
    /// a share of the operation's time.
    pub fn config_xml(&self) -> Result<String, OcfError> {
        let until = self.ctx.budget().outside_read_end();
        let bytes = config_file::read_bytes(&self.config_path, until).map_err(|why| {
            OcfError::installed(format!("Cannot read {}: {why}", self.config_path.display()))
        })?;
        crate::domain_xml::decode_document(&bytes)
            .map_err(|why| OcfError::configured(format!("{}: {why}", self.config_path.display())))
    }
}
