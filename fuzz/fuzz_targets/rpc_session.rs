//! The whole conversation of the direct state query (auth list, open,
//! lookup, state, info, live XML) against a daemon sending the fuzzer's
//! bytes: framing, headers, skipped stray messages, error replies.
use virtualdomain::domain_xml::DomainConfig;
use virtualdomain_fuzz::{with_daemon_bytes, DOMAIN};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = with_daemon_bytes(&[], data, |s| {
            s.open("qemu:///system")?;
            let dom = s.lookup(DOMAIN)?;
            s.state(&dom)?;
            s.info(&dom)?;
            let xml = s.xml_desc(&dom)?;
            let _ = DomainConfig::parse(&xml);
            Ok(())
        });
    });
}
