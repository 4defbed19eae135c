//! The processes a bounded child ([`super::command`]) leaves behind,
//! found without a process group of their own.
//!
//! Why it exists: the children stay in the agent's process group, as the
//! anchor's do, so that Pacemaker, which kills the agent's group when it
//! cancels an operation or times it out, takes them with it (a child in a
//! group of its own was re-parented to PID 1 and ran on, unbounded). The
//! agent cannot then kill "the child's group" at its own deadline without
//! killing itself; it kills instead the child's descendants (from the
//! parent links in /proc) and every process still holding the child's
//! output pipe (re-parented leftovers, found by the pipe's inode).

use std::collections::{HashMap, HashSet};
use std::fs;

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

/// How many times the table is read again for processes forked meanwhile.
const ROUNDS: usize = 3;

/// Kills `root` and its descendants, and every other process holding the
/// pipe `pipe_inode` (never this process). Returns how many were killed.
pub fn kill(root: Option<u32>, pipe_inode: Option<u64>) -> usize {
    let me = std::process::id();
    let mut killed = HashSet::new();
    for _ in 0..ROUNDS {
        let table = parents();
        let mut targets: Vec<u32> = root.map(|r| descendants(&table, r)).unwrap_or_default();
        if let Some(inode) = pipe_inode {
            targets.extend(pipe_holders(table.keys().copied(), inode));
        }
        targets.retain(|&p| p != me && !killed.contains(&p));
        if targets.is_empty() {
            break;
        }
        for pid in targets {
            if let Ok(raw) = i32::try_from(pid) {
                let _ = signal::kill(Pid::from_raw(raw), Signal::SIGKILL);
            }
            killed.insert(pid);
        }
    }
    killed.len()
}

/// Every live process and its parent (zombies left out: nothing to kill).
fn parents() -> HashMap<u32, u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return HashMap::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (_, rest) = stat.rsplit_once(") ")?;
            let mut fields = rest.split(' ');
            let state = fields.next()?;
            let ppid = fields.next()?.parse().ok()?;
            (state != "Z" && state != "X").then_some((pid, ppid))
        })
        .collect()
}

/// `root` (when alive) and all its descendants.
fn descendants(table: &HashMap<u32, u32>, root: u32) -> Vec<u32> {
    let mut found: Vec<u32> = Vec::new();
    if table.contains_key(&root) {
        found.push(root);
    }
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (&pid, &ppid) in table {
            if ppid == parent && pid != root && !found.contains(&pid) {
                found.push(pid);
                frontier.push(pid);
            }
        }
    }
    found
}

/// The processes among `pids` with a descriptor on pipe `inode`.
fn pipe_holders(pids: impl Iterator<Item = u32>, inode: u64) -> Vec<u32> {
    let link = format!("pipe:[{inode}]");
    pids.filter(|pid| {
        fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.flatten()
                .any(|fd| fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == link.as_str()))
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_found_from_its_root() {
        let table = HashMap::from([(10, 1), (11, 10), (12, 11), (13, 1), (14, 12)]);
        let mut tree = descendants(&table, 10);
        tree.sort_unstable();
        assert_eq!(tree, [10, 11, 12, 14]);
        assert_eq!(descendants(&table, 99), Vec::<u32>::new());
    }

    #[test]
    fn this_process_is_in_the_table_with_its_parent() {
        let table = parents();
        assert_eq!(
            table.get(&std::process::id()).copied(),
            Some(std::os::unix::process::parent_id())
        );
    }
}
