//! The resource tag from the actions' side (upstream issue #1231): written
//! into the domain's definition when the agent starts, defines or receives
//! it, and read back to find this resource's domain when the config file
//! cannot be read (a node without the shared mount never learns the name
//! from it). Writing never fails an action: a domain without a tag is only
//! harder to find. Reading never guesses: two domains tagged with this
//! resource, or a tagged domain whose name is not the one the config named,
//! are reported, not picked from; a copy of a tagged definition (its tag
//! names another domain) and an inactive definition are never taken.

use std::time::Instant;

use crate::controller::{DomainController, Outcome, ResourceTag, TaggedDomain};
use crate::guest::observe::QUERY_CAP;
use crate::host::state_files;
use crate::ocf::OcfContext;
use crate::request::Request;

/// What this node remembers of the resource's domain under `HA_RSCTMP`:
/// the name read from its config, and the UUID it had when this node last
/// tagged it (one file: the name, then the UUID on a second line).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Remembered {
    pub name: String,
    pub uuid: Option<String>,
}

impl Remembered {
    /// What this node remembers for `instance`, if anything.
    pub fn read(ctx: &OcfContext) -> Option<Remembered> {
        let text = state_files::read(&state_files::remembered_domain(&ctx.rsctmp, &ctx.instance))?;
        let mut lines = text.lines();
        let name = lines.next().filter(|n| !n.is_empty())?.to_string();
        let uuid = lines.next().filter(|u| !u.is_empty()).map(str::to_string);
        Some(Remembered { name, uuid })
    }

    /// Remembers `name`, keeping the UUID remembered for that same name
    /// unless `uuid` gives a new one (another name forgets it).
    pub fn write(ctx: &OcfContext, name: &str, uuid: Option<&str>) {
        let kept = Remembered::read(ctx)
            .filter(|r| r.name == name)
            .and_then(|r| r.uuid);
        let uuid = uuid.map(str::to_string).or(kept);
        let text = match uuid {
            Some(uuid) => format!("{name}\n{uuid}"),
            None => name.to_string(),
        };
        let path = state_files::remembered_domain(&ctx.rsctmp, &ctx.instance);
        state_files::write_if_changed(&path, &text);
    }
}

/// Tags the domain of `req` with this resource and remembers its UUID; a
/// failure is logged.
pub fn tag(req: &Request, ctl: &dyn DomainController) {
    let tag = ResourceTag {
        instance: req.ctx.instance.clone(),
        config: req.config_path.display().to_string(),
        ..ResourceTag::default()
    };
    let until = req.ctx.work_end().min(Instant::now() + QUERY_CAP);
    match ctl.set_tag(&req.name, &tag, until) {
        Ok(uuid) => {
            log::debug!(
                "Domain {} ({uuid}) tagged with resource {}.",
                req.name,
                tag.instance
            );
            Remembered::write(&req.ctx, &req.name, Some(&uuid));
        }
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
    /// Nothing identifies a running domain: the anchor's answers stand;
    /// what was found instead (copies, inactive definitions), if anything,
    /// for the exit reason.
    Unknown(Option<String>),
    /// Not unambiguous: the reason, for the exit reason.
    Ambiguous(String),
}

/// Decides from what is remembered under `HA_RSCTMP` and the tags found
/// here (the listing, or why it failed). Only a running domain whose tag
/// names this resource and the domain's own name and UUID counts: a copy
/// of the definition carries the tag of the domain it was copied from,
/// and an inactive definition is not the running resource. The
/// remembered name comes first: without such a domain it is used alone
/// (unless the domain of that name runs here with another UUID than the
/// one remembered); a domain tagged with this resource under another name
/// is a conflict, not a choice.
pub fn identify(
    instance: &str,
    remembered: Option<&Remembered>,
    listing: &Outcome<Vec<TaggedDomain>>,
) -> Identity {
    let remembered_domain = |r: &Remembered| Identity::Domain {
        name: r.name.clone(),
        found_by: "the name remembered from its config",
    };
    let tagged = match listing {
        Ok(all) => all,
        Err(e) => {
            log::warn!("Cannot look for a domain tagged with resource {instance}: {e}");
            return remembered.map_or(Identity::Unknown(None), remembered_domain);
        }
    };
    let ours: Vec<&TaggedDomain> = tagged
        .iter()
        .filter(|d| d.tag.instance == instance)
        .collect();
    let genuine: Vec<&TaggedDomain> = ours
        .iter()
        .copied()
        .filter(|d| d.active && d.genuine())
        .collect();
    let found = || {
        (!ours.is_empty()).then(|| {
            let all: Vec<String> = ours.iter().map(|d| d.describe()).collect();
            format!("tagged here with resource {instance}: {}", all.join(", "))
        })
    };
    match (genuine.as_slice(), remembered) {
        ([], None) => Identity::Unknown(found()),
        ([], Some(r)) => match tagged.iter().find(|d| d.active && d.name == r.name) {
            Some(d)
                if r.uuid
                    .as_ref()
                    .is_some_and(|u| !u.eq_ignore_ascii_case(&d.uuid)) =>
            {
                Identity::Ambiguous(format!(
                    "Domain {} runs here with UUID {}, but the resource's domain had UUID {}: \
                     not taking it for the resource's",
                    d.name,
                    d.uuid,
                    r.uuid.as_deref().unwrap_or_default()
                ))
            }
            _ => remembered_domain(r),
        },
        ([one], Some(r)) if one.name != r.name => Identity::Ambiguous(format!(
            "Domain {} is tagged with resource {instance}, but its config named domain \
             {}: not guessing which one is the resource's",
            one.name, r.name
        )),
        ([one], _) => Identity::Domain {
            name: one.name.clone(),
            found_by: "its resource tag",
        },
        (many, _) => Identity::Ambiguous(format!(
            "Domains {} are all tagged with resource {instance}: not guessing which one is \
             the resource's",
            many.iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
#[path = "tag_tests.rs"]
mod tests;
