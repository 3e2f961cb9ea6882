//! Executing intents on the active controller: each request is decided against the latest
//! image ([`crate::decide`]), committed as one Raft entry, and answered once applied.

use super::*;

impl Controller {
    /// Executes a request on this node, which must be the active controller (any voter
    /// answers [`ControllerRequest::FetchImage`] and [`ControllerRequest::DescribeQuorum`]).
    pub async fn handle_locally(&self, request: ControllerRequest) -> ControllerResponse {
        let Some(raft) = self.local_raft() else {
            return ControllerResponse::Failed(ControllerError::NotController.to_wire());
        };
        if let ControllerRequest::FetchImage { known_offset } = &request {
            let image = self.image();
            return ControllerResponse::Image {
                image: (image.offset > *known_offset).then(|| Box::new(image.to_snapshot())),
                leader_id: self.active_controller(),
            };
        }
        if let ControllerRequest::DescribeQuorum = &request {
            return ControllerResponse::Quorum(self.local_quorum_info());
        }
        if let ControllerRequest::BrokerHeartbeat {
            broker_id,
            incarnation_id,
            metadata_offset,
        } = &request
        {
            // The hot path: no Raft round trip unless the broker must be unfenced. Every
            // voter records the heartbeat (see [`Controller::heartbeat`]); only the active
            // controller answers for it.
            let image = self.image();
            let reg = image
                .brokers
                .get(broker_id)
                .filter(|r| r.incarnation_id == *incarnation_id);
            if reg.is_some() {
                self.liveness().last_seen.insert(*broker_id, Instant::now());
            }
            if self.active_controller() != Some(self.inner.config.node_id) {
                return ControllerResponse::Failed(ControllerError::NotController.to_wire());
            }
            let Some(reg) = reg else {
                return ControllerResponse::Unit(Err(ControllerError::BrokerIdNotRegistered(
                    *broker_id,
                )
                .to_wire()));
            };
            // Fenced until it has applied the metadata log up to its own registration.
            if !reg.fenced || *metadata_offset < reg.broker_epoch {
                return ControllerResponse::Unit(Ok(()));
            }
        }
        let mut entropy = self.inner.entropy.lock().await;
        // Decide against everything committed so far (a new leader first applies its
        // predecessor's entries).
        if raft.ensure_linearizable().await.is_err() {
            return ControllerResponse::Failed(ControllerError::NotController.to_wire());
        }
        let image = self.image();
        let config = &self.inner.config;
        match request {
            ControllerRequest::RegisterBroker(reg) => {
                let broker_id = reg.broker_id;
                let timeout = Duration::from_millis(config.quorum.broker_session_timeout_ms);
                if let Some(existing) = image.brokers.get(&broker_id) {
                    let heard = self
                        .liveness()
                        .last_seen
                        .get(&broker_id)
                        .map(|t| t.elapsed());
                    if existing.incarnation_id != reg.incarnation_id
                        && !existing.fenced
                        && heard.is_some_and(|h| h < timeout)
                    {
                        let message = format!(
                            "Another process is registered as node {broker_id} and is alive (heard from {} ms ago): node.id must be unique",
                            heard.map(|h| h.as_millis()).unwrap_or(0)
                        );
                        tracing::warn!(broker_id, "refusing a duplicate broker registration");
                        return ControllerResponse::Unit(Err(
                            ControllerError::DuplicateBrokerRegistration(message).to_wire(),
                        ));
                    }
                }
                match decide::register_broker(&image, reg) {
                    Ok(decision) => {
                        // Registered fenced, as in Kafka: the broker is unfenced (and rejoins
                        // ISRs) by a heartbeat showing it has caught up with the metadata log.
                        let records: Vec<MetadataRecord> = decision
                            .records
                            .into_iter()
                            .filter(|r| !matches!(r, MetadataRecord::UnfenceBroker { .. }))
                            .collect();
                        self.liveness().last_seen.insert(broker_id, Instant::now());
                        ControllerResponse::Unit(
                            self.commit(records).await.map_err(|e| e.to_wire()),
                        )
                    }
                    Err(e) => ControllerResponse::Unit(Err(e.to_wire())),
                }
            }
            ControllerRequest::BrokerHeartbeat { broker_id, .. } => {
                // A fenced broker that has caught up (new registration, or heard from again after
                // a pause) is unfenced and rejoins the ISRs.
                let Some(reg) = image.brokers.get(&broker_id) else {
                    return ControllerResponse::Unit(Err(ControllerError::BrokerIdNotRegistered(
                        broker_id,
                    )
                    .to_wire()));
                };
                if !reg.fenced {
                    return ControllerResponse::Unit(Ok(()));
                }
                let mut records = vec![MetadataRecord::UnfenceBroker {
                    broker_id,
                    broker_epoch: reg.broker_epoch,
                }];
                records.extend(elections::restore_broker(
                    &image,
                    broker_id,
                    self.unclean_leader_election(),
                ));
                tracing::info!(
                    broker_id,
                    "unfencing a broker that has caught up with the metadata log"
                );
                ControllerResponse::Unit(self.commit(records).await.map_err(|e| e.to_wire()))
            }
            ControllerRequest::FenceBroker { broker_id } => {
                let records =
                    elections::fence_broker(&image, broker_id, self.unclean_leader_election());
                if !records.is_empty() {
                    tracing::warn!(
                        broker_id,
                        changes = records.len() - 1,
                        "fencing a broker whose session expired"
                    );
                }
                ControllerResponse::Unit(self.commit(records).await.map_err(|e| e.to_wire()))
            }
            ControllerRequest::DescribeQuorum => {
                ControllerResponse::Quorum(self.local_quorum_info())
            }
            ControllerRequest::FetchImage { .. } => {
                // Answered above, before the linearizability wait.
                ControllerResponse::Failed(
                    ControllerError::Internal("FetchImage reached decide".to_string()).to_wire(),
                )
            }
            ControllerRequest::ControlledShutdown {
                broker_id,
                incarnation_id,
            } => {
                if image
                    .brokers
                    .get(&broker_id)
                    .is_some_and(|r| r.incarnation_id != incarnation_id)
                {
                    return ControllerResponse::Unit(Ok(()));
                }
                let records =
                    elections::fence_broker(&image, broker_id, self.unclean_leader_election());
                tracing::info!(
                    broker_id,
                    changes = records.len().saturating_sub(1),
                    "controlled shutdown"
                );
                ControllerResponse::Unit(self.commit(records).await.map_err(|e| e.to_wire()))
            }
            ControllerRequest::AlterPartition(request) => {
                let result = match elections::alter_partition(&image, &request) {
                    Ok(records) if records.is_empty() => Ok(()),
                    Ok(records) => {
                        tracing::info!(
                            topic_id = %request.topic_id,
                            partition = request.partition,
                            leader = request.broker_id,
                            isr = ?request.new_isr,
                            "ISR change"
                        );
                        self.commit(records).await
                    }
                    Err(e) => Err(e),
                };
                ControllerResponse::Unit(result.map_err(|e| e.to_wire()))
            }
            ControllerRequest::RebalanceLeaders => {
                let records = elections::rebalance_preferred_leaders(&image);
                if !records.is_empty() {
                    tracing::info!(
                        partitions = records.len(),
                        "moving leaderships back to preferred replicas"
                    );
                }
                ControllerResponse::Unit(self.commit(records).await.map_err(|e| e.to_wire()))
            }
            ControllerRequest::ElectLeaders { election, targets } => {
                let (results, records) =
                    elections::elect_leaders(&image, election, targets.as_deref());
                let elected = records.len();
                let committed = self.commit(records).await;
                if elected > 0 {
                    tracing::info!(
                        election = election.name(),
                        elected,
                        ok = committed.is_ok(),
                        "leader election"
                    );
                }
                ControllerResponse::ElectLeaders(
                    results
                        .into_iter()
                        .map(|(target, r)| {
                            let r = match (&committed, r) {
                                (_, Err(e)) => Err(e.to_wire()),
                                (Err(e), Ok(())) => Err(e.to_wire()),
                                (Ok(()), Ok(())) => Ok(()),
                            };
                            (target, r)
                        })
                        .collect(),
                )
            }
            ControllerRequest::CreateTopics {
                topics,
                validate_only,
            } => {
                let Decision { results, records } =
                    decide::create_topics(&image, config, &topics, entropy.as_mut());
                ControllerResponse::CreateTopics(self.finish(results, records, validate_only).await)
            }
            ControllerRequest::DeleteTopics(topics) => {
                let Decision { results, records } = decide::delete_topics(&image, &topics);
                ControllerResponse::DeleteTopics(self.finish(results, records, false).await)
            }
            ControllerRequest::CreatePartitions {
                reqs,
                validate_only,
            } => {
                let Decision { results, records } =
                    decide::create_partitions(&image, &reqs, entropy.as_mut());
                ControllerResponse::CreatePartitions(
                    self.finish(results, records, validate_only).await,
                )
            }
            ControllerRequest::AlterConfigs {
                resource_type,
                resource_name,
                ops,
                incremental,
                validate_only,
            } => {
                let result = match decide::alter_configs(
                    &image,
                    resource_type,
                    &resource_name,
                    &ops,
                    incremental,
                ) {
                    Ok(_) if validate_only => Ok(()),
                    Ok(decision) => self.commit(decision.records).await,
                    Err(e) => Err(e),
                };
                let unclean_changed = ops.iter().any(|op| op.name == UNCLEAN_CONFIG);
                if result.is_ok() && !validate_only && unclean_changed {
                    // As Kafka: turning unclean election on elects a leader for the partitions
                    // that are offline now, not only for those that go offline later.
                    let records =
                        elections::unclean_elections(&self.image(), self.unclean_leader_election());
                    if !records.is_empty() {
                        tracing::info!(
                            partitions = records.len(),
                            "unclean leader election after a config change"
                        );
                        if let Err(e) = self.commit(records).await {
                            tracing::warn!(error = %e, "unclean leader election failed");
                        }
                    }
                }
                ControllerResponse::Unit(result.map_err(|e| e.to_wire()))
            }
            ControllerRequest::AllocateProducerIds { broker_id } => {
                let result = match decide::allocate_producer_ids(&image, broker_id) {
                    Ok(decision) => self
                        .commit(decision.records)
                        .await
                        .map(|()| decision.results),
                    Err(e) => Err(e),
                };
                ControllerResponse::ProducerIds(
                    result.map(|r| (r.start, r.end)).map_err(|e| e.to_wire()),
                )
            }
        }
    }

    /// Commits `records` unless `validate_only`; if the commit fails every success becomes
    /// that error, since nothing was written.
    pub(crate) async fn finish<T>(
        &self,
        results: Vec<Result<T, ControllerError>>,
        records: Vec<MetadataRecord>,
        validate_only: bool,
    ) -> Vec<Result<T, WireError>> {
        let committed = if validate_only {
            Ok(())
        } else {
            self.commit(records).await
        };
        results
            .into_iter()
            .map(|r| match (&committed, r) {
                (_, Err(e)) => Err(e.to_wire()),
                (Err(e), Ok(_)) => Err(e.to_wire()),
                (Ok(()), Ok(v)) => Ok(v),
            })
            .collect()
    }

    /// Commits `records` as one Raft entry; returns once this node has applied it.
    pub(crate) async fn commit(&self, records: Vec<MetadataRecord>) -> Result<(), ControllerError> {
        if records.is_empty() {
            return Ok(());
        }
        let Some(raft) = self.local_raft() else {
            return Err(ControllerError::NotController);
        };
        match raft.client_write(MetadataBatch { records }).await {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => {
                Err(ControllerError::NotController)
            }
            Err(e) => Err(ControllerError::Internal(format!(
                "metadata commit failed: {e}"
            ))),
        }
    }
}
