//! Times written the way Pacemaker users write them (`60s`, `500ms`,
//! `2min`, `1h`, plain seconds), read exactly as Pacemaker 2.1's
//! `crm_get_msec` reads operation timeouts and intervals, so a value that
//! works in `pcs resource op … timeout=…` works in this agent's time
//! parameters too.
//!
//! The rules (Pacemaker's, including its leniencies): optional leading
//! white space; a run of digits and dots of which the leading digits are
//! the number (`1.5s` is 1 s); optional white space; then a unit chosen by
//! its first letters, case-insensitively — `ms`/`msec`, `us`/`usec`,
//! `s`/`sec`, `m`/`min`, `h`/`hr` — with anything after those letters
//! ignored, or nothing (seconds). A sign, a missing number or an unknown
//! unit is not a time. Microseconds are truncated to whole milliseconds.

use std::time::Duration;

/// The time in `text`, or `None` when Pacemaker would not read one.
pub fn parse(text: &str) -> Option<Duration> {
    let rest = text.trim_start_matches(is_space);
    let number_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (number, units) = rest.split_at(number_len);
    let digits = &number[..number.bytes().take_while(u8::is_ascii_digit).count()];
    if digits.is_empty() {
        return None;
    }
    let (multiplier, divisor) = unit(units.trim_start_matches(is_space))?;
    // an overlong number is clipped, as Pacemaker clips to LLONG_MAX
    let value: u64 = digits.parse().unwrap_or(u64::MAX);
    Some(Duration::from_millis(
        value.saturating_mul(multiplier) / divisor,
    ))
}

/// (multiplier, divisor) to milliseconds for the text after the number.
fn unit(units: &str) -> Option<(u64, u64)> {
    let starts = |prefix: &str| {
        units
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    if starts("ms") {
        Some((1, 1))
    } else if starts("us") {
        Some((1, 1000))
    } else if starts("s") {
        Some((1000, 1))
    } else if starts("m") {
        Some((60_000, 1))
    } else if starts("h") {
        Some((3_600_000, 1))
    } else if units.is_empty() || units.starts_with(['\n', '\r']) {
        Some((1000, 1))
    } else {
        None
    }
}

/// Pacemaker's WHITESPACE set.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pacemaker's own unit test of crm_get_msec (lib/common/tests/strings,
    /// good_input and bad_input), row for row, plus the leniencies its
    /// code has (unit prefixes, the decimal part dropped).
    #[test]
    fn reads_what_pacemaker_reads() {
        let ms = |t: &str| parse(t).map(|d| d.as_millis());
        let good = [
            ("100", 100_000),
            (" 100 ", 100_000),
            ("\t100\n", 100_000),
            ("100ms", 100),
            ("100 MSEC", 100),
            ("1000US", 1),
            ("1000usec", 1),
            ("12s", 12_000),
            ("12 sec", 12_000),
            ("1m", 60_000),
            ("13 min", 780_000),
            ("2\th", 7_200_000),
            ("1 hr", 3_600_000),
            // the forms the agent's users write
            ("60s", 60_000),
            ("500ms", 500),
            ("2min", 120_000),
            ("0", 0),
            // leniencies of the C code: the first letters decide, the
            // decimal part is dropped
            ("5 seconds", 5_000),
            ("1.5s", 1_000),
            ("3mins", 180_000),
        ];
        for (text, want) in good {
            assert_eq!(ms(text), Some(want), "{text:?}");
        }
        for bad in [
            "", "     ", "abcxyz", "100xs", " 100 xs ", "-100ms", "+5", "s", ".5s", "5 d",
        ] {
            assert_eq!(ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn huge_values_saturate_instead_of_wrapping() {
        assert_eq!(
            parse("9223372036854775807s"),
            Some(Duration::from_millis(u64::MAX))
        );
        assert_eq!(
            parse("99999999999999999999999h"),
            Some(Duration::from_millis(u64::MAX))
        );
    }
}
