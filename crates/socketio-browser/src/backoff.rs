//! Reconnection delays: exponential, bounded, with jitter (as socket.io-client's).

/// Delay before each reconnection attempt.
///
/// Attempt `n` (from 0) waits `min × factor^n`, capped at `max`, then moved at random by up
/// to `jitter` of itself in either direction, so that many clients cut off together do not
/// all come back in the same instant. Defaults: 1 s growing to 5 s, factor 2, jitter 0.5.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// First delay, in milliseconds.
    pub min_ms: f64,
    /// Largest delay before jitter, in milliseconds.
    pub max_ms: f64,
    /// Growth per attempt.
    pub factor: f64,
    /// Randomization, from 0 (none) to 1.
    pub jitter: f64,
    attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { min_ms: 1000.0, max_ms: 5000.0, factor: 2.0, jitter: 0.5, attempts: 0 }
    }
}

impl Backoff {
    /// The next delay in milliseconds; `random` is uniform in `[0, 1)`.
    pub fn next_delay(&mut self, random: f64) -> u32 {
        let base = (self.min_ms * self.factor.powi(self.attempts.min(64) as i32)).min(self.max_ms);
        self.attempts = self.attempts.saturating_add(1);
        let deviation = base * self.jitter * (random * 2.0 - 1.0);
        (base + deviation).clamp(0.0, self.max_ms * (1.0 + self.jitter)) as u32
    }

    /// Attempts made since the last [`reset`](Self::reset).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Back to the first delay (after a successful connection).
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_without_jitter() {
        let mut b = Backoff { jitter: 0.0, ..Backoff::default() };
        let delays: Vec<u32> = (0..6).map(|_| b.next_delay(0.3)).collect();
        assert_eq!(delays, [1000, 2000, 4000, 5000, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay(0.3), 1000);
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        let mut b = Backoff::default();
        for attempt in 0..50 {
            let base = (1000.0 * 2f64.powi(attempt.min(64))).min(5000.0);
            for r in [0.0, 0.25, 0.5, 0.999] {
                let mut probe = b.clone();
                let d = f64::from(probe.next_delay(r));
                assert!(d >= base * 0.5 - 1.0 && d <= base * 1.5, "attempt {attempt}: {d} outside {base}±50%");
            }
            b.next_delay(0.5);
        }
    }
}
