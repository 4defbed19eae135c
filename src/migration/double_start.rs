//! Double-start protection (opt-in, `double_start_protection`): before a
//! start, ask the libvirt of the other nodes whether the domain already
//! runs there, and refuse if it does. Two running copies of one guest
//! write to the same disks and corrupt its filesystem (rgmanager's wiki;
//! upstream issue #856); Pacemaker prevents that when its view is right,
//! this catches the cases where it is not (a guest started by hand, a
//! cluster without fencing).
//!
//! The nodes are asked in parallel, through the same URI composition as a
//! migration (so `migration_transport`, `migration_user`,
//! `migration_network_suffix` and `migration_mapping` apply), bounded by
//! min(10 s, a quarter of the start timeout). A node that cannot be asked
//! in that time — powered off, fenced, its libvirtd down — is assumed not
//! to run the guest: Pacemaker only starts a resource elsewhere once such
//! a node is known to be down, and a start must never wait forever for a
//! dead node. That assumption is logged as a warning.

use std::process::Command;

use super::target::uri_params;
use super::uri as migration_uri;
use crate::controller::Remote;
use crate::guest::state::Observed;
use crate::host::command::run_bounded;
use crate::ocf::OcfError;
use crate::request::Request;
use crate::timing::CLUSTER_QUERY_CAP;

/// Refuses (1 with a reason) when the domain exists, not shut off, on one
/// of `nodes` (empty: the cluster's members) other than this one.
pub fn refuse_if_running_elsewhere(
    req: &Request,
    nodes: &[String],
    hypervisor: &str,
    remote: Remote,
) -> Result<(), OcfError> {
    let listed;
    let nodes = if nodes.is_empty() {
        listed = cluster_members(req);
        &listed
    } else {
        nodes
    };
    let local = req.ctx.local_node();
    let others: Vec<&String> = nodes
        .iter()
        .filter(|n| Some(n.as_str()) != local.as_deref())
        .collect();
    if others.is_empty() {
        log::warn!(
            "{}: double_start_protection: no other node to ask",
            req.name
        );
        return Ok(());
    }
    let until = req.ctx.budget().double_start_end();
    let answers: Vec<(&String, Result<Observed, String>)> = std::thread::scope(|scope| {
        let asks: Vec<_> = others
            .iter()
            .map(|node| {
                let uri = node_uri(req, node, hypervisor);
                let handle = scope.spawn(move || {
                    let uri = uri?;
                    let ctl = remote(&uri, until);
                    Ok(Observed::classify(ctl.state(&req.name, until)))
                });
                (*node, handle)
            })
            .collect();
        asks.into_iter()
            .map(|(node, handle)| {
                let answer = handle
                    .join()
                    .unwrap_or_else(|_| Err("the check failed".to_string()));
                (node, answer)
            })
            .collect()
    });
    for (node, answer) in answers {
        match answer {
            Ok(Observed::Inactive) => {}
            Ok(Observed::Failed(why) | Observed::Indeterminate(why)) | Err(why) => log::warn!(
                "{}: double_start_protection: cannot ask node {node} ({why}); \
                 assuming the domain does not run there",
                req.name
            ),
            Ok(seen) => {
                return Err(OcfError::generic(format!(
                    "{} already exists on node {node} ({}); not starting it here",
                    req.name,
                    state_word(&seen)
                )));
            }
        }
    }
    Ok(())
}

fn state_word(seen: &Observed) -> String {
    match seen {
        Observed::Active(state) => state.virsh_word().to_string(),
        other => other.unknown_word().unwrap_or_default(),
    }
}

/// The node's libvirt URI, composed as a migration destination.
fn node_uri(req: &Request, node: &str, hypervisor: &str) -> Result<String, String> {
    let host = req.settings.migration.host_for(node);
    let params = uri_params(req, hypervisor, host != node);
    migration_uri::compose(&req.name, host, &params, || 0).map(|plan| plan.dest_uri)
}

/// The cluster's node names (`crm_node -l`: "ID NAME STATE" per line).
fn cluster_members(req: &Request) -> Vec<String> {
    let mut cmd = Command::new("crm_node");
    cmd.arg("-l");
    match run_bounded(cmd, req.ctx.work_left().min(CLUSTER_QUERY_CAP)) {
        Ok(done) if done.success() => done
            .output
            .lines()
            .filter_map(|line| line.split_whitespace().nth(1))
            .map(str::to_string)
            .collect(),
        other => {
            log::warn!(
                "{}: double_start_protection: cannot list the cluster's nodes ({other:?}); \
                 set double_start_nodes",
                req.name
            );
            Vec::new()
        }
    }
}
