//! Finding a guest's emulator process in /proc, for when libvirt cannot
//! answer (stopped, crashed or frozen libvirtd).
//!
//! The anchor greps `ps awx` for `qemu-(kvm|dm|system).*-name <dom> ` or
//! `-name guest=<dom>,…`, and `libvirt_lxc … --name <dom>`. We read the
//! argument vectors directly: no `ps`, no regex built from the name.

use std::fs;

/// Which kind of process runs a domain, from its `<emulator>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmulatorKind {
    Qemu,
    Lxc,
}

impl EmulatorKind {
    /// The kind for an emulator file name; `None` when the process table
    /// cannot tell (e.g. Xen PV guests have no emulator process).
    pub fn of(basename: &str) -> Option<EmulatorKind> {
        if basename.starts_with("qemu-kvm")
            || basename.starts_with("qemu-dm")
            || basename.starts_with("qemu-system")
        {
            Some(EmulatorKind::Qemu)
        } else if basename.starts_with("libvirt_lxc") {
            Some(EmulatorKind::Lxc)
        } else {
            None
        }
    }

    fn program_matches(self, argv0: &str) -> bool {
        let base = argv0.rsplit('/').next().unwrap_or(argv0);
        match self {
            EmulatorKind::Qemu => ["qemu-kvm", "qemu-dm", "qemu-system"]
                .iter()
                .any(|p| base.starts_with(p)),
            EmulatorKind::Lxc => base.starts_with("libvirt_lxc"),
        }
    }
}

/// The domain name in a qemu `-name` value: `vm1`, or `guest=vm1,debug-threads=on`
/// (commas inside the name are doubled by libvirt).
fn name_in_value(value: &str) -> String {
    let Some(rest) = value.split_once("guest=").map(|(_, r)| r) else {
        return value.to_string();
    };
    let mut name = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                name.push(',');
            } else {
                break;
            }
        } else {
            name.push(c);
        }
    }
    name
}

/// Whether an argument vector is `kind`'s process for domain `name`.
pub fn argv_runs_domain(argv: &[String], kind: EmulatorKind, name: &str) -> bool {
    let Some(argv0) = argv.first() else {
        return false;
    };
    if !kind.program_matches(argv0) {
        return false;
    }
    argv.windows(2)
        .any(|w| (w[0] == "-name" || w[0] == "--name") && name_in_value(&w[1]) == name)
}

/// The pid of the process running domain `name`, if any.
pub fn find_domain_process(kind: EmulatorKind, name: &str) -> Option<u32> {
    let entries = fs::read_dir("/proc").ok()?;
    entries.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let raw = fs::read(entry.path().join("cmdline")).ok()?;
        let argv: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        argv_runs_domain(&argv, kind, name).then_some(pid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn emulator_kinds() {
        assert_eq!(
            EmulatorKind::of("qemu-system-x86_64"),
            Some(EmulatorKind::Qemu)
        );
        assert_eq!(EmulatorKind::of("qemu-kvm"), Some(EmulatorKind::Qemu));
        assert_eq!(EmulatorKind::of("qemu-dm"), Some(EmulatorKind::Qemu));
        assert_eq!(EmulatorKind::of("libvirt_lxc"), Some(EmulatorKind::Lxc));
        assert_eq!(EmulatorKind::of("xl"), None);
    }

    #[test]
    fn qemu_name_forms() {
        let q = EmulatorKind::Qemu;
        assert!(argv_runs_domain(
            &argv("/usr/bin/qemu-system-x86_64 -name guest=vm1,debug-threads=on -S"),
            q,
            "vm1"
        ));
        assert!(argv_runs_domain(
            &argv("qemu-kvm -name vm1 -m 128"),
            q,
            "vm1"
        ));
        assert!(argv_runs_domain(
            &argv("qemu-system-x86_64 -name guest=a,,b,debug-threads=on"),
            q,
            "a,b"
        ));
        assert!(!argv_runs_domain(
            &argv("qemu-system-x86_64 -name guest=vm10,debug-threads=on"),
            q,
            "vm1"
        ));
        assert!(!argv_runs_domain(
            &argv("qemu-system-x86_64 -name vm1-test"),
            q,
            "vm1"
        ));
        assert!(!argv_runs_domain(
            &argv("grep qemu-system -name vm1"),
            q,
            "vm1"
        ));
        assert!(!argv_runs_domain(
            &argv("qemu-system-x86_64 -name"),
            q,
            "vm1"
        ));
    }

    #[test]
    fn lxc_name_form() {
        let l = EmulatorKind::Lxc;
        assert!(argv_runs_domain(
            &argv("/usr/lib/libvirt/libvirt_lxc --name c1 --console 25"),
            l,
            "c1"
        ));
        assert!(!argv_runs_domain(
            &argv("/usr/lib/libvirt/libvirt_lxc --name c11"),
            l,
            "c1"
        ));
    }

    #[test]
    fn our_own_process_is_not_a_guest() {
        assert_eq!(
            find_domain_process(EmulatorKind::Qemu, "surely-no-such-domain"),
            None
        );
    }
}
