//! The socket choice as tables: URIs, the default URI's sources in
//! libvirt's order, and the client configuration's settings.

use super::*;

fn sockets(present: &'static [&'static str]) -> impl Fn(&Path) -> bool {
    move |p: &Path| present.iter().any(|s| p == Path::new(s))
}

const LEGACY: &str = "/var/run/libvirt/libvirt-sock";
const QEMUD: &str = "/var/run/libvirt/virtqemud-sock";
const PROXYD: &str = "/var/run/libvirt/virtproxyd-sock";
const OPENVZ: &str = "/proc/vz";

fn endpoint(socket: &str, name: &str) -> Option<Endpoint> {
    Some(Endpoint {
        socket: socket.into(),
        name: name.into(),
    })
}

fn root() -> Client {
    Client {
        is_root: true,
        ..Client::default()
    }
}

#[test]
fn system_uris_go_to_libvirtd_or_the_driver_daemon() {
    let table = [
        (
            "qemu:///system",
            &[LEGACY][..],
            endpoint(LEGACY, "qemu:///system"),
        ),
        (
            "qemu:///system",
            &[LEGACY, QEMUD],
            endpoint(QEMUD, "qemu:///system"),
        ),
        (
            "lxc:///system",
            &[LEGACY, QEMUD],
            endpoint(LEGACY, "lxc:///system"),
        ),
        (
            "test+unix:///default",
            &[LEGACY],
            endpoint(LEGACY, "test:///default"),
        ),
        (
            "qemu+UNIX:///system",
            &[LEGACY],
            endpoint(LEGACY, "qemu:///system"),
        ),
        ("qemu:///system", &[], None),
    ];
    for (uri, present, want) in table {
        let exists = |p: &Path| present.iter().any(|s| p == Path::new(s));
        assert_eq!(local_endpoint(uri, exists), want, "{uri} with {present:?}");
    }
}

#[test]
fn everything_else_is_left_to_the_library() {
    for uri in [
        "test:///default",                 // in-process driver
        "qemu+ssh://root@host/system",     // remote
        "qemu+tcp://host/system",          // remote
        "qemu://host/system",              // TLS
        "qemu:///system?socket=/tmp/s",    // query parameters
        "qemu+unix:///system?mode=legacy", // query parameters
        "qemu:///session",                 // not the system daemon
        "",                                // not a URI
        "qemu",                            // not a URI
        "Qemu:///system",                  // odd case
        "qemu+libssh2://h/system",         // remote
        "qemu:///sys tem",                 // space
    ] {
        assert_eq!(
            local_endpoint(uri, sockets(&[LEGACY, QEMUD])),
            None,
            "{uri}"
        );
    }
}

#[test]
fn the_default_uri_comes_from_the_environment_then_the_configuration_then_the_daemon() {
    let conf = |uri: &str| ClientConf {
        uri_default: Some(uri.into()),
        ..ClientConf::default()
    };
    let env = |uri: &str| Some(uri.to_string());
    let table = [
        // (LIBVIRT_DEFAULT_URI, configuration, sockets present, expected)
        (
            None,
            ClientConf::default(),
            &[LEGACY][..],
            endpoint(LEGACY, ""),
        ),
        (
            None,
            ClientConf::default(),
            &[LEGACY, QEMUD, PROXYD],
            endpoint(LEGACY, ""),
        ),
        (None, ClientConf::default(), &[QEMUD], None),
        (None, ClientConf::default(), &[LEGACY, OPENVZ], None),
        (
            env("test+unix:///default"),
            conf("qemu:///system"),
            &[LEGACY, QEMUD],
            endpoint(LEGACY, "test:///default"),
        ),
        (
            env("qemu+ssh://h/system"),
            ClientConf::default(),
            &[LEGACY],
            None,
        ),
        (
            None,
            conf("qemu:///system"),
            &[LEGACY, QEMUD],
            endpoint(QEMUD, "qemu:///system"),
        ),
        (None, conf("qemu:///session"), &[LEGACY], None),
        (None, conf("test:///default"), &[LEGACY], None),
    ];
    for (env_uri, conf, present, want) in table {
        let client = Client {
            default_uri_env: env_uri.clone(),
            conf: conf.clone(),
            ..root()
        };
        let exists = |p: &Path| present.iter().any(|s| p == Path::new(s));
        assert_eq!(
            resolve(None, &client, exists),
            want,
            "{env_uri:?} {conf:?} {present:?}"
        );
    }
}

#[test]
fn an_explicit_hypervisor_wins_over_the_default() {
    let client = Client {
        default_uri_env: Some("qemu+ssh://h/system".into()),
        ..root()
    };
    assert_eq!(
        resolve(Some("qemu:///system"), &client, sockets(&[LEGACY])),
        endpoint(LEGACY, "qemu:///system")
    );
}

#[test]
fn uncertain_clients_are_left_to_the_library() {
    let with = |conf: ClientConf| Client { conf, ..root() };
    let cases = [
        ("non-root", Client::default()),
        (
            "remote_mode",
            with(ClientConf {
                remote_mode: true,
                ..ClientConf::default()
            }),
        ),
        (
            "unsure configuration",
            with(ClientConf {
                unsure: true,
                ..ClientConf::default()
            }),
        ),
        (
            "a default that may be an alias",
            with(ClientConf {
                uri_default: Some("qemu:///system".into()),
                uri_aliases: true,
                ..ClientConf::default()
            }),
        ),
    ];
    for (what, client) in cases {
        assert_eq!(
            resolve(None, &client, sockets(&[LEGACY, QEMUD])),
            None,
            "{what}"
        );
    }
    let non_root = Client::default();
    assert_eq!(
        resolve(Some("qemu:///system"), &non_root, sockets(&[LEGACY])),
        None
    );
}

#[test]
fn the_configuration_is_read_as_libvirt_writes_it() {
    let uri = |u: &str| ClientConf {
        uri_default: Some(u.into()),
        ..ClientConf::default()
    };
    let unsure = ClientConf {
        unsure: true,
        ..ClientConf::default()
    };
    let table = [
        ("", ClientConf::default()),
        ("#uri_default = \"qemu:///system\"\n", ClientConf::default()),
        ("uri_default = \"qemu:///system\"\n", uri("qemu:///system")),
        (
            "  uri_default='lxc:///system'  # local\n",
            uri("lxc:///system"),
        ),
        (
            "uri_default = \"a:///x\"\nuri_default = \"b:///y\"\n",
            unsure.clone(),
        ),
        ("uri_default = qemu\n", unsure.clone()),
        ("uri_default = \"\"\n", unsure.clone()),
        ("uri_default = \"\"\"qemu:///system\"\"\"\n", unsure.clone()),
        (
            "uri_default = \"a:///x\"; remote_mode = \"legacy\"\n",
            unsure.clone(),
        ),
        (
            "remote_mode = \"direct\"\n",
            ClientConf {
                remote_mode: true,
                ..ClientConf::default()
            },
        ),
        (
            "uri_aliases = [\n  \"hail=qemu+ssh://root@hail/system\",\n]\n",
            ClientConf {
                uri_aliases: true,
                ..ClientConf::default()
            },
        ),
    ];
    for (text, want) in table {
        assert_eq!(ClientConf::parse(Some(text)), want, "{text:?}");
    }
    assert_eq!(ClientConf::parse(None), ClientConf::default());
}
