//! A domain's XML as the agent reads it from the `config` file: every
//! field, the sizes utilization derives, and the UUID insertion of start.
use virtualdomain::domain_sizes::{max_memory_kib, vcpus};
use virtualdomain::domain_xml::{with_uuid, DomainConfig};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(xml) = std::str::from_utf8(data) else {
            return;
        };
        let config = DomainConfig::parse(xml);
        let _ = config.emulator_basename();
        let _ = vcpus(&config);
        let _ = max_memory_kib(&config);
        if let Some(with) = with_uuid(xml, "5a5a5a5a-5a5a-5a5a-5a5a-5a5a5a5a5a5a") {
            let _ = DomainConfig::parse(&with);
        }
    });
}
