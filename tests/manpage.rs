//! The man page ocf_rust_VirtualDomain(7) is generated from the meta-data the
//! agent prints: every parameter (type, default, descriptions) and every
//! action (timeout) is in it, and so is every row of doc/differences.md's
//! differences table.

use virtualdomain::manpage;
use virtualdomain::metadata::{self, META_DATA};

/// The page as a reader sees it: roff escapes of the generator undone.
fn page_text() -> String {
    manpage::page()
        .replace("\\-", "-")
        .replace("\\e", "\\")
        .replace("\\&", "")
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim()
}

#[test]
fn every_parameter_with_type_default_and_description() {
    let page = page_text();
    let meta = metadata::parse(META_DATA).unwrap();
    assert!(meta.params.len() >= 33);
    for p in &meta.params {
        let ty = p.content_type.as_deref().unwrap();
        let default = match p.default.as_deref() {
            None | Some("") => "no default".to_string(),
            Some(d) => format!("default: {d}"),
        };
        let head = format!("\\fB{}\\fR (\\fI{ty}, {default}", p.name);
        assert!(page.contains(&head), "{}: no line {head:?}", p.name);
        let reloadable = format!("\\fB{}\\fR (\\fI{ty}, {default}, reloadable\\fR)", p.name);
        assert_eq!(
            page.contains(&reloadable),
            p.reloadable.as_deref() == Some("1"),
            "{}: reloadable or not, as in the meta-data",
            p.name
        );
        assert!(page.contains(&p.shortdesc), "{}: shortdesc", p.name);
        assert!(
            page.contains(first_line(&p.longdesc)),
            "{}: longdesc",
            p.name
        );
    }
}

#[test]
fn every_action_with_its_timeout() {
    let page = page_text();
    let meta = metadata::parse(META_DATA).unwrap();
    assert_eq!(meta.actions.len(), 9);
    assert!(
        page.contains("\\fBreload-agent\\fR (timeout 20s)\nchecks changed reloadable parameters"),
        "reload-agent is described"
    );
    for a in &meta.actions {
        let head = format!("\\fB{}\\fR (timeout {}", a["name"], a["timeout"]);
        assert!(page.contains(&head), "no line {head:?}");
    }
}

#[test]
fn exit_codes_examples_files_and_differences() {
    let page = page_text();
    for code in [
        "OCF_SUCCESS",
        "OCF_ERR_INSTALLED",
        "OCF_ERR_CONFIGURED",
        "OCF_NOT_RUNNING",
    ] {
        assert!(page.contains(code), "{code}");
    }
    for example in [
        "pcs resource create vm1 ocf:rust:VirtualDomain",
        "meta remote-node=vm2",
        "meta allow-migrate=true",
        "crm_resource --force-start",
    ] {
        assert!(page.contains(example), "{example}");
    }
    assert!(page.contains(manpage::AGENT_PATH));
    assert!(page.contains("99-VirtualDomain-libvirt.conf"));
    let rows = manpage::differences(include_str!("../doc/differences.md"));
    let in_page = page.matches("\\fIheartbeat:\\fR").count();
    assert_eq!(in_page, rows.len(), "every differences row");
}

#[test]
fn the_page_is_well_formed_roff() {
    let page = manpage::page();
    assert!(page.contains("\n.TH OCF_RUST_VIRTUALDOMAIN 7 "));
    for line in page.lines() {
        // a text line starting with . or ' would be read as a request
        if let Some(rest) = line.strip_prefix('.') {
            let macro_name = rest.split_whitespace().next().unwrap_or_default();
            assert!(
                ["\\\"", "TH", "SH", "SS", "TP", "PP", "IP", "sp", "br", "nf", "fi", "RS", "RE"]
                    .contains(&macro_name),
                "unexpected request: {line}"
            );
        }
        assert!(!line.starts_with('\''), "{line}");
    }
}

#[test]
fn monitor_depth_is_documented() {
    let page = page_text();
    let at = page
        .find("OCF_CHECK_LEVEL")
        .expect("OCF_CHECK_LEVEL in the page");
    let text = &page[at..];
    assert!(
        text.contains("10: also libvirt's reason for a pause"),
        "{text}"
    );
    assert!(text.contains("io_error_policy"), "{text}");
    assert!(
        text.contains("20: also the qemu guest agent answers"),
        "{text}"
    );
}
