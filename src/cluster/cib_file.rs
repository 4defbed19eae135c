//! An offline CIB (`CIB_file`) read without libcib, to see whether the
//! resource's utilization already holds what is wanted.
//!
//! Why it exists: signing on to a file CIB makes libcib load Pacemaker's
//! libraries and validate the whole file against its schemas (137 RelaxNG
//! files read, ≈ 20 ms), which made a probe with utilization on cost 10×
//! a steady monitor although it usually finds every attribute already
//! written. A plain read of the file answers that; libcib is still what
//! changes the CIB, and what reads it whenever this reading is not sure
//! (a compressed or unreadable file, a malformed document, the resource
//! missing or its id used twice): then [`holds`] says no, and the caller
//! goes on to libcib, which gives the real answer or error.
//!
//! The reading is the libcib path's ([`super::cib_write`]): the element
//! whose `id` is the resource's anywhere under `/cib/configuration/
//! resources` (one only), its `utilization` children, their `nvpair`
//! children by `name`.

use std::path::Path;
use std::time::Instant;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::attribute::Wanted;
use super::cib_write::{step, Found, Step};
use crate::request::config_file::read_bytes;

/// The path of the elements that hold resources.
const RESOURCES: [&str; 3] = ["cib", "configuration", "resources"];

/// Whether the offline CIB at `file` already holds every change for
/// resource `id` (each would be a [`Step::Keep`]), read by `until`.
pub fn holds(
    file: &Path,
    id: &str,
    changes: &[(&str, Wanted)],
    fill_only: bool,
    until: Instant,
) -> bool {
    if file.extension().is_some_and(|e| e == "bz2") {
        return false;
    }
    let Ok(bytes) = read_bytes(file, until) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return false;
    };
    let Some(pairs) = utilization_of(text, id) else {
        return false;
    };
    changes.iter().all(|(attr, want)| {
        let values = pairs.iter().filter(|(n, _)| n == attr).map(|(_, v)| v);
        step(want, &Found::of(values.cloned().collect()), fill_only) == Step::Keep
    })
}

/// The (name, value) of every `nvpair` in the `utilization` sets of the
/// one element with id `id` under `/cib/configuration/resources`, in
/// document order (a missing value reads as empty, as in libcib's path);
/// `None` when the document is not well formed, ends early, or holds no
/// such element or more than one.
pub fn utilization_of(text: &str, id: &str) -> Option<Vec<(String, String)>> {
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    // the depth of the resource element while inside it
    let mut inside: Option<usize> = None;
    let (mut found, mut pairs, mut closed_root) = (0usize, Vec::new(), false);
    loop {
        let (start, empty) = match reader.read_event().ok()? {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                path.pop();
                if inside.is_some_and(|depth| path.len() < depth) {
                    inside = None;
                }
                closed_root |= path.is_empty();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        if closed_root {
            return None; // a second root
        }
        let name = start.name().as_ref().to_string();
        let depth = path.len();
        let under_resources =
            depth > RESOURCES.len() - 1 && path.iter().zip(RESOURCES).all(|(p, r)| p == r);
        if under_resources && attribute(&start, "id")?.as_deref() == Some(id) {
            found += 1;
            if !empty {
                inside = Some(depth + 1);
            }
        } else if let Some(at) = inside {
            let parent = path.last().map(String::as_str);
            if depth == at + 1 && name == "nvpair" && parent == Some("utilization") {
                if let Some(attr) = attribute(&start, "name")? {
                    pairs.push((attr, attribute(&start, "value")?.unwrap_or_default()));
                }
            }
        }
        if !empty {
            path.push(name);
        }
    }
    (closed_root && path.is_empty() && found == 1).then_some(pairs)
}

/// An attribute's unescaped value; `None` (outer) when it cannot be read.
fn attribute(start: &BytesStart<'_>, key: &str) -> Option<Option<String>> {
    for attr in start.attributes() {
        let attr = attr.ok()?;
        if attr.key.as_ref() == key {
            return Some(Some(
                attr.normalized_value(XmlVersion::Implicit1_0)
                    .ok()?
                    .into_owned(),
            ));
        }
    }
    Some(None)
}

#[cfg(test)]
#[path = "cib_file_tests.rs"]
mod tests;
