//! Reads and writes against a peer that trickles: each syscall makes
//! progress, so only a deadline over the whole buffer ends them in time.

use super::*;
use std::io::ErrorKind;

/// A connected pair; `peer` runs on its own thread with the other end.
fn pair_with(peer: impl FnOnce(UnixStream) + Send + 'static) -> UnixStream {
    let (ours, theirs) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    std::thread::spawn(move || peer(theirs));
    ours
}

/// Generous bound on how long a call with `budget` may take.
fn cap(budget: Duration) -> Duration {
    budget * 2
}

#[test]
fn a_read_ends_at_the_deadline_even_if_every_byte_comes_in_time() {
    let mut stream = pair_with(|mut peer| {
        for _ in 0..100 {
            if peer.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let budget = Duration::from_millis(600);
    let t = Instant::now();
    let got = read_full(&mut stream, &mut [0u8; 64], t + budget);
    assert_eq!(got.unwrap_err().kind(), ErrorKind::TimedOut);
    assert!(t.elapsed() < cap(budget), "{:?}", t.elapsed());
}

#[test]
fn a_write_ends_at_the_deadline_even_if_the_peer_reads_a_little_at_a_time() {
    let mut stream = pair_with(|mut peer| {
        let mut chunk = [0u8; 16 << 10];
        while peer.read(&mut chunk).is_ok_and(|n| n > 0) {
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let budget = Duration::from_millis(600);
    let t = Instant::now();
    let got = write_full(&mut stream, &vec![0u8; 32 << 20], t + budget);
    assert_eq!(got.unwrap_err().kind(), ErrorKind::TimedOut);
    assert!(t.elapsed() < cap(budget), "{:?}", t.elapsed());
}

#[test]
fn whole_buffers_arrive_in_pieces() {
    let mut stream = pair_with(|mut peer| {
        for piece in [&b"ab"[..], b"c", b"defg"] {
            peer.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut back = [0u8; 3];
        peer.read_exact(&mut back).unwrap();
        peer.write_all(&back).unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 7];
    read_full(&mut stream, &mut buf, deadline).unwrap();
    assert_eq!(&buf, b"abcdefg");
    write_full(&mut stream, b"xyz", deadline).unwrap();
    let mut echo = [0u8; 3];
    read_full(&mut stream, &mut echo, deadline).unwrap();
    assert_eq!(&echo, b"xyz");
}

#[test]
fn an_early_end_of_stream_is_an_error_not_a_wait() {
    let mut stream = pair_with(|mut peer| {
        let _ = peer.write_all(b"abc");
    });
    let got = read_full(
        &mut stream,
        &mut [0u8; 8],
        Instant::now() + Duration::from_secs(10),
    );
    assert_eq!(got.unwrap_err().kind(), ErrorKind::UnexpectedEof);
}

#[test]
fn a_passed_deadline_fails_without_touching_the_socket() {
    let mut stream = pair_with(|_| {});
    let past = Instant::now();
    let got = read_full(&mut stream, &mut [0u8; 1], past);
    assert_eq!(got.unwrap_err().kind(), ErrorKind::TimedOut);
    let got = write_full(&mut stream, b"x", past);
    assert_eq!(got.unwrap_err().kind(), ErrorKind::TimedOut);
}

#[test]
fn connecting_to_nothing_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (t, budget) = (Instant::now(), Duration::from_secs(10));
    let got = connect_by(&dir.path().join("absent"), t + budget);
    assert_eq!(got.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(t.elapsed() < budget / 2, "{:?}", t.elapsed());
}
