//! migrate_to (on the source) and migrate_from (on the target).
//!
//! migrate_to composes the destination as the anchor does (spec §7, with
//! `migration_mapping` applied to the target node first), starts the
//! migration through the libvirt API with the typed `migrate_options`, and
//! verifies the outcome before it answers: gone here and running on the
//! target means 0, whatever libvirt's call returned; still here means 1
//! with libvirt's message, the guest running on the source; gone here
//! after libvirt reported an error, with the target unreadable, is 1 with
//! that error (only a successful call is trusted without the target). A migration
//! still running near the deadline is aborted so that stays true.
//! migrate_from waits for the domain by libvirt's events and answers as
//! soon as it runs, or with an error within its timeout.

use crate::controller::{ControllerError, Remote};
use crate::controller::{
    DomainController, DomainState, JobAction, JobReport, JobSample, MigrateFlag, MigrationMode,
    MigrationSpec, MigrationWatch,
};
use crate::guest::observe::{observe, observe_patiently};
use crate::guest::state::Observed;
use crate::guest::tag as domain_tag;
use crate::guest_data::config_save;
use crate::host::systemd;
use crate::lifecycle::arrival::{start_resources, wait_until_running, Arrival};
use crate::migration::convergence::{Convergence, Policy};
use crate::migration::target::{hypervisor_uri, random_port, uri_params};
use crate::migration::uri::{self as migration_uri, MigrationPlan};
use crate::ocf::reason::MAX_REASON_BYTES;
use crate::ocf::{OcfError, OcfRc, OcfResult};
use crate::request::migrate_options::is_address;
use crate::request::migration_settings::OnExpiry;
use crate::request::Request;

/// `migrate_to`.
pub fn migrate_to(req: &Request, ctl: &dyn DomainController, remote: Remote) -> OcfResult {
    let name = &req.name;
    let target = req
        .ctx
        .migrate_target
        .as_deref()
        .filter(|t| is_address(t))
        .ok_or_else(|| {
            OcfError::generic(format!(
                "{name}: migrate_to: no valid migration target (CRM_meta_migrate_target)"
            ))
        })?;
    let ask_until = req.ctx.budget().preliminary_end();
    if !matches!(
        observe_patiently(ctl, name, ask_until, |_| false),
        Observed::Active(_)
    ) {
        return Err(OcfError::generic(format!(
            "{name}: migrate_to: Not active locally!"
        )));
    }
    let plan = plan(req, ctl, target)?;
    let spec = spec(req, plan);
    if req.params.save_config_on_stop {
        // on the source, while the domain (and any change made to it) is here
        let until = req.ctx.budget().preliminary_end();
        config_save::save_config(req, ctl, until);
        ctl.recover();
    }
    if req.params.start_resources {
        let dest = remote(&spec.dest_uri, req.ctx.work_end());
        start_resources(req, dest.as_ref())?;
    }
    if let Some(speed) = spec.bandwidth_mib {
        log::info!("{name}: Setting live migration speed limit for {name} to {speed} MiB/s.");
    }
    for word in &req.settings.migration.options.without_effect {
        log::info!("{name}: migrate_options {word} has no effect (no virsh is run).");
    }
    log::info!(
        "{name}: Starting {} migration to {target} (using: {}).",
        mode_word(spec.mode),
        describe(&spec)
    );
    let migrate_end = req.ctx.work_end() - req.ctx.budget().migration_reserve();
    let abort_at = migrate_end - req.ctx.budget().migration_reserve();
    let initial_downtime = Some(req.settings.migration_downtime).filter(|ms| *ms != 0);
    let policy = Policy::from_settings(&req.settings.migration, initial_downtime, abort_at);
    let watch = MigrationWatch::new(Convergence::new(policy));
    let outcome = ctl.migrate(name, &spec, &watch, migrate_end);
    ctl.recover();
    let report = watch.report();
    let (failure, there) = match outcome {
        Ok(there) => (None, there),
        Err(e) => {
            resume_if_paused_by_us(req, ctl, &report);
            (Some(cause(&report, &e)), None)
        }
    };
    let what = format!("{name}: {} migration to {target}", mode_word(spec.mode));
    let answer = verify(req, ctl, remote, &spec, &what, failure, there);
    if answer.is_ok() {
        match (report.completed, report.last) {
            (Some(done), _) => log::info!("{what}: {}.", done.completion()),
            (None, Some(last)) => log::info!("{what}: last seen {}.", last.progress(None)),
            (None, None) => {}
        }
    }
    answer.map_err(|e| with_last_look(e, &report))
}

/// A migration the policy paused to complete that failed all the same
/// leaves the guest paused on the source: it runs on there again.
fn resume_if_paused_by_us(req: &Request, ctl: &dyn DomainController, report: &JobReport) {
    if !report.taken.iter().any(|d| d.action == JobAction::Pause) {
        return;
    }
    let until = req.ctx.budget().preliminary_end();
    if ctl.state(&req.name, until) == Ok(DomainState::Paused) {
        match ctl.resume(&req.name, until) {
            Ok(()) => log::warn!(
                "{}: the migration failed after the agent paused the guest: resumed here.",
                req.name
            ),
            Err(e) => log::warn!(
                "{}: cannot resume the guest paused for the migration: {e}",
                req.name
            ),
        }
    }
}

/// Why the migration failed: the agent's own decision first (it says what
/// fired; libvirt's message after it, unless it only echoes the agent's
/// abort), else libvirt's message, which names the target when the
/// migration's connection to it is what broke; a failure after the switch
/// to post-copy says so first.
fn cause(report: &JobReport, error: &ControllerError) -> String {
    let libvirt = match error {
        ControllerError::Unreachable(msg) if report.target_lost => {
            format!("connection to the target lost: {msg}")
        }
        other => other.to_string(),
    };
    let fired = report
        .taken
        .iter()
        .rev()
        .find(|d| !matches!(d.action, JobAction::SetMaxDowntime(_)));
    match fired {
        Some(d) if d.action == JobAction::Abort => d.why.clone(),
        // what broke first: the guest ran on the target, its memory split
        Some(d) if d.action == JobAction::StartPostCopy => {
            format!("in post-copy: {libvirt} ({})", d.why)
        }
        Some(d) => format!("{} ({libvirt})", d.why),
        None => libvirt.to_string(),
    }
}

/// The failure's reason with the last look at the job (when it says
/// anything: a job just started has no figures yet), cut so that both fit
/// the exit reason's 128 bytes (the cause first, cut at a character).
fn with_last_look(e: OcfError, report: &JobReport) -> OcfError {
    let (Some(last), Some(reason)) = (report.last.filter(JobSample::has_data), &e.reason) else {
        return e;
    };
    let look = format!("; {}", last.brief());
    if reason.len() + look.len() > MAX_REASON_BYTES {
        log::warn!("{reason}{look}");
    }
    let mut keep = MAX_REASON_BYTES
        .saturating_sub(look.len())
        .min(reason.len());
    while !reason.is_char_boundary(keep) {
        keep -= 1;
    }
    OcfError::new(e.rc, format!("{}{look}", &reason[..keep]))
}

/// The destination as the anchor composes it, for the mapped target.
fn plan(
    req: &Request,
    ctl: &dyn DomainController,
    target: &str,
) -> Result<MigrationPlan, OcfError> {
    let hypervisor = hypervisor_uri(req, ctl)?;
    let host = req.settings.migration.host_for(target);
    let params = uri_params(req, &hypervisor, host != target);
    let plan =
        migration_uri::compose(&req.name, host, &params, random_port).map_err(OcfError::generic)?;
    for warning in &plan.warnings {
        log::warn!("{warning}");
    }
    Ok(plan)
}

/// The migration, fully decided from the plan and the checked settings.
fn spec(req: &Request, plan: MigrationPlan) -> MigrationSpec {
    let migration = &req.settings.migration;
    let options = &migration.options;
    let tunnelled = options.flags.contains(&MigrateFlag::Tunnelled);
    let migrate_uri = match plan.migrate_uri {
        // only a generated one can be here (explicit ones are refused at setup)
        Some(uri) if tunnelled => {
            log::info!(
                "{}: tunnelled migration: the dedicated-network URI {uri} is not used.",
                req.name
            );
            None
        }
        other => other,
    };
    let mut flags = options.flags.clone();
    let convergence = &migration.convergence;
    if convergence.auto_converge {
        flags.insert(MigrateFlag::AutoConverge);
    }
    if convergence.on_expiry == OnExpiry::PostCopy {
        flags.insert(MigrateFlag::PostCopy);
    }
    if req.params.persistent {
        // defined on the target, no definition left behind on the source
        flags.extend([MigrateFlag::PersistDest, MigrateFlag::UndefineSource]);
    }
    MigrationSpec {
        dest_uri: plan.dest_uri,
        migrate_uri,
        mode: migration.mode,
        flags: flags.into_iter().collect(),
        bandwidth_mib: options
            .bandwidth_mib
            .or(Some(req.settings.migration_speed))
            .filter(|s| *s != 0),
        listen_address: options.listen_address.clone(),
        parallel_connections: options.parallel_connections,
        tuning: options.tuning.clone(),
    }
}

fn mode_word(mode: MigrationMode) -> &'static str {
    match mode {
        MigrationMode::Live => "live",
        MigrationMode::Pause => "paused",
    }
}

/// The migration for the log, in virsh's words.
fn describe(spec: &MigrationSpec) -> String {
    let mut words = vec![format!("destination {}", spec.dest_uri)];
    if let Some(uri) = &spec.migrate_uri {
        words.push(format!("migration URI {uri}"));
    }
    if !spec.flags.is_empty() {
        words.push(format!("flags {:?}", spec.flags));
    }
    if let Some(mib) = spec.bandwidth_mib {
        words.push(format!("{mib} MiB/s"));
    }
    words.join(", ")
}

/// Where the domain runs decides the answer, not the call's return code.
fn verify(
    req: &Request,
    ctl: &dyn DomainController,
    remote: Remote,
    spec: &MigrationSpec,
    what: &str,
    failure: Option<String>,
    there: Option<DomainState>,
) -> OcfResult {
    let name = &req.name;
    let end = req.ctx.work_end();
    let here = observe(ctl, name, end);
    let still_here = !matches!(here, Observed::Inactive);
    if let (Some(why), true) = (&failure, still_here) {
        return Err(OcfError::generic(format!("{what} failed: {why}")));
    }
    if still_here {
        return Err(OcfError::generic(format!(
            "{what} reported success, but the domain is still here ({here:?})"
        )));
    }
    // read through the migration's own connection, else asked now
    let seen_there = match there {
        Some(state) => Observed::classify(Ok(state)),
        None => observe(remote(&spec.dest_uri, end).as_ref(), name, end),
    };
    match seen_there {
        Observed::Active(_) => {}
        Observed::Inactive => {
            return Err(OcfError::generic(format!(
                "{what} failed: the domain runs neither here nor there{}",
                failure.map(|f| format!(" ({f})")).unwrap_or_default()
            )));
        }
        other => match &failure {
            // nothing shows it arrived: libvirt's own error is the answer
            Some(why) => {
                return Err(OcfError::generic(format!(
                    "{what} failed: {why} (gone from here, its state there cannot be read: {other:?})"
                )));
            }
            None => log::warn!(
                "{what}: gone from here, but its state there cannot be read ({other:?}); \
                 trusting libvirt"
            ),
        },
    }
    if let Some(why) = failure {
        log::warn!("{what}: libvirt reported an error ({why}), but the domain runs there.");
    }
    log::info!("{what} succeeded.");
    Ok(OcfRc::Success)
}

/// `migrate_from`; the domain that arrived carries this resource's tag
/// (also when the source's agent did not set it).
pub fn migrate_from(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    let arrived = arrival(req, ctl)?;
    domain_tag::tag(req, ctl);
    Ok(arrived)
}

/// `migrate_from` without tagging: waits until the domain runs here.
pub fn arrival(req: &Request, ctl: &dyn DomainController) -> OcfResult {
    systemd::ensure_shutdown_ordering(req.ctx.budget().short_step());
    wait_until_running(req, ctl, Arrival::Migrating)?;
    log::info!(
        "{}: live migration from {} succeeded.",
        req.name,
        req.ctx.migrate_source.as_deref().unwrap_or("the source")
    );
    if req.params.save_config_on_stop {
        config_save::save_config(req, ctl, req.ctx.work_end());
    }
    Ok(OcfRc::Success)
}

#[cfg(test)]
#[path = "migrate_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "migrate_cause_tests.rs"]
mod cause_tests;
