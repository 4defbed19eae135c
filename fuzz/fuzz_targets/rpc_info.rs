//! The reply to `virDomainGetInfo` (procedure 16, serial 4), after a
//! healthy open and lookup.
use virtualdomain_fuzz::after_lookup;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = after_lookup(data, |s, dom| s.info(dom));
    });
}
