//! What an agent did, seen from outside it: libvirtd's own debug log of
//! the public API calls it received (switched on with virt-admin for one
//! step, into a file of its own), and the agent's log lines of one step.
//! This tells an agent that aborts a job (`virDomainAbortJob`) apart from
//! one whose job libvirt cancels because its client went away.

use super::*;

/// The API log's path inside a lab host, and from outside.
const API_LOG: &str = "/var/log/libvirt/vdm-api.log";

fn api_log_outside(host: usize) -> String {
    format!("{DIR}/n{host}/var-log-libvirt/vdm-api.log")
}

fn agent_log(host: usize) -> String {
    format!("{DIR}/n{host}/log/agent.log")
}

impl Pass<'_> {
    fn virt_admin(&mut self, host: usize, args: &[&str]) -> bool {
        let mut cmd = vec!["timeout", "20", "virt-admin", "-c", "libvirtd:///system"];
        cmd.extend_from_slice(args);
        let (ok, out) = self.lab.exec(host, &cmd);
        if !ok {
            self.info(format!("virt-admin {args:?} on n{host}: {out}"));
        }
        ok
    }

    /// libvirtd on nI logs every domain API call it receives (debug level
    /// of `libvirt.domain` only) into its own file, emptied now.
    pub(super) fn api_log_on(&mut self, host: usize) -> bool {
        let _ = std::fs::remove_file(api_log_outside(host));
        let outputs = format!("3:file:/var/log/libvirt/libvirtd.log 1:file:{API_LOG}");
        self.virt_admin(host, &["daemon-log-filters", "1:libvirt.domain"])
            && self.virt_admin(host, &["daemon-log-outputs", &outputs])
    }

    /// Back to the lab's logging; the calls to `api` on the domain seen
    /// meanwhile.
    pub(super) fn api_log_off(&mut self, host: usize, api: &str) -> usize {
        self.virt_admin(
            host,
            &["daemon-log-outputs", "3:file:/var/log/libvirt/libvirtd.log"],
        );
        self.virt_admin(host, &["daemon-log-filters", ""]);
        let log = std::fs::read_to_string(api_log_outside(host)).unwrap_or_default();
        let _ = std::fs::remove_file(api_log_outside(host));
        log.lines()
            .filter(|l| l.contains(&format!(" {api}:")) && l.contains(&format!("name={NAME}")))
            .count()
    }

    /// Where the agent log of nI ends now.
    pub(super) fn agent_log_mark(&self, host: usize) -> usize {
        std::fs::read_to_string(agent_log(host)).map_or(0, |t| t.len())
    }

    /// The agent log of nI written since `mark`.
    pub(super) fn agent_log_since(&self, host: usize, mark: usize) -> String {
        let text = std::fs::read_to_string(agent_log(host)).unwrap_or_default();
        text.get(mark..).unwrap_or_default().to_string()
    }
}
