//! Dates on the command line: `2026-11-01` or RFC 3339.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

/// Which end of a day a bare date stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// 00:00:00.000 UTC.
    Start,
    /// 23:59:59.999 UTC: `--until 2026-11-30` includes that whole day.
    End,
}

pub fn parse_time(raw: &str, bound: TimeBound) -> Result<OffsetDateTime, String> {
    let raw = raw.trim();
    if let Ok(at) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(at);
    }
    // ISO 8601 as people write it: seconds left out (2026-12-02T09:00-05:00).
    if raw.contains('T')
        && let Ok(at) = raw.parse::<jiff::Timestamp>()
        && let Ok(at) = OffsetDateTime::from_unix_timestamp_nanos(at.as_nanosecond())
    {
        return Ok(at);
    }
    let date = Date::parse(raw, format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{raw:?} is not a date: write 2026-11-01 or 2026-11-01T09:00:00Z"))?;
    let start = date.midnight().assume_utc();
    Ok(match bound {
        TimeBound::Start => start,
        TimeBound::End => start + Duration::days(1) - Duration::milliseconds(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dates_and_instants() {
        assert_eq!(
            parse_time("2026-11-01", TimeBound::Start),
            Ok(datetime!(2026-11-01 0:00 UTC))
        );
        assert_eq!(
            parse_time("2026-11-01", TimeBound::End),
            Ok(datetime!(2026-11-01 23:59:59.999 UTC))
        );
        assert_eq!(
            parse_time("2026-11-01T09:30:00-05:00", TimeBound::Start),
            Ok(datetime!(2026-11-01 14:30 UTC))
        );
        let err = parse_time("yesterday", TimeBound::Start).expect_err("refused");
        assert!(
            err.contains("yesterday") && err.contains("2026-11-01"),
            "{err}"
        );
        assert!(parse_time("2026-02-30", TimeBound::Start).is_err());
        assert_eq!(
            parse_time("2026-12-02T09:00-05:00", TimeBound::Start),
            Ok(datetime!(2026-12-02 14:00 UTC))
        );
        assert!(
            parse_time("2026-12-02T09:00", TimeBound::Start).is_err(),
            "an offset is needed"
        );
    }
}
