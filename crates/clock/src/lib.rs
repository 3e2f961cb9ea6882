//! The wall clock in Kafka's unit: milliseconds since the Unix epoch, as record timestamps,
//! commit times, retention and quorum timestamps use it.
//!
//! Owns only that reading, so every crate gets the same answer at the edges (a clock before the
//! epoch, or past what an `i64` holds). Must never panic. Elapsed times are measured with
//! `std::time::Instant`, not with this.

/// Milliseconds since the Unix epoch: 0 when the system clock is set before the epoch,
/// `i64::MAX` beyond what an `i64` holds.
pub fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_after_2020_and_does_not_go_back() {
        let first = wall_clock_ms();
        assert!(first > 1_577_836_800_000, "{first}");
        assert!(wall_clock_ms() >= first);
    }
}
