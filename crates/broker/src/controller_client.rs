//! The broker's narrow view of the controller: the metadata images it follows and the three
//! requests it makes (an ISR change, topics clients create implicitly, a block of producer
//! ids). The binary implements it over the real controller; tests use a fake.
//!
//! Why a trait the broker owns: the partition code then knows nothing of Raft, sled or gRPC,
//! and its high-watermark, ISR and acks logic can be tested without a quorum.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use strata_metadata::requests::{AlterPartitionRequest, CreateTopicSpec, CreatedTopic};
use strata_metadata::{ControllerError, MetadataImage};
use tokio::sync::watch;

/// A boxed future, so that the trait can be used as `dyn ControllerClient`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the broker needs from the controller.
pub trait ControllerClient: Send + Sync + 'static {
    /// The metadata images, newest first: the current one and every later one.
    fn images(&self) -> watch::Receiver<Arc<MetadataImage>>;

    /// Asks for a partition's ISR to change (Kafka's AlterPartition).
    fn alter_partition(
        &self,
        request: AlterPartitionRequest,
    ) -> BoxFuture<'_, Result<(), ControllerError>>;

    /// Creates topics (auto-creation by Metadata or Produce), one result per spec.
    fn create_topics(
        &self,
        specs: Vec<CreateTopicSpec>,
    ) -> BoxFuture<'_, Vec<Result<CreatedTopic, ControllerError>>>;

    /// Reserves a block of producer ids for `broker_id` (InitProducerId).
    fn allocate_producer_ids(
        &self,
        broker_id: i32,
    ) -> BoxFuture<'_, Result<Range<i64>, ControllerError>>;
}
