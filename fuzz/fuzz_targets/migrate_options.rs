//! The `migrate_options` parameter (virsh migrate options, `--migrateuri=`
//! included) as the migration settings read it.
use virtualdomain::request::migration_settings::migration_settings;
use virtualdomain::ocf::Env;
use virtualdomain::params::Params;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        if text.contains('\0') {
            return; // an environment variable cannot hold one
        }
        let env = Env::from_pairs([("OCF_RESKEY_migrate_options", text)]);
        let _ = migration_settings(&Params::from_env(&env));
    });
}
