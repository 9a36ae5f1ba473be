//! Sending at a steady rate: how many messages should have gone out by a given instant.
//!
//! The sender asks [`Pacer::due`] and sends the difference, so a late wake-up catches up
//! instead of lowering the rate, and the rate holds over the whole run.

use std::time::{Duration, Instant};

/// A constant-rate schedule starting at `start`.
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    start: Instant,
    per_second: f64,
}

impl Pacer {
    /// `per_second` messages a second from `start`.
    pub fn new(start: Instant, per_second: f64) -> Self {
        Self { start, per_second }
    }

    /// Messages that should have been sent by `now` (the first one at `start`).
    pub fn due(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start).as_secs_f64();
        (elapsed * self.per_second).floor() as u64 + 1
    }

    /// When message number `n` (from 0) is due.
    pub fn at(&self, n: u64) -> Instant {
        self.start + Duration::from_secs_f64(n as f64 / self.per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_holds_the_rate() {
        let start = Instant::now();
        let p = Pacer::new(start, 100.0);
        assert_eq!(p.due(start), 1);
        assert_eq!(p.due(start + Duration::from_millis(9)), 1);
        assert_eq!(p.due(start + Duration::from_millis(10)), 2);
        assert_eq!(p.due(start + Duration::from_secs(1)), 101);
        // A late check owes every message since, not one.
        assert_eq!(p.due(start + Duration::from_secs(3)), 301);
        assert_eq!(p.at(250), start + Duration::from_millis(2500));
    }

    #[test]
    fn before_the_start_one_is_due() {
        let start = Instant::now() + Duration::from_secs(10);
        assert_eq!(Pacer::new(start, 5.0).due(Instant::now()), 1);
    }
}
