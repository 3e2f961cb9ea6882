//! One TCP connection to one broker: framing, correlation ids, ApiVersions negotiation.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{codes, ClientError, Result};

/// Largest response frame we accept; larger sizes mean a corrupt stream or a hostile peer.
pub const MAX_RESPONSE_FRAME_BYTES: usize = 100 * 1024 * 1024;
/// How long to wait for a TCP connect.
pub const CONNECT_TIMEOUT_MS: u64 = 10_000;
/// How long to wait for a response, on top of any broker-side wait (fetch `max_wait_ms`).
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// The ApiVersions version tried first (KIP-511); brokers that do not know it answer in v0.
pub const API_VERSIONS_PREFERRED_VERSION: i16 = 3;

/// Highest version of each API this client encodes. Kept below kafka-protocol's maximum where a
/// newer version changes semantics we do not implement (topic ids in Produce/Fetch v13,
/// transactions v2 in Produce v12 and InitProducerId v5).
pub fn client_max_version(key: ApiKey) -> i16 {
    match key {
        ApiKey::Produce => 11,
        ApiKey::Fetch => 12,
        ApiKey::ListOffsets => 9,
        ApiKey::Metadata => 12,
        ApiKey::ApiVersions => 3,
        ApiKey::CreateTopics => 7,
        ApiKey::DeleteTopics => 6,
        ApiKey::CreatePartitions => 3,
        ApiKey::DescribeConfigs => 4,
        ApiKey::DescribeCluster => 1,
        ApiKey::DescribeTopicPartitions => 0,
        ApiKey::InitProducerId => 4,
        other => other.valid_versions().max,
    }
}

/// An open connection to one broker, with the API versions it announced.
pub struct Connection {
    addr: String,
    stream: TcpStream,
    client_id: String,
    next_correlation_id: i32,
    /// api key -> (min, max) as announced by the broker.
    broker_versions: HashMap<i16, (i16, i16)>,
    /// Set while a request is on the wire and its response not wholly read. Still set at the
    /// next request when the previous one was abandoned (its future dropped, e.g. a fetch
    /// cut short by Ctrl-C) or failed midway: its response may yet arrive or be half read,
    /// so the stream is out of step and is replaced before it is used again.
    in_flight: bool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .finish()
    }
}

fn api_name(key: i16) -> String {
    match ApiKey::try_from(key) {
        Ok(k) => format!("{k:?}"),
        Err(()) => format!("api key {key}"),
    }
}

impl Connection {
    /// Opens a TCP connection to `addr` (`host:port`) and negotiates API versions.
    pub async fn connect(addr: &str, client_id: &str) -> Result<Connection> {
        let stream = open_stream(addr).await?;
        let mut conn = Connection {
            addr: addr.to_string(),
            stream,
            client_id: client_id.to_string(),
            next_correlation_id: 0,
            broker_versions: HashMap::new(),
            in_flight: false,
        };
        conn.negotiate_versions().await?;
        Ok(conn)
    }

    /// The `host:port` this connection was opened to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The broker's announced (min, max) version range for an API, if it supports it.
    pub fn broker_version_range(&self, key: ApiKey) -> Option<(i16, i16)> {
        self.broker_versions.get(&(key as i16)).copied()
    }

    /// True if the broker supports some version of `key` that we can also speak.
    pub fn supports(&self, key: ApiKey) -> bool {
        self.negotiated_version(key).is_ok()
    }

    /// The version to use for `key`: min(our max, broker max), if that is within both ranges.
    pub fn negotiated_version(&self, key: ApiKey) -> Result<i16> {
        let ours = key.valid_versions();
        let our_max = client_max_version(key).min(ours.max);
        let unsupported = |broker_range: String| ClientError::UnsupportedApi {
            addr: self.addr.clone(),
            api: format!("{key:?}"),
            min: ours.min,
            max: our_max,
            broker_range,
        };
        let (bmin, bmax) = self
            .broker_version_range(key)
            .ok_or_else(|| unsupported("none".to_string()))?;
        let version = our_max.min(bmax);
        if version < bmin || version < ours.min {
            return Err(unsupported(format!("{bmin}..={bmax}")));
        }
        Ok(version)
    }

    async fn negotiate_versions(&mut self) -> Result<()> {
        let mut request = ApiVersionsRequest::default();
        request.client_software_name = StrBytes::from_static_str("strata-client");
        request.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
        let body = self
            .round_trip_raw(
                ApiKey::ApiVersions as i16,
                API_VERSIONS_PREFERRED_VERSION,
                &request,
                true,
                0,
            )
            .await?
            .unwrap_or_default();
        // A broker that does not know v3 answers UNSUPPORTED_VERSION in the v0 body format; the
        // error code is the first field in every version, so peek at it before decoding.
        let code = if body.len() >= 2 {
            i16::from_be_bytes([body[0], body[1]])
        } else {
            0
        };
        let response = if code == codes::UNSUPPORTED_VERSION {
            tracing::debug!(addr = %self.addr, "ApiVersions v3 unsupported, retrying with v0");
            let body = self
                .round_trip_raw(
                    ApiKey::ApiVersions as i16,
                    0,
                    &ApiVersionsRequest::default(),
                    true,
                    0,
                )
                .await?
                .unwrap_or_default();
            self.decode_body::<ApiVersionsResponse>(ApiKey::ApiVersions as i16, 0, body)?
        } else {
            self.decode_body::<ApiVersionsResponse>(
                ApiKey::ApiVersions as i16,
                API_VERSIONS_PREFERRED_VERSION,
                body,
            )?
        };
        if response.error_code != 0 {
            return Err(ClientError::kafka(
                response.error_code,
                None,
                format!("ApiVersions from {}", self.addr),
            ));
        }
        self.broker_versions = response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(())
    }

    /// Sends `request` at the negotiated version and waits for its response.
    pub async fn send<R: Request>(&mut self, request: &R) -> Result<(R::Response, i16)> {
        let key = ApiKey::try_from(R::KEY).map_err(|()| ClientError::Encode {
            api: api_name(R::KEY),
            version: -1,
            message: "unknown api key".to_string(),
        })?;
        let version = self.negotiated_version(key)?;
        let response = self.send_version(request, version, 0).await?;
        Ok((response, version))
    }

    /// Sends `request` at an explicit `version`; `extra_wait_ms` extends the response timeout
    /// (used for fetch long-polls).
    pub async fn send_version<R: Request>(
        &mut self,
        request: &R,
        version: i16,
        extra_wait_ms: u64,
    ) -> Result<R::Response> {
        let body = self
            .round_trip_raw(R::KEY, version, request, true, extra_wait_ms)
            .await?
            .unwrap_or_default();
        self.decode_body::<R::Response>(R::KEY, version, body)
    }

    /// Sends a request for which the broker sends no response (Produce with acks=0).
    pub async fn send_without_response<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<()> {
        self.round_trip_raw(R::KEY, version, request, false, 0)
            .await?;
        Ok(())
    }

    fn decode_body<T: Decodable>(&self, key: i16, version: i16, mut body: Bytes) -> Result<T> {
        T::decode(&mut body, version).map_err(|e| ClientError::Decode {
            addr: self.addr.clone(),
            api: api_name(key),
            version,
            message: e.to_string(),
        })
    }

    /// Writes one framed request; if `expect_response`, reads the response frame, checks the
    /// correlation id, strips the response header and returns the body.
    async fn round_trip_raw<B: Encodable>(
        &mut self,
        key: i16,
        version: i16,
        body: &B,
        expect_response: bool,
        extra_wait_ms: u64,
    ) -> Result<Option<Bytes>> {
        let api_key = ApiKey::try_from(key).map_err(|()| ClientError::Encode {
            api: api_name(key),
            version,
            message: "unknown api key".to_string(),
        })?;
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let mut header = RequestHeader::default();
        header.request_api_key = key;
        header.request_api_version = version;
        header.correlation_id = correlation_id;
        header.client_id = Some(StrBytes::from_string(self.client_id.clone()));

        let encode_err = |message: String| ClientError::Encode {
            api: api_name(key),
            version,
            message,
        };
        let mut frame = BytesMut::with_capacity(256);
        frame.put_i32(0); // size placeholder
        header
            .encode(&mut frame, api_key.request_header_version(version))
            .map_err(|e| encode_err(e.to_string()))?;
        body.encode(&mut frame, version)
            .map_err(|e| encode_err(e.to_string()))?;
        let size = i32::try_from(frame.len() - 4).map_err(|_| ClientError::Encode {
            api: api_name(key),
            version,
            message: format!("request of {} bytes is too large", frame.len()),
        })?;
        frame[0..4].copy_from_slice(&size.to_be_bytes());

        if self.in_flight {
            // The previous request was abandoned or failed midway (see the field).
            tracing::debug!(addr = %self.addr, "reopening a connection left mid-request");
            self.stream = open_stream(&self.addr).await?;
            self.in_flight = false;
        }
        let addr = self.addr.clone();
        let io_err = |source| ClientError::Io {
            addr: addr.clone(),
            source,
        };
        self.in_flight = true;
        self.stream.write_all(&frame).await.map_err(io_err)?;
        if !expect_response {
            self.in_flight = false;
            return Ok(None);
        }

        let timeout_ms = REQUEST_TIMEOUT_MS + extra_wait_ms;
        let read = async {
            let mut size_buf = [0u8; 4];
            self.stream
                .read_exact(&mut size_buf)
                .await
                .map_err(io_err)?;
            let size = i32::from_be_bytes(size_buf);
            if size < 0 || size as usize > MAX_RESPONSE_FRAME_BYTES {
                return Err(ClientError::FrameSize {
                    addr: addr.clone(),
                    size,
                    limit: MAX_RESPONSE_FRAME_BYTES,
                });
            }
            let mut buf = vec![0u8; size as usize];
            self.stream.read_exact(&mut buf).await.map_err(io_err)?;
            Ok(Bytes::from(buf))
        };
        let mut frame = match tokio::time::timeout(Duration::from_millis(timeout_ms), read).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(ClientError::Timeout {
                    addr: self.addr.clone(),
                    api: api_name(key),
                    timeout_ms,
                })
            }
        };
        let header_version = api_key.response_header_version(version);
        let header = ResponseHeader::decode(&mut frame, header_version).map_err(|e| {
            ClientError::Decode {
                addr: self.addr.clone(),
                api: format!("{} (response header)", api_name(key)),
                version,
                message: e.to_string(),
            }
        })?;
        if header.correlation_id != correlation_id {
            return Err(ClientError::CorrelationMismatch {
                addr: self.addr.clone(),
                expected: correlation_id,
                received: header.correlation_id,
            });
        }
        // `frame` now holds only the body.
        debug_assert!(frame.remaining() <= MAX_RESPONSE_FRAME_BYTES);
        self.in_flight = false;
        Ok(Some(frame))
    }
}

/// Opens a TCP stream to `addr`, within [`CONNECT_TIMEOUT_MS`].
async fn open_stream(addr: &str) -> Result<TcpStream> {
    let connect = TcpStream::connect(addr);
    let connect_error = |source| ClientError::Connect {
        addr: addr.to_string(),
        source,
    };
    let stream =
        match tokio::time::timeout(Duration::from_millis(CONNECT_TIMEOUT_MS), connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => return Err(connect_error(source)),
            Err(_) => {
                return Err(connect_error(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("connect timed out after {CONNECT_TIMEOUT_MS} ms"),
                )))
            }
        };
    // Small request/response exchanges; Nagle only adds latency.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}
