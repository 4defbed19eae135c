//! Steps of the guest's life here that several actions share: bringing it
//! up and waiting until it runs ([`arrival`], for start and migrate_from)
//! and the housekeeping after every successful look at it
//! ([`housekeeping`], for monitor, reload-agent and start).

pub mod arrival;
pub mod housekeeping;
