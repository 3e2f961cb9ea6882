//! The remote backend of a broker-only node (`process.roles=broker`): no Raft here; requests
//! go to the voters (the active controller when known, else each in turn) and the metadata
//! image is polled from them.

use super::*;

/// What a broker-only node knows about the quorum it is not part of.
pub(crate) struct RemoteState {
    /// The active controller as last reported by a voter.
    pub(crate) leader: std::sync::Mutex<Option<i32>>,
    /// The image-polling task, aborted at shutdown.
    pub(crate) poller: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Publishes images fetched from the voters (by the poller, and after our own writes).
    pub(crate) images_tx: watch::Sender<Arc<MetadataImage>>,
}

impl RemoteState {
    /// Publishes `snapshot` if it is newer than the current image (a lagging voter may answer
    /// with an older one after a leader change: the image never goes backwards).
    pub(crate) fn publish(&self, snapshot: ImageSnapshot) {
        self.images_tx.send_if_modified(|current| {
            if snapshot.offset <= current.offset {
                return false;
            }
            let image = MetadataImage::from_snapshot(snapshot);
            debug_assert!(image.offset > current.offset, "images only move forward");
            *current = Arc::new(image);
            true
        });
    }
}

impl Controller {
    /// A controller handle for a broker-only node: no Raft here; requests are sent to the
    /// voters of `config.quorum.voters` (to the active controller when known, else to each in
    /// turn) and the metadata image is polled from them every [`IMAGE_POLL_INTERVAL_MS`].
    pub fn open_remote(config: ControllerConfig) -> Result<Controller, ControllerError> {
        if config.quorum.voters.is_empty() {
            return Err(ControllerError::InvalidRequest(
                "a broker-only node needs controller.quorum.voters".to_string(),
            ));
        }
        if config.quorum.voters.contains_key(&config.node_id) {
            return Err(ControllerError::InvalidRequest(format!(
                "node {} is in controller.quorum.voters: a voter must run the controller role",
                config.node_id
            )));
        }
        let (images_tx, images) =
            watch::channel(Arc::new(MetadataImage::new(config.cluster_id.clone())));
        let caller = Caller::new(
            config.cluster_id.clone(),
            config.node_id,
            canonical_voters(&config.quorum.voters),
        );
        info!(node_id = config.node_id, voters = ?config.quorum.voters, "following the metadata quorum remotely");
        let controller = Controller {
            inner: Arc::new(Inner {
                config,
                backend: Backend::Remote(RemoteState {
                    leader: std::sync::Mutex::new(None),
                    poller: std::sync::Mutex::new(None),
                    images_tx,
                }),
                progress: Arc::default(),
                images,
                entropy: Mutex::new(Box::new(RandomEntropy)),
                caller,
                liveness: std::sync::Mutex::new(Liveness::default()),
                leader_contact: Arc::default(),
            }),
        };
        let poller = tokio::spawn(poll_images(Arc::downgrade(&controller.inner)));
        if let Backend::Remote(remote) = &controller.inner.backend {
            *remote.poller.lock().unwrap_or_else(|p| p.into_inner()) = Some(poller);
        }
        Ok(controller)
    }

    pub(crate) fn remote_leader(remote: &RemoteState) -> std::sync::MutexGuard<'_, Option<i32>> {
        remote.leader.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// [`Controller::submit`] on a broker-only node: to the active controller when a voter
    /// told us who it is, else to each voter in turn (a voter that does not lead answers
    /// NotController), until [`CONTROLLER_REQUEST_TIMEOUT_MS`].
    pub(crate) async fn submit_remote(
        &self,
        remote: &RemoteState,
        request: ControllerRequest,
    ) -> ControllerResponse {
        let deadline = Instant::now() + Duration::from_millis(CONTROLLER_REQUEST_TIMEOUT_MS);
        let voters: Vec<(i32, String)> = self
            .inner
            .config
            .quorum
            .voters
            .iter()
            .map(|(id, addr)| (*id, addr.clone()))
            .collect();
        let mut next = 0usize;
        let mut last_error = String::from("no voter answered");
        while Instant::now() < deadline {
            let known_leader = *Self::remote_leader(remote);
            let (id, addr) = match known_leader
                .and_then(|id| self.inner.config.quorum.voters.get(&id).map(|a| (id, a)))
            {
                Some((id, addr)) => (id, addr.clone()),
                None => {
                    let (id, addr) = &voters[next % voters.len()];
                    next += 1;
                    (*id, addr.clone())
                }
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            match raft::network::forward::<_, ControllerResponse>(
                &self.inner.caller,
                &addr,
                &request,
                remaining,
            )
            .await
            {
                Ok(ControllerResponse::Failed(w)) if w.kind == "NotController" => {
                    last_error = format!("voter {id} is not the active controller");
                }
                Ok(response) => {
                    *Self::remote_leader(remote) = Some(id);
                    // Read-your-writes: the active controller answers once it has applied the
                    // change, so its image now includes it; publish that before returning
                    // rather than on the next poll.
                    let changes_metadata = !matches!(
                        request,
                        ControllerRequest::BrokerHeartbeat { .. }
                            | ControllerRequest::DescribeQuorum
                            | ControllerRequest::FetchImage { .. }
                    );
                    if changes_metadata {
                        self.fetch_image_from(remote, id, &addr).await;
                    }
                    return response;
                }
                Err(e) => last_error = e,
            }
            // Forget a leader that did not answer as one; the poller or the next voter will
            // tell us the new one.
            forget_leader(remote, id);
            tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS)).await;
        }
        tracing::warn!(error = %last_error, "controller request timed out");
        ControllerResponse::Failed(ControllerError::NotController.to_wire())
    }

    /// Asks voter `id` at `addr` for an image newer than ours and publishes it.
    pub(crate) async fn fetch_image_from(&self, remote: &RemoteState, id: i32, addr: &str) {
        let known_offset = remote.images_tx.borrow().offset;
        let answer = raft::network::forward::<_, ControllerResponse>(
            &self.inner.caller,
            addr,
            &ControllerRequest::FetchImage { known_offset },
            Duration::from_millis(REMOTE_ATTEMPT_TIMEOUT_MS),
        )
        .await;
        match answer {
            Ok(ControllerResponse::Image { image, leader_id }) => {
                *Self::remote_leader(remote) = leader_id;
                if let Some(snapshot) = image {
                    remote.publish(*snapshot);
                }
            }
            Ok(other) => {
                tracing::debug!(voter = id, answer = ?other, "unexpected answer to FetchImage");
                forget_leader(remote, id);
            }
            Err(error) => {
                tracing::debug!(voter = id, %error, "cannot fetch the metadata image");
                forget_leader(remote, id);
            }
        }
    }
}

/// A broker-only node's follower loop: every [`IMAGE_POLL_INTERVAL_MS`] asks a voter (the
/// active controller when known, else each in turn) for a newer image and publishes it.
pub(crate) async fn poll_images(inner: std::sync::Weak<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_millis(IMAGE_POLL_INTERVAL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next = 0usize;
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let controller = Controller { inner };
        let Backend::Remote(remote) = &controller.inner.backend else {
            return;
        };
        let voters = &controller.inner.config.quorum.voters;
        let known_leader = *Controller::remote_leader(remote);
        let target = known_leader
            .and_then(|id| voters.get(&id).map(|a| (id, a.clone())))
            .or_else(|| {
                let picked = voters.iter().nth(next % voters.len().max(1));
                next += 1;
                picked.map(|(id, a)| (*id, a.clone()))
            });
        let Some((id, addr)) = target else { return };
        controller.fetch_image_from(remote, id, &addr).await;
    }
}

/// Drops `id` as the known active controller (it did not answer), so the next attempt tries
/// the other voters.
pub(crate) fn forget_leader(remote: &RemoteState, id: i32) {
    let mut leader = Controller::remote_leader(remote);
    if *leader == Some(id) {
        *leader = None;
    }
}
