//! The `migration_mapping` parameter (`node:host,...`) and the host it
//! gives for a node.
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
        let env = Env::from_pairs([("OCF_RESKEY_migration_mapping", text)]);
        if let Ok(settings) = migration_settings(&Params::from_env(&env)) {
            for node in text.split([',', ':']) {
                let _ = settings.host_for(node.trim());
            }
        }
    });
}
