//! `monitor_scripts` as Pacemaker runs them, on libvirtd's daemon-hosted
//! test driver (domains `mscr-<pid>-…`): the scripts see the environment
//! the anchor's scripts see (ocf-shellfuncs: `LC_ALL=C`, no `LANG` or
//! `LANGUAGE`), whatever the node's locale; and when Pacemaker kills the
//! agent's process group (a cancelled or timed-out monitor), a script
//! still running, and what it started, die with the agent.

mod support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;
use virtualdomain::controller::libvirt::LibvirtController;
use virtualdomain::controller::DomainController;

const TEST_URI: &str = "test+unix:///default";

/// A running test-driver domain (kept while the returned connection is
/// open) and its config.
fn running_domain(dir: &Path, suffix: &str) -> (LibvirtController, String, PathBuf) {
    let name = format!("mscr-{}-{suffix}", std::process::id());
    // <name> on a line of its own: the anchor reads it with egrep
    let xml = format!(
        "<domain type='test'>\n  <name>{name}</name>\n  <memory unit='MiB'>64</memory>\n  \
         <os><type arch='x86_64'>hvm</type></os>\n</domain>\n"
    );
    let config = dir.join(format!("{name}.xml"));
    std::fs::write(&config, &xml).unwrap();
    let keeper = LibvirtController::new(
        Some(TEST_URI.into()),
        Instant::now() + Duration::from_secs(120),
    );
    let _ = keeper.destroy(&name, by());
    keeper.create(&xml, by()).unwrap();
    (keeper, name, config)
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Whether `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z'))
    })
}

#[test]
fn scripts_see_the_anchors_locale_whatever_the_nodes() {
    if !lab_available("monitor_scripts environment") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (keeper, name, config) = running_domain(dir.path(), "env");
    let seen = dir.path().join("seen");
    let check = script(
        dir.path(),
        "env.sh",
        &format!(
            "echo \"LC_ALL=$LC_ALL LANG=${{LANG-unset}} LANGUAGE=${{LANGUAGE-unset}}\" > {}",
            seen.display()
        ),
    );
    let ocf = Ocf::new(&name, &config, TEST_URI)
        .with("LANG", "de_DE.UTF-8")
        .with("LANGUAGE", "de")
        .with("LC_ALL", "de_DE.UTF-8")
        .with("OCF_RESKEY_monitor_scripts", check.to_str().unwrap())
        .recurring();
    let ours = ocf.ours("monitor");
    let ours_saw = std::fs::read_to_string(&seen).unwrap_or_default();
    let _ = std::fs::remove_file(&seen);
    let anchor_saw = if anchor_available("monitor_scripts environment") {
        let anchor = ocf.anchor("monitor");
        assert_eq!(anchor.code, 0, "{anchor:?}");
        std::fs::read_to_string(&seen).unwrap_or_default()
    } else {
        "LC_ALL=C LANG=unset LANGUAGE=unset\n".into()
    };
    let _ = keeper.destroy(&name, by());
    assert_eq!(ours.code, 0, "{ours:?}");
    assert_eq!(ours_saw, anchor_saw);
    assert_eq!(ours_saw, "LC_ALL=C LANG=unset LANGUAGE=unset\n");
}

#[test]
fn a_killed_agent_takes_its_script_and_what_it_started_along() {
    if !lab_available("monitor_scripts killed with the agent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (keeper, name, config) = running_domain(dir.path(), "kill");
    let pids = dir.path().join("pids");
    let slow = script(
        dir.path(),
        "slow.sh",
        &format!(
            "sleep 300 >/dev/null 2>&1 &\necho \"$$ $!\" > {0}.tmp && mv {0}.tmp {0}\nsleep 300",
            pids.display()
        ),
    );
    let ocf = Ocf::new(&name, &config, TEST_URI)
        .with("OCF_RESKEY_monitor_scripts", slow.to_str().unwrap())
        .recurring();
    // as pacemaker-execd runs an agent: in a process group of its own
    let mut agent = Command::new(env!("CARGO_BIN_EXE_VirtualDomain"))
        .arg("monitor")
        .env_clear()
        .envs(ocf.vars.iter().map(|(k, v)| (k, v)))
        .process_group(0)
        .spawn()
        .unwrap();
    let group = agent.id() as i32;
    let started = eventually(Duration::from_secs(30), || pids.exists());
    // Pacemaker cancels the monitor: SIGKILL to the agent's group
    // SAFETY: kill has no memory preconditions
    unsafe { nix::libc::kill(-group, nix::libc::SIGKILL) };
    let _ = agent.wait();
    let _ = keeper.destroy(&name, by());
    assert!(started, "the script never ran");
    let text = std::fs::read_to_string(&pids).unwrap();
    let pids: Vec<i32> = text
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let all_gone = eventually(Duration::from_secs(5), || pids.iter().all(|&p| gone(p)));
    for &p in &pids {
        if !gone(p) {
            // SAFETY: as above; the test's own leftovers
            unsafe { nix::libc::kill(p, nix::libc::SIGKILL) };
        }
    }
    assert!(
        all_gone,
        "script and its child {pids:?} outlived the killed agent"
    );
}
