//! `qemu-img info --output=json` as the backing-file code reads it.
//! MERGE NOTE: engineer `data` is replacing this parser (serde_json, in
//! src/actions/backing.rs, e.g. `backing::parse_image_info`): point this
//! target at the new function; the corpus stays valid.
use virtualdomain::actions::backing::image_format;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(json) = std::str::from_utf8(data) {
            let _ = image_format(json);
        }
    });
}
