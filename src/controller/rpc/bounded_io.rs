//! Socket I/O that ends by a deadline, whatever the peer does: a connect
//! to a daemon that accepts nothing (frozen, or its listen backlog full),
//! and reads and writes of whole buffers that a daemon could otherwise
//! stretch without end by sending or taking one byte at a time.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};

/// The first pause between two connect attempts on a full backlog.
const FIRST_RETRY: Duration = Duration::from_millis(1);
/// The longest pause between two connect attempts.
const LONGEST_RETRY: Duration = Duration::from_millis(50);
/// Less time than this left counts as none.
const NO_TIME: Duration = Duration::from_millis(1);

/// The time left before `deadline`, or a `TimedOut` error when none is.
fn time_left(deadline: Instant, what: &str) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left < NO_TIME {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what}: deadline reached"),
        ))
    } else {
        Ok(left)
    }
}

/// Connects to the stream socket at `path`, giving up at `deadline`; the
/// stream returned is non-blocking (for [`read_full`] and [`write_full`]).
///
/// On Linux a non-blocking unix stream connect to a listener whose backlog
/// is full fails with `EAGAIN` at once instead of waiting; it is tried
/// again after a short, growing pause.
pub fn connect_by(path: &Path, deadline: Instant) -> io::Result<UnixStream> {
    let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
    let fd = socket(AddressFamily::Unix, SockType::Stream, flags, None)?;
    let addr = UnixAddr::new(path)?;
    let mut pause = FIRST_RETRY;
    loop {
        match connect(fd.as_raw_fd(), &addr) {
            Ok(()) => return Ok(UnixStream::from(fd)),
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                let left = time_left(deadline, "connect (the daemon accepts nothing)")?;
                std::thread::sleep(pause.min(left));
                pause = (pause * 2).min(LONGEST_RETRY);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Waits until `stream` is ready for `events`, at most until `deadline`.
fn wait_ready(stream: &UnixStream, events: PollFlags, deadline: Instant) -> io::Result<()> {
    let left = time_left(deadline, "socket")?;
    // rounded up: a timeout rounded down to 0 ms would spin
    let ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
    let timeout = PollTimeout::try_from(ms.saturating_add(1)).unwrap_or(PollTimeout::MAX);
    match poll(&mut [PollFd::new(stream.as_fd(), events)], timeout) {
        Ok(_) | Err(Errno::EINTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Runs the non-blocking `step` (bytes moved, 0 at end of stream) until
/// `len` bytes have moved, waiting for `events` in between, all before
/// `deadline` however the peer paces its side.
fn transfer(
    stream: &mut UnixStream,
    len: usize,
    events: PollFlags,
    deadline: Instant,
    mut step: impl FnMut(&mut UnixStream, usize) -> io::Result<usize>,
) -> io::Result<()> {
    let mut done = 0;
    while done < len {
        time_left(deadline, "socket")?;
        match step(stream, done) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_ready(stream, events, deadline)?
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Fills `buf` from the non-blocking `stream`, all of it before `deadline`.
pub fn read_full(stream: &mut UnixStream, buf: &mut [u8], deadline: Instant) -> io::Result<()> {
    let len = buf.len();
    transfer(stream, len, PollFlags::POLLIN, deadline, |s, done| {
        s.read(&mut buf[done..])
    })
}

/// Writes all of `buf` to the non-blocking `stream` before `deadline`.
pub fn write_full(stream: &mut UnixStream, buf: &[u8], deadline: Instant) -> io::Result<()> {
    transfer(
        stream,
        buf.len(),
        PollFlags::POLLOUT,
        deadline,
        |s, done| s.write(&buf[done..]),
    )
}

#[cfg(test)]
#[path = "bounded_io_tests.rs"]
mod tests;
