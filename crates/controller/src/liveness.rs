//! Broker liveness: heartbeats, controlled shutdown, and the active controller's loop that
//! fences brokers whose session expired.

use super::*;

/// When the active controller last heard from each broker. Kept in memory on the active
/// controller only: a new active controller starts every clock afresh (a grace period).
#[derive(Default)]
pub(crate) struct Liveness {
    /// Last heartbeat from each broker, recorded on every voter.
    pub(crate) last_seen: std::collections::HashMap<i32, Instant>,
    /// When this node became the active controller (as its liveness loop saw it).
    pub(crate) leading_since: Option<Instant>,
    /// The liveness loop's previous tick while leading (to notice it was paused).
    pub(crate) last_tick: Option<Instant>,
    /// After a stall of the liveness loop, no session expires before a full one from here.
    pub(crate) grace_from: Option<Instant>,
}

/// A liveness tick this late means the process was paused or starved (see
/// `watch_broker_sessions`).
pub(crate) const LIVENESS_STALL_MS: u64 = 250;

/// Lower bound of one heartbeat call's timeout (half a session otherwise).
pub(crate) const MIN_HEARTBEAT_ATTEMPT_TIMEOUT_MS: u64 = 50;

/// How often the active controller looks for expired broker sessions.
pub(crate) const LIVENESS_CHECK_INTERVAL_MS: u64 = 50;

impl Controller {
    /// Tells every voter this broker is alive, each call bounded by half a session.
    ///
    /// Why every voter and not only the active controller: a voter that becomes the active
    /// controller then already knows when it last heard from each broker, so it fences a dead
    /// broker (say, on the node the previous controller died with) at once instead of first
    /// granting every broker a whole new session; and a voter that hangs (SIGSTOP) delays no
    /// heartbeat to the others, so a live broker is never fenced because its heartbeats were
    /// stuck behind one to a paused controller.
    ///
    /// Ok once the active controller accepted it; its error (e.g. not registered) otherwise.
    pub async fn heartbeat(
        &self,
        broker_id: i32,
        incarnation_id: uuid::Uuid,
        metadata_offset: i64,
    ) -> Result<(), ControllerError> {
        let request = ControllerRequest::BrokerHeartbeat {
            broker_id,
            incarnation_id,
            metadata_offset,
        };
        let timeout = Duration::from_millis(
            (self.inner.config.quorum.broker_session_timeout_ms / 2)
                .max(MIN_HEARTBEAT_ATTEMPT_TIMEOUT_MS),
        );
        let me = self.inner.config.node_id;
        let local = matches!(self.inner.backend, Backend::Local(_));
        let mut calls = tokio::task::JoinSet::new();
        for (id, addr) in &self.inner.config.quorum.voters {
            let (controller, request, id, addr) =
                (self.clone(), request.clone(), *id, addr.clone());
            calls.spawn(async move {
                if local && id == me {
                    return controller.handle_locally(request).await;
                }
                match raft::network::forward::<_, ControllerResponse>(
                    &controller.inner.caller,
                    &addr,
                    &request,
                    timeout,
                )
                .await
                {
                    Ok(response) => response,
                    Err(e) => ControllerResponse::Failed(
                        ControllerError::Internal(format!("heartbeat to voter {id}: {e}"))
                            .to_wire(),
                    ),
                }
            });
        }
        let mut outcome = Err(ControllerError::NotController);
        while let Some(joined) = calls.join_next().await {
            match joined {
                Ok(ControllerResponse::Unit(Ok(()))) => outcome = Ok(()),
                Ok(ControllerResponse::Unit(Err(e))) if outcome.is_err() => {
                    outcome = Err(ControllerError::from_wire(e))
                }
                _ => {}
            }
        }
        outcome
    }

    /// Controlled shutdown: fences the broker now so its leaderships move before it exits.
    pub async fn controlled_shutdown(
        &self,
        broker_id: i32,
        incarnation_id: uuid::Uuid,
    ) -> Result<(), ControllerError> {
        match self
            .submit(ControllerRequest::ControlledShutdown {
                broker_id,
                incarnation_id,
            })
            .await
        {
            ControllerResponse::Unit(r) => r.map_err(ControllerError::from_wire),
            other => Err(unexpected(other)),
        }
    }

    pub(crate) fn liveness(&self) -> std::sync::MutexGuard<'_, Liveness> {
        self.inner
            .liveness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// The active controller's liveness loop: fences brokers whose session expired.
pub(crate) async fn watch_broker_sessions(inner: std::sync::Weak<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_millis(LIVENESS_CHECK_INTERVAL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let controller = Controller { inner };
        let me = controller.inner.config.node_id;
        if controller.active_controller() != Some(me) {
            let mut liveness = controller.liveness();
            liveness.leading_since = None;
            liveness.last_tick = None;
            liveness.grace_from = None;
            continue;
        }
        let timeout =
            Duration::from_millis(controller.inner.config.quorum.broker_session_timeout_ms);
        let image = controller.image();
        let expired: Vec<i32> = {
            let mut liveness = controller.liveness();
            let now = Instant::now();
            // This loop (so this process) did not run for a while: paused, or starved. Whatever
            // heartbeats arrived meanwhile were not read yet, so judge nobody on that gap:
            // every broker gets a full session from now.
            let stalled = liveness
                .last_tick
                .is_some_and(|t| now.duration_since(t) > Duration::from_millis(LIVENESS_STALL_MS));
            liveness.last_tick = Some(now);
            if stalled {
                liveness.grace_from = Some(now);
            }
            let grace_from = liveness.grace_from;
            let since = *liveness.leading_since.get_or_insert(now);
            image
                .brokers
                .values()
                .filter(|b| !b.fenced)
                .filter(|b| {
                    // Heartbeats reach every voter, so a new active controller judges by the
                    // ones it received as a follower; a broker it never heard from (it just
                    // started) gets a full session from when it began to lead.
                    let last = liveness
                        .last_seen
                        .get(&b.broker_id)
                        .copied()
                        .unwrap_or(since);
                    let last = grace_from.map_or(last, |g| last.max(g));
                    now.duration_since(last) > timeout
                })
                .map(|b| b.broker_id)
                .collect()
        };
        for broker_id in expired {
            let response = controller
                .handle_locally(ControllerRequest::FenceBroker { broker_id })
                .await;
            match response {
                ControllerResponse::Failed(e) | ControllerResponse::Unit(Err(e))
                    if e.kind == "NotController" =>
                {
                    // Deposed meanwhile: the next active controller decides.
                    tracing::debug!(broker_id, "not fencing: no longer the active controller");
                    break;
                }
                ControllerResponse::Failed(e) | ControllerResponse::Unit(Err(e)) => {
                    tracing::warn!(broker_id, kind = %e.kind, error = %e.message, "fencing failed");
                }
                _ => {}
            }
        }
    }
}
