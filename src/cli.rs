//! The command line: one positional action, as Pacemaker calls agents.
//!
//! Extra arguments are ignored; an unknown or missing action is OCF's
//! "unimplemented" (3), never clap's usage error (2). `--help` and
//! `--version` are for a person at a terminal.

use clap::Parser;

/// What the agent was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Monitor,
    Status,
    MigrateTo,
    MigrateFrom,
    MetaData,
    ValidateAll,
    /// The anchor runs its internal `getconfig` when asked: setup checks, exit 0.
    GetConfig,
    /// OCF 1.1: apply changed reloadable parameters without a restart.
    ReloadAgent,
}

impl Action {
    /// The action for a command-line word, with every spelling the anchor
    /// accepts (`migrate-to`, `validate_all`, `meta_data`, `getconfig`).
    pub fn from_word(word: &str) -> Option<Action> {
        Some(match word {
            "start" => Action::Start,
            "stop" => Action::Stop,
            "monitor" => Action::Monitor,
            "status" => Action::Status,
            "migrate_to" | "migrate-to" => Action::MigrateTo,
            "migrate_from" | "migrate-from" => Action::MigrateFrom,
            "meta-data" | "meta_data" => Action::MetaData,
            "validate-all" | "validate_all" => Action::ValidateAll,
            "getconfig" => Action::GetConfig,
            "reload-agent" => Action::ReloadAgent,
            _ => return None,
        })
    }

    /// The canonical OCF name (as Pacemaker sends it).
    pub fn name(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Monitor => "monitor",
            Action::Status => "status",
            Action::MigrateTo => "migrate_to",
            Action::MigrateFrom => "migrate_from",
            Action::MetaData => "meta-data",
            Action::ValidateAll => "validate-all",
            Action::GetConfig => "getconfig",
            Action::ReloadAgent => "reload-agent",
        }
    }
}

/// What `--version` prints after the name: the package version and the git
/// revision it was built from (`unknown` outside a git work tree; build.rs).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("VD_GIT_REV"), ")");

/// ocf:rust:VirtualDomain — manages a libvirt domain for Pacemaker.
///
/// Parameters come from OCF_RESKEY_* environment variables (see
/// `VirtualDomain meta-data`). Actions: start, stop, monitor, status,
/// migrate_to, migrate_from, meta-data, validate-all, reload-agent.
#[derive(Debug, Parser)]
#[command(name = "VirtualDomain", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// The OCF action to run.
    #[arg(value_name = "ACTION")]
    pub action: Option<String>,
    /// Further arguments are accepted and ignored, as the OCF API requires.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub ignored: Vec<String>,
}

/// How the command line ends.
#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    /// Run this action (the word as given, for messages).
    Run(Action, String),
    /// Not an action we know: exit 3 with "<word>: action not supported".
    Unsupported(String),
    /// `--help` / `--version`: print this and exit 0.
    Info(String),
}

/// Interprets the command line (argv without translation of errors to exits).
pub fn parse<I, T>(args: I) -> Invocation
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(cli) => {
            let word = cli.action.unwrap_or_default();
            match Action::from_word(&word) {
                Some(action) => Invocation::Run(action, word),
                None => Invocation::Unsupported(word),
            }
        }
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                Invocation::Info(e.render().to_string())
            }
            _ => Invocation::Unsupported(first_word(&e)),
        },
    }
}

fn first_word(e: &clap::Error) -> String {
    e.get(clap::error::ContextKind::InvalidArg)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Invocation {
        parse(std::iter::once("VirtualDomain").chain(args.iter().copied()))
    }

    #[test]
    fn actions_and_spellings() {
        let table = [
            ("start", Action::Start),
            ("stop", Action::Stop),
            ("monitor", Action::Monitor),
            ("status", Action::Status),
            ("migrate_to", Action::MigrateTo),
            ("migrate-to", Action::MigrateTo),
            ("migrate_from", Action::MigrateFrom),
            ("migrate-from", Action::MigrateFrom),
            ("meta-data", Action::MetaData),
            ("meta_data", Action::MetaData),
            ("validate-all", Action::ValidateAll),
            ("validate_all", Action::ValidateAll),
            ("getconfig", Action::GetConfig),
            ("reload-agent", Action::ReloadAgent),
        ];
        for (word, action) in table {
            assert_eq!(
                run(&[word]),
                Invocation::Run(action, word.to_string()),
                "{word}"
            );
        }
    }

    #[test]
    fn unknown_actions_are_unsupported() {
        for word in [
            "promote",
            "demote",
            "notify",
            "reload",
            "reload_agent",
            "reload-agent ",
            "usage",
            "methods",
            "recover",
            "bogus",
            "START",
        ] {
            assert_eq!(run(&[word]), Invocation::Unsupported(word.to_string()));
        }
        assert_eq!(run(&[]), Invocation::Unsupported(String::new()));
        assert!(matches!(run(&["--bogus"]), Invocation::Unsupported(_)));
    }

    #[test]
    fn extra_arguments_are_ignored() {
        assert_eq!(
            run(&["monitor", "x", "--y"]),
            Invocation::Run(Action::Monitor, "monitor".into())
        );
    }

    #[test]
    fn help_and_version() {
        assert!(matches!(run(&["--help"]), Invocation::Info(s) if s.contains("ACTION")));
        let version = format!("VirtualDomain {VERSION}\n");
        assert!(matches!(run(&["--version"]), Invocation::Info(s) if s == version));
        assert!(VERSION.starts_with(concat!(env!("CARGO_PKG_VERSION"), " (git ")));
    }
}
