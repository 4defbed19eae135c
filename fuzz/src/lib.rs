//! Shared pieces of the fuzz targets: a stand-in daemon socket that
//! answers a [`Session`] with the fuzzer's bytes, and the replies a
//! healthy daemon gives before the call under test (built with the agent's
//! own wire encoder, as the seed corpora are).

use std::io::Write;
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use virtualdomain::controller::rpc::session::{CallResult, Session};
use virtualdomain::controller::rpc::wire::{self, DomainRef, Encoder, Procedure};
use virtualdomain::ocf::Env;
use virtualdomain::params::Params;

/// The domain every conversation asks about.
pub const DOMAIN: &str = "vm1";
/// The most bytes a reply stream may have: the whole stream is written
/// before the session reads, so it must fit the socket's buffer.
pub const MAX_STREAM: usize = 64 << 10;

/// A reply frame: length word, header, body.
pub fn reply_frame(procedure: Procedure, serial: u32, status: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Encoder::default()
        .u32((wire::HEADER_LEN + body.len()) as u32)
        .u32(wire::PROGRAM)
        .u32(wire::PROTOCOL_VERSION)
        .u32(procedure as u32)
        .u32(wire::TYPE_REPLY)
        .u32(serial)
        .u32(status)
        .finish();
    out.extend_from_slice(body);
    out
}

/// The domain reference a lookup of [`DOMAIN`] answers.
pub fn domain_ref() -> DomainRef {
    DomainRef {
        name: DOMAIN.into(),
        uuid: vec![0x5a; 16],
        id: 3,
    }
}

/// A healthy daemon's replies to auth list (serial 1), open (2) and the
/// lookup of [`DOMAIN`] (3): what comes before a state, info or XML call.
pub fn healthy_prefix() -> Vec<u8> {
    let ok = wire::STATUS_OK;
    let mut out = reply_frame(
        Procedure::AuthList,
        1,
        ok,
        &Encoder::default().u32(1).u32(0).finish(),
    );
    out.extend(reply_frame(Procedure::ConnectOpen, 2, ok, &[]));
    let lookup = domain_ref().encode(Encoder::default()).finish();
    out.extend(reply_frame(Procedure::DomainLookupByName, 3, ok, &lookup));
    out
}

fn socket_path() -> &'static (PathBuf, UnixListener) {
    static LISTENER: OnceLock<(PathBuf, UnixListener)> = OnceLock::new();
    LISTENER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vd-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("libvirt-sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind the stand-in daemon socket");
        (path, listener)
    })
}

/// Runs `talk` on a session whose daemon has sent `prefix` then `data`
/// (cut to [`MAX_STREAM`]) and closed its side: every read the session
/// makes is answered at once, from these bytes or with end of stream.
pub fn with_daemon_bytes<T>(
    prefix: &[u8],
    data: &[u8],
    talk: impl FnOnce(&mut Session) -> CallResult<T>,
) -> Option<CallResult<T>> {
    let (path, listener) = socket_path();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut session = Session::connect(path, deadline).ok()?;
    let (mut daemon, _) = listener.accept().ok()?;
    daemon.write_all(prefix).ok()?;
    daemon.write_all(&data[..data.len().min(MAX_STREAM)]).ok()?;
    daemon.shutdown(Shutdown::Write).ok()?;
    let result = talk(&mut session);
    drop(session);
    drain(daemon);
    Some(result)
}

/// Reads what the session sent, so that closing never blocks it.
fn drain(daemon: UnixStream) {
    let _ = daemon.set_nonblocking(true);
    let _ = std::io::copy(&mut &daemon, &mut std::io::sink());
}

/// Opens the connection and looks [`DOMAIN`] up (answered by
/// [`healthy_prefix`]), then `call` on it: the reply to `call` is the
/// fuzzer's.
pub fn after_lookup<T>(
    data: &[u8],
    call: impl FnOnce(&mut Session, &DomainRef) -> CallResult<T>,
) -> Option<CallResult<T>> {
    with_daemon_bytes(&healthy_prefix(), data, |s| {
        s.open("qemu:///system")?;
        let dom = s.lookup(DOMAIN)?;
        call(s, &dom)
    })
}

#[cfg(test)]
mod tests {
    //! The healthy seeds reach the end of the path under test (else the
    //! fuzzer would start from the error paths only).
    use super::*;
    use virtualdomain::domain_xml::DomainConfig;

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let path = format!("{}/corpus/{target}/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn healthy_seeds_are_answers() {
        let state = after_lookup(&seed("rpc_state", "paused"), |s, d| s.state(d));
        assert!(matches!(state, Some(Ok((3, _)))), "{state:?}");
        let info = after_lookup(&seed("rpc_info", "running"), |s, d| s.info(d)).unwrap();
        assert_eq!(info.unwrap().max_mem_kib, 262_144);
        let xml = after_lookup(&seed("rpc_xml_desc", "live"), |s, d| s.xml_desc(d));
        let xml = xml.unwrap().unwrap();
        assert_eq!(DomainConfig::parse(&xml).name.as_deref(), Some("test"));
        let stray = after_lookup(&seed("rpc_state", "stray-first"), |s, d| s.state(d));
        assert!(matches!(stray, Some(Ok((1, _)))), "{stray:?}");
        let whole = with_daemon_bytes(&[], &seed("rpc_session", "healthy"), |s| {
            s.open("qemu:///system")?;
            let dom = s.lookup(DOMAIN)?;
            s.state(&dom)?;
            s.info(&dom)?;
            s.xml_desc(&dom)
        });
        assert!(matches!(whole, Some(Ok(_))), "{whole:?}");
    }

    #[test]
    fn error_seeds_are_libvirt_errors() {
        let got = after_lookup(&seed("rpc_state", "no-domain"), |s, d| s.state(d));
        match got {
            Some(Err(virtualdomain::controller::rpc::session::CallError::Remote(e))) => {
                assert_eq!(e.code, wire::ERR_NO_DOMAIN)
            }
            other => panic!("{other:?}"),
        }
    }
}

/// The parameters an agent gets when `OCF_RESKEY_<name>` holds the
/// fuzzer's bytes, or `None` for bytes no environment variable can hold
/// (not UTF-8 as the agent reads it, or a NUL).
pub fn params_with(name: &str, data: &[u8]) -> Option<(Params, String)> {
    let text = std::str::from_utf8(data).ok()?;
    if text.contains('\0') {
        return None;
    }
    let env = Env::from_pairs([(format!("OCF_RESKEY_{name}"), text.to_string())]);
    Some((Params::from_env(&env), text.to_string()))
}
