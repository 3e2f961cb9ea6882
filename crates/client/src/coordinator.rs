//! Finding a consumer group's coordinator (FindCoordinator), shared by the group-membership
//! client and the group admin calls.

use std::time::{Duration, Instant};

use kafka_protocol::messages::{ApiKey, FindCoordinatorRequest};
use kafka_protocol::protocol::StrBytes;

use crate::client::Client;
use crate::error::{ClientError, Result};

/// How long [`Client::coordinator_for`] keeps asking while the coordinator is not available
/// (the offsets topic being created, a partition loading, a leader election).
pub const FIND_COORDINATOR_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between FindCoordinator attempts.
const FIND_COORDINATOR_BACKOFF: Duration = Duration::from_millis(100);

/// COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR: ask again.
pub fn is_coordinator_retriable(code: i16) -> bool {
    matches!(code, 14..=16)
}

impl Client {
    /// The node id of `group`'s coordinator, retrying while none is available; its address is
    /// added to the known brokers so [`Client::connection`] reaches it.
    pub async fn coordinator_for(&mut self, group: &str) -> Result<i32> {
        let deadline = Instant::now() + FIND_COORDINATOR_TIMEOUT;
        loop {
            let conn = self.any_connection();
            let version = conn.negotiated_version(ApiKey::FindCoordinator)?;
            let mut req = FindCoordinatorRequest::default();
            req.key_type = 0;
            // v4 batches keys; earlier versions carry one.
            if version >= 4 {
                req.coordinator_keys = vec![StrBytes::from_string(group.to_string())];
            } else {
                req.key = StrBytes::from_string(group.to_string());
            }
            let resp = conn.send_version(&req, version, 0).await?;
            let (code, message, node, host, port) = if version >= 4 {
                match resp.coordinators.first() {
                    Some(c) => (
                        c.error_code,
                        c.error_message.as_ref().map(|m| m.to_string()),
                        c.node_id.0,
                        c.host.to_string(),
                        c.port,
                    ),
                    None => (15, None, -1, String::new(), -1),
                }
            } else {
                (
                    resp.error_code,
                    resp.error_message.as_ref().map(|m| m.to_string()),
                    resp.node_id.0,
                    resp.host.to_string(),
                    resp.port,
                )
            };
            if code == 0 && node >= 0 {
                self.brokers
                    .entry(node)
                    .or_insert_with(|| format!("{host}:{port}"));
                return Ok(node);
            }
            if !is_coordinator_retriable(code) || Instant::now() >= deadline {
                return Err(ClientError::kafka(
                    code,
                    message.as_deref(),
                    format!("FindCoordinator for group '{group}'"),
                ));
            }
            tokio::time::sleep(FIND_COORDINATOR_BACKOFF).await;
        }
    }
}
