//! The reply to `virDomainGetState` (procedure 212, serial 4), after a
//! healthy open and lookup: the state and the reason libvirt gives for it.
use virtualdomain::controller::{DomainState, StateDetail};
use virtualdomain::guest::pause::PauseCause;
use virtualdomain_fuzz::after_lookup;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Some(Ok((raw, reason))) = after_lookup(data, |s, dom| s.state(dom)) {
            let state = DomainState::from_raw(raw);
            // the level-10 monitor's reading of the reason
            let _ = PauseCause::of(StateDetail { state, reason });
        }
    });
}
