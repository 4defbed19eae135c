//! Which hypervisor URIs the direct protocol path serves, and on which
//! socket: the choice libvirt's own client makes, kept to the cases where
//! that choice is unambiguous. With no URI (`hypervisor` unset) the default
//! is resolved as libvirt does: `LIBVIRT_DEFAULT_URI`, then `uri_default`
//! in the client configuration, then libvirt's own probe (for root, the
//! local daemon's socket, which picks the driver). Everything else (remote
//! transports, query parameters, session daemons, a configured
//! `remote_mode` or `uri_aliases`, a configuration this reading is not
//! sure of) goes through the libvirt library.

use std::path::{Path, PathBuf};

/// Where and how to open a connection without libvirt.so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The daemon's read-write socket.
    pub socket: PathBuf,
    /// The URI the daemon is asked to open (transport stripped).
    pub name: String,
}

/// Hypervisor drivers that live in a daemon (`qemu:///system` needs no
/// `+unix`); others (`test:///default`, `vbox`, `esx`) run inside the
/// client library unless a transport is named.
const DAEMON_DRIVERS: &[&str] = &["qemu", "lxc", "xen", "ch", "bhyve"];

/// Libvirt's system socket directory (`$LOCALSTATEDIR/run/libvirt`).
const SOCKET_DIR: &str = "/var/run/libvirt";
/// The socket of libvirtd and of virtproxyd.
const PROXY_SOCKET: &str = "libvirt-sock";
/// What makes libvirt's in-library OpenVZ driver claim a URI-less open.
const OPENVZ_PROBE: &str = "/proc/vz";

/// The facts about this client that libvirt's choice depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// The effective uid is 0 (others use session daemons).
    pub is_root: bool,
    /// `LIBVIRT_DEFAULT_URI` when set and not empty (libvirt ignores an
    /// empty one).
    pub default_uri_env: Option<String>,
    /// What the client configuration says.
    pub conf: ClientConf,
}

/// What libvirt's client configuration (`/etc/libvirt/libvirt.conf` for
/// root) says, as far as the socket choice depends on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientConf {
    /// `uri_default`, a plain quoted string.
    pub uri_default: Option<String>,
    /// `remote_mode` is set: it changes the socket choice.
    pub remote_mode: bool,
    /// `uri_aliases` is set: a default URI may be an alias.
    pub uri_aliases: bool,
    /// A setting this reading cannot interpret with certainty.
    pub unsure: bool,
}

/// Where the monitor's hypervisor (`None`: unset) is reached, or `None`
/// when the library must decide. `exists`: whether a path exists.
pub fn resolve(
    hypervisor: Option<&str>,
    client: &Client,
    exists: impl Fn(&Path) -> bool,
) -> Option<Endpoint> {
    let conf = &client.conf;
    if !client.is_root || conf.remote_mode || conf.unsure {
        return None;
    }
    if let Some(uri) = hypervisor {
        return local_endpoint(uri, exists);
    }
    match client
        .default_uri_env
        .as_deref()
        .or(conf.uri_default.as_deref())
    {
        Some(_) if conf.uri_aliases => None,
        Some(uri) => local_endpoint(uri, exists),
        None => probed_endpoint(exists),
    }
}

/// libvirt with no URI at all: the client library's own drivers probe
/// first (only OpenVZ, when `/proc/vz` exists: left to the library); then
/// the remote driver connects to the local `libvirt-sock` (libvirtd's, or
/// virtproxyd's, which listens on the same path) and opens the empty name,
/// letting the daemon pick its driver.
fn probed_endpoint(exists: impl Fn(&Path) -> bool) -> Option<Endpoint> {
    if exists(Path::new(OPENVZ_PROBE)) {
        return None;
    }
    let socket = Path::new(SOCKET_DIR).join(PROXY_SOCKET);
    exists(&socket).then(|| Endpoint {
        socket,
        name: String::new(),
    })
}

/// The endpoint for the URI `uri`, or `None` when the library must handle
/// it. libvirt prefers a driver's own daemon socket, `virt<driver>d-sock`,
/// over libvirtd's `libvirt-sock`.
pub fn local_endpoint(uri: &str, exists: impl Fn(&Path) -> bool) -> Option<Endpoint> {
    let (scheme, rest) = uri.split_once("://")?;
    // no host, user or port; an absolute path; no query or fragment
    let path = rest.strip_prefix('/')?;
    if path.contains(['?', '#']) || !path.chars().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    let (driver, transport) = match scheme.split_once('+') {
        Some((driver, transport)) => (driver, Some(transport)),
        None => (scheme, None),
    };
    let driver_ok = !driver.is_empty() && driver.chars().all(|c| c.is_ascii_lowercase());
    let served = match transport {
        Some(t) => t.eq_ignore_ascii_case("unix"),
        None => DAEMON_DRIVERS.contains(&driver) && path == "system",
    };
    if !driver_ok || !served {
        return None;
    }
    let direct = Path::new(SOCKET_DIR).join(format!("virt{driver}d-sock"));
    let legacy = Path::new(SOCKET_DIR).join(PROXY_SOCKET);
    let socket = if exists(&direct) {
        direct
    } else if exists(&legacy) {
        legacy
    } else {
        return None;
    };
    Some(Endpoint {
        socket,
        name: format!("{driver}:///{path}"),
    })
}

impl ClientConf {
    /// Reads the configuration text (`None`: no file). libvirt's format is
    /// `key = value` lines, `#` comments, strings in quotes; anything but
    /// one plain quoted `uri_default` makes the reading unsure.
    pub fn parse(text: Option<&str>) -> ClientConf {
        let mut conf = ClientConf::default();
        for (key, value) in text.into_iter().flat_map(str::lines).filter_map(setting) {
            match key {
                "uri_default" => match (plain_string(value), &conf.uri_default) {
                    (Some(uri), None) if !uri.is_empty() => conf.uri_default = Some(uri.into()),
                    _ => conf.unsure = true,
                },
                "remote_mode" => conf.remote_mode = true,
                "uri_aliases" => conf.uri_aliases = true,
                _ => {}
            }
        }
        if conf.unsure {
            // nothing else read is to be relied on
            conf = ClientConf {
                unsure: true,
                ..ClientConf::default()
            };
        }
        conf
    }
}

/// A `key = value` line: the key and the raw value.
fn setting(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once('=')?;
    let key = key.trim();
    let is_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_key.then_some((key, value.trim()))
}

/// The contents of a value that is one quoted string (`"…"` or `'…'`),
/// optionally followed by a comment; `None` for anything else.
fn plain_string(value: &str) -> Option<&str> {
    let quote = value.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let (inner, rest) = value[1..].split_once(quote)?;
    let rest = rest.trim_start();
    (rest.is_empty() || rest.starts_with('#')).then_some(inner)
}

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;
