//! What the agent reads from the domain's libvirt XML (`config`).
//!
//! A real XML parser, not the anchor's line regex: the name is the text of
//! the top-level `/domain/name` with entities decoded, so one-line XML and
//! `<metadata>` blocks with their own `<name>` elements work. A file without
//! a name still fails as the anchor's does ("Unable to determine domain name").

use std::collections::BTreeSet;

#[path = "domain_xml_encoding.rs"]
mod encoding;
pub use encoding::decode_document;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// The facts the agent needs from a domain definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainConfig {
    /// `/domain/name`, `None` when missing or empty.
    pub name: Option<String>,
    /// `/domain/uuid`.
    pub uuid: Option<String>,
    /// `/domain/@type` (qemu, kvm, lxc, xen, test, ...).
    pub domain_type: Option<String>,
    /// `/domain/devices/emulator` (used to find the process without libvirt).
    pub emulator: Option<String>,
    /// Every `pool` attribute (storage pools the domain uses), sorted, unique.
    pub pools: BTreeSet<String>,
    /// Every `network` attribute (libvirt networks the domain uses), sorted, unique.
    pub networks: BTreeSet<String>,
    /// `/domain/devices/disk/source/@file`: the disk images (in order).
    pub disk_files: Vec<String>,
    /// A `/domain/devices/channel/target` named [`GUEST_AGENT_CHANNEL`]:
    /// the domain has a qemu guest agent channel.
    pub guest_agent_channel: bool,
    /// The first top-level `/domain/vcpu`: its text and `current` attribute,
    /// as written (`None`: no such element). See [`crate::domain_sizes`].
    pub vcpu: Option<SizeElement>,
    /// The first top-level `/domain/memory`: its text and `unit` attribute,
    /// as written (`None`: no such element). See [`crate::domain_sizes`].
    pub memory: Option<SizeElement>,
}

/// A size element as written: its text (not trimmed: libvirt is strict
/// about what follows the number) and its one attribute that matters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SizeElement {
    pub text: String,
    /// `current` of `<vcpu>`, `unit` of `<memory>`.
    pub attr: Option<String>,
}

/// Where a text value goes while we are inside its element.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Uuid,
    Emulator,
    Vcpu,
    Memory,
}

fn field_at(path: &[String]) -> Option<Field> {
    match path {
        [d, n] if d == "domain" && n == "name" => Some(Field::Name),
        [d, n] if d == "domain" && n == "uuid" => Some(Field::Uuid),
        [d, n] if d == "domain" && n == "vcpu" => Some(Field::Vcpu),
        [d, n] if d == "domain" && n == "memory" => Some(Field::Memory),
        [d, v, e] if d == "domain" && v == "devices" && e == "emulator" => Some(Field::Emulator),
        _ => None,
    }
}

/// The virtio-serial channel name of the qemu guest agent.
pub const GUEST_AGENT_CHANNEL: &str = "org.qemu.guest_agent.0";

impl DomainConfig {
    /// Parses the XML text. Never fails: what could not be read stays
    /// `None`, and parsing stops at the first syntax error (values read
    /// before it are kept).
    pub fn parse(xml: &str) -> DomainConfig {
        let mut cfg = DomainConfig::default();
        let mut reader = Reader::from_str(xml);
        let mut path: Vec<String> = Vec::new();
        let mut text = String::new();
        // the attribute of the size element being read (`current`, `unit`)
        let mut size_attr = None;
        loop {
            let event = match reader.read_event() {
                Ok(Event::Eof) | Err(_) => break,
                Ok(ev) => ev,
            };
            match event {
                Event::Start(e) => {
                    cfg.note_attributes(&e, &path);
                    path.push(e.name().as_ref().to_string());
                    text.clear();
                    if let Some(field) = field_at(&path) {
                        size_attr = size_attribute(&e, field);
                    }
                }
                Event::Empty(e) => {
                    cfg.note_attributes(&e, &path);
                    path.push(e.name().as_ref().to_string());
                    if let Some(field) = field_at(&path) {
                        cfg.set(field, String::new(), size_attribute(&e, field));
                    }
                    path.pop();
                }
                Event::Text(t) if field_at(&path).is_some() => {
                    text.push_str(&t.xml_content(XmlVersion::Implicit1_0));
                }
                Event::CData(t) if field_at(&path).is_some() => {
                    text.push_str(&t.xml_content(XmlVersion::Implicit1_0));
                }
                Event::GeneralRef(r) if field_at(&path).is_some() => match r.resolve_char_ref() {
                    Ok(Some(c)) => text.push(c),
                    Ok(None) => text.push_str(resolve_predefined_entity(&r).unwrap_or("")),
                    Err(_) => {}
                },
                Event::End(_) => {
                    if let Some(field) = field_at(&path) {
                        cfg.set(field, std::mem::take(&mut text), size_attr.take());
                    }
                    path.pop();
                }
                _ => {}
            }
        }
        cfg
    }

    fn set(&mut self, field: Field, value: String, attr: Option<String>) {
        let slot = match field {
            Field::Name => &mut self.name,
            Field::Uuid => &mut self.uuid,
            Field::Emulator => &mut self.emulator,
            // libvirt reads `./vcpu[1]`, `./memory[1]`: the first, even empty
            Field::Vcpu | Field::Memory => {
                let slot = match field {
                    Field::Vcpu => &mut self.vcpu,
                    _ => &mut self.memory,
                };
                if slot.is_none() {
                    *slot = Some(SizeElement { text: value, attr });
                }
                return;
            }
        };
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value);
        }
    }

    fn note_attributes(&mut self, e: &BytesStart, parents: &[String]) {
        let is_root = parents.is_empty();
        let disk_source = e.name().as_ref() == "source"
            && matches!(parents, [d, v, k] if d == "domain" && v == "devices" && k == "disk");
        let channel_target = e.name().as_ref() == "target"
            && matches!(parents, [d, v, c] if d == "domain" && v == "devices" && c == "channel");
        for attr in e.attributes().flatten() {
            let Ok(value) = attr.normalized_value(XmlVersion::Implicit1_0) else {
                continue;
            };
            match attr.key.as_ref() {
                "pool" => {
                    self.pools.insert(value.into_owned());
                }
                "network" => {
                    self.networks.insert(value.into_owned());
                }
                "file" if disk_source => self.disk_files.push(value.into_owned()),
                "name" if channel_target && value == GUEST_AGENT_CHANNEL => {
                    self.guest_agent_channel = true;
                }
                "type" if is_root && e.name().as_ref() == "domain" => {
                    self.domain_type = Some(value.into_owned());
                }
                _ => {}
            }
        }
    }

    /// The emulator's file name (`qemu-system-x86_64`, `libvirt_lxc`, ...).
    pub fn emulator_basename(&self) -> Option<&str> {
        basename(self.emulator.as_deref()?)
    }
}

/// The attribute of a size element that libvirt reads with it.
fn size_attribute(e: &BytesStart, field: Field) -> Option<String> {
    let key = match field {
        Field::Vcpu => "current",
        Field::Memory => "unit",
        _ => return None,
    };
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| a.normalized_value(XmlVersion::Implicit1_0).ok())
        .map(|v| v.into_owned())
}

/// `xml` with `<uuid>` added as the root element's first child (libvirt
/// reads elements by path, in any order); `None` when there is no root.
pub fn with_uuid(xml: &str, uuid: &str) -> Option<String> {
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => break,
            Ok(Event::Eof) | Err(_) | Ok(Event::Empty(_)) => return None,
            Ok(_) => {}
        }
    }
    let at = usize::try_from(reader.buffer_position()).ok()?;
    let (head, tail) = (xml.get(..at)?, xml.get(at..)?);
    Some(format!("{head}\n  <uuid>{uuid}</uuid>{tail}"))
}

/// The last path component, `None` for an empty one.
pub fn basename(path: &str) -> Option<&str> {
    path.rsplit('/').next().filter(|b| !b.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_element_per_line() {
        let cfg = DomainConfig::parse(
            "<domain type='qemu'>\n  <name>vm1</name>\n  <uuid>u-1</uuid>\n  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n  </devices>\n</domain>\n",
        );
        assert_eq!(cfg.name.as_deref(), Some("vm1"));
        assert_eq!(cfg.uuid.as_deref(), Some("u-1"));
        assert_eq!(cfg.domain_type.as_deref(), Some("qemu"));
        assert_eq!(cfg.emulator_basename(), Some("qemu-system-x86_64"));
    }

    #[test]
    fn one_line_xml_and_metadata_names() {
        let xml = "<domain type='kvm'><name>vm1</name><metadata><app:x xmlns:app='urn:a'><name>decoy</name></app:x><name>decoy2</name></metadata></domain>";
        assert_eq!(DomainConfig::parse(xml).name.as_deref(), Some("vm1"));
    }

    #[test]
    fn entities_are_decoded() {
        let cfg = DomainConfig::parse("<domain><name>web&amp;db-&#x31;&#50;</name></domain>");
        assert_eq!(cfg.name.as_deref(), Some("web&db-12"));
    }

    #[test]
    fn missing_or_empty_name_is_none() {
        assert_eq!(
            DomainConfig::parse("<domain><uuid>x</uuid></domain>").name,
            None
        );
        assert_eq!(
            DomainConfig::parse("<domain><name></name></domain>").name,
            None
        );
        assert_eq!(DomainConfig::parse("").name, None);
        assert_eq!(DomainConfig::parse("not xml at all").name, None);
        assert_eq!(
            DomainConfig::parse("<network><name>n</name></network>").name,
            None
        );
    }

    #[test]
    fn a_uuid_is_added_under_the_root() {
        let xml = "<?xml version='1.0'?><domain type='qemu'><name>a</name></domain>";
        let with = with_uuid(xml, "u-1").unwrap();
        assert_eq!(DomainConfig::parse(&with).uuid.as_deref(), Some("u-1"));
        assert_eq!(DomainConfig::parse(&with).name.as_deref(), Some("a"));
        assert_eq!(with_uuid("not xml", "u"), None);
    }

    #[test]
    fn a_guest_agent_channel_is_noticed() {
        let with = "<domain><devices><channel type='unix'>\
                    <target type='virtio' name='org.qemu.guest_agent.0'/></channel>\
                    </devices></domain>";
        assert!(DomainConfig::parse(with).guest_agent_channel);
        let other = "<domain><devices><channel type='pty'>\
                     <target type='virtio' name='com.redhat.spice.0'/></channel>\
                     <serial><target name='org.qemu.guest_agent.0'/></serial></devices></domain>";
        assert!(!DomainConfig::parse(other).guest_agent_channel);
    }

    #[test]
    fn disk_files_are_collected() {
        let xml = "<domain><name>a</name><devices><disk type='file'><source file='/a.img'/></disk>\
                   <disk type='block'><source dev='/dev/x'/></disk><interface><source file='/no'/></interface>\
                   <disk type='file'><source file=\"/b&amp;.qcow2\"></source></disk></devices></domain>";
        assert_eq!(
            DomainConfig::parse(xml).disk_files,
            vec!["/a.img", "/b&.qcow2"]
        );
    }

    #[test]
    fn pools_and_networks_are_collected() {
        let xml = "<domain><name>a</name><devices><disk type='volume'><source pool='p1' volume='v'/></disk><disk><source pool=\"p2\"/></disk><interface type='network'><source network='n1'/></interface><interface><source network='n1'/></interface></devices></domain>";
        let cfg = DomainConfig::parse(xml);
        assert_eq!(cfg.pools.into_iter().collect::<Vec<_>>(), vec!["p1", "p2"]);
        assert_eq!(cfg.networks.into_iter().collect::<Vec<_>>(), vec!["n1"]);
    }

    #[test]
    fn sizes_are_read_from_the_top_level_only() {
        let xml = "<domain><name>a</name><metadata><x:m xmlns:x='urn:x'><vcpu>9</vcpu>\
                   <memory unit='GiB'>9</memory></x:m></metadata><vcpu current='2'>4</vcpu>\
                   <memory unit='MiB'>512</memory><vcpu>7</vcpu><memory>7</memory>\
                   <devices><memory model='dimm'><target><size>1</size></target></memory></devices></domain>";
        let cfg = DomainConfig::parse(xml);
        let size = |text: &str, attr: &str| {
            Some(SizeElement {
                text: text.into(),
                attr: Some(attr.into()),
            })
        };
        assert_eq!(cfg.vcpu, size("4", "2"));
        assert_eq!(cfg.memory, size("512", "MiB"));
    }

    #[test]
    fn size_text_is_kept_as_written() {
        let cfg = DomainConfig::parse("<domain>\n<vcpu/>\n<memory> 64\n</memory></domain>");
        assert_eq!(cfg.vcpu, Some(SizeElement::default()), "present but empty");
        assert_eq!(cfg.memory.map(|m| m.text), Some(" 64\n".to_string()));
        assert_eq!(
            DomainConfig::parse("<domain><name>a</name></domain>").vcpu,
            None
        );
    }

    #[test]
    fn value_before_a_syntax_error_is_kept() {
        let cfg = DomainConfig::parse("<domain><name>vm1</name><broken <<<");
        assert_eq!(cfg.name.as_deref(), Some("vm1"));
    }
}
