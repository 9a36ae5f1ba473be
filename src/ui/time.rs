//! Times and days of messages, in the reader's time zone.
//!
//! The page is rendered on the server first, which does not know the reader's time zone:
//! times start in UTC on both sides (so hydration matches), then the browser switches the
//! [`Clock`] to its own offset. Hand-written rather than chrono: a calendar date from a
//! day number is ten lines (Howard Hinnant's `civil_from_days`), and the page's WASM size
//! matters on a phone.

use leptos::prelude::*;

use super::effect;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The reader's clock: its offset from UTC and today's date, as signals.
#[derive(Clone, Copy)]
pub struct Clock {
    /// Minutes to add to UTC for local time (UTC+1: 60). 0 until the browser says.
    pub offset_minutes: RwSignal<i64>,
    /// Now, in ms since the epoch (0 on the server: no "Today" there).
    pub now_ms: RwSignal<i64>,
}

impl Clock {
    /// Provides the clock; in the browser, switches to local time once hydrated.
    pub fn provide() -> Self {
        let clock = Self { offset_minutes: RwSignal::new(0), now_ms: RwSignal::new(0) };
        provide_context(clock);
        effect(move || {
            #[cfg(feature = "hydrate")]
            {
                let date = js_sys::Date::new_0();
                clock.offset_minutes.set(-(date.get_timezone_offset() as i64));
                clock.now_ms.set(date.get_time() as i64);
            }
        });
        clock
    }

    fn local(&self, ms: i64) -> i64 {
        ms + self.offset_minutes.get() * MINUTE_MS
    }

    /// `14:05`.
    pub fn time(&self, ms: i64) -> String {
        let local = self.local(ms).rem_euclid(DAY_MS) / MINUTE_MS;
        format!("{:02}:{:02}", local / 60, local % 60)
    }

    /// The local day number of `ms` (days since 1970-01-01), to group messages by day.
    pub fn day(&self, ms: i64) -> i64 {
        self.local(ms).div_euclid(DAY_MS)
    }

    /// `Today`, `Yesterday`, or `Mon 3 Nov 2026`.
    pub fn day_label(&self, day: i64) -> String {
        let now = self.now_ms.get();
        if now > 0 {
            let today = self.day(now);
            if day == today {
                return "Today".into();
            }
            if day == today - 1 {
                return "Yesterday".into();
            }
        }
        let (y, m, d) = civil_from_days(day);
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][day.rem_euclid(7) as usize];
        format!("{weekday} {d} {} {y}", MONTHS[(m - 1) as usize])
    }
}

/// The page's [`Clock`].
pub fn use_clock() -> Clock {
    expect_context::<Clock>()
}

/// (year, month 1–12, day 1–31) of day `z` since 1970-01-01, in the proleptic Gregorian
/// calendar (Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms").
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
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
    fn calendar_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_787), (2026, 11, 30));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn times_and_days_follow_the_offset() {
        let owner = Owner::new();
        owner.with(|| {
            let clock = Clock { offset_minutes: RwSignal::new(0), now_ms: RwSignal::new(0) };
            // 2026-11-30 23:30 UTC
            let ms = 20_787 * DAY_MS + 23 * 3_600_000 + 30 * MINUTE_MS;
            assert_eq!(clock.time(ms), "23:30");
            assert_eq!(clock.day_label(clock.day(ms)), "Mon 30 Nov 2026");
            clock.offset_minutes.set(60);
            assert_eq!(clock.time(ms), "00:30");
            assert_eq!(clock.day_label(clock.day(ms)), "Tue 1 Dec 2026");
            clock.now_ms.set(ms);
            assert_eq!(clock.day_label(clock.day(ms)), "Today");
            assert_eq!(clock.day_label(clock.day(ms) - 1), "Yesterday");
        });
    }
}
