//! Property tests of the direct socket path: whatever bytes a daemon (or
//! something posing as one) sends, the reply decoders give an answer or an
//! error, never a panic, and a session ends — answer or error — within its
//! deadline.

mod fake_daemon;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_daemon::{read_call, reply_frame, FakeDaemon, FAKE_URI};
use proptest::prelude::*;
use virtualdomain::controller::rpc::session::Session;
use virtualdomain::controller::rpc::wire::{
    frame_call, message_len, parse_error, parse_message, Decoder, DomainRef, Procedure,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_message(&bytes);
        let _ = parse_error(&bytes);
        let _ = DomainRef::decode(&mut Decoder::new(&bytes));
        if let Some(word) = bytes.first_chunk::<4>() {
            if let Ok(len) = message_len(*word) {
                prop_assert!(len >= 28);
            }
        }
        let mut d = Decoder::new(&bytes);
        while d.opt_string().is_ok() && d.u64().is_ok() {}
    }

    #[test]
    fn decoders_survive_plausible_lengths(
        len in prop_oneof![Just(0u32), Just(u32::MAX), 0u32..64, any::<u32>()],
        tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        // a string or opaque whose length word points anywhere
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend_from_slice(&tail);
        let _ = Decoder::new(&bytes).string();
        let _ = DomainRef::decode(&mut Decoder::new(&bytes));
        let mut error = vec![0, 0, 0, 42, 0, 0, 0, 10, 0, 0, 0, 1];
        error.extend_from_slice(&bytes);
        let _ = parse_error(&error);
    }

    #[test]
    fn a_framed_call_parses_back(serial: u32, body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let frame = frame_call(Procedure::DomainGetState, serial, &body);
        let word = [frame[0], frame[1], frame[2], frame[3]];
        prop_assert_eq!(message_len(word), Ok(frame.len()));
        let (header, parsed_body) = parse_message(&frame[4..]).unwrap();
        prop_assert_eq!(header.serial, serial);
        prop_assert_eq!(header.procedure, Procedure::DomainGetState as u32);
        prop_assert_eq!(parsed_body, &body[..]);
    }
}

/// One piece of what the fake daemon sends after a call.
#[derive(Debug, Clone)]
enum Piece {
    /// Raw bytes.
    Raw(Vec<u8>),
    /// A reply frame for the call, perhaps with another serial, procedure
    /// or status, around any body.
    Frame {
        serial_offset: u32,
        procedure: Option<u32>,
        status: u32,
        body: Vec<u8>,
    },
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..48).prop_map(Piece::Raw),
        (
            prop_oneof![3 => Just(0u32), 1 => 1u32..3],
            proptest::option::weighted(0.2, any::<u32>()),
            prop_oneof![4 => Just(0u32), 1 => 1u32..4],
            proptest::collection::vec(any::<u8>(), 0..48),
        )
            .prop_map(|(serial_offset, procedure, status, body)| Piece::Frame {
                serial_offset,
                procedure,
                status,
                body,
            }),
    ]
}

/// The session's deadline in these cases.
const DEADLINE: Duration = Duration::from_millis(300);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_session_ends_within_its_deadline_whatever_the_daemon_sends(
        pieces in proptest::collection::vec(piece(), 1..6),
        hang_up in any::<bool>(),
    ) {
        let pieces = Arc::new(pieces);
        let script = Arc::clone(&pieces);
        let daemon = FakeDaemon::serving(move |mut stream| {
            for piece in script.iter() {
                let Some(call) = read_call(&mut stream) else { return };
                let bytes = match piece {
                    Piece::Raw(bytes) => bytes.clone(),
                    Piece::Frame { serial_offset, procedure, status, body } => reply_frame(
                        procedure.unwrap_or(call.procedure),
                        call.serial.wrapping_add(*serial_offset),
                        *status,
                        body,
                    ),
                };
                if stream.write_all(&bytes).is_err() {
                    return;
                }
            }
            if !hang_up {
                std::thread::sleep(DEADLINE * 4);
            }
        });
        let t = Instant::now();
        let outcome = Session::connect(&daemon.socket(), t + DEADLINE).and_then(|mut s| {
            s.open(FAKE_URI)?;
            let dom = s.lookup("test")?;
            s.state(&dom)
        });
        let took = t.elapsed();
        prop_assert!(took < DEADLINE * 2, "{outcome:?} after {took:?}");
    }
}
