//! The XML libvirt reads from a saved state file (`virDomainSaveImage
//! GetXMLDesc`), read as snapshot_image::check reads it: name, UUID, disks.
use virtualdomain::domain_xml::DomainConfig;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(xml) = std::str::from_utf8(data) else {
            return;
        };
        let image = DomainConfig::parse(xml);
        let _ = image.name.as_deref() == Some("vm1");
        let _ = image.uuid.as_deref().map(|u| u.eq_ignore_ascii_case("x"));
        for disk in &image.disk_files {
            let _ = std::fs::metadata(disk).is_ok();
        }
    });
}
