//! When libvirt cannot answer, the process table decides whether the guest
//! runs here, as the anchor's `ps` grep does. One owner for monitor, stop
//! and the guards of an unreadable config.

use std::path::Path;
use std::time::Instant;

use crate::domain_xml::basename;
use crate::host::bounded;
use crate::host::process_table::{find_domain_process, EmulatorKind};
use crate::host::state_files;

/// What the process table says about a domain's emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestProcess {
    /// Its emulator process runs (the pid).
    Running(u32),
    /// No emulator process of that domain exists.
    Absent,
    /// The emulator is not known (nothing cached, none in the config), or
    /// of a kind without a process to look for (Xen PV).
    Unknown,
}

/// The domain's emulator kind: the cache written by monitors
/// (`HA_RSCTMP/VirtualDomain-<name>-emu.state`) first, else the config's
/// `<emulator>` (`config_emulator`, if the config could be read).
pub fn emulator_kind(
    rsctmp: &Path,
    name: &str,
    config_emulator: Option<&str>,
) -> Option<EmulatorKind> {
    let cached = state_files::read(&state_files::emulator_cache(rsctmp, name));
    let emulator = cached.or_else(|| config_emulator.map(str::to_string))?;
    EmulatorKind::of(basename(&emulator).unwrap_or(&emulator))
}

/// Looks for the domain's emulator process; a scan of the process table
/// that has not answered by `until` (a process stuck in the kernel holds
/// its `cmdline`) knows nothing.
pub fn look_up(
    rsctmp: &Path,
    name: &str,
    config_emulator: Option<&str>,
    until: Instant,
) -> GuestProcess {
    let Some(kind) = emulator_kind(rsctmp, name, config_emulator) else {
        return GuestProcess::Unknown;
    };
    let owned = name.to_string();
    match bounded::run_until(until, move || find_domain_process(kind, &owned)) {
        Some(Some(pid)) => GuestProcess::Running(pid),
        Some(None) => GuestProcess::Absent,
        None => {
            log::warn!("The process table did not answer in time; {name} may run.");
            GuestProcess::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_wins_over_the_config_and_unknown_kinds_are_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let rsctmp = dir.path();
        let far = Instant::now() + std::time::Duration::from_secs(60);
        assert_eq!(emulator_kind(rsctmp, "vm", None), None);
        assert_eq!(
            emulator_kind(rsctmp, "vm", Some("/usr/bin/qemu-system-x86_64")),
            Some(EmulatorKind::Qemu)
        );
        state_files::write_if_changed(&state_files::emulator_cache(rsctmp, "vm"), "libvirt_lxc");
        assert_eq!(
            emulator_kind(rsctmp, "vm", Some("/usr/bin/qemu-system-x86_64")),
            Some(EmulatorKind::Lxc)
        );
        assert_eq!(
            look_up(rsctmp, "other", Some("/usr/lib/xen/bin/xl"), far),
            GuestProcess::Unknown
        );
        // no process of that name exists on the test machine
        assert_eq!(
            look_up(
                rsctmp,
                "vd-no-such-guest-42",
                Some("qemu-system-x86_64"),
                far
            ),
            GuestProcess::Absent
        );
    }
}
