//! DynamoDB's quota on provisioned throughput decreases ("Service, account,
//! and table quotas": provisioned capacity decreases), as a pure rule.
//!
//! A table, and each of its GSIs on its own, may have its throughput
//! decreased up to 4 times at any time in a UTC day; past those, one more
//! decrease is allowed whenever none happened in the preceding hour (at
//! most 27 in a day). One UpdateTable lowering read and write capacity
//! together is one decrease; one lowering one and raising the other is a
//! decrease too. The count starts again at 0 at UTC midnight.
//!
//! Times are seconds since the Unix epoch (`TableDef::created_at`'s unit).
//! The day and the hour are knobs ([`DecreaseRule`]) only so that tests
//! can cross them; production uses DynamoDB's 86,400 s and 3,600 s.

use serde::{Deserialize, Serialize};

use super::CatalogError;

/// The quota: `free_per_day` decreases at any time of a day of `day_s`
/// seconds, then one per `interval_s` without a decrease.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecreaseRule {
    pub free_per_day: u32,
    pub interval_s: f64,
    pub day_s: f64,
}

impl Default for DecreaseRule {
    /// DynamoDB's: 4 a day, then one an hour.
    fn default() -> Self {
        DecreaseRule {
            free_per_day: 4,
            interval_s: 3600.0,
            day_s: 86_400.0,
        }
    }
}

impl DecreaseRule {
    fn day(&self, now: f64) -> u64 {
        (now.max(0.0) / self.day_s.max(1.0)).floor() as u64
    }
}

/// Decreases counted in one UTC day (the day's number since the epoch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecreaseCount {
    pub day: u64,
    pub count: u32,
}

impl DecreaseCount {
    /// NumberOfDecreasesToday at `now`: 0 once the counted day is over.
    pub fn today(&self, now: f64, rule: &DecreaseRule) -> u32 {
        if self.day == rule.day(now) {
            self.count
        } else {
            0
        }
    }

    /// Counts a decrease at `now`, or refuses it with DynamoDB's
    /// LimitExceededException message when the quota is spent;
    /// `last_decrease_at` is the previous decrease of the same resource.
    pub fn record(
        &mut self,
        now: f64,
        last_decrease_at: Option<f64>,
        rule: &DecreaseRule,
    ) -> Result<(), CatalogError> {
        let today = self.today(now, rule);
        if today >= rule.free_per_day
            && let Some(last) = last_decrease_at
            && now - last < rule.interval_s
        {
            let next_day = (rule.day(now) + 1) as f64 * rule.day_s;
            let next = (last + rule.interval_s).min(next_day);
            return Err(CatalogError::DecreaseLimit(format!(
                "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. \
                 After the first {} decreases, each subsequent decrease in the same UTC day can be performed at most once every {} seconds. \
                 Number of decreases today: {today}. Last decrease at {}. Next decrease can be made at {}",
                rule.free_per_day,
                rule.interval_s.round() as u64,
                long_date(last),
                long_date(next),
            )));
        }
        self.day = rule.day(now);
        self.count = today + 1;
        Ok(())
    }
}

/// `Thursday, October 8, 2026 at 11:20:48 PM Coordinated Universal Time`,
/// the way DynamoDB writes times in this message.
fn long_date(secs: f64) -> String {
    const DAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let secs = secs.max(0.0) as u64;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    let (hour, minute, second) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let (hour12, half) = match hour {
        0 => (12, "AM"),
        1..=11 => (hour, "AM"),
        12 => (12, "PM"),
        _ => (hour - 12, "PM"),
    };
    format!(
        "{}, {} {day}, {year} at {hour12}:{minute:02}:{second:02} {half} Coordinated Universal Time",
        DAYS[(days % 7) as usize],
        MONTHS[month - 1],
    )
}

/// Howard Hinnant's civil-from-days (proleptic Gregorian, days since 1970).
fn civil_from_days(z: i64) -> (i64, usize, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as usize;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-10-08T23:20:48Z.
    const LATE: f64 = 1_791_501_648.0;

    #[test]
    fn dates_read_as_dynamodb_writes_them() {
        assert_eq!(
            long_date(LATE),
            "Thursday, October 8, 2026 at 11:20:48 PM Coordinated Universal Time"
        );
        assert_eq!(
            long_date(1_791_504_000.0),
            "Friday, October 9, 2026 at 12:00:00 AM Coordinated Universal Time"
        );
        assert_eq!(
            long_date(0.0),
            "Thursday, January 1, 1970 at 12:00:00 AM Coordinated Universal Time"
        );
    }

    #[test]
    fn four_at_any_time_then_one_per_hour_and_a_new_day_starts_at_zero() {
        let rule = DecreaseRule::default();
        let mut count = DecreaseCount::default();
        let mut last = None;
        let start = LATE - 20_000.0;
        for i in 0..4 {
            let now = start + f64::from(i);
            count
                .record(now, last, &rule)
                .expect("one of the first four");
            last = Some(now);
        }
        assert_eq!(count.today(start + 4.0, &rule), 4);
        let e = count.record(start + 10.0, last, &rule).expect_err("fifth");
        let CatalogError::DecreaseLimit(message) = &e else {
            panic!("{e:?}");
        };
        assert!(
            message.contains("Number of decreases today: 4. Last decrease at"),
            "{message}"
        );
        assert_eq!(
            count.today(start + 10.0, &rule),
            4,
            "a refusal counts nothing"
        );
        // An hour after the last one: one more, then the next hour again.
        let later = start + 3.0 + 3600.0;
        count.record(later, last, &rule).expect("an hour later");
        assert!(count.record(later + 1.0, Some(later), &rule).is_err());
        assert_eq!(count.today(later, &rule), 5);
        // The next UTC day starts at 0, whenever the last decrease was.
        let next_day = 1_791_504_000.0;
        assert_eq!(count.today(next_day, &rule), 0);
        count
            .record(next_day, Some(next_day - 1.0), &rule)
            .expect("new day");
        assert_eq!(count.today(next_day, &rule), 1);
    }

    #[test]
    fn the_next_time_named_is_the_earlier_of_an_hour_later_and_midnight() {
        let rule = DecreaseRule::default();
        let mut count = DecreaseCount {
            day: rule.day(LATE),
            count: 4,
        };
        let e = count
            .record(LATE + 60.0, Some(LATE), &rule)
            .expect_err("spent");
        assert_eq!(
            e.to_string(),
            "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. \
             After the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds. \
             Number of decreases today: 4. Last decrease at Thursday, October 8, 2026 at 11:20:48 PM Coordinated Universal Time. \
             Next decrease can be made at Friday, October 9, 2026 at 12:00:00 AM Coordinated Universal Time"
        );
    }
}
