//! The `migrate_options` parameter (virsh migrate options, `--migrateuri=`
//! included) as the migration settings read it.
use virtualdomain::request::migration_settings::migration_settings;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Some((params, _)) = virtualdomain_fuzz::params_with("migrate_options", data) {
            let _ = migration_settings(&params);
        }
    });
}
