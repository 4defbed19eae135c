//! The wire format against byte strings written out by hand from
//! libvirt's `remote_protocol.x` / `virnetprotocol.x` and RFC 4506.

use super::*;

#[test]
fn strings_are_length_prefixed_and_padded_to_four_bytes() {
    let bytes = Encoder::default()
        .string("vm1")
        .string("")
        .string("abcd")
        .finish();
    assert_eq!(
        bytes,
        [
            0, 0, 0, 3, b'v', b'm', b'1', 0, // "vm1" + 1 pad byte
            0, 0, 0, 0, // ""
            0, 0, 0, 4, b'a', b'b', b'c', b'd', // no padding
        ]
    );
    let mut d = Decoder::new(&bytes);
    assert_eq!(d.string().unwrap(), "vm1");
    assert_eq!(d.string().unwrap(), "");
    assert_eq!(d.string().unwrap(), "abcd");
    assert!(d.u32().is_err(), "nothing left");
}

#[test]
fn optional_string_has_a_presence_word() {
    let some = Encoder::default()
        .opt_string(Some("qemu:///system"))
        .finish();
    assert_eq!(&some[..8], &[0, 0, 0, 1, 0, 0, 0, 14]);
    assert_eq!(some.len(), 4 + 4 + 16);
    assert_eq!(Encoder::default().opt_string(None).finish(), [0, 0, 0, 0]);
}

#[test]
fn a_call_frame_is_length_then_six_header_words() {
    let frame = frame_call(Procedure::AuthList, 1, &[]);
    assert_eq!(
        frame,
        [
            0, 0, 0, 28, // length, itself included
            0x20, 0x00, 0x80, 0x86, // REMOTE_PROGRAM
            0, 0, 0, 1, // protocol version
            0, 0, 0, 66, // REMOTE_PROC_AUTH_LIST
            0, 0, 0, 0, // VIR_NET_CALL
            0, 0, 0, 1, // serial
            0, 0, 0, 0, // VIR_NET_OK
        ]
    );
    let with_body = frame_call(Procedure::DomainGetState, 7, &[1, 2, 3, 4]);
    assert_eq!(&with_body[..4], &[0, 0, 0, 32]);
    assert_eq!(&with_body[12..16], &[0, 0, 0, 212]);
    assert_eq!(&with_body[28..], &[1, 2, 3, 4]);
}

#[test]
fn message_length_is_bounded() {
    assert_eq!(message_len([0, 0, 0, 28]), Ok(28));
    assert!(message_len([0, 0, 0, 27]).is_err(), "shorter than a header");
    assert!(message_len([0xff, 0, 0, 0]).is_err(), "absurdly long");
}

#[test]
fn reply_header_and_body_are_split() {
    let msg = [
        0x20, 0x00, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 212, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0,
        0, // header
        0, 0, 0, 1, 0, 0, 0, 5, // state RUNNING, reason 5
    ];
    let (h, body) = parse_message(&msg).unwrap();
    assert_eq!(
        h,
        Header {
            program: PROGRAM,
            version: 1,
            procedure: 212,
            kind: TYPE_REPLY,
            serial: 9,
            status: STATUS_OK
        }
    );
    let mut d = Decoder::new(body);
    assert_eq!((d.i32().unwrap(), d.i32().unwrap()), (1, 5));
    assert!(parse_message(&msg[..20]).is_err());
}

#[test]
fn remote_error_gives_code_domain_and_message() {
    // remote_error for "Domain not found": code 42 (VIR_ERR_NO_DOMAIN),
    // domain 10 (VIR_FROM_QEMU), message, level 2, dom NULL, str1 present,
    // str2/str3 NULL, int1 -1, int2 -1, net NULL.
    let msg = "Domain not found: no domain with matching name 'x'";
    let mut body = Encoder::default()
        .i32(42)
        .i32(10)
        .opt_string(Some(msg))
        .i32(2)
        .u32(0)
        .opt_string(Some("x"))
        .u32(0)
        .u32(0)
        .i32(-1)
        .i32(-1)
        .u32(0)
        .finish();
    let err = parse_error(&body).unwrap();
    assert_eq!(
        err,
        RemoteError {
            code: ERR_NO_DOMAIN,
            domain: 10,
            message: msg.into()
        }
    );
    body.truncate(10);
    assert!(parse_error(&body).is_err(), "truncated error body");
}

#[test]
fn domain_reference_round_trips() {
    let dom = DomainRef {
        name: "vm-01".into(),
        uuid: (0u8..16).collect(),
        id: 3,
    };
    let bytes = dom.encode(Encoder::default()).finish();
    assert_eq!(bytes.len(), 4 + 8 + 16 + 4);
    assert_eq!(&bytes[..9], &[0, 0, 0, 5, b'v', b'm', b'-', b'0', b'1']);
    assert_eq!(&bytes[28..], &[0, 0, 0, 3]);
    assert_eq!(DomainRef::decode(&mut Decoder::new(&bytes)).unwrap(), dom);
}

#[test]
fn unsigned_hyper_is_two_big_endian_words() {
    let bytes = [0, 0, 0, 1, 0, 0, 0, 2];
    assert_eq!(Decoder::new(&bytes).u64().unwrap(), (1 << 32) | 2);
}
