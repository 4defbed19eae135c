//! An offline CIB (`CIB_file`) as the agent reads it before deciding whether
//! libcib is needed (`cluster::cib_file`): whatever the file holds, the
//! reading ends, never panics, and every pair it returns is an nvpair of the text.
use virtualdomain::cluster::cib_file::utilization_of;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let pairs = utilization_of(text, "vm");
        if let Some(pairs) = &pairs {
            // each pair is an nvpair element of the text (a name that
            // cannot be written escaped)
            assert!(pairs.len() <= text.matches("<nvpair").count(), "{pairs:?}");
        }
        assert_eq!(utilization_of(text, "vm"), pairs, "the same text, another reading");
    });
}
