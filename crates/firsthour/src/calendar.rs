//! Business-hours calendars: when an SLA clock runs in business time, a
//! 1-hour tier set at Friday 16:30 fires Monday 09:30 (or Tuesday, when
//! Monday is a holiday).

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use time::OffsetDateTime;

/// A validated calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub name: String,
    time_zone: TimeZone,
    working_days: [bool; 7],
    open: Time,
    close: Time,
    us_federal_holidays: bool,
    extra_holidays: BTreeSet<Date>,
}

/// A calendar problem, for the config loader to place on a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CalendarError(pub String);

fn weekday_index(day: Weekday) -> usize {
    usize::try_from(day.to_monday_zero_offset()).unwrap_or(0)
}

impl Calendar {
    /// `days`: `mon`…`sun`; `hours`: `09:00-17:00`; `holidays`: `us-federal` or none.
    pub fn new(
        name: &str,
        time_zone: &str,
        days: &[String],
        hours: &str,
        us_federal_holidays: bool,
        extra_holidays: &[String],
    ) -> Result<Self, CalendarError> {
        let tz = TimeZone::get(time_zone).map_err(|_| {
            CalendarError(format!(
                "time_zone {time_zone:?} is not an IANA time zone like America/New_York"
            ))
        })?;
        let mut working_days = [false; 7];
        for day in days {
            let index = match day.to_ascii_lowercase().get(..3) {
                Some("mon") => 0,
                Some("tue") => 1,
                Some("wed") => 2,
                Some("thu") => 3,
                Some("fri") => 4,
                Some("sat") => 5,
                Some("sun") => 6,
                _ => {
                    return Err(CalendarError(format!(
                        "day {day:?} is not a weekday name (mon…sun)"
                    )));
                }
            };
            working_days[index] = true;
        }
        if !working_days.iter().any(|d| *d) {
            return Err(CalendarError(
                "a calendar needs at least one working day".into(),
            ));
        }
        let (open, close) = hours
            .split_once('-')
            .ok_or_else(|| CalendarError(format!("hours {hours:?} must look like 09:00-17:00")))?;
        let parse_time = |t: &str| {
            t.trim().parse::<Time>().map_err(|_| {
                CalendarError(format!("hours {hours:?}: {t:?} is not a time like 09:00"))
            })
        };
        let (open, close) = (parse_time(open)?, parse_time(close)?);
        if open >= close {
            return Err(CalendarError(format!(
                "hours {hours:?}: opening must come before closing"
            )));
        }
        let extra_holidays = extra_holidays
            .iter()
            .map(|d| {
                d.parse::<Date>().map_err(|_| {
                    CalendarError(format!("holiday {d:?} is not a date like 2026-12-24"))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            name: name.to_owned(),
            time_zone: tz,
            working_days,
            open,
            close,
            us_federal_holidays,
            extra_holidays,
        })
    }

    pub fn is_holiday(&self, date: Date) -> bool {
        self.extra_holidays.contains(&date)
            || (self.us_federal_holidays && us_federal_holidays(date.year()).contains(&date))
    }

    pub fn is_working_day(&self, date: Date) -> bool {
        self.working_days[weekday_index(date.weekday())] && !self.is_holiday(date)
    }

    fn instant(&self, date: Date, time: Time) -> Option<jiff::Timestamp> {
        date.to_datetime(time)
            .to_zoned(self.time_zone.clone())
            .ok()
            .map(|z| z.timestamp())
    }

    /// The instant `business` of working time after `start`.
    /// The date at `at` in the calendar's time zone (`2026-11-30`): the day
    /// a rep's daily cap counts.
    pub fn local_date(&self, at: OffsetDateTime) -> String {
        jiff::Timestamp::from_second(at.unix_timestamp())
            .map(|t| t.to_zoned(self.time_zone.clone()).date().to_string())
            .unwrap_or_else(|_| at.date().to_string())
    }

    /// The first working instant at or after `at` (`at` itself while open).
    pub fn next_open(&self, at: OffsetDateTime) -> OffsetDateTime {
        self.add_business_time(at, Duration::ZERO)
    }

    /// The first working instant on a later local date than `at`'s: when
    /// a rep who is off for the rest of today is back.
    pub fn next_working_day(&self, at: OffsetDateTime) -> OffsetDateTime {
        let tomorrow = jiff::Timestamp::from_second(at.unix_timestamp())
            .ok()
            .and_then(|t| t.to_zoned(self.time_zone.clone()).date().tomorrow().ok())
            .and_then(|d| self.instant(d, Time::midnight()))
            .and_then(to_offset)
            .unwrap_or(at + Duration::from_secs(24 * 60 * 60));
        self.next_open(tomorrow)
    }

    /// Whether `at` falls within working hours on a working day.
    pub fn is_open(&self, at: OffsetDateTime) -> bool {
        self.next_open(at) == at
    }

    pub fn add_business_time(&self, start: OffsetDateTime, business: Duration) -> OffsetDateTime {
        let Ok(mut now) = jiff::Timestamp::from_nanosecond(start.unix_timestamp_nanos()) else {
            return start + business;
        };
        let mut remaining =
            jiff::SignedDuration::try_from(business).unwrap_or(jiff::SignedDuration::MAX);
        // Ten years of days bounds the walk even for a calendar with one working day a week.
        for _ in 0..3660 {
            let date = now.to_zoned(self.time_zone.clone()).date();
            if self.is_working_day(date)
                && let (Some(open), Some(close)) = (
                    self.instant(date, self.open),
                    self.instant(date, self.close),
                )
            {
                if now < open {
                    now = open;
                }
                if now < close {
                    let available = now.duration_until(close);
                    if remaining <= available {
                        return to_offset(now + remaining).unwrap_or(start + business);
                    }
                    remaining -= available;
                }
            }
            let Some(next) = date
                .tomorrow()
                .ok()
                .and_then(|d| self.instant(d, Time::midnight()))
            else {
                break;
            };
            now = next;
        }
        start + business
    }
}

fn to_offset(ts: jiff::Timestamp) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(ts.as_nanosecond()).ok()
}

/// The nth `weekday` of a month (n from 1), or the last when `n` is 0.
fn nth_weekday(year: i16, month: i8, weekday: Weekday, n: i8) -> Option<Date> {
    let first = Date::new(year, month, 1).ok()?;
    if n == 0 {
        return first.last_of_month().nth_weekday(-1, weekday).ok();
    }
    first.nth_weekday_of_month(n, weekday).ok()
}

/// A fixed-date holiday's observed day: Saturday → Friday, Sunday → Monday (5 U.S.C. 6103).
fn observed(date: Date) -> Date {
    match date.weekday() {
        Weekday::Saturday => date.yesterday().unwrap_or(date),
        Weekday::Sunday => date.tomorrow().unwrap_or(date),
        _ => date,
    }
}

/// The eleven US federal holidays of a year, as observed.
pub fn us_federal_holidays(year: i16) -> Vec<Date> {
    let fixed = |month: i8, day: i8| Date::new(year, month, day).ok().map(observed);
    [
        fixed(1, 1),                                 // New Year's Day
        nth_weekday(year, 1, Weekday::Monday, 3),    // Birthday of Martin Luther King, Jr.
        nth_weekday(year, 2, Weekday::Monday, 3),    // Washington's Birthday
        nth_weekday(year, 5, Weekday::Monday, 0),    // Memorial Day
        fixed(6, 19),                                // Juneteenth
        fixed(7, 4),                                 // Independence Day
        nth_weekday(year, 9, Weekday::Monday, 1),    // Labor Day
        nth_weekday(year, 10, Weekday::Monday, 2),   // Columbus Day
        fixed(11, 11),                               // Veterans Day
        nth_weekday(year, 11, Weekday::Thursday, 4), // Thanksgiving Day
        fixed(12, 25),                               // Christmas Day
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use time::macros::datetime;

    use super::*;

    fn us_business() -> Calendar {
        let days: Vec<String> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| (*d).to_owned())
            .collect();
        Calendar::new(
            "us",
            "America/New_York",
            &days,
            "09:00-17:00",
            true,
            &["2026-12-24".into()],
        )
        .expect("valid")
    }

    #[test]
    fn federal_holidays_2026_as_observed() {
        let expected = [
            date(2026, 1, 1),
            date(2026, 1, 19),
            date(2026, 2, 16),
            date(2026, 5, 25),
            date(2026, 6, 19),
            date(2026, 7, 3), // July 4th is a Saturday
            date(2026, 9, 7),
            date(2026, 10, 12),
            date(2026, 11, 11),
            date(2026, 11, 26),
            date(2026, 12, 25),
        ];
        assert_eq!(us_federal_holidays(2026), expected);
        assert!(
            us_federal_holidays(2027).contains(&date(2027, 12, 24)),
            "Christmas 2027 is a Saturday"
        );
        assert!(us_federal_holidays(2028).contains(&date(2028, 1, 17)));
    }

    #[test]
    fn business_time_skips_nights_weekends_and_holidays() {
        let cal = us_business();
        // Friday 16:30 EST + 1h → Monday 09:30 EST.
        let friday = datetime!(2026-11-20 21:30 UTC);
        assert_eq!(
            cal.add_business_time(friday, Duration::from_secs(3600)),
            datetime!(2026-11-23 14:30 UTC)
        );
        // Wednesday 16:30 before Thanksgiving + 1h → Friday 09:30.
        let wednesday = datetime!(2026-11-25 21:30 UTC);
        assert_eq!(
            cal.add_business_time(wednesday, Duration::from_secs(3600)),
            datetime!(2026-11-27 14:30 UTC)
        );
        // Saturday night + 5 min → Monday 09:05.
        let saturday = datetime!(2026-11-22 03:00 UTC);
        assert_eq!(
            cal.add_business_time(saturday, Duration::from_secs(300)),
            datetime!(2026-11-23 14:05 UTC)
        );
        // Inside hours: plain addition.
        let tuesday = datetime!(2026-11-24 15:00 UTC);
        assert_eq!(
            cal.add_business_time(tuesday, Duration::from_secs(900)),
            datetime!(2026-11-24 15:15 UTC)
        );
        // 24 business hours = three working days.
        assert_eq!(
            cal.add_business_time(tuesday, Duration::from_secs(24 * 3600)),
            datetime!(2026-11-30 15:00 UTC)
        );
        // The configured extra holiday (Dec 24) and Christmas are skipped.
        let dec23 = datetime!(2026-12-23 21:30 UTC);
        assert_eq!(
            cal.add_business_time(dec23, Duration::from_secs(3600)),
            datetime!(2026-12-28 14:30 UTC)
        );
    }

    #[test]
    fn daylight_saving_changes_keep_local_hours() {
        let cal = us_business();
        // Friday 2026-03-06 16:30 EST + 1h → Monday 2026-03-09 09:30 EDT (UTC-4).
        assert_eq!(
            cal.add_business_time(datetime!(2026-03-06 21:30 UTC), Duration::from_secs(3600)),
            datetime!(2026-03-09 13:30 UTC)
        );
    }

    #[test]
    fn invalid_calendars_say_why() {
        let days = vec!["mon".to_owned()];
        assert!(Calendar::new("x", "Mars/Olympus", &days, "09:00-17:00", false, &[]).is_err());
        assert!(Calendar::new("x", "UTC", &["funday".into()], "09:00-17:00", false, &[]).is_err());
        assert!(Calendar::new("x", "UTC", &days, "17:00-09:00", false, &[]).is_err());
        assert!(Calendar::new("x", "UTC", &days, "9am to 5pm", false, &[]).is_err());
        assert!(
            Calendar::new(
                "x",
                "UTC",
                &days,
                "09:00-17:00",
                false,
                &["next tuesday".into()]
            )
            .is_err()
        );
        assert!(Calendar::new("x", "UTC", &[], "09:00-17:00", false, &[]).is_err());
    }
}
