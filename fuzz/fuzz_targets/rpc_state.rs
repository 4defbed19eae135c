//! The reply to `virDomainGetState` (procedure 212, serial 4), after a
//! healthy open and lookup.
use virtualdomain::controller::DomainState;
use virtualdomain_fuzz::after_lookup;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Some(Ok(raw)) = after_lookup(data, |s, dom| s.state(dom)) {
            let _ = DomainState::from_raw(raw);
        }
    });
}
