//! The few pieces of libvirt's RPC wire format a state query needs: XDR
//! encoding (RFC 4506: big-endian 4-byte units, strings padded to 4) and
//! the message frame (a length word, then the header
//! `program, version, procedure, type, serial, status`, then the body).
//!
//! Pure functions on byte buffers, so the format is tested without a daemon.

/// `REMOTE_PROGRAM` and `REMOTE_PROTOCOL_VERSION`.
pub const PROGRAM: u32 = 0x2000_8086;
pub const PROTOCOL_VERSION: u32 = 1;

/// Length word plus the six header words.
pub const HEADER_LEN: usize = 4 + 6 * 4;
/// The largest reply accepted (state queries get a few hundred bytes).
pub const MAX_MESSAGE: usize = 4 << 20;

/// `remote_procedure` numbers used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Procedure {
    ConnectOpen = 1,
    ConnectClose = 2,
    DomainGetXmlDesc = 14,
    DomainGetInfo = 16,
    DomainLookupByName = 23,
    AuthList = 66,
    DomainGetState = 212,
}

/// `virNetMessageType`: a call, and the reply to one.
pub const TYPE_CALL: u32 = 0;
pub const TYPE_REPLY: u32 = 1;
/// `virNetMessageStatus`.
pub const STATUS_OK: u32 = 0;
pub const STATUS_ERROR: u32 = 1;

/// `VIR_ERR_NO_DOMAIN`.
pub const ERR_NO_DOMAIN: i32 = 42;

/// A malformed or unexpected message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

pub type WireResult<T> = Result<T, WireError>;

/// Builds an XDR body.
#[derive(Default)]
pub struct Encoder(Vec<u8>);

impl Encoder {
    pub fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn i32(self, v: i32) -> Self {
        self.u32(v as u32)
    }

    /// `remote_nonnull_string`.
    pub fn string(mut self, s: &str) -> Self {
        self = self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
        self.0.resize(self.0.len() + pad(s.len()), 0);
        self
    }

    /// `remote_string` (an optional string: a presence word, then the string).
    pub fn opt_string(self, s: Option<&str>) -> Self {
        match s {
            Some(s) => self.u32(1).string(s),
            None => self.u32(0),
        }
    }

    /// Fixed-length opaque data (a UUID), padded to 4.
    pub fn opaque_fixed(mut self, data: &[u8]) -> Self {
        self.0.extend_from_slice(data);
        self.0.resize(self.0.len() + pad(data.len()), 0);
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

fn pad(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// Reads an XDR body.
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> WireResult<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end =
            end.ok_or_else(|| WireError(format!("truncated message at byte {}", self.pos)))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub fn u32(&mut self) -> WireResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn i32(&mut self) -> WireResult<i32> {
        self.u32().map(|v| v as i32)
    }

    pub fn u64(&mut self) -> WireResult<u64> {
        Ok((u64::from(self.u32()?) << 32) | u64::from(self.u32()?))
    }

    pub fn string(&mut self) -> WireResult<String> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        self.take(pad(len))?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    pub fn opt_string(&mut self) -> WireResult<Option<String>> {
        match self.u32()? {
            0 => Ok(None),
            _ => self.string().map(Some),
        }
    }

    pub fn opaque_fixed(&mut self, len: usize) -> WireResult<Vec<u8>> {
        let out = self.take(len)?.to_vec();
        self.take(pad(len))?;
        Ok(out)
    }

    /// Skips an optional pointer to a struct of `words` 4-byte units after
    /// a leading string (`remote_domain`, `remote_network` in errors).
    fn skip_opt_named(&mut self, opaque_len: usize, words: usize) -> WireResult<()> {
        if self.u32()? != 0 {
            self.string()?;
            self.opaque_fixed(opaque_len)?;
            for _ in 0..words {
                self.u32()?;
            }
        }
        Ok(())
    }
}

/// A message's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub program: u32,
    pub version: u32,
    pub procedure: u32,
    pub kind: u32,
    pub serial: u32,
    pub status: u32,
}

/// The whole framed call: length word, header, body.
pub fn frame_call(procedure: Procedure, serial: u32, body: &[u8]) -> Vec<u8> {
    let total = (HEADER_LEN + body.len()) as u32;
    let mut out = Encoder::default()
        .u32(total)
        .u32(PROGRAM)
        .u32(PROTOCOL_VERSION)
        .u32(procedure as u32)
        .u32(TYPE_CALL)
        .u32(serial)
        .u32(STATUS_OK)
        .finish();
    out.extend_from_slice(body);
    out
}

/// The total message length announced by a length word, checked.
pub fn message_len(word: [u8; 4]) -> WireResult<usize> {
    let len = u32::from_be_bytes(word) as usize;
    if (HEADER_LEN..=MAX_MESSAGE).contains(&len) {
        Ok(len)
    } else {
        Err(WireError(format!("bad message length {len}")))
    }
}

/// Splits a message (without its length word) into header and body.
pub fn parse_message(msg: &[u8]) -> WireResult<(Header, &[u8])> {
    let mut d = Decoder::new(msg);
    let header = Header {
        program: d.u32()?,
        version: d.u32()?,
        procedure: d.u32()?,
        kind: d.u32()?,
        serial: d.u32()?,
        status: d.u32()?,
    };
    Ok((header, &msg[HEADER_LEN - 4..]))
}

/// The part of `remote_error` the agent uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    pub code: i32,
    pub domain: i32,
    pub message: String,
}

/// Decodes a `remote_error` body.
pub fn parse_error(body: &[u8]) -> WireResult<RemoteError> {
    let mut d = Decoder::new(body);
    let code = d.i32()?;
    let domain = d.i32()?;
    let message = d.opt_string()?.unwrap_or_default();
    d.i32()?; // level
    d.skip_opt_named(16, 1)?; // dom: name, uuid, id
    Ok(RemoteError {
        code,
        domain,
        message,
    })
}

/// `remote_nonnull_domain`: what lookups return and domain calls take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRef {
    pub name: String,
    pub uuid: Vec<u8>,
    pub id: i32,
}

impl DomainRef {
    pub fn decode(d: &mut Decoder) -> WireResult<DomainRef> {
        Ok(DomainRef {
            name: d.string()?,
            uuid: d.opaque_fixed(16)?,
            id: d.i32()?,
        })
    }

    pub fn encode(&self, e: Encoder) -> Encoder {
        e.string(&self.name).opaque_fixed(&self.uuid).i32(self.id)
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
