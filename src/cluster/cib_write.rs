//! The resource's utilization attributes read and changed through libcib
//! ([`super::libcib`]): one connection, one query, at most one change per
//! action, bounded by the action's deadline.
//!
//! What is written is what `crm_resource --utilization` writes, attribute
//! by attribute (tools/crm_resource_runtime.c of Pacemaker 2.1.5): an
//! attribute found under the resource (`<primitive id=R>/<utilization>/
//! <nvpair name=A>`) keeps its id and place and gets the new value, or is
//! removed; one not found is added to the set `R-utilization` (created last
//! in the resource if missing) as `<nvpair id="R-utilization-A" name="A"
//! value="V"/>`; several matches are an error for that attribute, as there.
//! The edits are made with Pacemaker's own XML functions on the query's
//! answer, and sent in ONE request: a `modify` of just the changed nvpairs
//! when nothing is removed (what crm_resource sends, merged), else a
//! `replace` of the one utilization set that holds every change (or of the
//! resource, when an administrator spread the attributes over sets of
//! their own).

use std::time::Instant;

use super::attribute::{in_cib, Wanted};
use super::libcib::{self, Node, Session, Xml};
use crate::host::bounded::run_until;

/// The client name the CIB manager logs for our connection.
const CLIENT: &str = "VirtualDomain";

/// What the CIB holds for one attribute of the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Absent,
    Value(String),
    /// Several nvpairs of that name (crm_resource refuses them too).
    Ambiguous,
}

impl Found {
    /// What the values of the nvpairs named after one attribute amount to.
    pub fn of(mut values: Vec<String>) -> Found {
        match values.len() {
            0 => Found::Absent,
            1 => Found::Value(values.remove(0)),
            _ => Found::Ambiguous,
        }
    }
}

/// What to do about one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The CIB already holds what is wanted (or a config figure would only
    /// replace a value someone wrote).
    Keep,
    Write(u64),
    Remove,
    /// Cannot be done (ambiguous): not remembered, tried again later.
    Fail,
}

/// The step for `want` when the CIB holds `found`; `fill_only`: figures
/// from the config, which only fill in an attribute the CIB lacks.
pub fn step(want: &Wanted, found: &Found, fill_only: bool) -> Step {
    let now = match found {
        Found::Ambiguous => return Step::Fail,
        Found::Absent => None,
        Found::Value(v) => Some(v.as_str()),
    };
    let fills = fill_only && matches!(want, Wanted::Set(_));
    if (fills && now.is_some()) || in_cib(want, now) {
        return Step::Keep;
    }
    match want {
        Wanted::Set(n) => Step::Write(*n),
        Wanted::Delete => Step::Remove,
    }
}

/// Why nothing was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// libcib cannot be loaded: `crm_resource` is the way.
    NoLibrary(String),
    /// No CIB manager to sign on to (no cluster running here).
    NotConnected,
    /// The CIB could not be asked or changed.
    Cib(String),
}

/// Brings `changes` about for resource `id`; one `bool` per change (done,
/// or already so), or why nothing could be done. Everything, loading the
/// library included, runs on one thread (libxml2 keeps per-thread state),
/// waited for until `by` at most: a CIB manager that does not answer is
/// left behind on its thread (the process exits after its action).
pub fn apply(
    id: &str,
    changes: &[(&str, Wanted)],
    fill_only: bool,
    by: Instant,
) -> Result<Vec<bool>, Failure> {
    if id.is_empty() || id.contains(['"', '\0']) {
        return Err(Failure::Cib(format!(
            "resource id {id:?} cannot be looked up"
        )));
    }
    let id = id.to_string();
    let owned: Vec<(String, Wanted)> = changes
        .iter()
        .map(|(a, w)| (a.to_string(), w.clone()))
        .collect();
    let secs = by.saturating_duration_since(Instant::now()).as_secs_f64();
    let timeout_s = i32::try_from(secs.ceil() as i64).unwrap_or(i32::MAX);
    let run = move || {
        libcib::load().map_err(Failure::NoLibrary)?;
        session(&id, &owned, fill_only, timeout_s)
    };
    run_until(by, run).unwrap_or_else(|| {
        Err(Failure::Cib(format!(
            "the CIB did not answer within {secs:.1} s"
        )))
    })
}

fn rc_text(what: &str, rc: i32) -> String {
    format!("{what}: {} ({rc})", libcib::strerror(rc))
}

fn session(
    id: &str,
    changes: &[(String, Wanted)],
    fill_only: bool,
    timeout_s: i32,
) -> Result<Vec<bool>, Failure> {
    let cib = Session::connect(CLIENT, timeout_s).map_err(|rc| match rc {
        rc if rc == -nix::libc::ENOTCONN => Failure::NotConnected,
        rc => Failure::Cib(rc_text("CIB sign-on", rc)),
    })?;
    let done = edit_and_send(&cib, id, changes, fill_only).map_err(Failure::Cib)?;
    // an offline CIB file is written back here
    cib.close()
        .map_err(|rc| Failure::Cib(rc_text("CIB sign-off", rc)))?;
    Ok(done)
}

/// The query, the edits and the one change, on a signed-on session.
fn edit_and_send(
    cib: &Session,
    id: &str,
    changes: &[(String, Wanted)],
    fill_only: bool,
) -> Result<Vec<bool>, String> {
    let xpath = format!("/cib/configuration/resources//*[@id=\"{id}\"]");
    let found = cib.query(&xpath).map_err(|rc| rc_text("CIB query", rc))?;
    let Some(tree) = found else {
        return Err(format!("resource {id} is not in the CIB"));
    };
    if tree.root().get("id").as_deref() != Some(id) {
        return Err(format!("more than one element of the CIB has id {id}"));
    }
    let mut edit = Edit::default();
    let done: Vec<bool> = changes
        .iter()
        .map(|(attr, want)| edit.one(&tree, id, attr, want, fill_only))
        .collect();
    if !edit.touched.is_empty() {
        edit.send(cib, &tree)?;
    }
    Ok(done)
}

/// The edits made to the query's tree so far.
#[derive(Default)]
struct Edit {
    /// (set id, nvpair id, name, value) of each nvpair written, in order.
    touched: Vec<(String, String, String, Option<String>)>,
    removed: bool,
    created_set: bool,
}

impl Edit {
    /// Edits `tree` for one attribute; whether it is (or will be) as wanted.
    fn one(&mut self, tree: &Xml, id: &str, attr: &str, want: &Wanted, fill_only: bool) -> bool {
        let rsc = tree.root();
        let matches: Vec<(Node<'_>, Node<'_>)> = rsc
            .children("utilization")
            .into_iter()
            .flat_map(|set| set.children("nvpair").into_iter().map(move |nv| (set, nv)))
            .filter(|(_, nv)| nv.get("name").as_deref() == Some(attr))
            .collect();
        let found = Found::of(
            matches
                .iter()
                .map(|(_, nv)| nv.get("value").unwrap_or_default())
                .collect(),
        );
        let set_id = |set: Node<'_>| set.get("id").unwrap_or_default();
        match step(want, &found, fill_only) {
            Step::Keep => true,
            Step::Fail => {
                log::warn!("Utilization attribute {attr} of {id} is defined more than once");
                false
            }
            Step::Remove => {
                let (set, nv) = matches[0];
                let nv_id = nv.get("id").unwrap_or_default();
                self.touched.push((set_id(set), nv_id, attr.into(), None));
                self.removed = true;
                nv.remove();
                true
            }
            Step::Write(n) => {
                let value = n.to_string();
                if let Some(&(set, nv)) = matches.first() {
                    nv.set("value", &value);
                    let nv_id = nv.get("id").unwrap_or_default();
                    self.touched
                        .push((set_id(set), nv_id, attr.into(), Some(value)));
                    return true;
                }
                let own = format!("{id}-utilization");
                let set = match rsc
                    .children("utilization")
                    .into_iter()
                    .find(|s| s.get("id").as_deref() == Some(&own))
                {
                    Some(set) => set,
                    None => {
                        self.created_set = true;
                        let set = rsc.add_child("utilization");
                        set.set("id", &own);
                        set
                    }
                };
                let nv_id = format!("{own}-{attr}");
                set.add_nvpair(&nv_id, attr, &value);
                self.touched.push((own, nv_id, attr.into(), Some(value)));
                true
            }
        }
    }

    /// The one request that makes the CIB hold the edited tree's values.
    fn send(&self, cib: &Session, tree: &Xml) -> Result<(), String> {
        let rsc = tree.root();
        let mut sets: Vec<&str> = Vec::new();
        for (set, ..) in &self.touched {
            if !sets.contains(&set.as_str()) {
                sets.push(set);
            }
        }
        if !self.removed {
            let top = Xml::new(&rsc.name());
            top.root().set("id", &rsc.get("id").unwrap_or_default());
            for set in &sets {
                let node = top.root().add_child("utilization");
                node.set("id", set);
                for (_, nv_id, name, value) in self.touched.iter().filter(|t| t.0 == *set) {
                    node.add_nvpair(nv_id, name, value.as_deref().unwrap_or_default());
                }
            }
            log::debug!("CIB modify: {}", top.dump());
            return cib.modify(&top).map_err(|rc| rc_text("CIB modify", rc));
        }
        let one_set = match sets.as_slice() {
            [only] if !self.created_set => rsc
                .children("utilization")
                .into_iter()
                .find(|s| s.get("id").as_deref() == Some(*only)),
            _ => None,
        };
        let node = one_set.unwrap_or(rsc);
        log::debug!("CIB replace: {}", node.dump());
        cib.replace(node).map_err(|rc| rc_text("CIB replace", rc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_what_the_cib_holds() {
        let v = |s: &str| Found::Value(s.into());
        assert_eq!(step(&Wanted::Set(2), &Found::Absent, false), Step::Write(2));
        assert_eq!(step(&Wanted::Set(2), &v("2"), false), Step::Keep);
        assert_eq!(step(&Wanted::Set(2), &v("3"), false), Step::Write(2));
        assert_eq!(
            step(&Wanted::Set(2), &v("3"), true),
            Step::Keep,
            "fill only"
        );
        assert_eq!(step(&Wanted::Set(2), &Found::Absent, true), Step::Write(2));
        assert_eq!(step(&Wanted::Delete, &Found::Absent, false), Step::Keep);
        assert_eq!(step(&Wanted::Delete, &v("3"), true), Step::Remove);
        assert_eq!(step(&Wanted::Set(1), &Found::Ambiguous, false), Step::Fail);
    }
}
