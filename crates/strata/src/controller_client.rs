//! The broker's view of the controller ([`ControllerClient`], owned by the broker crate)
//! implemented over this node's controller handle: the wiring that lets the broker crate not
//! depend on the controller crate.

use std::ops::Range;
use std::sync::Arc;

use strata_broker::{BoxFuture, ControllerClient};
use strata_controller::Controller;
use strata_metadata::requests::{AlterPartitionRequest, CreateTopicSpec, CreatedTopic};
use strata_metadata::{ControllerError, MetadataImage};
use tokio::sync::watch;

/// [`ControllerClient`] over a controller handle (local Raft or remote voters).
pub struct BrokerControllerClient(pub Controller);

impl ControllerClient for BrokerControllerClient {
    fn images(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.0.subscribe()
    }

    fn alter_partition(
        &self,
        request: AlterPartitionRequest,
    ) -> BoxFuture<'_, Result<(), ControllerError>> {
        Box::pin(self.0.alter_partition(request))
    }

    fn create_topics(
        &self,
        specs: Vec<CreateTopicSpec>,
    ) -> BoxFuture<'_, Vec<Result<CreatedTopic, ControllerError>>> {
        Box::pin(self.0.create_topics(specs, false))
    }

    fn allocate_producer_ids(
        &self,
        broker_id: i32,
    ) -> BoxFuture<'_, Result<Range<i64>, ControllerError>> {
        Box::pin(self.0.allocate_producer_ids(broker_id))
    }
}
