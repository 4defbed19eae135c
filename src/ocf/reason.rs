//! Exit reasons: the one line Pacemaker shows next to a failed operation.
//!
//! Pacemaker's executor keeps the text after the *last* line on stderr that
//! starts with the prefix (`OCF_EXIT_REASON_PREFIX`, default
//! `ocf-exit-reason:`) and cuts it to 128 bytes (not characters: a
//! multibyte character across byte 128 would leave invalid UTF-8 in the
//! CIB); we print one line, already cut at a character boundary at or
//! below 128 bytes, and log it as an error like `ocf_exit_reason` does.

use std::io::Write;

use super::env::Env;
use super::logging;

/// The default prefix (what resource-agents and Pacemaker use).
pub const DEFAULT_PREFIX: &str = "ocf-exit-reason:";
/// Pacemaker keeps at most this many bytes of a reason.
pub const MAX_REASON_BYTES: usize = 128;

/// The exit-reason line for `msg`: one line, at most 128 bytes of whole
/// characters.
pub fn format_reason(prefix: &str, msg: &str) -> String {
    let mut one_line = String::with_capacity(MAX_REASON_BYTES);
    for c in msg.chars() {
        let c = if c == '\n' || c == '\r' { ' ' } else { c };
        if one_line.len() + c.len_utf8() > MAX_REASON_BYTES {
            break;
        }
        one_line.push(c);
    }
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
    fn reason_is_one_line_of_at_most_128_bytes_of_whole_characters() {
        let reason = |msg: &str| {
            format_reason("ocf-exit-reason:", msg)
                .strip_prefix("ocf-exit-reason:")
                .unwrap()
                .to_string()
        };
        assert_eq!(reason(&"é".repeat(300)), "é".repeat(64));
        // a two-byte character across byte 128 is left out whole
        let crossing = format!("{}é and more", "a".repeat(127));
        assert_eq!(reason(&crossing), "a".repeat(127));
        // a four-byte one ending exactly at 128 stays
        let fits = format!("{}🦀 and more", "a".repeat(124));
        assert_eq!(reason(&fits), format!("{}🦀", "a".repeat(124)));
        assert_eq!(reason(&"a".repeat(200)), "a".repeat(128));
        assert_eq!(format_reason("P:", "a\nb\rc"), "P:a b c");
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
