//! Utilization written through libcib into an offline CIB (`CIB_file`),
//! against a real libvirtd's test driver (`test+unix:///default`): the
//! CIB holds after one agent run exactly what `crm_resource --utilization`
//! leaves after the same changes (ids, sets, values, places), in one
//! change; every attribute survives, through the library and through the
//! `crm_resource` fallback (side-by-side runs used to overwrite each
//! other's file); a CIB that never answers costs no more than the
//! operation's time. Domains are named `cibu-<pid>-…`.

mod support;

#[path = "support/cib_file.rs"]
mod cib_file;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::*;
use virtualdomain::controller::libvirt::LibvirtController;
use virtualdomain::controller::DomainController;

const TEST_URI: &str = "test+unix:///default";

fn domain_xml(name: &str, vcpus: u32, mib: u64) -> String {
    format!(
        "<domain type='test'><name>{name}</name><memory unit='MiB'>{mib}</memory>\
         <vcpu>{vcpus}</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
    )
}

/// The OCF environment of resource `rsc` (utilization flags at their
/// defaults: all autoset on), a fresh HA_RSCTMP, writing into `cib`.
/// A scratch directory holding the config `vm.xml` of test-driver domain
/// `cibu-<pid>-<tag>` (vcpus, MiB): (directory, resource/domain name, config).
fn resource(tag: &str, vcpus: u32, mib: u64) -> (tempfile::TempDir, String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let rsc = format!("cibu-{}-{tag}", std::process::id());
    let config = dir.path().join("vm.xml");
    std::fs::write(&config, domain_xml(&rsc, vcpus, mib)).unwrap();
    (dir, rsc, config)
}

fn ocf(dir: &Path, rsc: &str, config: &Path, cib: &Path) -> Ocf {
    let ocf = Ocf::new(rsc, config, TEST_URI)
        .with("CIB_file", &cib.display().to_string())
        .without("OCF_RESKEY_autoset_utilization_cpu")
        .without("OCF_RESKEY_autoset_utilization_hv_memory")
        .without("OCF_RESKEY_autoset_utilization_host_memory");
    let rsctmp = dir.join(format!("rsctmp-{rsc}"));
    let _ = std::fs::remove_dir_all(&rsctmp);
    std::fs::create_dir_all(&rsctmp).unwrap();
    ocf.with("HA_RSCTMP", &rsctmp.display().to_string())
}

fn ready(what: &str) -> bool {
    lab_available(what) && cib_file::tools_available(what)
}

/// A test-driver domain kept running (the daemon forgets its test
/// domains when the last connection closes: this one holds it).
struct Running {
    keeper: LibvirtController,
    name: String,
}

impl Running {
    fn new(name: &str, vcpus: u32, mib: u64) -> Running {
        let keeper = LibvirtController::new(
            Some(TEST_URI.into()),
            Instant::now() + Duration::from_secs(120),
        );
        let _ = keeper.destroy(name, by());
        keeper.create(&domain_xml(name, vcpus, mib), by()).unwrap();
        Running {
            keeper,
            name: name.into(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.keeper.destroy(&self.name, by());
    }
}

#[test]
fn the_library_writes_what_crm_resource_writes_in_one_change() {
    if !ready("utilization as crm_resource writes it") {
        return;
    }
    let (dir, rsc, config) = resource("same", 2, 1430);

    // a probe where libvirt does not know the domain: the config's figures
    // into a CIB without utilization (a new set)
    let by_tool = cib_file::with_primitive(dir.path(), "tool.xml", &rsc, "");
    let by_agent = cib_file::copy(&by_tool, "agent.xml");
    for attr in ["cpu", "host_memory", "hv_memory"] {
        let value = if attr == "cpu" { 2 } else { 1430 };
        cib_file::set(&by_tool, &rsc, attr, value);
    }
    let before = cib_file::epoch(&by_agent);
    let probe = ocf(dir.path(), &rsc, &config, &by_agent).ours("monitor");
    assert_eq!(probe.code, 7, "{probe:?}");
    let written = cib_file::configuration(&by_agent);
    assert_eq!(written, cib_file::configuration(&by_tool));
    assert!(
        written.contains("name=\"hv_memory\" value=\"1430\""),
        "{written}"
    );
    assert_eq!(cib_file::epoch(&by_agent), before + 1, "one change");

    // the domain runs with 4 vCPUs and 512 MiB: cpu changes in place, next
    // to an attribute of the administrator's; host_memory is new;
    // hv_memory is to be unset (one replace of the set)
    let _running = Running::new(&rsc, 4, 512);
    let set = format!(
        "<utilization id=\"{rsc}-utilization\">\
         <nvpair id=\"{rsc}-utilization-cpu\" name=\"cpu\" value=\"9\"/>\
         <nvpair id=\"admin-gpu\" name=\"gpu\" value=\"1\"/>\
         <nvpair id=\"{rsc}-utilization-hv_memory\" name=\"hv_memory\" value=\"1\"/>\
         </utilization>"
    );
    let by_tool = cib_file::with_primitive(dir.path(), "tool2.xml", &rsc, &set);
    let by_agent = cib_file::copy(&by_tool, "agent2.xml");
    cib_file::set(&by_tool, &rsc, "cpu", 4);
    cib_file::set(&by_tool, &rsc, "host_memory", 512);
    cib_file::delete(&by_tool, &rsc, "hv_memory");
    let env = ocf(dir.path(), &rsc, &config, &by_agent)
        .with("OCF_RESKEY_unset_utilization_hv_memory", "true")
        .recurring();
    let before = cib_file::epoch(&by_agent);
    assert_eq!(env.ours("monitor").code, 0);
    assert_eq!(
        cib_file::configuration(&by_agent),
        cib_file::configuration(&by_tool)
    );
    assert_eq!(cib_file::epoch(&by_agent), before + 1, "one change");

    // cpu in a set of the administrator's own, hv_memory to unset in ours:
    // the resource is replaced, the result still crm_resource's
    let sets = format!(
        "<utilization id=\"admin-set\">\
         <nvpair id=\"admin-cpu\" name=\"cpu\" value=\"9\"/></utilization>\
         <utilization id=\"{rsc}-utilization\">\
         <nvpair id=\"{rsc}-utilization-hv_memory\" name=\"hv_memory\" value=\"1\"/>\
         </utilization>"
    );
    let by_tool = cib_file::with_primitive(dir.path(), "tool3.xml", &rsc, &sets);
    let by_agent = cib_file::copy(&by_tool, "agent3.xml");
    cib_file::set(&by_tool, &rsc, "cpu", 4);
    cib_file::set(&by_tool, &rsc, "host_memory", 512);
    cib_file::delete(&by_tool, &rsc, "hv_memory");
    let env = ocf(dir.path(), &rsc, &config, &by_agent)
        .with("OCF_RESKEY_unset_utilization_hv_memory", "true")
        .recurring();
    assert_eq!(env.ours("monitor").code, 0);
    let written = cib_file::configuration(&by_agent);
    assert_eq!(written, cib_file::configuration(&by_tool));
    assert!(
        written.contains("id=\"admin-cpu\" name=\"cpu\" value=\"4\""),
        "{written}"
    );
}

#[test]
fn every_attribute_survives_in_an_offline_cib_with_the_library_and_without() {
    if !ready("utilization into an offline CIB") {
        return;
    }
    let (dir, rsc, config) = resource("all", 2, 256);
    let _running = Running::new(&rsc, 2, 256);
    let fallback = dir.path().join("nolib");
    std::fs::create_dir_all(&fallback).unwrap();
    // an empty libcib.so.27 first on the library path: the agent cannot
    // load it; the real crm_resource runs without that path
    std::fs::write(fallback.join(LIBCIB), "").unwrap();
    let real = fallback.join("crm_resource");
    std::fs::write(
        &real,
        "#!/bin/sh\nunset LD_LIBRARY_PATH\nexec /usr/sbin/crm_resource \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&real, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let inside = format!(
        "<utilization id=\"{rsc}-utilization\">\
         <nvpair id=\"{rsc}-utilization-cpu\" name=\"cpu\" value=\"7\"/></utilization>"
    );
    for library in [true, false] {
        let cib = cib_file::with_primitive(dir.path(), "cib.xml", &rsc, &inside);
        let mut env = ocf(dir.path(), &rsc, &config, &cib)
            .with("OCF_RESKEY_unset_utilization_cpu", "true")
            .recurring();
        if !library {
            let path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", fallback.display());
            env = env
                .with("LD_LIBRARY_PATH", &fallback.display().to_string())
                .with("PATH", &path);
        }
        let run = env.ours("monitor");
        assert_eq!(run.code, 0, "{run:?}");
        let written = cib_file::configuration(&cib);
        let how = if library { "libcib" } else { "crm_resource" };
        assert!(
            written.contains("name=\"host_memory\" value=\"256\"")
                && written.contains("name=\"hv_memory\" value=\"256\"")
                && !written.contains("name=\"cpu\""),
            "{how}: {written}\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_cib_that_never_answers_costs_no_more_than_the_operation_time() {
    if !ready("a CIB that never answers") {
        return;
    }
    let (dir, rsc, config) = resource("hang", 1, 128);
    // libcib opens the "file" to read it: a FIFO without a writer blocks
    let fifo = dir.path().join("cib.xml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let env = ocf(dir.path(), &rsc, &config, &fifo).with("OCF_RESKEY_CRM_meta_timeout", "4000");
    let probe = env.ours("monitor");
    assert_eq!(probe.code, 7, "{probe:?}");
    assert!(probe.elapsed < env.timeout(), "{:?}", probe.elapsed);
    assert!(
        probe.stderr.contains("the CIB did not answer"),
        "{}",
        probe.stderr
    );
}

#[test]
fn a_clone_instance_keeps_crm_resource_and_its_clone_rules() {
    if !lab_available("a cloned resource's utilization") {
        return;
    }
    let (dir, rsc, config) = resource("clone", 1, 128);
    let log = fake_crm_resource(dir.path());
    let path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", dir.path().display());
    // libcib loadable: only the instance name sends this one to crm_resource
    let env = ocf(
        dir.path(),
        &format!("{rsc}:0"),
        &config,
        &dir.path().join("cib.xml"),
    )
    .without("CIB_file")
    .with("PATH", &path);
    assert_eq!(env.ours("monitor").code, 7);
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        calls.contains(&format!(
            "--resource={rsc}:0 --utilization --set-parameter=cpu"
        )),
        "{calls}"
    );
}

#[test]
fn a_probe_finding_its_utilization_in_an_offline_cib_reads_the_file_and_loads_no_libcib() {
    if !ready("a probe reading an offline CIB as a file") {
        return;
    }
    let (dir, rsc, config) = resource("read", 3, 700);
    let cib = cib_file::with_primitive(dir.path(), "cib.xml", &rsc, "");
    let trace = dir.path().join("trace");
    let loads_libcib = |log: &str| {
        log.lines()
            .any(|l| l.contains(LIBCIB) && l.contains("openat"))
    };

    // nothing in the CIB yet: written through libcib
    let (code, log) = ocf(dir.path(), &rsc, &config, &cib).ours_traced("monitor", &trace);
    assert_eq!(code, 7, "{log}");
    assert!(loads_libcib(&log), "the first probe writes through libcib");
    let written = std::fs::read(&cib).unwrap();
    assert!(
        String::from_utf8_lossy(&written).contains("name=\"cpu\" value=\"3\""),
        "{}",
        String::from_utf8_lossy(&written)
    );

    // another node's probe (nothing remembered): the file already holds
    // every figure; read as a file, left byte for byte as it was
    let (code, log) = ocf(dir.path(), &rsc, &config, &cib).ours_traced("monitor", &trace);
    assert_eq!(code, 7, "{log}");
    assert!(
        !loads_libcib(&log),
        "libcib loaded although nothing changes:\n{log}"
    );
    assert_eq!(
        std::fs::read(&cib).unwrap(),
        written,
        "the CIB file changed"
    );
    assert!(processes_started(&log).is_empty(), "{log}");

    // an administrator's different cpu is kept (the config's figures only
    // fill in), a deleted hv_memory is written back through libcib
    cib_file::set(&cib, &rsc, "cpu", 8);
    cib_file::delete(&cib, &rsc, "hv_memory");
    let (code, log) = ocf(dir.path(), &rsc, &config, &cib).ours_traced("monitor", &trace);
    assert_eq!(code, 7, "{log}");
    assert!(
        loads_libcib(&log),
        "a missing attribute goes through libcib"
    );
    let now = cib_file::configuration(&cib);
    assert!(now.contains("name=\"cpu\" value=\"8\""), "{now}");
    assert!(now.contains("name=\"hv_memory\" value=\"700\""), "{now}");
}
