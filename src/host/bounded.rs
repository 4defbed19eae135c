//! Reading outside data with a deadline. A file on a hard NFS mount whose
//! server stopped answering, or `/proc/PID/cmdline` of a process stuck in
//! the kernel, blocks the reading thread with no timeout the system call
//! offers. The agent's promise is to answer within its operation's time
//! whatever the host does, so such reads run on a thread of their own and
//! the action waits for them only until its deadline; a read that did not
//! answer is "unreadable" and the caller's rules for that take over. The
//! abandoned thread ends with the process (the agent exits right after its
//! action).

use std::sync::mpsc;
use std::time::Instant;

/// Runs `read` on its own thread and returns its result, or `None` when it
/// has not answered by `until` (or could not be started).
pub fn run_until<T, F>(until: Instant, read: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("bounded-read".into())
        .spawn(move || {
            let _ = tx.send(read());
        })
        .ok()?;
    rx.recv_timeout(until.saturating_duration_since(Instant::now()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_answer_in_time_is_returned() {
        let until = Instant::now() + Duration::from_secs(10);
        assert_eq!(run_until(until, || 42), Some(42));
    }

    #[test]
    fn a_read_that_never_answers_ends_at_the_deadline() {
        let bound = Duration::from_millis(300);
        let t = Instant::now();
        let got = run_until(t + bound, || {
            std::thread::sleep(Duration::from_secs(3600));
            1
        });
        assert_eq!(got, None);
        // bounded by the deadline it was given, not by the read
        assert!(t.elapsed() < bound * 10, "{:?}", t.elapsed());
    }

    #[test]
    fn a_fifo_without_a_writer_does_not_hang_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("config.xml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let bound = Duration::from_millis(300);
        let t = Instant::now();
        let path = fifo.clone();
        // a plain open of a FIFO blocks until a writer comes
        let got = run_until(t + bound, move || std::fs::read(path).is_ok());
        assert_eq!(got, None);
        assert!(t.elapsed() < bound * 10, "{:?}", t.elapsed());
    }
}
