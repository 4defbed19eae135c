//! The `migration_mapping` parameter (`node:host,...`) and the host it
//! gives for a node.
use virtualdomain::request::migration_settings::migration_settings;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((params, text)) = virtualdomain_fuzz::params_with("migration_mapping", data)
        else {
            return;
        };
        if let Ok(settings) = migration_settings(&params) {
            for node in text.split([',', ':']) {
                let _ = settings.host_for(node.trim());
            }
        }
    });
}
