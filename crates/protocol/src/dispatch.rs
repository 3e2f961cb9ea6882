//! Decoding a request frame, handing it to its handler, and encoding the response.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, RequestHeader, RequestKind, ResponseHeader, ResponseKind,
};
use kafka_protocol::protocol::{Decodable, Encodable};
use kafka_protocol::ResponseError;
use strata_broker::Broker;
use strata_controller::Controller;
use strata_group::{GroupConfig, GroupCoordinator};

use crate::offsets_log::{spawn_loader, Loaded, Retention};

use crate::handlers;
use crate::server::ProtocolConfig;
use crate::versions::is_supported;

/// Smallest request: api key, api version, correlation id (+ client id length).
const MIN_REQUEST_HEADER_BYTES: usize = 8;

/// What comes of a request: for the connection `R` is the encoded frame, for a handler its
/// response message.
#[derive(Debug)]
pub enum Outcome<R = Bytes> {
    /// Send this response (the connection writes a size-prefixed response frame).
    Respond(R),
    /// Nothing to send (acks=0 produce).
    NoResponse,
    /// Close the connection, logging the reason (unparseable requests, failed acks=0 produce).
    Close(String),
}

impl<R> Outcome<R> {
    /// The same outcome with the response turned into something else.
    pub fn map<S>(self, f: impl FnOnce(R) -> S) -> Outcome<S> {
        match self {
            Outcome::Respond(r) => Outcome::Respond(f(r)),
            Outcome::NoResponse => Outcome::NoResponse,
            Outcome::Close(reason) => Outcome::Close(reason),
        }
    }
}

/// The decoded header of the request being handled.
pub struct RequestContext<'a> {
    /// The request header.
    pub header: RequestHeader,
    /// Name of the listener the connection came in on.
    pub listener: &'a str,
    /// The client's address (DescribeGroups shows its host).
    pub peer: Option<std::net::SocketAddr>,
}

impl RequestContext<'_> {
    /// The request's API version.
    pub fn version(&self) -> i16 {
        self.header.request_api_version
    }
}

/// Routes requests to the broker, the controller and the group coordinator.
pub struct Dispatcher {
    broker: Arc<Broker>,
    /// Admin requests go to the controller (forwarded to the active one).
    controller: Controller,
    config: ProtocolConfig,
    groups: GroupCoordinator,
    loaded: Loaded,
    /// `offsets.topic.num.partitions`.
    offsets_partitions: i32,
}

impl Dispatcher {
    /// A dispatcher over one broker and its controller handle (call inside a tokio runtime:
    /// the group coordinator starts its timer task).
    pub fn new(broker: Arc<Broker>, controller: Controller, config: ProtocolConfig) -> Self {
        let setting = |key: &str, default: u64| {
            config
                .broker_configs
                .iter()
                .find(|(k, ..)| k == key)
                .and_then(|(_, v, ..)| v.parse().ok())
                .unwrap_or(default)
        };
        let defaults = GroupConfig::default();
        let groups = GroupCoordinator::new(GroupConfig {
            min_session_timeout_ms: setting(
                "group.min.session.timeout.ms",
                defaults.min_session_timeout_ms,
            ),
            max_session_timeout_ms: setting(
                "group.max.session.timeout.ms",
                defaults.max_session_timeout_ms,
            ),
            initial_rebalance_delay_ms: setting(
                "group.initial.rebalance.delay.ms",
                defaults.initial_rebalance_delay_ms,
            ),
            max_size: defaults.max_size,
        });
        let loaded = Loaded::default();
        let partitions = config
            .broker_configs
            .iter()
            .find(|(k, ..)| k == "offsets.topic.num.partitions")
            .and_then(|(_, v, ..)| v.parse().ok())
            .filter(|n: &i32| *n > 0)
            .unwrap_or(strata_group::DEFAULT_OFFSETS_TOPIC_PARTITIONS);
        let retention = Retention {
            retention_ms: i64::try_from(setting("offsets.retention.minutes", 10_080))
                .unwrap_or(i64::MAX)
                .saturating_mul(60_000),
            check_interval: std::time::Duration::from_millis(setting(
                "offsets.retention.check.interval.ms",
                600_000,
            )),
        };
        spawn_loader(
            Arc::downgrade(&broker),
            groups.clone(),
            loaded.clone(),
            partitions,
            config.node_id,
            retention,
        );
        Dispatcher {
            broker,
            controller,
            config,
            groups,
            loaded,
            offsets_partitions: partitions,
        }
    }

    /// `offsets.topic.num.partitions`: groups are spread over this many partitions.
    pub fn offsets_partitions(&self) -> i32 {
        self.offsets_partitions
    }

    /// The `__consumer_offsets` partitions loaded into the group coordinator.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// The consumer groups this node coordinates.
    pub fn groups(&self) -> &GroupCoordinator {
        &self.groups
    }

    /// The protocol settings.
    pub fn config(&self) -> &ProtocolConfig {
        &self.config
    }

    /// The broker.
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// The controller (admin requests, quorum descriptions).
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// Handles one request frame.
    pub async fn handle(&self, frame: Bytes, listener: &str) -> Outcome {
        self.handle_from(frame, listener, None).await
    }

    /// Handles one request frame from the client at `peer`.
    pub async fn handle_from(
        &self,
        frame: Bytes,
        listener: &str,
        peer: Option<std::net::SocketAddr>,
    ) -> Outcome {
        if frame.len() < MIN_REQUEST_HEADER_BYTES {
            return Outcome::Close(format!(
                "request of {} bytes is shorter than a request header",
                frame.len()
            ));
        }
        let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        let Ok(api_key) = ApiKey::try_from(raw_key) else {
            return Outcome::Close(format!("unknown api key {raw_key}"));
        };
        if api_key == ApiKey::ApiVersions && !is_supported(api_key, version) {
            // KIP-511: a client newer than us may use a header layout we cannot know; the
            // correlation id is always at bytes 4..8. Answer in v0 format so it negotiates down.
            let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
            let header = RequestHeader::default().with_correlation_id(correlation_id);
            let response = ApiVersionsResponse::default()
                .with_error_code(ResponseError::UnsupportedVersion.code())
                .with_api_keys(handlers::api_versions::api_keys());
            return encode_response(
                &header,
                0,
                ApiKey::ApiVersions,
                &ResponseKind::ApiVersions(response),
            );
        }
        let mut body = frame;
        let header = match decode_guarded(|| {
            RequestHeader::decode(&mut body, api_key.request_header_version(version))
        }) {
            Ok(header) => header,
            Err(reason) => {
                return Outcome::Close(format!(
                    "bad {api_key:?} v{version} request header: {reason}"
                ))
            }
        };
        if !is_supported(api_key, version) {
            return Outcome::Close(format!("unsupported version {version} of {api_key:?}"));
        }
        let request = match decode_guarded(|| RequestKind::decode(api_key, &mut body, version)) {
            Ok(request) => request,
            Err(reason) => {
                return Outcome::Close(format!("cannot decode {api_key:?} v{version}: {reason}"))
            }
        };
        if body.has_remaining() {
            tracing::debug!(
                ?api_key,
                version,
                trailing = body.remaining(),
                "ignoring trailing request bytes"
            );
        }
        let ctx = RequestContext {
            header,
            listener,
            peer,
        };
        match handlers::handle(self, &ctx, request).await {
            Outcome::Respond(response) => encode_response(&ctx.header, version, api_key, &response),
            Outcome::NoResponse => Outcome::NoResponse,
            Outcome::Close(reason) => Outcome::Close(reason),
        }
    }
}

/// Runs a decoder, turning both errors and panics into a reason string: a malformed request
/// must close its connection, never take the node down.
fn decode_guarded<T>(decode: impl FnOnce() -> anyhow::Result<T>) -> Result<T, String> {
    match std::panic::catch_unwind(AssertUnwindSafe(decode)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("decoder panicked".to_string()),
    }
}

fn encode_response(
    header: &RequestHeader,
    version: i16,
    api_key: ApiKey,
    response: &ResponseKind,
) -> Outcome {
    // A fetch response carries megabytes of records: size it once instead of growing (and
    // copying) the buffer through every doubling.
    let capacity = match response {
        ResponseKind::Fetch(fetch) => fetch.compute_size(version).unwrap_or(0),
        _ => 0,
    };
    let mut buf = BytesMut::with_capacity(capacity.max(256) + 64);
    buf.extend_from_slice(&[0, 0, 0, 0]);
    let response_header = ResponseHeader::default().with_correlation_id(header.correlation_id);
    let encoded = response_header
        .encode(&mut buf, api_key.response_header_version(version))
        .and_then(|()| response.encode(&mut buf, version));
    if let Err(error) = encoded {
        // Our own response did not fit its version: a bug, but not the client's fault.
        return Outcome::Close(format!(
            "cannot encode {api_key:?} v{version} response: {error}"
        ));
    }
    let Ok(size) = i32::try_from(buf.len() - 4) else {
        return Outcome::Close(format!(
            "{api_key:?} response of {} bytes is too large",
            buf.len()
        ));
    };
    buf[0..4].copy_from_slice(&size.to_be_bytes());
    Outcome::Respond(buf.freeze())
}
