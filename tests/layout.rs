//! The layout by capability holds: imports between the rooms of `src/` run
//! one way only (actions → lifecycle → migration, guest data, cluster →
//! guest → request → controller → host, params → domain XML → OCF →
//! timing), no module imports another in a
//! circle, every room says why it exists, and no source file is much over
//! 400 lines. Read from the source itself, as a reader of the tree would.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The rooms from the top down; a room may import from its own level and
/// below, never from above. Rooms of one level do not import each other.
const LEVELS: &[&[&str]] = &[
    &["actions", "manpage"],
    &["lifecycle"],
    &["migration", "guest_data", "cluster"],
    &["guest"],
    &["request"],
    &["controller", "panic_guard"],
    &["host", "params", "domain_sizes", "cli", "metadata"],
    &["domain_xml", "domain_xml_encoding"],
    &["ocf"],
    &["timing", "pacemaker_time"],
];

fn level(room: &str) -> Option<usize> {
    LEVELS.iter().position(|rooms| rooms.contains(&room))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The room of a source file: its first directory under src/, or its stem.
fn room_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The module path of a file (`guest::tag` for src/guest/tag.rs).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|p| p != "mod")
        .collect();
    parts.join("::")
}

/// `crate::a::b` paths a file names, outside its test code.
fn crate_paths(text: &str) -> BTreeSet<Vec<String>> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or(text)
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let code = code.as_str();
        let rest = &code[i + "crate::".len()..];
        let path: Vec<String> = rest
            .split("::")
            .take(2)
            .map(|p| {
                p.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|p| !p.is_empty() && p.chars().next().unwrap().is_lowercase())
            .collect();
        if !path.is_empty() {
            found.insert(path);
        }
    }
    found
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name.ends_with("_tests.rs") || name == "test_support.rs" || name == "fake.rs"
}

#[test]
fn imports_between_rooms_run_downward_only() {
    let src = src_dir();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut upward = Vec::new();
    for file in files.iter().filter(|f| !is_test_file(f)) {
        let room = room_of(&src, file);
        let Some(own) = level(&room) else {
            continue; // lib.rs, main.rs
        };
        let text = std::fs::read_to_string(file).unwrap();
        for path in crate_paths(&text) {
            let target = &path[0];
            if *target == room {
                continue;
            }
            let Some(theirs) = level(target) else {
                continue;
            };
            if theirs <= own {
                upward.push(format!(
                    "{} ({room}) imports crate::{}",
                    file.display(),
                    path.join("::")
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "upward or sideways imports:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_module_imports_in_a_circle() {
    let src = src_dir();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files.iter().filter(|f| !is_test_file(f)) {
        let from = module_of(&src, file);
        let text = std::fs::read_to_string(file).unwrap();
        // `super::x` in module `a::b` (a/b.rs) is `a::x`; in `a` (a/mod.rs), `x`
        let is_mod_rs = file.file_name().is_some_and(|n| n == "mod.rs");
        let parent: Vec<&str> = if is_mod_rs {
            from.split("::").collect::<Vec<_>>()[..from.split("::").count().saturating_sub(1)]
                .to_vec()
        } else {
            let parts: Vec<&str> = from.split("::").collect();
            parts[..parts.len() - 1].to_vec()
        };
        let relative = text.replace("super::", &format!("crate::{}::", parent.join("::")));
        let relative = relative.replace("crate::::", "crate::");
        for path in crate_paths(&relative) {
            let two = path.join("::");
            let to = if modules.contains(&two) {
                two
            } else {
                path[0].clone()
            };
            if to != from && modules.contains(&to) && !from.starts_with(&format!("{to}::")) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // depth-first search for a back edge
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node) {
            let cycle = visit(node, &edges, &mut state, &mut Vec::new());
            assert!(
                cycle.is_none(),
                "import circle: {}",
                cycle.unwrap().join(" → ")
            );
        }
    }
}

/// An action never imports another action: only the dispatch (`mod.rs`)
/// and the dispatch of a config that gives no domain (`without_config.rs`)
/// name the actions.
#[test]
fn no_action_imports_another_action() {
    let dir = src_dir().join("actions");
    let actions = ["start", "stop", "monitor", "migrate", "reload"];
    let mut found = Vec::new();
    for action in actions {
        let file = dir.join(format!("{action}.rs"));
        let text = std::fs::read_to_string(&file).unwrap();
        for path in crate_paths(&text) {
            if path[0] == "actions" && path.len() > 1 && path[1] != action {
                found.push(format!("{action} imports crate::{}", path.join("::")));
            }
        }
        let code = text.split("#[cfg(test)]").next().unwrap_or(&text);
        for other in actions.iter().filter(|o| **o != action) {
            if code.contains(&format!("super::{other}")) {
                found.push(format!("{action} imports super::{other}"));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn every_module_says_why_it_exists_and_none_is_much_over_400_lines() {
    let src = src_dir();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines = text.lines().count();
        if lines > 420 {
            problems.push(format!("{}: {lines} lines", file.display()));
        }
        if !is_test_file(file) && !text.trim_start().starts_with("//!") {
            problems.push(format!("{}: no module comment", file.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
