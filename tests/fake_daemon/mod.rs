//! Fake libvirt daemons for the direct socket path: unix sockets in a
//! temporary directory, served by threads of the test. A well-behaved one
//! answers just enough of libvirt's RPC protocol for a state query (the
//! domain `test`, running); the others freeze, drip, lie or never accept.

#![allow(dead_code)] // each test crate uses a different subset

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::socket::{self, AddressFamily, Backlog, SockFlag, SockType, UnixAddr};
use virtualdomain::controller::rpc::endpoint::Endpoint;
use virtualdomain::controller::rpc::wire::{self, DomainRef, Encoder, Header, Procedure};

/// The URI the fake daemons claim to serve; the library fallback of a
/// `DirectController` on it is libvirt's in-process test driver, whose
/// built-in domain `test` runs.
pub const FAKE_URI: &str = "test:///default";

/// A socket in a directory of its own, removed with it.
pub struct FakeDaemon {
    dir: tempfile::TempDir,
    /// Connections held open so that the listen backlog stays full.
    _fillers: Vec<UnixStream>,
}

impl FakeDaemon {
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            socket: self.socket(),
            name: FAKE_URI.into(),
        }
    }

    /// A daemon that hands each connection to `serve` on a thread.
    pub fn serving(serve: impl Fn(UnixStream) + Send + Sync + 'static) -> FakeDaemon {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join("sock")).unwrap();
        let serve = Arc::new(serve);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let serve = Arc::clone(&serve);
                std::thread::spawn(move || serve(stream));
            }
        });
        FakeDaemon {
            dir,
            _fillers: Vec::new(),
        }
    }

    /// A daemon that never accepts, its listen backlog full (as a frozen
    /// daemon's once clients pile up): a connect can only wait.
    pub fn never_accepting() -> FakeDaemon {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sock");
        let listener = socket::socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        let addr = UnixAddr::new(&path).unwrap();
        socket::bind(listener.as_raw_fd(), &addr).unwrap();
        socket::listen(&listener, Backlog::new(1).unwrap()).unwrap();
        let mut fillers = Vec::new();
        loop {
            let filler = socket::socket(
                AddressFamily::Unix,
                SockType::Stream,
                SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
                None,
            )
            .unwrap();
            match socket::connect(filler.as_raw_fd(), &addr) {
                Ok(()) => fillers.push(UnixStream::from(filler)),
                Err(nix::errno::Errno::EAGAIN) => break,
                Err(e) => panic!("filling the backlog: {e}"),
            }
            assert!(fillers.len() < 1000, "the backlog never fills");
        }
        std::mem::forget(listener); // listening (never accepting) until the test ends
        FakeDaemon {
            dir,
            _fillers: fillers,
        }
    }
}

/// Reads one call; `None` when the client closed or sent garbage.
pub fn read_call(stream: &mut UnixStream) -> Option<Header> {
    let mut word = [0u8; 4];
    stream.read_exact(&mut word).ok()?;
    let len = wire::message_len(word).ok()?;
    let mut msg = vec![0u8; len - 4];
    stream.read_exact(&mut msg).ok()?;
    wire::parse_message(&msg).ok().map(|(header, _)| header)
}

/// A framed reply to `call`, with another serial or procedure if asked.
pub fn reply_frame(procedure: u32, serial: u32, status: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Encoder::default()
        .u32((wire::HEADER_LEN + body.len()) as u32)
        .u32(wire::PROGRAM)
        .u32(wire::PROTOCOL_VERSION)
        .u32(procedure)
        .u32(wire::TYPE_REPLY)
        .u32(serial)
        .u32(status)
        .finish();
    out.extend_from_slice(body);
    out
}

/// The body a healthy daemon answers `call` with: no authentication, the
/// domain `test` (any name asked) running.
pub fn healthy_body(call: &Header) -> Vec<u8> {
    let dom = DomainRef {
        name: "test".into(),
        uuid: vec![7; 16],
        id: 1,
    };
    match call.procedure {
        p if p == Procedure::AuthList as u32 => Encoder::default().u32(1).u32(0).finish(),
        p if p == Procedure::DomainLookupByName as u32 => dom.encode(Encoder::default()).finish(),
        p if p == Procedure::DomainGetState as u32 => Encoder::default().i32(1).i32(1).finish(),
        _ => Vec::new(), // open, close
    }
}

/// A `remote_error` body: libvirt error `code` from the qemu driver.
pub fn error_body(code: i32, message: &str) -> Vec<u8> {
    Encoder::default()
        .i32(code)
        .i32(10) // VIR_FROM_QEMU
        .opt_string(Some(message))
        .i32(2) // level: error
        .u32(0) // dom
        .opt_string(None)
        .opt_string(None)
        .opt_string(None)
        .i32(-1)
        .i32(-1)
        .u32(0) // net
        .finish()
}

/// A `remote_error` body saying "no such domain" (`VIR_ERR_NO_DOMAIN`).
pub fn no_domain_error() -> Vec<u8> {
    error_body(wire::ERR_NO_DOMAIN, "Domain not found")
}

/// Serves healthy replies until `fault` returns the bytes to send instead
/// for a call (then those bytes are sent, and `after` decides the rest).
pub fn serve_until(
    mut stream: UnixStream,
    fault: impl Fn(&Header) -> Option<Vec<u8>>,
    after: Afterwards,
) {
    while let Some(call) = read_call(&mut stream) {
        match fault(&call) {
            None => {
                let ok = reply_frame(
                    call.procedure,
                    call.serial,
                    wire::STATUS_OK,
                    &healthy_body(&call),
                );
                if stream.write_all(&ok).is_err() {
                    return;
                }
            }
            Some(bytes) => {
                let _ = stream.write_all(&bytes);
                match after {
                    Afterwards::Close => return,
                    Afterwards::Hang => std::thread::sleep(Duration::from_secs(30)),
                    Afterwards::Continue => {}
                }
            }
        }
    }
}

/// What a faulty daemon does after its fault.
#[derive(Debug, Clone, Copy)]
pub enum Afterwards {
    /// Closes the connection (end of stream).
    Close,
    /// Keeps it open and silent.
    Hang,
    /// Goes on answering.
    Continue,
}
