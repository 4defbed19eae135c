//! One connection to a local libvirt daemon's socket, speaking just enough
//! of the RPC protocol for a state query: authentication list, open, domain
//! lookup, state, info, live XML, close. The connect and every call end by
//! the session's deadline ([`bounded_io`]), so a frozen, slow or dripping
//! daemon costs at most that long.

use std::io;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use super::bounded_io::{connect_by, read_full, write_full};
use super::wire::{
    self, frame_call, message_len, parse_error, parse_message, Decoder, DomainRef, Encoder,
    Procedure, RemoteError, WireError,
};

/// Why a call did not give an answer.
#[derive(Debug)]
pub enum CallError {
    /// The daemon did not answer in time.
    TimedOut,
    /// The socket failed (absent, refused, closed by the daemon).
    Io(io::Error),
    /// The daemon answered with a libvirt error.
    Remote(RemoteError),
    /// The daemon answered something this client does not understand, or
    /// asks for authentication it does not do.
    Protocol(String),
}

impl From<WireError> for CallError {
    fn from(e: WireError) -> Self {
        CallError::Protocol(e.0)
    }
}

impl From<io::Error> for CallError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => CallError::TimedOut,
            _ => CallError::Io(e),
        }
    }
}

pub type CallResult<T> = Result<T, CallError>;

/// `virDomainGetInfo`'s figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawInfo {
    pub state: u32,
    pub max_mem_kib: u64,
    pub nr_virt_cpu: u32,
}

/// Auth type `REMOTE_AUTH_NONE`.
const AUTH_NONE: u32 = 0;
/// How long closing may wait for the daemon's reply.
const CLOSE_WAIT: Duration = Duration::from_millis(200);
/// Replies skipped while waiting for ours (stray messages of other programs).
const MAX_SKIPPED: usize = 16;

/// An open connection (after `open`, a libvirt connection to `name`).
pub struct Session {
    stream: UnixStream,
    serial: u32,
    deadline: Instant,
}

impl Session {
    /// Connects to `socket` before `deadline`; every later call must end
    /// before it too.
    pub fn connect(socket: &Path, deadline: Instant) -> CallResult<Session> {
        let stream = connect_by(socket, deadline)?;
        Ok(Session {
            stream,
            serial: 0,
            deadline,
        })
    }

    /// Moves the deadline for the following calls.
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
    }

    /// Checks that no authentication is required (root on the local
    /// socket) and opens the hypervisor connection `name`.
    pub fn open(&mut self, name: &str) -> CallResult<()> {
        let reply = self.call(Procedure::AuthList, &[])?;
        let mut d = Decoder::new(&reply);
        let count = d.u32()?;
        for _ in 0..count {
            let auth = d.u32()?;
            if auth != AUTH_NONE {
                return Err(CallError::Protocol(format!(
                    "the daemon asks for authentication type {auth}"
                )));
            }
        }
        let args = Encoder::default().opt_string(Some(name)).u32(0).finish();
        self.call(Procedure::ConnectOpen, &args).map(drop)
    }

    pub fn lookup(&mut self, name: &str) -> CallResult<DomainRef> {
        let args = Encoder::default().string(name).finish();
        let reply = self.call(Procedure::DomainLookupByName, &args)?;
        Ok(DomainRef::decode(&mut Decoder::new(&reply))?)
    }

    /// `virDomainGetState`: the raw state number and its reason (the
    /// reply carries both).
    pub fn state(&mut self, dom: &DomainRef) -> CallResult<(u32, i32)> {
        let args = dom.encode(Encoder::default()).u32(0).finish();
        let reply = self.call(Procedure::DomainGetState, &args)?;
        let mut d = Decoder::new(&reply);
        let state = d.i32()? as u32;
        let reason = d.i32()?;
        Ok((state, reason))
    }

    /// `virDomainGetInfo`.
    pub fn info(&mut self, dom: &DomainRef) -> CallResult<RawInfo> {
        let args = dom.encode(Encoder::default()).finish();
        let reply = self.call(Procedure::DomainGetInfo, &args)?;
        let mut d = Decoder::new(&reply);
        let state = d.u32()?;
        let max_mem_kib = d.u64()?;
        let _memory = d.u64()?;
        let nr_virt_cpu = d.u32()?;
        let _cpu_time = d.u64()?;
        Ok(RawInfo {
            state,
            max_mem_kib,
            nr_virt_cpu,
        })
    }

    /// `virDomainGetXMLDesc` with no flags: the live definition.
    pub fn xml_desc(&mut self, dom: &DomainRef) -> CallResult<String> {
        let args = dom.encode(Encoder::default()).u32(0).finish();
        let reply = self.call(Procedure::DomainGetXmlDesc, &args)?;
        Ok(Decoder::new(&reply).string()?)
    }

    /// Closes the hypervisor connection politely, waiting for the reply
    /// at most [`CLOSE_WAIT`] (the answer is already known); errors do not
    /// matter.
    pub fn close(mut self) {
        self.deadline = self.deadline.min(Instant::now() + CLOSE_WAIT);
        let _ = self.call(Procedure::ConnectClose, &[]);
    }

    /// Sends one call and returns the body of its successful reply.
    fn call(&mut self, procedure: Procedure, args: &[u8]) -> CallResult<Vec<u8>> {
        self.serial = self.serial.wrapping_add(1);
        let serial = self.serial;
        write_full(
            &mut self.stream,
            &frame_call(procedure, serial, args),
            self.deadline,
        )?;
        for _ in 0..MAX_SKIPPED {
            let msg = self.read_message()?;
            let (header, body) = parse_message(&msg)?;
            let ours = header.program == wire::PROGRAM
                && header.kind == wire::TYPE_REPLY
                && header.serial == serial;
            if !ours {
                continue;
            }
            if header.procedure != procedure as u32 {
                return Err(CallError::Protocol(format!(
                    "reply for procedure {} to a call of {}",
                    header.procedure, procedure as u32
                )));
            }
            return match header.status {
                wire::STATUS_OK => Ok(body.to_vec()),
                wire::STATUS_ERROR => Err(CallError::Remote(parse_error(body)?)),
                other => Err(CallError::Protocol(format!("reply status {other}"))),
            };
        }
        Err(CallError::Protocol(
            "no reply among the daemon's messages".into(),
        ))
    }

    /// Reads one message, without its length word.
    fn read_message(&mut self) -> CallResult<Vec<u8>> {
        let mut word = [0u8; 4];
        read_full(&mut self.stream, &mut word, self.deadline)?;
        let len = message_len(word)?;
        let mut msg = vec![0u8; len - 4];
        read_full(&mut self.stream, &mut msg, self.deadline)?;
        Ok(msg)
    }
}
