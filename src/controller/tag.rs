//! The agent's mark in a domain's live definition: a `<metadata>` element
//! in the agent's own namespace naming the Pacemaker resource instance and
//! its config path.
//!
//! Why it exists: a node that cannot read the config file (shared mount
//! missing, issue #1231) cannot learn the domain's name from it, yet the
//! guest may run there (live-migrated in, or left over). libvirt carries a
//! domain's metadata through live migration and save/restore, so the mark
//! set at start reaches every node the guest runs on, and the domain can be
//! found by its resource instead of its name. The user's config file is
//! never touched: the mark lives in libvirt's definition only.
//!
//! The mark travels with every copy made from the definition (`virsh
//! dumpxml | virsh define`, `virt-clone`, a persistent definition left
//! behind when `config` changed), so it also records the one domain it was
//! written for (name and UUID): a copy carries a mark that does not match
//! its own name and UUID, and is never taken for the resource.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};

/// The namespace of the element (libvirt keys metadata by namespace URI).
pub const NAMESPACE: &str = "http://ocf-rust-virtualdomain/resource/1";
/// The namespace prefix libvirt writes the element with.
pub const PREFIX: &str = "vd";
/// The element's local name.
const ELEMENT: &str = "resource";

/// Which resource manages a domain, as recorded in its definition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceTag {
    /// `OCF_RESOURCE_INSTANCE` of the resource that started the domain.
    pub instance: String,
    /// The `config` parameter it started the domain from.
    pub config: String,
    /// The name of the domain the tag was written into (empty: a tag of
    /// an older version, which identifies nothing).
    pub name: String,
    /// That domain's UUID (empty likewise).
    pub uuid: String,
}

impl ResourceTag {
    /// The element as `virDomainSetMetadata` takes it (namespace and
    /// prefix are given to libvirt separately).
    pub fn to_xml(&self) -> String {
        format!(
            "<{ELEMENT} instance=\"{}\" config=\"{}\" name=\"{}\" uuid=\"{}\"/>",
            escape(self.instance.as_str()),
            escape(self.config.as_str()),
            escape(self.name.as_str()),
            escape(self.uuid.as_str())
        )
    }

    /// This tag written for the domain `name` with `uuid`.
    pub fn for_domain(&self, name: &str, uuid: &str) -> ResourceTag {
        ResourceTag {
            name: name.to_string(),
            uuid: uuid.to_string(),
            ..self.clone()
        }
    }

    /// Whether the tag was written into the domain it is found in (not
    /// carried into a copy): it names that domain's name and UUID.
    pub fn identifies(&self, name: &str, uuid: &str) -> bool {
        !self.uuid.is_empty() && self.uuid.eq_ignore_ascii_case(uuid) && self.name == name
    }

    /// Reads the element `virDomainGetMetadata` returns; `None` when it is
    /// not ours or names no instance.
    pub fn parse(xml: &str) -> Option<ResourceTag> {
        let mut reader = Reader::from_str(xml);
        loop {
            match reader.read_event() {
                Ok(Event::Start(e) | Event::Empty(e)) => {
                    if e.local_name().as_ref() != ELEMENT {
                        return None;
                    }
                    let mut tag = ResourceTag::default();
                    for attr in e.attributes().flatten() {
                        let value = attr
                            .normalized_value(XmlVersion::Implicit1_0)
                            .ok()?
                            .into_owned();
                        match attr.key.local_name().as_ref() {
                            "instance" => tag.instance = value,
                            "config" => tag.config = value,
                            "name" => tag.name = value,
                            "uuid" => tag.uuid = value,
                            _ => {}
                        }
                    }
                    return (!tag.instance.is_empty()).then_some(tag);
                }
                Ok(Event::Eof) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

/// `xml` (a domain definition) without this agent's tag, and without the
/// `<metadata>` element when the tag was all it held: what
/// `save_config_on_stop` writes back, so the tag never reaches the user's
/// config file. Unchanged when there is no tag (or the XML is broken).
pub fn without_tag(xml: &str) -> String {
    let Some(tag) = element_range(xml, |path, e| {
        path == ["domain", "metadata"]
            && e.attributes()
                .flatten()
                .any(|a| a.key.as_ref().starts_with("xmlns") && a.value.as_ref() == NAMESPACE)
    }) else {
        return xml.to_string();
    };
    let rest = cut(xml, tag);
    let empty_metadata = element_range(&rest, |path, e| {
        path == ["domain"] && e.name().as_ref() == "metadata"
    })
    .filter(|&(from, to)| {
        let inner = rest.get(from..to).unwrap_or_default();
        let open = inner.find('>').map_or(0, |i| i + 1);
        let close = inner.rfind('<').unwrap_or(inner.len());
        inner.get(open..close).is_some_and(|t| t.trim().is_empty()) || inner.ends_with("/>")
    });
    match empty_metadata {
        Some(range) => cut(&rest, range),
        None => rest,
    }
}

/// `xml` without the bytes `from..to` and the indentation before them.
fn cut(xml: &str, (from, to): (usize, usize)) -> String {
    let head = xml.get(..from).unwrap_or_default();
    let kept = head.trim_end_matches([' ', '\t']);
    let kept = kept.strip_suffix('\n').unwrap_or(kept);
    format!("{kept}{}", xml.get(to..).unwrap_or_default())
}

/// The byte range of the first element whose parents' names are `path`
/// and that `pick` accepts.
fn element_range(
    xml: &str,
    pick: impl Fn(&[String], &quick_xml::events::BytesStart) -> bool,
) -> Option<(usize, usize)> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    loop {
        let from = usize::try_from(reader.buffer_position()).ok()?;
        match reader.read_event() {
            Ok(Event::Empty(e)) if pick(&path, &e) => {
                return Some((from, usize::try_from(reader.buffer_position()).ok()?));
            }
            Ok(Event::Start(e)) if pick(&path, &e) => {
                reader.read_to_end(e.name()).ok()?;
                return Some((from, usize::try_from(reader.buffer_position()).ok()?));
            }
            Ok(Event::Start(e)) => path.push(e.name().as_ref().to_string()),
            Ok(Event::End(_)) => {
                path.pop();
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// A domain libvirt knows here and the tag found in its definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedDomain {
    pub name: String,
    /// The domain's own UUID.
    pub uuid: String,
    /// Whether it runs (an inactive definition is never the running
    /// resource).
    pub active: bool,
    pub tag: ResourceTag,
}

impl TaggedDomain {
    /// Whether its tag was written for this very domain.
    pub fn genuine(&self) -> bool {
        self.tag.identifies(&self.name, &self.uuid)
    }

    /// How it is described in an exit reason (short: Pacemaker keeps 128
    /// bytes).
    pub fn describe(&self) -> String {
        let mut notes = Vec::new();
        if !self.active {
            notes.push("not running".to_string());
        }
        if self.tag.uuid.is_empty() {
            notes.push("tag without UUID".to_string());
        } else if !self.genuine() {
            notes.push(format!("copy of {}'s tag", self.tag.name));
        }
        format!("{} ({})", self.name, notes.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_characters_that_need_escaping() {
        let tag = ResourceTag {
            instance: "vm\"1<&>'".into(),
            config: "/srv/a&b/vm 1.xml".into(),
            name: "vm<1>".into(),
            uuid: "0b9d3f5e-0000-4000-8000-000000000001".into(),
        };
        let xml = tag.to_xml();
        assert!(!xml.contains("a&b"), "{xml}");
        assert_eq!(ResourceTag::parse(&xml), Some(tag));
    }

    #[test]
    fn what_libvirt_returns_is_read() {
        let xml = "<vd:resource xmlns:vd=\"http://ocf-rust-virtualdomain/resource/1\" instance=\"vm1\" config=\"/srv/vm1.xml\"/>";
        assert_eq!(
            ResourceTag::parse(xml),
            Some(ResourceTag {
                instance: "vm1".into(),
                config: "/srv/vm1.xml".into(),
                ..ResourceTag::default()
            })
        );
    }

    #[test]
    fn a_tag_identifies_only_the_domain_it_was_written_for() {
        let old = ResourceTag {
            instance: "vm1".into(),
            ..ResourceTag::default()
        };
        assert!(!old.identifies("vm1", ""), "a tag without a UUID");
        let tag = old.for_domain("vm1", "AB-1");
        assert!(tag.identifies("vm1", "ab-1"));
        assert!(!tag.identifies("vm1-copy", "ab-1"), "another name");
        assert!(!tag.identifies("vm1", "cd-2"), "another UUID");
    }

    const TAG: &str = "<vd:resource xmlns:vd=\"http://ocf-rust-virtualdomain/resource/1\" instance=\"vm1\" config=\"/c\"/>";

    #[test]
    fn the_tag_is_left_out_of_a_saved_config() {
        let alone = format!(
            "<domain type='qemu'>\n  <name>vm1</name>\n  <metadata>\n    {TAG}\n  </metadata>\n  <memory>1</memory>\n</domain>\n"
        );
        assert_eq!(
            without_tag(&alone),
            "<domain type='qemu'>\n  <name>vm1</name>\n  <memory>1</memory>\n</domain>\n"
        );
        let shared = format!(
            "<domain>\n  <metadata>\n    <app:x xmlns:app=\"urn:a\"/>\n    {TAG}\n  </metadata>\n</domain>"
        );
        assert_eq!(
            without_tag(&shared),
            "<domain>\n  <metadata>\n    <app:x xmlns:app=\"urn:a\"/>\n  </metadata>\n</domain>"
        );
        let untagged =
            "<domain>\n  <metadata>\n    <app:x xmlns:app=\"urn:a\"/>\n  </metadata>\n</domain>";
        assert_eq!(without_tag(untagged), untagged);
        assert_eq!(without_tag("not xml"), "not xml");
    }

    #[test]
    fn foreign_or_empty_elements_are_not_tags() {
        assert_eq!(ResourceTag::parse("<other instance=\"vm1\"/>"), None);
        assert_eq!(ResourceTag::parse("<resource config=\"/x\"/>"), None);
        assert_eq!(ResourceTag::parse("<resource instance=\"\"/>"), None);
        assert_eq!(ResourceTag::parse("not xml"), None);
        assert_eq!(ResourceTag::parse(""), None);
    }
}
