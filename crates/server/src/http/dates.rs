//! Dates on the pages and in the admin API's audit filter: Unix seconds to a UTC text, and
//! what people type (a date, a date and time, or Unix seconds) to Unix seconds. Proleptic
//! Gregorian calendar, H. Hinnant's day-count algorithms; no time zones but UTC.

/// A point in time of the audit filter: Unix seconds, `YYYY-MM-DD` (its midnight, UTC; or for
/// an upper bound the next midnight, so the day is included) or `YYYY-MM-DDTHH:MM:SSZ`.
pub fn instant(value: &str, end_of_day: bool) -> Option<i64> {
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(seconds);
    }
    let (date, time) = match value.split_once('T') {
        Some((date, time)) => (date, Some(time.strip_suffix('Z')?)),
        None => (value, None),
    };
    let numbers = |text: &str, sep: char, count: usize| -> Option<Vec<u32>> {
        let parts: Vec<u32> = text.split(sep).map(|p| if p.is_empty() { None } else { p.parse().ok() }).collect::<Option<_>>()?;
        (parts.len() == count).then_some(parts)
    };
    let [year, month, day] = numbers(date, '-', 3)?[..] else { return None };
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = match time {
        Some(time) => {
            let [h, m, s] = numbers(time, ':', 3)?[..] else { return None };
            if h > 23 || m > 59 || s > 59 {
                return None;
            }
            i64::from(h * 3600 + m * 60 + s)
        }
        None if end_of_day => 86_400,
        None => 0,
    };
    Some(days * 86_400 + seconds)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC`.
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (the audit log, where the second matters).
pub fn utc_seconds(secs: i64) -> String {
    let minute = utc(secs);
    let (date_and_minute, zone) = minute.rsplit_once(' ').unwrap_or((&minute, "UTC"));
    format!("{date_and_minute}:{:02} {zone}", secs.rem_euclid(60))
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_convert_both_ways() {
        let parse_date = |text: &str| instant(text, false);
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-11-23"), Some(1_795_392_000));
        assert_eq!(utc(1_795_392_000 + 3_600 * 14 + 60 * 5), "2026-11-23 14:05 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_seconds(1_795_392_000 + 3_600 * 14 + 60 * 5 + 9), "2026-11-23 14:05:09 UTC");
        for bad in ["", "2026-13-01", "2026-1", "x-y-z", "1969-12-31"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
