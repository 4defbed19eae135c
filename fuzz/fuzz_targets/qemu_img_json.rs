//! `qemu-img info --output=json` as the backing-file code reads it
//! (`guest_data::backing::parse_image_info`: top-level fields only, serde_json).
use virtualdomain::guest_data::backing::parse_image_info;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(json) = std::str::from_utf8(data) {
            if let Ok(info) = parse_image_info(json) {
                // a parsed format is a top-level string field of the document
                assert!(json.contains(&info.format));
            }
        }
    });
}
