//! The man page `ocf_rust_VirtualDomain(7)`, generated from the embedded
//! meta-data (what `meta-data` prints) and doc/differences.md's list of
//! differences, so neither can drift from what the agent says.
//!
//! `cargo run --release --example manpage > ocf_rust_VirtualDomain.7` writes it
//! (packaging/build-deb.sh does, for the .deb).

use crate::host::systemd;
use crate::metadata::{self, Meta, Param, META_DATA};
use crate::ocf::env::DEFAULT_RSCTMP;
use crate::ocf::exit::OcfRc;

/// doc/differences.md, for its "Differences from ocf:heartbeat:VirtualDomain" table.
const README: &str = include_str!("../doc/differences.md");
const DIFFERENCES_HEADING: &str = "## Differences from ocf:heartbeat:VirtualDomain";

/// Where the package installs the agent.
pub const AGENT_PATH: &str = "/usr/lib/ocf/resource.d/rust/VirtualDomain";

/// The man page of the agent, in roff (man macros).
pub fn page() -> String {
    let meta = metadata::parse(META_DATA).expect("the embedded meta-data parses");
    render(&meta, &differences(README))
}

/// One row of the differences table: area, the anchor, this agent.
pub type Difference = [String; 3];

/// The rows of doc/differences.md's differences table (Markdown inline text).
pub fn differences(readme: &str) -> Vec<Difference> {
    let Some(start) = readme.find(DIFFERENCES_HEADING) else {
        return Vec::new();
    };
    readme[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with('|'))
        .map(table_cells)
        .filter(|c| c.len() == 3 && !c[0].starts_with("---") && c[0] != "area")
        .map(|c| [c[0].clone(), c[1].clone(), c[2].clone()])
        .collect()
}

/// The cells of a Markdown table row (`\|` is a literal bar).
fn table_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut chars = line.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push(chars.next().unwrap())
            }
            '|' => cells.push(String::new()),
            _ => cells.last_mut().unwrap().push(c),
        }
    }
    if cells.last().is_some_and(|c| c.trim().is_empty()) {
        cells.pop();
    }
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

/// Escapes text for roff: backslashes, and a leading `.` or `'`.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e");
    match t.chars().next() {
        Some('.' | '\'') => format!("\\&{t}"),
        _ => t,
    }
}

/// Markdown inline text (code spans, links) as roff text.
fn inline(md: &str) -> String {
    let mut out = String::new();
    for (i, part) in md.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("\\fB{}\\fR", roff(part)));
        } else {
            out.push_str(&roff(&unlink(part)));
        }
    }
    out
}

/// `[text](target)` → `text`.
fn unlink(md: &str) -> String {
    let mut out = String::new();
    let mut rest = md;
    while let Some(open) = rest.find('[') {
        let Some(mid) = rest[open..].find("](").map(|m| open + m) else {
            break;
        };
        let Some(close) = rest[mid..].find(')').map(|c| mid + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..mid]);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Plain text as paragraphs (blank lines separate them).
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|p| {
            p.lines()
                .map(|l| roff(l.trim()))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n.sp\n")
}

fn parameter(p: &Param) -> String {
    let mut facts = vec![p.content_type.clone().unwrap_or_else(|| "string".into())];
    match p.default.as_deref() {
        Some("") | None => facts.push("no default".into()),
        Some(d) => facts.push(format!("default: {d}")),
    }
    if p.required.as_deref() == Some("1") {
        facts.push("required".into());
    }
    if p.unique.as_deref() == Some("1") {
        facts.push("unique".into());
    }
    if p.reloadable.as_deref() == Some("1") {
        facts.push("reloadable".into());
    }
    format!(
        ".TP\n\\fB{}\\fR (\\fI{}\\fR)\n{}\n.sp\n{}\n",
        roff(&p.name),
        roff(&facts.join(", ")),
        roff(&p.shortdesc),
        paragraphs(&p.longdesc)
    )
}

fn action(a: &std::collections::BTreeMap<String, String>) -> String {
    let mut facts = Vec::new();
    for key in ["timeout", "interval", "depth"] {
        if let Some(v) = a.get(key) {
            facts.push(format!("{key} {v}"));
        }
    }
    let name = a.get("name").map(String::as_str).unwrap_or_default();
    let what = match name {
        "start" => {
            "creates the domain from config (or restores a snapshot) and waits until it runs"
        }
        "stop" => "graceful shutdown, then destroy, within the timeout",
        "monitor" => {
            "the domain's state (a probe when there is no interval), then the monitor scripts"
        }
        "status" => "as monitor, with LSB codes for an invalid setup",
        "migrate_to" => "live-migrates the domain to the target node (on the source)",
        "migrate_from" => "waits until the migrated domain runs here (on the target)",
        "meta-data" => "prints the OCF meta-data; needs no environment",
        "validate-all" => "checks the parameters and what they need on this node",
        "reload-agent" => {
            "checks changed reloadable parameters and applies them without a restart (utilization at once)"
        }
        _ => "",
    };
    format!(
        ".TP\n\\fB{}\\fR ({})\n{}\n",
        roff(name),
        facts.join(", "),
        what
    )
}

const EXIT_CODES: [(OcfRc, &str); 7] = [
    (OcfRc::Success, "success; for monitor: running"),
    (OcfRc::ErrGeneric, "generic error (for example libvirt unreachable in time); the exit reason says why"),
    (OcfRc::ErrArgs, "invalid arguments"),
    (OcfRc::ErrUnimplemented, "unknown action (promote, demote, notify, reload, …); for status: not running, or an invalid setup"),
    (OcfRc::ErrInstalled, "not installed: a required program, the config file or libvirt is missing on this node"),
    (OcfRc::ErrConfigured, "not configured: a parameter is missing or invalid (for example an unknown shutdown_mode word)"),
    (OcfRc::NotRunning, "not running (monitor, probe)"),
];

const EXAMPLES: &str = r#".PP
A guest that Pacemaker starts, stops, monitors and live-migrates:
.PP
.nf
.RS
pcs resource create vm1 ocf:rust:VirtualDomain \e
    config=/etc/libvirt/qemu/vm1.xml hypervisor=qemu:///system \e
    migration_transport=ssh meta allow\-migrate=true
pcs resource move vm1 node2      # a live migration
.RE
.fi
.PP
A guest node (pacemaker_remote runs inside the guest):
.PP
.nf
.RS
pcs resource create vm2 ocf:rust:VirtualDomain \e
    config=/etc/libvirt/qemu/vm2.xml hypervisor=qemu:///system \e
    meta remote\-node=vm2 allow\-migrate=true
.RE
.fi
.PP
Running an action by hand, without a cluster:
.PP
.nf
.RS
crm_resource \-\-force\-start \-\-class ocf \-\-provider rust \e
    \-\-agent VirtualDomain \-\-option config=/etc/libvirt/qemu/vm1.xml
OCF_RESKEY_config=/etc/libvirt/qemu/vm1.xml HA_debug=1 \e
    /usr/lib/ocf/resource.d/rust/VirtualDomain monitor
.RE
.fi
"#;

/// The whole page for this meta-data and these differences.
pub fn render(meta: &Meta, differences: &[Difference]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        ".\\\" Generated from metadata/VirtualDomain.xml and doc/differences.md by src/manpage.rs; do not edit.\n\
         .TH OCF_RUST_VIRTUALDOMAIN 7 \"\" \"ocf-rust-virtualdomain {}\" \"OCF resource agents\"\n\
         .SH NAME\nocf_rust_VirtualDomain \\- {}\n",
        env!("CARGO_PKG_VERSION"),
        roff(&meta.shortdesc)
    ));
    let words: Vec<&str> = meta
        .actions
        .iter()
        .filter_map(|a| a.get("name").map(String::as_str))
        .collect();
    out.push_str(&format!(
        ".SH SYNOPSIS\n\\fB{AGENT_PATH}\\fR {{{}}}\n.br\n\\fB{AGENT_PATH}\\fR {{\\-\\-help | \\-\\-version}}\n",
        words.join(" | ")
    ));
    out.push_str(&format!(
        ".SH DESCRIPTION\n{}\n.PP\nParameters are read from the environment as \\fBOCF_RESKEY_\\fR\\fIname\\fR; \
         Pacemaker sets them from the resource's instance attributes.\n",
        paragraphs(&meta.longdesc)
    ));
    out.push_str(".SH SUPPORTED PARAMETERS\n");
    meta.params.iter().for_each(|p| out.push_str(&parameter(p)));
    out.push_str(".SH SUPPORTED ACTIONS\nTimeouts and intervals are the defaults pcs copies into the CIB as operations.\n");
    meta.actions.iter().for_each(|a| out.push_str(&action(a)));
    out.push_str(".SH EXIT STATUS\n");
    for (rc, what) in EXIT_CODES {
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR ({})\n{}\n",
            rc.code(),
            rc.name(),
            roff(what)
        ));
    }
    out.push_str(
        ".PP\nAn error also prints an exit reason on stderr, as \\fBocf\\-exit\\-reason:\\fR\\fItext\\fR; \
         Pacemaker shows it in \\fBcrm_mon\\fR and \\fBpcs status\\fR.\n",
    );
    out.push_str(".SH EXAMPLES\n");
    out.push_str(EXAMPLES);
    out.push_str(".SH ENVIRONMENT\n.TP\n\\fBOCF_CHECK_LEVEL\\fR\nThe monitor's depth, set per operation \
                  (\\fBpcs resource op add vm1 monitor interval=30s OCF_CHECK_LEVEL=10\\fR). 0 (default): \
                  the state, as ocf:heartbeat:VirtualDomain (a paused guest is running). 10: also \
                  libvirt's reason for a pause: paused by a disk I/O error (with the disk and \
                  libvirt's error words), by the watchdog, after a crash or a failed post\\-copy \
                  migration is a failure (1) naming the cause; a pause an operator, a save, a \
                  snapshot or a migration asked for is not. See \\fBio_error_policy\\fR. 20: also the \
                  qemu guest agent answers (a ping through libvirt); a domain without a guest agent \
                  channel is refused by validate\\-all (6); a booting guest's silent agent is \
                  healthy for 300 s, until it has answered once.\n\
                  .TP\n\\fBHA_debug=1\\fR\nDebug messages too.\n\
                  .TP\n\\fBHA_LOGFACILITY\\fR, \\fBHA_LOGFILE\\fR, \\fBHA_DEBUGLOG\\fR\n\
                  Messages go to syslog with this facility (tag \\fBVirtualDomain(\\fR\\fIresource\\fR\\fB)\\fR), and to these files; \
                  at a terminal with neither, to stderr.\n\
                  .TP\n\\fBHA_RSCTMP\\fR\nThe directory of the agent's state files.\n");
    out.push_str(&format!(
        ".SH FILES\n.TP\n\\fB{AGENT_PATH}\\fR\nThe agent.\n\
         .TP\n\\fB{DEFAULT_RSCTMP}/VirtualDomain\\-*\\fR\n\
         State kept until the node reboots (\\fBHA_RSCTMP\\fR): the domain name last read from config, the emulator process, utilization last written.\n"
    ));
    for (file, _) in systemd::dropins() {
        out.push_str(&format!(
            ".TP\n\\fB{}/{}\\fR\n",
            systemd::DROPIN_DIR,
            roff(file).replace('-', "\\-")
        ));
        out.push_str("Written by start on systemd hosts (under /run: gone at reboot) so that Pacemaker stops the guests before libvirt at shutdown; removed when the package is purged.\n");
    }
    out.push_str(".SH DIFFERENCES FROM ocf:heartbeat:VirtualDomain\n\
                  The same parameters, defaults and exit codes; what differs is listed here: each a documented defect of \
                  ocf:heartbeat:VirtualDomain (resource\\-agents 4.12) that this agent fixes, or a choice where it has none.\n");
    for [area, anchor, ours] in differences {
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR\n\\fIheartbeat:\\fR {}\n.IP\n\\fIrust:\\fR {}\n",
            inline(area),
            inline(anchor),
            inline(ours)
        ));
    }
    out.push_str(
        ".SH SEE ALSO\n\\fBocf_heartbeat_VirtualDomain\\fR(7), \\fBcrm_resource\\fR(8), \\fBpcs\\fR(8), \\fBvirsh\\fR(1), \
         /usr/share/doc/ocf\\-rust\\-virtualdomain/README.md\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_and_inline_text() {
        assert_eq!(table_cells("| a | b `x\\|y` | c |"), ["a", "b `x|y`", "c"]);
        assert_eq!(
            inline("see [this](#x) and `.a\\b`"),
            "see this and \\fB\\&.a\\eb\\fR"
        );
        assert_eq!(roff(".x"), "\\&.x");
    }

    #[test]
    fn the_readme_differences_are_all_read() {
        let rows = differences(README);
        assert!(rows.len() >= 20, "{} rows", rows.len());
        assert!(rows.iter().any(|r| r[0] == "`shutdown_mode`"));
    }
}
