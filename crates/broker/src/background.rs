//! Background work of a broker: retention, checkpoints and ISR lag checks on their intervals.

use std::sync::Arc;
use std::time::Duration;

use crate::broker::Broker;

/// Starts the retention and checkpoint loops; they end when the broker is dropped.
pub fn spawn(broker: &Arc<Broker>) {
    let retention_every = Duration::from_millis(broker.config().retention_check_interval_ms.max(1));
    let checkpoint_every = Duration::from_millis(
        broker
            .config()
            .checkpoint_interval_ms
            .min(broker.config().high_watermark_checkpoint_interval_ms)
            .max(1),
    );
    let weak = Arc::downgrade(broker);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(retention_every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(broker) = weak.upgrade() else { return };
            broker.apply_retention();
        }
    });
    let weak = Arc::downgrade(broker);
    tokio::spawn(async move {
        let mut tick =
            tokio::time::interval(Duration::from_millis(crate::config::ISR_CHECK_INTERVAL_MS));
        loop {
            tick.tick().await;
            let Some(broker) = weak.upgrade() else { return };
            broker.shrink_lagging_isrs();
        }
    });
    let weak = Arc::downgrade(broker);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(checkpoint_every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(broker) = weak.upgrade() else { return };
            if let Err(error) = broker.checkpoint() {
                tracing::error!(%error, "writing log checkpoints failed");
            }
        }
    });
}
