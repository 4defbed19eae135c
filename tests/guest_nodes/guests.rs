//! The guest nodes of tests/guest_nodes.rs: a VM or an LXC container
//! running pacemaker-remoted on n1's br-guest network, the VirtualDomain
//! resource that runs it, and the Dummy placed on it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::{agent_spec, agent_tag, Subject};
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
    /// reached by remote-addr and remote-port (3122), its name resolves
    /// nowhere; remote-connect-timeout is tried on it (the containers)
    pub options: bool,
}

/// (agent, kind) → (id, address): vdr-va/vdr-vo (VMs, .11/.12),
/// vdr-ca/vdr-co (containers, .21/.22)
fn ident(anchor: bool, kind: Kind) -> (String, String) {
    let a = if anchor { "a" } else { "o" };
    let (k, base) = match kind {
        Kind::Vm => ("v", 10),
        Kind::Container => ("c", 20),
    };
    let n = base + if anchor { 1 } else { 2 };
    (format!("{k}{a}"), format!("192.168.123.{n}"))
}

/// Every guest name the test may create (for the cgroup sweep).
pub fn all_names() -> Vec<String> {
    let mut v = Vec::new();
    for anchor in [true, false] {
        for kind in [Kind::Vm, Kind::Container] {
            v.push(format!("vdr-{}", ident(anchor, kind).0));
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

/// The guest network (br-guest, 192.168.123.I/24 on nI, one network for
/// both hosts) and cgroups for the hosts' LXC drivers.
pub fn prepare_hosts(lab: &MultiLab) -> Result<(), String> {
    for i in 1..=lab.hosts {
        let i = i.to_string();
        script(lab, "guest-bridge.sh", &[DIR, &i])?;
        script(lab, "host-cgroups.sh", &[DIR, &i, "mount"])?;
    }
    Ok(())
}

/// "anchor vm", "ours lxc", …
impl Subject for Guest {
    fn tag(&self) -> String {
        format!("{} {}", agent_tag(self.anchor), self.kind.word())
    }
}

impl Guest {
    /// Builds the guest (the VM's XML and initramfs, or the container's
    /// XML and directories). A VM's name goes into the lab's /etc/hosts (the
    /// guide's way); a container is the options guest: reached by
    /// remote-addr, listening on port 3122.
    pub fn new(lab: &MultiLab, anchor: bool, kind: Kind) -> Guest {
        let options = kind == Kind::Container;
        let (id, addr) = ident(anchor, kind);
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
            options,
        }
    }

    /// The meta attributes of the VM resource: remote-node (VMs: also
    /// allow-migrate), the options guest's remote-addr, remote-port and
    /// remote-connect-timeout.
    pub fn meta(&self) -> Vec<String> {
        let mut v = vec![format!("remote-node={}", self.name)];
        if self.kind == Kind::Vm {
            v.push("allow-migrate=true".into());
        }
        if self.options {
            v.push(format!("remote-addr={}", self.addr));
            v.push(format!("remote-port={}", self.port));
            v.push("remote-connect-timeout=30s".into());
        }
        v
    }

    /// "… meta remote-node=NAME …" for the report.
    pub fn meta_words(&self) -> String {
        format!("… meta {}", self.meta().join(" "))
    }

    /// The words after the resource id of `pcs resource create`, as the
    /// guide writes them: agent, hypervisor, config (VMs:
    /// migration_transport=tcp; containers: force_stop=true), the meta
    /// attributes, a 5 s monitor, --force (pcs 0.11 wants `pcs cluster node
    /// add-guest`, which needs pcsd).
    pub fn create_args(&self) -> Vec<String> {
        let mut v: Vec<String> = vec![agent_spec(self.anchor).into()];
        match self.kind {
            Kind::Vm => v.push("hypervisor=qemu:///system".into()),
            Kind::Container => v.push("hypervisor=lxc:///".into()),
        }
        v.push(format!("config={}", self.xml.display()));
        match self.kind {
            Kind::Vm => v.push("migration_transport=tcp".into()),
            Kind::Container => v.push("force_stop=true".into()),
        }
        v.push("meta".into());
        v.extend(self.meta());
        v.extend(
            ["op", "monitor", "interval=5s", "timeout=30s", "--force"]
                .iter()
                .map(|s| s.to_string()),
        );
        v
    }

    /// The VM's console on nI (appended to by every start there).
    pub fn console(&self, i: usize) -> String {
        std::fs::read(format!(
            "{DIR}/n{i}/var-log-libvirt/qemu/{}.console",
            self.name
        ))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
    }

    /// How many times pacemaker-remoted came up in this guest: "guest: up"
    /// lines on the VM's consoles (n1 and n2; a live migration adds none),
    /// "container: up" lines in the container's init.log (all appended to).
    pub fn ups(&self) -> usize {
        let count =
            |text: String, needle: &str| text.lines().filter(|l| l.contains(needle)).count();
        match self.kind {
            Kind::Vm => (1..=2).map(|i| count(self.console(i), "guest: up ")).sum(),
            Kind::Container => count(
                std::fs::read(format!(
                    "{DIR}/lxc/{}/var-log-pacemaker/init.log",
                    self.name
                ))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default(),
                "container: up ",
            ),
        }
    }

    /// Kills the guest the hard way: SIGKILL to the VM's qemu, or to the
    /// container's init (the kernel then kills every process in it).
    pub fn kill(&self, lab: &MultiLab, host: usize) -> (bool, String) {
        let cmd = match self.kind {
            Kind::Vm => format!("kill -KILL $(cat /run/libvirt/qemu/{}.pid)", self.name),
            Kind::Container => format!(
                "c=$(cat /run/libvirt/lxc/{}.pid) && p=$(cat /proc/$c/task/*/children) && \
                 [ -n \"$p\" ] && kill -KILL $p",
                self.name
            ),
        };
        lab.exec(host, &["sh", "-c", &cmd])
    }

    /// libvirt's state of the domain on nI ("" if it is not there).
    pub fn state(&self, lab: &MultiLab, i: usize) -> String {
        let uri = match self.kind {
            Kind::Vm => "qemu:///system",
            Kind::Container => "lxc:///",
        };
        match lab.exec(
            i,
            &[
                "timeout", "30", "virsh", "-q", "-c", uri, "domstate", &self.name,
            ],
        ) {
            (true, s) => s.lines().next().unwrap_or("").trim().to_string(),
            _ => String::new(),
        }
    }
}
