//! Which hypervisor URIs the direct protocol path serves, and on which
//! socket: the choice libvirt's own client makes for a local URI, kept to
//! the cases where that choice is unambiguous. Everything else (remote
//! transports, query parameters, session daemons, a configured
//! `remote_mode`, no URI at all) goes through the libvirt library.

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

/// The endpoint for `uri`, or `None` when the library must handle it.
/// `is_root`: the caller's effective uid is 0 (others use session daemons);
/// `exists`: whether a path exists (libvirt prefers a driver's own daemon
/// socket, `virt<driver>d-sock`, over libvirtd's `libvirt-sock`);
/// `remote_mode_configured`: libvirt.conf sets `remote_mode`.
pub fn local_endpoint(
    uri: &str,
    is_root: bool,
    remote_mode_configured: bool,
    exists: impl Fn(&Path) -> bool,
) -> Option<Endpoint> {
    if !is_root || remote_mode_configured {
        return None;
    }
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
    let legacy = Path::new(SOCKET_DIR).join("libvirt-sock");
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

/// Whether libvirt's client configuration (`/etc/libvirt/libvirt.conf`
/// for root) sets `remote_mode`, which changes the socket choice: then the
/// library decides.
pub fn remote_mode_configured(conf_text: Option<&str>) -> bool {
    conf_text.is_some_and(|text| {
        text.lines()
            .map(str::trim_start)
            .any(|l| l.starts_with("remote_mode"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sockets(present: &'static [&'static str]) -> impl Fn(&Path) -> bool {
        move |p: &Path| present.iter().any(|s| p == Path::new(s))
    }

    const LEGACY: &str = "/var/run/libvirt/libvirt-sock";
    const QEMUD: &str = "/var/run/libvirt/virtqemud-sock";

    #[test]
    fn system_uris_go_to_libvirtd_or_the_driver_daemon() {
        let e = local_endpoint("qemu:///system", true, false, sockets(&[LEGACY])).unwrap();
        assert_eq!(e.socket, Path::new(LEGACY));
        assert_eq!(e.name, "qemu:///system");
        let e = local_endpoint("qemu:///system", true, false, sockets(&[LEGACY, QEMUD])).unwrap();
        assert_eq!(e.socket, Path::new(QEMUD), "modular daemon preferred");
        let e = local_endpoint("lxc:///system", true, false, sockets(&[LEGACY, QEMUD])).unwrap();
        assert_eq!(e.socket, Path::new(LEGACY), "no virtlxcd socket");
    }

    #[test]
    fn unix_transport_is_stripped_from_the_name() {
        let e = local_endpoint("test+unix:///default", true, false, sockets(&[LEGACY])).unwrap();
        assert_eq!(e.name, "test:///default");
        assert_eq!(e.socket, Path::new(LEGACY));
        let e = local_endpoint("qemu+UNIX:///system", true, false, sockets(&[LEGACY])).unwrap();
        assert_eq!(e.name, "qemu:///system");
    }

    #[test]
    fn everything_else_is_left_to_the_library() {
        let all = || sockets(&[LEGACY, QEMUD]);
        for uri in [
            "test:///default",                 // in-process driver
            "qemu+ssh://root@host/system",     // remote
            "qemu+tcp://host/system",          // remote
            "qemu://host/system",              // TLS
            "qemu:///system?socket=/tmp/s",    // query parameters
            "qemu+unix:///system?mode=legacy", // query parameters
            "qemu:///session",                 // not the system daemon
            "",                                // no URI
            "qemu",                            // not a URI
            "Qemu:///system",                  // odd case
            "qemu+libssh2://h/system",         // remote
            "qemu:///sys tem",                 // space
        ] {
            assert_eq!(local_endpoint(uri, true, false, all()), None, "{uri}");
        }
        assert_eq!(
            local_endpoint("qemu:///system", false, false, all()),
            None,
            "non-root"
        );
        assert_eq!(
            local_endpoint("qemu:///system", true, true, all()),
            None,
            "remote_mode"
        );
        assert_eq!(
            local_endpoint("qemu:///system", true, false, sockets(&[])),
            None,
            "no socket"
        );
    }

    #[test]
    fn remote_mode_is_noticed_only_when_set() {
        assert!(!remote_mode_configured(None));
        assert!(!remote_mode_configured(Some("#remote_mode = \"legacy\"\n")));
        assert!(remote_mode_configured(Some(
            "uri_default = \"qemu:///system\"\n remote_mode = \"direct\"\n"
        )));
    }
}
