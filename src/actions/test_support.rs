//! Building requests for unit tests of actions.

use crate::cli::Action;
use crate::domain_xml::DomainConfig;
use crate::ocf::{Env, OcfContext};
use crate::params::Params;
use crate::request::setup;
use crate::request::Request;

/// A request for domain `vm1` (a qemu guest) with these extra variables;
/// HA_RSCTMP is a fresh temporary directory.
pub fn request(pairs: &[(&str, &str)]) -> Request {
    let rsctmp = std::env::temp_dir().join(format!(
        "vd-unit-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut all: Vec<(String, String)> = vec![
        ("OCF_RESKEY_config".into(), "/nonexistent/vm1.xml".into()),
        ("OCF_RESOURCE_INSTANCE".into(), "vd-vm1".into()),
        ("HA_RSCTMP".into(), rsctmp.display().to_string()),
        ("OCF_RESKEY_autoset_utilization_cpu".into(), "false".into()),
        (
            "OCF_RESKEY_autoset_utilization_hv_memory".into(),
            "false".into(),
        ),
        (
            "OCF_RESKEY_autoset_utilization_host_memory".into(),
            "false".into(),
        ),
    ];
    all.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let env = Env::from_pairs(all);
    let params = Params::from_env(&env);
    let mut settings = setup::settings(&params).expect("valid test parameters");
    settings.shutdown = setup::shutdown_settings(&params).expect("valid shutdown parameters");
    settings.io_error = setup::io_error_settings(&params).expect("valid io_error parameters");
    Request {
        action: Action::Stop,
        ctx: OcfContext::from_env(&env),
        config_path: "/nonexistent/vm1.xml".into(),
        settings,
        params,
        domain: DomainConfig {
            name: Some("vm1".into()),
            emulator: Some("/usr/bin/qemu-system-x86_64".into()),
            ..Default::default()
        },
        name: "vm1".into(),
    }
}

/// A remote factory for tests that must not reach another host.
pub fn no_remote(
    uri: &str,
    _until: std::time::Instant,
) -> Box<dyn crate::controller::DomainController> {
    Box::new(crate::controller::fake::FakeController {
        unreachable: Some(format!("no remote in this test ({uri})")),
        ..Default::default()
    })
}

/// A remote host where no domain runs (the target of a migration).
pub fn empty_host(
    _uri: &str,
    _until: std::time::Instant,
) -> Box<dyn crate::controller::DomainController> {
    Box::new(crate::controller::fake::FakeController::default())
}
