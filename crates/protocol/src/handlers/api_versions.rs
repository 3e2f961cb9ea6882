//! ApiVersions: the versions this node implements.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::ApiVersionsResponse;

use crate::versions::SUPPORTED_APIS;

/// The advertised API list.
pub fn api_keys() -> Vec<ApiVersion> {
    SUPPORTED_APIS
        .iter()
        .map(|(key, min, max)| {
            ApiVersion::default()
                .with_api_key(*key as i16)
                .with_min_version(*min)
                .with_max_version(*max)
        })
        .collect()
}

/// The ApiVersions response. Features (KIP-584) are left out: tagged fields that hold their
/// default are omitted, which old librdkafka needs.
pub fn handle() -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(api_keys())
}
