//! The reply to `virDomainGetXMLDesc` (procedure 14, serial 4), after a
//! healthy open and lookup, and the live XML it carries read as the agent
//! reads it (the emulator of a running domain).
use virtualdomain::domain_xml::DomainConfig;
use virtualdomain_fuzz::after_lookup;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Some(Ok(xml)) = after_lookup(data, |s, dom| s.xml_desc(dom)) {
            let config = DomainConfig::parse(&xml);
            let _ = config.emulator_basename();
        }
    });
}
