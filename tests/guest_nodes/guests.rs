//! The guest nodes of tests/guest_nodes.rs: a VM or an LXC container
//! running pacemaker-remoted on n1's br-guest network, the VirtualDomain
//! resource that runs it, and the Dummy placed on it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::multihost::MultiLab;
use crate::DIR;

#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Vm,
    Container,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Vm => "vm",
            Kind::Container => "lxc",
        }
    }
}

pub struct Guest {
    pub anchor: bool,
    pub kind: Kind,
    /// the VirtualDomain resource
    pub rsc: String,
    /// the ocf:pacemaker:Dummy placed on the guest node
    pub dummy: String,
    /// domain name = remote-node name = the guest's hostname
    pub name: String,
    pub addr: String,
    pub port: u16,
    pub xml: PathBuf,
}

/// (agent, kind, options guest) → (last letter pair, address)
fn ident(anchor: bool, kind: Kind, options: bool) -> (String, String) {
    let a = if anchor { "a" } else { "o" };
    let (k, base) = match (kind, options) {
        (_, true) => ("p", 30),
        (Kind::Vm, false) => ("v", 10),
        (Kind::Container, false) => ("c", 20),
    };
    let n = base + if anchor { 1 } else { 2 };
    (format!("{k}{a}"), format!("192.168.123.{n}"))
}

/// Every guest name the test may create (for the cgroup sweep).
pub fn all_names() -> Vec<String> {
    let mut v = Vec::new();
    for anchor in [true, false] {
        for (kind, opt) in [
            (Kind::Vm, false),
            (Kind::Container, false),
            (Kind::Vm, true),
        ] {
            v.push(format!("vdr-{}", ident(anchor, kind, opt).0));
        }
    }
    v
}

fn script(lab: &MultiLab, name: &str, args: &[&str]) -> Result<String, String> {
    let out = lab.script(name, args, Duration::from_secs(300));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text.trim().to_string())
    } else {
        Err(format!("{name}: {text}"))
    }
}

/// br-guest (192.168.123.1/24) in n1's network namespace, and cgroups for
/// n1's LXC driver.
pub fn prepare_host(lab: &MultiLab) -> Result<(), String> {
    script(lab, "guest-bridge.sh", &[DIR, "1"])?;
    script(lab, "host-cgroups.sh", &[DIR, "1", "mount"])?;
    Ok(())
}

impl Guest {
    /// Builds the guest (the VM's XML and initramfs, or the container's
    /// XML and directories) and, except for the options guest (reached by
    /// remote-addr), adds its name to the lab's /etc/hosts. The options
    /// guest listens on port 3122.
    pub fn new(lab: &MultiLab, anchor: bool, kind: Kind, options: bool) -> Guest {
        let (id, addr) = ident(anchor, kind, options);
        let name = format!("vdr-{id}");
        let port: u16 = if options { 3122 } else { 3121 };
        let maker = match kind {
            Kind::Vm => "remote-guest-make.sh",
            Kind::Container => "remote-container-make.sh",
        };
        let xml = match script(lab, maker, &[DIR, &name, &addr, &port.to_string()]) {
            Ok(out) => PathBuf::from(out.lines().last().unwrap_or("").trim()),
            Err(e) => panic!("{e}"),
        };
        if !options {
            let mut hosts = std::fs::OpenOptions::new()
                .append(true)
                .open(format!("{DIR}/hosts"))
                .expect("lab hosts file");
            writeln!(hosts, "{addr} {name}").expect("append to hosts");
        }
        let rsc = match kind {
            Kind::Vm => format!("vm-{id}"),
            Kind::Container => format!("ct-{id}"),
        };
        Guest {
            anchor,
            kind,
            rsc,
            dummy: format!("dummy-{id}"),
            name,
            addr,
            port,
            xml,
        }
    }

    pub fn tag(&self) -> &'static str {
        if self.anchor {
            "anchor"
        } else {
            "ours"
        }
    }

    fn agent(&self) -> &'static str {
        if self.anchor {
            "ocf:heartbeat:VirtualDomain"
        } else {
            "ocf:rust:VirtualDomain"
        }
    }

    /// The words after the resource id of `pcs resource create`, as the
    /// guide writes them: agent, hypervisor, config (containers:
    /// force_stop=true), `meta remote-node=NAME` + `meta`, a 5 s monitor.
    pub fn create_args(&self, meta: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = vec![self.agent().into()];
        match self.kind {
            Kind::Vm => v.push("hypervisor=qemu:///system".into()),
            Kind::Container => v.push("hypervisor=lxc:///".into()),
        }
        v.push(format!("config={}", self.xml.display()));
        if self.kind == Kind::Container {
            v.push("force_stop=true".into());
        }
        v.push("meta".into());
        v.push(format!("remote-node={}", self.name));
        v.extend(meta.iter().map(|s| s.to_string()));
        v.extend(
            ["op", "monitor", "interval=5s", "timeout=30s", "--force"]
                .iter()
                .map(|s| s.to_string()),
        );
        v
    }

    /// How many times pacemaker-remoted came up in this guest: "guest: up"
    /// lines on the VM's console, "container: up" lines in the container's
    /// init.log (both files are appended to).
    pub fn ups(&self) -> usize {
        let (file, needle) = match self.kind {
            Kind::Vm => (
                format!("{DIR}/n1/var-log-libvirt/qemu/{}.console", self.name),
                "guest: up ",
            ),
            Kind::Container => (
                format!("{DIR}/lxc/{}/var-log-pacemaker/init.log", self.name),
                "container: up ",
            ),
        };
        std::fs::read(file)
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .filter(|l| l.contains(needle))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Kills the guest the hard way: SIGKILL to the VM's qemu, or to the
    /// container's init (the kernel then kills every process in it).
    pub fn kill(&self, lab: &MultiLab) -> (bool, String) {
        let cmd = match self.kind {
            Kind::Vm => format!("kill -KILL $(cat /run/libvirt/qemu/{}.pid)", self.name),
            Kind::Container => format!(
                "c=$(cat /run/libvirt/lxc/{}.pid) && p=$(cat /proc/$c/task/*/children) && \
                 [ -n \"$p\" ] && kill -KILL $p",
                self.name
            ),
        };
        lab.exec(1, &["sh", "-c", &cmd])
    }

    /// libvirt's state of the domain on n1 ("" if it is not there).
    pub fn state(&self, lab: &MultiLab) -> String {
        let uri = match self.kind {
            Kind::Vm => "qemu:///system",
            Kind::Container => "lxc:///",
        };
        match lab.exec(
            1,
            &[
                "timeout", "30", "virsh", "-q", "-c", uri, "domstate", &self.name,
            ],
        ) {
            (true, s) => s.lines().next().unwrap_or("").trim().to_string(),
            _ => String::new(),
        }
    }
}
