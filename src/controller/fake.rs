//! An in-memory controller for unit tests of the action logic. The real
//! capabilities are tested against libvirt itself (tests/).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

use super::{
    ControllerError, DiskError, DomainController, DomainInfo, DomainState, JobSample,
    MigrationSpec, MigrationWatch, Outcome, ResourceTag, ShutdownMode, StateDetail, TaggedDomain,
};

/// A scripted hypervisor: domains by name, and a log of calls.
#[derive(Default)]
pub struct FakeController {
    pub domains: RefCell<HashMap<String, DomainState>>,
    pub persistent: RefCell<Vec<String>>,
    /// When set, every call fails with this.
    pub unreachable: Option<String>,
    /// Whether a graceful shutdown request stops the domain.
    pub obeys_shutdown: bool,
    /// Whether create fails.
    pub create_fails: bool,
    /// Whether `wakeup` brings a pmsuspended domain back to running.
    pub wakes_up: bool,
    /// Errors the next calls return, one each, before doing anything.
    pub fail_next: RefCell<VecDeque<ControllerError>>,
    /// Errors the next calls of one kind (`"create"`, `"state"`, …) return,
    /// one each, before doing anything.
    pub fail_verb: RefCell<Vec<(&'static str, ControllerError)>>,
    /// Calls (by name) that do not answer: they block until the bound of
    /// bound each call is given (at most [`FakeController::HANG`]) and leave the
    /// connection wedged until `recover`, like the libvirt backend.
    pub hangs_on: Vec<&'static str>,
    /// Calls of a kind that do not answer from their `n`th on (1-based).
    pub hangs_from: Vec<(&'static str, usize)>,
    pub wedged: Cell<bool>,
    /// Whether `migrate` moves the domain away (else it stays here).
    pub migrates: Cell<bool>,
    /// The last migration asked for, and its watch.
    pub migrated: RefCell<Option<MigrationSpec>>,
    pub watched: RefCell<Option<MigrationWatch>>,
    /// Looks at the job `migrate` shows its watch (as the libvirt
    /// watcher would, each at the instant the call starts).
    pub job_looks: RefCell<Vec<JobSample>>,
    pub calls: RefCell<Vec<String>>,
    /// libvirt's reasons for the domains' states (0 when not set).
    pub reasons: RefCell<HashMap<String, i32>>,
    /// When set, the guest agent does not answer `agent_ping` (this error).
    pub agent_silent: RefCell<Option<String>>,
    /// The disk errors `disk_errors` reports.
    pub disk_errs: RefCell<Vec<DiskError>>,
    /// The tags in the domains' definitions, by domain name.
    pub tags: RefCell<HashMap<String, ResourceTag>>,
    /// UUIDs of domains, by name (`uuid-<name>` when not set).
    pub uuids: RefCell<HashMap<String, String>>,
}

impl FakeController {
    pub fn with(name: &str, state: DomainState) -> Self {
        let fake = FakeController::default();
        fake.domains.borrow_mut().insert(name.into(), state);
        fake
    }

    /// The UUID of domain `name`.
    pub fn uuid_of(&self, name: &str) -> String {
        self.uuids
            .borrow()
            .get(name)
            .cloned()
            .unwrap_or_else(|| format!("uuid-{name}"))
    }

    /// How long a hanging call blocks without a bound.
    pub const HANG: Duration = Duration::from_secs(60);

    /// The next `n` calls fail as during a libvirtd restart.
    pub fn script_unreachable(&self, n: usize) {
        let mut next = self.fail_next.borrow_mut();
        for _ in 0..n {
            next.push_back(ControllerError::Unreachable("libvirtd restarting".into()));
        }
    }

    fn call(&self, what: String, by: Instant) -> Outcome<()> {
        let verb = what.split(' ').next().unwrap_or_default().to_string();
        self.calls.borrow_mut().push(what);
        if self.wedged.get() {
            return Err(ControllerError::Unreachable("wedged".into()));
        }
        let nth = self.count(&format!("{verb} "));
        let hangs_now = self.hangs_on.contains(&verb.as_str())
            || self.hangs_from.iter().any(|(v, n)| *v == verb && nth >= *n);
        if hangs_now {
            let until = by.min(Instant::now() + Self::HANG);
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
            self.wedged.set(true);
            return Err(ControllerError::Unreachable(format!(
                "{verb} did not answer"
            )));
        }
        if let Some(e) = self.fail_next.borrow_mut().pop_front() {
            return Err(e);
        }
        let scripted = {
            let mut by_verb = self.fail_verb.borrow_mut();
            let found = by_verb.iter().position(|(v, _)| *v == verb);
            found.map(|i| by_verb.remove(i).1)
        };
        if let Some(e) = scripted {
            return Err(e);
        }
        match &self.unreachable {
            Some(msg) => Err(ControllerError::Unreachable(msg.clone())),
            None => Ok(()),
        }
    }

    fn set(&self, name: &str, state: DomainState) {
        self.domains.borrow_mut().insert(name.into(), state);
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }
}

impl DomainController for FakeController {
    fn state(&self, name: &str, by: Instant) -> Outcome<DomainState> {
        self.call(format!("state {name}"), by)?;
        self.domains
            .borrow()
            .get(name)
            .copied()
            .ok_or(ControllerError::NoDomain)
    }
    fn state_detail(&self, name: &str, by: Instant) -> Outcome<StateDetail> {
        let state = self.state(name, by)?;
        let reason = self.reasons.borrow().get(name).copied().unwrap_or(0);
        Ok(StateDetail { state, reason })
    }
    fn disk_errors(&self, name: &str, by: Instant) -> Outcome<Vec<DiskError>> {
        self.call(format!("disk_errors {name}"), by)?;
        Ok(self.disk_errs.borrow().clone())
    }
    fn agent_ping(&self, name: &str, by: Instant) -> Outcome<()> {
        self.call(format!("agent_ping {name}"), by)?;
        match self.agent_silent.borrow().clone() {
            Some(msg) => Err(ControllerError::Failed(msg)),
            None => Ok(()),
        }
    }
    fn info(&self, name: &str, by: Instant) -> Outcome<DomainInfo> {
        self.state(name, by).map(|_| DomainInfo {
            vcpus: 2,
            max_memory_kib: 131072,
        })
    }
    fn emulator(&self, name: &str, by: Instant) -> Outcome<Option<String>> {
        self.state(name, by)
            .map(|_| Some("/usr/bin/qemu-system-x86_64".into()))
    }
    fn is_persistent(&self, name: &str, by: Instant) -> Outcome<bool> {
        self.call(format!("is_persistent {name}"), by)?;
        Ok(self.persistent.borrow().iter().any(|n| n == name))
    }
    fn undefine(&self, name: &str, by: Instant) -> Outcome<()> {
        self.call(format!("undefine {name}"), by)?;
        self.persistent.borrow_mut().retain(|n| n != name);
        if self.domains.borrow().get(name) == Some(&DomainState::Shutoff) {
            self.domains.borrow_mut().remove(name);
        }
        Ok(())
    }
    fn create(&self, xml: &str, by: Instant) -> Outcome<()> {
        self.call("create".into(), by)?;
        if self.create_fails {
            return Err(ControllerError::Failed("create refused".into()));
        }
        let name = crate::domain_xml::DomainConfig::parse(xml)
            .name
            .unwrap_or_default();
        self.set(&name, DomainState::Running);
        Ok(())
    }
    fn define(&self, xml: &str, by: Instant) -> Outcome<()> {
        self.call("define".into(), by)?;
        let name = crate::domain_xml::DomainConfig::parse(xml)
            .name
            .unwrap_or_default();
        self.persistent.borrow_mut().push(name.clone());
        self.domains
            .borrow_mut()
            .entry(name)
            .or_insert(DomainState::Shutoff);
        Ok(())
    }
    fn start_defined(&self, name: &str, by: Instant) -> Outcome<()> {
        self.call(format!("start {name}"), by)?;
        self.set(name, DomainState::Running);
        Ok(())
    }
    fn resume(&self, name: &str, by: Instant) -> Outcome<()> {
        self.call(format!("resume {name}"), by)?;
        self.set(name, DomainState::Running);
        Ok(())
    }
    fn shutdown(&self, name: &str, modes: &[ShutdownMode], by: Instant) -> Outcome<()> {
        self.call(format!("shutdown {name} {modes:?}"), by)?;
        if self.obeys_shutdown {
            self.gone(name);
        }
        Ok(())
    }
    fn destroy(&self, name: &str, by: Instant) -> Outcome<()> {
        self.call(format!("destroy {name}"), by)?;
        match self.domains.borrow().get(name) {
            None => return Err(ControllerError::NoDomain),
            Some(DomainState::Shutoff) => {
                return Err(ControllerError::InvalidState(
                    "domain is not running".into(),
                ))
            }
            Some(_) => {}
        }
        self.gone(name);
        Ok(())
    }
    /// A fake save image is the domain's XML (written where possible).
    fn save(&self, name: &str, path: &Path, by: Instant) -> Outcome<()> {
        self.call(format!("save {name} {}", path.display()), by)?;
        let _ = std::fs::write(path, format!("<domain><name>{name}</name></domain>"));
        self.gone(name);
        Ok(())
    }
    fn restore(&self, path: &Path, by: Instant) -> Outcome<()> {
        self.call(format!("restore {}", path.display()), by)?;
        if let Ok(xml) = std::fs::read_to_string(path) {
            if let Some(name) = crate::domain_xml::DomainConfig::parse(&xml).name {
                self.set(&name, DomainState::Running);
            }
        }
        Ok(())
    }
    fn save_image_xml(&self, path: &Path, by: Instant) -> Outcome<String> {
        self.call(format!("save_image_xml {}", path.display()), by)?;
        match std::fs::read_to_string(path) {
            Ok(xml) if xml.starts_with("<domain") => Ok(xml),
            _ => Err(ControllerError::Failed(
                "operation failed: image magic is incorrect".into(),
            )),
        }
    }
    fn inactive_xml(&self, name: &str, by: Instant) -> Outcome<String> {
        self.call(format!("inactive_xml {name}"), by)?;
        self.state(name, by)
            .map(|_| format!("<domain><name>{name}</name></domain>"))
    }
    fn wait_event(&self, _name: &str, timeout: Duration) -> bool {
        std::thread::sleep(timeout.min(Duration::from_millis(5)));
        false
    }
    fn uri(&self, by: Instant) -> Outcome<String> {
        self.call("uri".into(), by)?;
        Ok("qemu:///system".into())
    }
    fn migrate(
        &self,
        name: &str,
        spec: &MigrationSpec,
        watch: &MigrationWatch,
        by: Instant,
    ) -> Outcome<Option<DomainState>> {
        *self.migrated.borrow_mut() = Some(spec.clone());
        *self.watched.borrow_mut() = Some(watch.clone());
        for look in self.job_looks.borrow().iter() {
            let taken = watch.steering.lock().unwrap().decide(Instant::now(), look);
            let mut report = watch.report.lock().unwrap();
            report.last = Some(*look);
            report.taken.extend(taken);
        }
        let moved = self.migrates.get();
        let out = self.call(format!("migrate {name}"), by);
        if moved {
            self.gone(name);
        }
        out.map(|()| None)
    }
    fn recover(&self) {
        self.calls.borrow_mut().push("recover".into());
        self.wedged.set(false);
    }
    fn set_tag(&self, name: &str, tag: &ResourceTag, by: Instant) -> Outcome<String> {
        self.call(format!("set_tag {name}"), by)?;
        if !self.domains.borrow().contains_key(name) {
            return Err(ControllerError::NoDomain);
        }
        let uuid = self.uuid_of(name);
        self.tags
            .borrow_mut()
            .insert(name.into(), tag.for_domain(name, &uuid));
        Ok(uuid)
    }
    fn tagged_domains(&self, by: Instant) -> Outcome<Vec<TaggedDomain>> {
        self.call("tagged_domains".into(), by)?;
        let domains = self.domains.borrow();
        let mut found: Vec<TaggedDomain> = self
            .tags
            .borrow()
            .iter()
            .filter(|(name, _)| domains.contains_key(*name))
            .map(|(name, tag)| TaggedDomain {
                name: name.clone(),
                uuid: self.uuid_of(name),
                active: domains.get(name) != Some(&DomainState::Shutoff),
                tag: tag.clone(),
            })
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }
    fn wakeup(&self, name: &str, by: Instant) -> Outcome<()> {
        self.call(format!("wakeup {name}"), by)?;
        if self.wakes_up && self.domains.borrow().get(name) == Some(&DomainState::PmSuspended) {
            self.set(name, DomainState::Running);
            Ok(())
        } else {
            Err(ControllerError::Failed("cannot wake up".into()))
        }
    }
}

impl FakeController {
    fn gone(&self, name: &str) {
        if self.persistent.borrow().iter().any(|n| n == name) {
            self.set(name, DomainState::Shutoff);
        } else {
            self.domains.borrow_mut().remove(name);
        }
    }
}
