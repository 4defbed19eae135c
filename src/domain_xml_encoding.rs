//! The domain XML as libvirt would read it, whatever its encoding.
//!
//! libvirt parses the file with libxml2, which honours the document's
//! encoding declaration (and a byte-order mark): a config declared
//! `encoding="ISO-8859-1"` with a non-ASCII description starts with the
//! anchor. This agent hands libvirt a Rust string (UTF-8), so the document
//! is decoded here and its declaration rewritten to say UTF-8 (libxml2
//! would otherwise decode the UTF-8 bytes a second time). Handled: UTF-8
//! (with or without its mark), US-ASCII, ISO-8859-1 (Latin-1) and UTF-16
//! (either byte order, by mark or declaration); any other encoding is an
//! error with a reason, never a guess.

/// Decodes `bytes` (a whole XML document) into the text libvirt would read,
/// with any encoding declaration changed to UTF-8.
pub fn decode_document(bytes: &[u8]) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest, "UTF-8").map(|t| redeclare(&t));
    }
    let utf16 = match bytes {
        [0xFF, 0xFE, rest @ ..] => Some((rest, false)),
        [0xFE, 0xFF, rest @ ..] => Some((rest, true)),
        [b'<', 0, b'?', 0, ..] => Some((bytes, false)),
        [0, b'<', 0, b'?', ..] => Some((bytes, true)),
        _ => None,
    };
    if let Some((rest, big_endian)) = utf16 {
        return utf16_text(rest, big_endian).map(|t| redeclare(&t));
    }
    let declared = declared_encoding(bytes);
    let label = declared.as_deref().unwrap_or("UTF-8");
    let text = match label.to_ascii_uppercase().as_str() {
        "UTF-8" | "UTF8" => utf8(bytes, label)?,
        "US-ASCII" | "ASCII" => {
            if let Some(at) = bytes.iter().position(|b| !b.is_ascii()) {
                return Err(format!(
                    "byte {at} is not ASCII, but the document declares encoding \"{label}\""
                ));
            }
            utf8(bytes, label)?
        }
        "ISO-8859-1" | "ISO_8859-1" | "ISO8859-1" | "LATIN1" | "LATIN-1" | "L1" | "ISO-LATIN-1"
        | "CP819" | "IBM819" => bytes.iter().map(|&b| char::from(b)).collect(),
        "UTF-16" | "UTF-16LE" | "UTF-16BE" => {
            return Err(format!(
                "the document declares encoding \"{label}\" but is not UTF-16 (no \
                 byte-order mark, ASCII declaration)"
            ));
        }
        _ => {
            return Err(format!(
                "encoding \"{label}\" declared by the document is not supported by this \
                 agent (UTF-8, US-ASCII, ISO-8859-1 and UTF-16 are): convert it to UTF-8"
            ))
        }
    };
    Ok(if declared.is_some() {
        redeclare(&text)
    } else {
        text
    })
}

fn utf8(bytes: &[u8], label: &str) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        format!(
            "not valid {label} at byte {} (declare the document's real encoding, e.g. \
             <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>)",
            e.utf8_error().valid_up_to()
        )
    })
}

fn utf16_text(bytes: &[u8], big_endian: bool) -> Result<String, String> {
    if !bytes.len().is_multiple_of(2) {
        return Err("not valid UTF-16: an odd number of bytes".into());
    }
    let units = bytes.chunks_exact(2).map(|p| {
        if big_endian {
            u16::from_be_bytes([p[0], p[1]])
        } else {
            u16::from_le_bytes([p[0], p[1]])
        }
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|e| format!("not valid UTF-16: {e}"))
}

/// The XML declaration at the very start of `text`: its byte range.
fn declaration(text: &[u8]) -> Option<std::ops::Range<usize>> {
    if !text.starts_with(b"<?xml") || !text.get(5).is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    let end = text.windows(2).position(|w| w == b"?>")?;
    Some(0..end + 2)
}

/// The `encoding` pseudo-attribute of the declaration: its value's range.
fn encoding_value(text: &[u8]) -> Option<std::ops::Range<usize>> {
    let decl = declaration(text)?;
    let body = &text[decl.clone()];
    let at = body.windows(8).position(|w| w == b"encoding")?;
    let mut i = at + 8;
    while body.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if body.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while body.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let quote = *body.get(i).filter(|q| **q == b'"' || **q == b'\'')?;
    let start = i + 1;
    let len = body[start..].iter().position(|&b| b == quote)?;
    Some(start..start + len)
}

fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let range = encoding_value(bytes)?;
    Some(String::from_utf8_lossy(&bytes[range]).into_owned())
}

/// `text` with its declared encoding (if any) changed to UTF-8.
fn redeclare(text: &str) -> String {
    match encoding_value(text.as_bytes()) {
        Some(range) => format!("{}UTF-8{}", &text[..range.start], &text[range.end..]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATIN1: &[u8] = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<domain><name>vm1</name><description>Caf\xE9 \xFC</description></domain>\n";

    #[test]
    fn latin1_is_decoded_and_declared_utf8() {
        let text = decode_document(LATIN1).unwrap();
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<domain><name>vm1</name>\
             <description>Café ü</description></domain>\n"
        );
        let single = b"<?xml version='1.0' encoding = 'latin1' ?><domain>\xE9</domain>";
        assert_eq!(
            decode_document(single).unwrap(),
            "<?xml version='1.0' encoding = 'UTF-8' ?><domain>é</domain>"
        );
    }

    #[test]
    fn utf16_either_order_with_or_without_a_mark() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><domain>Café</domain>";
        let want = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><domain>Café</domain>";
        let le: Vec<u8> = doc.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = doc.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for bytes in [
            [&[0xFF, 0xFE][..], &le].concat(),
            [&[0xFE, 0xFF][..], &be].concat(),
            le.clone(),
            be,
        ] {
            assert_eq!(decode_document(&bytes).unwrap(), want);
        }
        assert!(decode_document(&le[1..]).is_err());
    }

    #[test]
    fn utf8_stays_as_it_is() {
        let doc = "<domain><description>Café</description></domain>";
        assert_eq!(decode_document(doc.as_bytes()).unwrap(), doc);
        let bom = [b"\xEF\xBB\xBF".as_slice(), doc.as_bytes()].concat();
        assert_eq!(decode_document(&bom).unwrap(), doc);
        let declared = "<?xml version=\"1.0\" encoding=\"utf-8\"?><domain>é</domain>";
        assert_eq!(
            decode_document(declared.as_bytes()).unwrap(),
            declared.replace("utf-8", "UTF-8")
        );
    }

    #[test]
    fn what_cannot_be_decoded_says_why() {
        let undeclared = b"<domain><description>Caf\xE9</description></domain>";
        let why = decode_document(undeclared).unwrap_err();
        assert!(why.contains("not valid UTF-8 at byte 24"), "{why}");
        let unknown = b"<?xml version=\"1.0\" encoding=\"KOI8-R\"?><domain/>";
        let why = decode_document(unknown).unwrap_err();
        assert!(
            why.contains("\"KOI8-R\"") && why.contains("not supported"),
            "{why}"
        );
        let ascii = b"<?xml version=\"1.0\" encoding=\"US-ASCII\"?><domain>\xE9</domain>";
        assert!(decode_document(ascii).unwrap_err().contains("not ASCII"));
    }
}
