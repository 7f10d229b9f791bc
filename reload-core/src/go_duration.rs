//! Go's `time.ParseDuration` syntax, used by Reloader's `pause-period` annotation and by
//! duration flags (`"300ms"`, `"1.5h"`, `"1h30m"`).

use std::time::Duration;

/// Parses a Go duration string. Negative durations are rejected (no caller here has a use for
/// them); the error says why in Go's words where Go has them.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(reload_core::go_duration::parse("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(reload_core::go_duration::parse("300ms").unwrap(), Duration::from_millis(300));
/// assert!(reload_core::go_duration::parse("5 minutes").is_err());
/// ```
pub fn parse(text: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let mut rest = text;
    if let Some(stripped) = rest.strip_prefix('+') {
        rest = stripped;
    } else if rest.starts_with('-') {
        return Err(format!("negative duration {text:?} is not allowed"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {text:?}"))?;
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after_unit) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            other => return Err(format!("time: unknown unit {other:?} in duration {text:?}")),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut nanos = whole.checked_mul(unit_nanos).ok_or_else(invalid)?;
        let mut scale = unit_nanos;
        for digit in fraction.chars() {
            scale /= 10;
            nanos += u128::from(digit.to_digit(10).ok_or_else(invalid)?) * scale;
        }
        total_nanos = total_nanos.checked_add(nanos).ok_or_else(invalid)?;
        rest = after_unit;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000).map_err(|_| invalid())?;
    let subsec = u32::try_from(total_nanos % 1_000_000_000).map_err(|_| invalid())?;
    Ok(Duration::new(secs, subsec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_go_examples() {
        assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("300ms").unwrap(), Duration::from_millis(300));
        assert_eq!(parse("2h45m10.5s").unwrap(), Duration::from_millis(9_910_500));
        assert_eq!(parse("10us").unwrap(), Duration::from_micros(10));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse("+15s").unwrap(), Duration::from_secs(15));
        assert_eq!(parse(".5s").unwrap(), Duration::from_millis(500));
    }

    #[test]
    fn rejects_what_go_rejects_and_negatives() {
        for bad in [
            "",
            "5",
            "1x",
            "5 m",
            "m",
            "1..5s",
            ".s",
            "-5s",
            "five minutes",
            "1h-5m",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_input(text in ".{0,40}") {
            let _ = parse(&text);
        }

        #[test]
        fn seconds_round_trip(secs in 0u64..1_000_000) {
            prop_assert_eq!(parse(&format!("{secs}s")).unwrap(), Duration::from_secs(secs));
        }
    }
}
