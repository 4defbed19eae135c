//! Exit reasons: the one line Pacemaker shows next to a failed operation.
//!
//! Pacemaker's executor keeps the text after the *last* line on stderr that
//! starts with the prefix (`OCF_EXIT_REASON_PREFIX`, default
//! `ocf-exit-reason:`) and cuts it to 128 characters; we print one line,
//! already cut, and log it as an error like `ocf_exit_reason` does.

use std::io::Write;

use super::env::Env;
use super::logging;

/// The default prefix (what resource-agents and Pacemaker use).
pub const DEFAULT_PREFIX: &str = "ocf-exit-reason:";
/// Pacemaker keeps at most this many characters of a reason.
pub const MAX_REASON_CHARS: usize = 128;

/// The exit-reason line for `msg`: one line, at most 128 characters.
pub fn format_reason(prefix: &str, msg: &str) -> String {
    let one_line: String = msg
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .take(MAX_REASON_CHARS)
        .collect();
    format!("{prefix}{one_line}")
}

/// The prefix from the environment.
pub fn prefix(env: &Env) -> String {
    env.non_empty("OCF_EXIT_REASON_PREFIX")
        .unwrap_or_else(|| DEFAULT_PREFIX.to_string())
}

/// Prints the exit reason on stderr and logs it (never fails).
pub fn exit_reason(prefix: &str, msg: &str) {
    let line = format_reason(prefix, msg);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
    let _ = err.flush();
    logging::log_exit_reason(msg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_is_one_line_of_at_most_128_chars() {
        let long = "é".repeat(300);
        let line = format_reason("ocf-exit-reason:", &long);
        assert_eq!(line.chars().count(), "ocf-exit-reason:".len() + 128);
        let line = format_reason("P:", "a\nb\rc");
        assert_eq!(line, "P:a b c");
    }

    #[test]
    fn prefix_defaults() {
        assert_eq!(prefix(&Env::default()), "ocf-exit-reason:");
        assert_eq!(
            prefix(&Env::from_pairs([("OCF_EXIT_REASON_PREFIX", "X:")])),
            "X:"
        );
    }
}
