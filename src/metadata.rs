//! The OCF meta-data document, a static file embedded at build time, and a
//! reader of it (for the man page and the tests).
//!
//! `meta-data` must work with no environment, no libvirt and as `nobody`
//! (Pacemaker and pcs call it to learn parameters and operation defaults),
//! so it is printed verbatim from `metadata/VirtualDomain.xml`.

use std::collections::BTreeMap;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// The meta-data XML, exactly as `metadata/VirtualDomain.xml`.
pub const META_DATA: &str = include_str!("../metadata/VirtualDomain.xml");

/// One `<parameter>` as pcs and Pacemaker see it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub unique: Option<String>,
    /// OCF 1.1's replacement of `unique`: parameters whose values together must be unique.
    pub unique_group: Option<String>,
    pub required: Option<String>,
    /// OCF 1.1: `"1"` when a change is applied by reload-agent, without a restart.
    pub reloadable: Option<String>,
    pub content_type: Option<String>,
    pub default: Option<String>,
    pub longdesc: String,
    pub shortdesc: String,
}

/// What an OCF meta-data document says (any agent's, not only ours).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Meta {
    pub longdesc: String,
    pub shortdesc: String,
    pub agent_name: Option<String>,
    pub agent_version: Option<String>,
    pub ocf_version: String,
    pub params: Vec<Param>,
    /// Each `<action>`'s attributes (`name`, `timeout`, `interval`, …).
    pub actions: Vec<BTreeMap<String, String>>,
}

fn attrs(e: &BytesStart) -> Result<BTreeMap<String, String>, String> {
    e.attributes()
        .map(|a| {
            let a = a.map_err(|e| e.to_string())?;
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| e.to_string())?;
            Ok((a.key.as_ref().to_string(), v.into_owned()))
        })
        .collect()
}

/// Records what an element (start or empty) says.
fn on_element(meta: &mut Meta, e: &BytesStart) -> Result<(), String> {
    let a = attrs(e)?;
    match e.name().as_ref() {
        "resource-agent" => {
            meta.agent_name = a.get("name").cloned();
            meta.agent_version = a.get("version").cloned();
        }
        "parameter" => meta.params.push(Param {
            name: a.get("name").cloned().unwrap_or_default(),
            unique: a.get("unique").cloned(),
            unique_group: a.get("unique-group").cloned(),
            required: a.get("required").cloned(),
            reloadable: a.get("reloadable").cloned(),
            ..Param::default()
        }),
        "content" => {
            let p = meta
                .params
                .last_mut()
                .ok_or("<content> outside <parameter>")?;
            p.content_type = a.get("type").cloned();
            p.default = a.get("default").cloned();
        }
        "action" => meta.actions.push(a),
        _ => {}
    }
    Ok(())
}

/// Reads a meta-data document; descriptions are trimmed, entities decoded.
pub fn parse(xml: &str) -> Result<Meta, String> {
    let mut meta = Meta::default();
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Eof => break,
            Event::Start(e) => {
                on_element(&mut meta, &e)?;
                path.push(e.name().as_ref().to_string());
                text.clear();
            }
            Event::Empty(e) => on_element(&mut meta, &e)?,
            Event::Text(t) => text.push_str(&t.xml_content(XmlVersion::Implicit1_0)),
            Event::GeneralRef(r) => match r.resolve_char_ref().map_err(|e| e.to_string())? {
                Some(c) => text.push(c),
                None => text.push_str(resolve_predefined_entity(&r).ok_or("unknown entity")?),
            },
            Event::End(_) => {
                let element = path.pop().unwrap_or_default();
                let value = std::mem::take(&mut text).trim().to_string();
                let target = match (element.as_str(), path.last().map(String::as_str)) {
                    ("version", Some("resource-agent")) => &mut meta.ocf_version,
                    ("longdesc", Some("resource-agent")) => &mut meta.longdesc,
                    ("shortdesc", Some("resource-agent")) => &mut meta.shortdesc,
                    ("longdesc", Some("parameter")) => {
                        &mut meta.params.last_mut().ok_or("no parameter")?.longdesc
                    }
                    ("shortdesc", Some("parameter")) => {
                        &mut meta.params.last_mut().ok_or("no parameter")?.shortdesc
                    }
                    _ => continue,
                };
                *target = value;
            }
            _ => {}
        }
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_meta_data_parses() {
        let meta = parse(META_DATA).unwrap();
        assert_eq!(meta.agent_name.as_deref(), Some("VirtualDomain"));
        assert_eq!(meta.params[0].name, "config");
        assert_eq!(meta.params[0].required.as_deref(), Some("1"));
        assert!(
            meta.params[0].longdesc.contains("<name>"),
            "entities decoded"
        );
        assert!(meta.actions.iter().any(|a| a["name"] == "migrate_to"));
    }
}
