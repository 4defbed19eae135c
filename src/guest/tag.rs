//! The resource tag from the actions' side (upstream issue #1231): written
//! into the domain's definition when the agent starts, defines or receives
//! it, and read back to find this resource's domain when the config file
//! cannot be read (a node without the shared mount never learns the name
//! from it). Writing never fails an action: a domain without a tag is only
//! harder to find. Reading never guesses: two domains tagged with this
//! resource, or a tagged domain whose name is not the one the config named,
//! are reported, not picked from.

use std::time::Instant;

use crate::controller::{DomainController, Outcome, ResourceTag, TaggedDomain};
use crate::guest::observe::QUERY_CAP;
use crate::request::Request;

/// Tags the domain of `req` with this resource; a failure is logged.
pub fn tag(req: &Request, ctl: &dyn DomainController) {
    let tag = ResourceTag {
        instance: req.ctx.instance.clone(),
        config: req.config_path.display().to_string(),
    };
    let until = req.ctx.work_end().min(Instant::now() + QUERY_CAP);
    match ctl.set_tag(&req.name, &tag, until) {
        Ok(()) => log::debug!("Domain {} tagged with resource {}.", req.name, tag.instance),
        Err(e) => {
            log::warn!(
                "Cannot tag domain {} with resource {} (it can then only be found by its config): {e}",
                req.name,
                tag.instance
            );
            ctl.recover();
        }
    }
}

/// The domains tagged here, in one listing bounded by [`QUERY_CAP`].
pub fn list(ctl: &dyn DomainController, work_end: Instant) -> Outcome<Vec<TaggedDomain>> {
    let until = work_end.min(Instant::now() + QUERY_CAP);
    let listing = ctl.tagged_domains(until);
    if listing.is_err() {
        ctl.recover();
    }
    listing
}

/// Which domain an action without its config is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// This one, found as `found_by` says (for the log).
    Domain {
        name: String,
        found_by: &'static str,
    },
    /// Nothing identifies a domain: the anchor's answers stand.
    Unknown,
    /// Not unambiguous: the reason, for the exit reason.
    Ambiguous(String),
}

/// Decides from the name remembered under `HA_RSCTMP` and the tags found
/// here (the listing, or why it failed). The remembered name comes first:
/// without a listing it is used alone; with one, a domain tagged with this
/// resource under another name is a conflict, not a choice.
pub fn identify(
    instance: &str,
    remembered: Option<&str>,
    listing: &Outcome<Vec<TaggedDomain>>,
) -> Identity {
    let remembered_domain = |name: &str| Identity::Domain {
        name: name.to_string(),
        found_by: "the name remembered from its config",
    };
    let tagged = match listing {
        Ok(all) => all,
        Err(e) => {
            log::warn!("Cannot look for a domain tagged with resource {instance}: {e}");
            return remembered.map_or(Identity::Unknown, remembered_domain);
        }
    };
    let ours: Vec<&str> = tagged
        .iter()
        .filter(|d| d.tag.instance == instance)
        .map(|d| d.name.as_str())
        .collect();
    match (ours.as_slice(), remembered) {
        ([], None) => Identity::Unknown,
        ([], Some(name)) => remembered_domain(name),
        ([one], Some(name)) if *one != name => Identity::Ambiguous(format!(
            "Domain {one} is tagged with resource {instance}, but its config named domain \
             {name}: not guessing which one is the resource's"
        )),
        ([one], _) => Identity::Domain {
            name: (*one).to_string(),
            found_by: "its resource tag",
        },
        (many, _) => Identity::Ambiguous(format!(
            "Domains {} are all tagged with resource {instance}: not guessing which one is \
             the resource's",
            many.join(", ")
        )),
    }
}

#[cfg(test)]
#[path = "tag_tests.rs"]
mod tests;
