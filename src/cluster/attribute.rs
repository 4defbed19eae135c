//! What should happen to one utilization attribute, shared by the
//! decision ([`super::utilization`]) and the two ways of writing it
//! ([`super::cib_write`], [`super::crm_resource`]).

/// What should happen to one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Set(u64),
    Delete,
}

/// Whether the CIB's value `now` is what is wanted.
pub fn in_cib(want: &Wanted, now: Option<&str>) -> bool {
    match (want, now) {
        (Wanted::Set(n), Some(text)) => text.trim().parse::<u64>().ok() == Some(*n),
        (Wanted::Delete, None) => true,
        _ => false,
    }
}
