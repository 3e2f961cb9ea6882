//! How many replicas must hold a write before the producer is answered (Kafka's `acks`).

use crate::error::BrokerError;

/// A produce's `acks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: the producer expects no answer at all.
    None,
    /// `acks=1`: answered once the leader's log has the write.
    Leader,
    /// `acks=all` (-1): answered once every in-sync replica has it (the high watermark passed
    /// it), and refused up front when the ISR is below `min.insync.replicas`.
    All,
}

impl TryFrom<i16> for Acks {
    type Error = BrokerError;

    /// Kafka's values: 0, 1 and -1; anything else is INVALID_REQUIRED_ACKS.
    fn try_from(acks: i16) -> Result<Self, Self::Error> {
        match acks {
            0 => Ok(Acks::None),
            1 => Ok(Acks::Leader),
            -1 => Ok(Acks::All),
            other => Err(BrokerError::InvalidRequiredAcks(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafkas_values_and_nothing_else() {
        assert_eq!(Acks::try_from(-1).ok(), Some(Acks::All));
        assert_eq!(Acks::try_from(0).ok(), Some(Acks::None));
        assert_eq!(Acks::try_from(1).ok(), Some(Acks::Leader));
        for bad in [2, -2, i16::MAX, i16::MIN] {
            assert!(matches!(
                Acks::try_from(bad),
                Err(BrokerError::InvalidRequiredAcks(b)) if b == bad
            ));
        }
    }
}
