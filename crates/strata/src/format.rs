//! Formatting log directories, as Kafka 3.9's `Formatter` and `MetaPropertiesEnsemble`: which
//! directories a node owns, checking that they agree on cluster and node id, writing
//! `meta.properties` (and the initial quorum for `--standalone` / `--initial-controllers`), and
//! the check a node makes before it starts.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{log_dirs, parse_listeners, Settings};
use crate::meta_properties::{
    parse_uuid, random_uuid, MetaProperties, MetaPropertiesError, UuidError, META_PROPERTIES_FILE,
    META_PROPERTIES_VERSION_LEGACY,
};

/// The `metadata.version` formatted directories are reported with: Strata's metadata matches
/// Kafka 3.9's, and the storage tool's messages name it as Kafka 3.9 does.
pub const METADATA_VERSION: &str = "3.9-IV0";

/// The metadata partition directory inside `metadata.log.dir` (Kafka's `__cluster_metadata-0`).
pub const METADATA_PARTITION_DIR: &str = "__cluster_metadata-0";

/// The initial quorum written by `--standalone` / `--initial-controllers`, inside
/// [`METADATA_PARTITION_DIR`]. Kafka writes a bootstrap snapshot there; Strata writes JSON:
/// `{"standalone":true,"voters":[{"id":1,"endpoint":"host:port","directory_id":"…"}]}`.
pub const BOOTSTRAP_FILE: &str = "bootstrap.json";

/// Opt-in to format unformatted directories at start (tests, the no-argument mode).
pub const AUTO_FORMAT_KEY: &str = "strata.auto.format";

/// The cluster id auto-formatting uses (and a start-up check against `meta.properties`).
pub const CLUSTER_ID_KEY: &str = "strata.cluster.id";

/// Why formatting or the start-up check failed. Messages are Kafka's wherever Kafka has one.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// `process.roles` is empty.
    #[error("The kafka configuration file appears to be for a legacy cluster. Formatting is only supported for clusters in KRaft mode.")]
    LegacyConfig,
    /// `-t` is not a Kafka UUID.
    #[error("Cluster ID string {cluster_id} does not appear to be a valid UUID: {source}")]
    BadClusterId {
        /// The argument.
        cluster_id: String,
        /// Why.
        source: UuidError,
    },
    /// `strata.cluster.id` is not a Kafka UUID.
    #[error("invalid value {cluster_id:?} for config strata.cluster.id: {source}")]
    BadConfiguredClusterId {
        /// The value.
        cluster_id: String,
        /// Why.
        source: UuidError,
    },
    /// `node.id` < 0.
    #[error("You must specify a valid non-negative node ID.")]
    NegativeNodeId,
    /// `--standalone` / `--initial-controllers` together with static voters.
    #[error("You cannot specify controller.quorum.voters and format the node with --initial-controllers or --standalone. If you want to use dynamic quorum, please remove controller.quorum.voters and specify controller.quorum.bootstrap.servers instead.")]
    DynamicWithStaticVoters,
    /// `--standalone` on a broker-only node.
    #[error("You can only use --standalone on a controller.")]
    StandaloneOnBroker,
    /// `--standalone` without a controller listener.
    #[error("No controller listeners found.")]
    NoControllerListener,
    /// A controller with neither static voters nor one of the quorum flags.
    #[error("Because controller.quorum.voters is not set on this controller, you must specify one of the following: --standalone, --initial-controllers, or --no-initial-controllers.")]
    QuorumUnspecified,
    /// `--initial-controllers` does not parse.
    #[error("Invalid --initial-controllers {value:?}: {reason}")]
    BadInitialControllers {
        /// The argument.
        value: String,
        /// Why (Kafka's `DynamicVoter.parse` wording).
        reason: String,
    },
    /// `meta.properties` cannot be read, parsed or written.
    #[error(transparent)]
    MetaProperties(#[from] MetaPropertiesError),
    /// A directory was formatted for another cluster.
    #[error("Invalid cluster.id in: {path}. Expected {expected}, but read {found}")]
    ClusterIdMismatch {
        /// The `meta.properties` file.
        path: PathBuf,
        /// The cluster id this node expects.
        expected: String,
        /// The cluster id in the file.
        found: String,
    },
    /// A directory belongs to another node.
    #[error("Stored node id {found} doesn't match previous node id {expected} in {path}. If you moved your data, make sure your configured node id matches. If you intend to create a new node, you should remove all data in your data directories.")]
    NodeIdMismatch {
        /// The `meta.properties` file.
        path: PathBuf,
        /// This node's `node.id`.
        expected: i32,
        /// The node id in the file.
        found: i32,
    },
    /// A version 0 (ZooKeeper-era) directory.
    #[error("The kafka configuration file appears to be for a cluster in KRaft mode, but the directories are formatted for legacy mode ({path} has version=0).")]
    LegacyDirectory {
        /// The `meta.properties` file.
        path: PathBuf,
    },
    /// `format` without `--ignore-formatted` on a formatted directory.
    #[error("Log directory {dir} is already formatted. Use --ignore-formatted to ignore this directory and format the others.")]
    AlreadyFormatted {
        /// The first formatted directory.
        dir: String,
    },
    /// A node without opt-in to auto-formatting found an unformatted directory.
    #[error("No `meta.properties` found in {dir} (have you run `strata kafka-storage format` to format the directory? For example: strata kafka-storage format --standalone -t $(strata kafka-storage random-uuid) -c server.properties)")]
    NotFormatted {
        /// The directory.
        dir: String,
    },
    /// Writing `bootstrap.json` (or creating a directory) failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One initial controller: `id@host:port:directory-id` (Kafka's KIP-853 `DynamicVoter`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voter {
    /// The controller's node id.
    pub id: i32,
    /// Its controller listener host.
    pub host: String,
    /// Its controller listener port.
    pub port: u16,
    /// The directory id of its metadata log directory.
    pub directory_id: String,
}

impl Voter {
    /// `host:port`, with IPv6 hosts in brackets.
    pub fn endpoint(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Parses `--initial-controllers`: `id@host:port:dirid,…` (Kafka's `DynamicVoters.parse`).
pub fn parse_initial_controllers(value: &str) -> Result<Vec<Voter>, FormatError> {
    let bad = |reason: String| FormatError::BadInitialControllers {
        value: value.to_string(),
        reason,
    };
    let mut voters: Vec<Voter> = Vec::new();
    for item in value.split(',') {
        let voter = parse_voter(item.trim()).map_err(bad)?;
        if voters.iter().any(|v| v.id == voter.id) {
            return Err(bad(format!(
                "Node id {} was specified more than once.",
                voter.id
            )));
        }
        voters.push(voter);
    }
    if voters.is_empty() {
        return Err(bad("No voters given.".to_string()));
    }
    Ok(voters)
}

fn parse_voter(input: &str) -> Result<Voter, String> {
    let (id, rest) = input
        .split_once('@')
        .ok_or_else(|| format!("No @ found in dynamic voter string {input:?}."))?;
    let id: i32 = id
        .parse()
        .map_err(|_| "Failed to parse node id in dynamic voter string.".to_string())?;
    if id < 0 {
        return Err(format!(
            "Invalid negative node id {id} in dynamic voter string."
        ));
    }
    if rest.is_empty() {
        return Err("No hostname found after node id.".to_string());
    }
    let (host, rest) = if let Some(bracketed) = rest.strip_prefix('[') {
        bracketed.split_once(']').ok_or_else(|| {
            "Hostname began with left bracket, but no right bracket was found.".to_string()
        })?
    } else {
        let i = rest
            .find(':')
            .ok_or_else(|| "No colon following hostname could be found.".to_string())?;
        (&rest[..i], &rest[i..])
    };
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| "Port section must start with a colon.".to_string())?;
    let (port, directory_id) = rest
        .split_once(':')
        .ok_or_else(|| "No colon following port could be found.".to_string())?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("Invalid port {port} in dynamic voter string."))?;
    parse_uuid(directory_id)
        .map_err(|e| format!("Failed to parse directory ID in dynamic voter string: {e}"))?;
    Ok(Voter {
        id,
        host: host.to_string(),
        port,
        directory_id: directory_id.to_string(),
    })
}

/// How the controller quorum is initialised by `format`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuorumInit {
    /// No flag given: only valid with `controller.quorum.voters` or on a broker-only node.
    Unspecified,
    /// `--standalone`: a quorum of this node alone.
    Standalone,
    /// `--no-initial-controllers`: join a quorum formatted elsewhere (or static voters).
    NoInitialControllers,
    /// `--initial-controllers id@host:port:dirid,…`.
    InitialControllers(String),
}

/// What `format` was asked to do.
#[derive(Clone, Debug)]
pub struct FormatRequest {
    /// `-t`: the cluster id (a Kafka UUID).
    pub cluster_id: String,
    /// `-g`: skip formatted directories instead of failing.
    pub ignore_formatted: bool,
    /// The quorum flags.
    pub quorum: QuorumInit,
}

/// The storage-related settings of one node.
#[derive(Clone, Debug)]
pub struct NodeStorage {
    /// `node.id` (else `broker.id`).
    pub node_id: i32,
    /// `log.dirs` (else `log.dir`).
    pub log_dirs: Vec<PathBuf>,
    /// `metadata.log.dir`, else the first log dir.
    pub metadata_dir: PathBuf,
    /// `process.roles` is not empty.
    pub kraft: bool,
    /// `process.roles` contains `controller`.
    pub controller: bool,
    /// `controller.quorum.voters` is set (a static quorum).
    pub static_voters: bool,
    /// The first advertised controller listener `(host, port)` (`localhost` for an empty host).
    pub controller_endpoint: Option<(String, u16)>,
}

impl NodeStorage {
    /// Reads the node's storage settings, with the same defaults as the server.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<NodeStorage> {
        let node_id = configured_node_id(settings)?;
        let log_dirs = log_dirs(settings);
        let Some(first) = log_dirs.first().cloned() else {
            anyhow::bail!("config log.dirs names no directory");
        };
        let metadata_dir = settings
            .get("metadata.log.dir")
            .filter(|d| !d.trim().is_empty())
            .map(|d| PathBuf::from(d.trim()))
            .unwrap_or(first);
        let roles: Vec<String> = settings
            .get("process.roles")
            .unwrap_or("")
            .split(',')
            .map(|r| r.trim().to_ascii_lowercase())
            .filter(|r| !r.is_empty())
            .collect();
        let static_voters = settings
            .get("controller.quorum.voters")
            .is_some_and(|v| !v.trim().is_empty());
        Ok(NodeStorage {
            node_id,
            log_dirs,
            metadata_dir,
            kraft: !roles.is_empty(),
            controller: roles.iter().any(|r| r == "controller"),
            static_voters,
            controller_endpoint: controller_endpoint(settings)?,
        })
    }

    /// Every directory this node formats: the log dirs and the metadata dir, sorted and
    /// deduplicated by their text, as Kafka's `configToLogDirectories`.
    pub fn directories(&self) -> Vec<PathBuf> {
        let mut set: BTreeSet<String> = self
            .log_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        set.insert(self.metadata_dir.display().to_string());
        set.into_iter().map(PathBuf::from).collect()
    }
}

/// `node.id`, else `broker.id`, else 1 (the server's single-node default); must be >= 0.
pub fn configured_node_id(settings: &Settings) -> anyhow::Result<i32> {
    let node_id: i32 = match settings.parse("node.id")? {
        Some(id) => id,
        None => settings.parse("broker.id")?.unwrap_or(1),
    };
    if node_id < 0 {
        anyhow::bail!("invalid value {node_id} for config node.id: must be >= 0");
    }
    Ok(node_id)
}

/// The first controller listener, taken from `advertised.listeners` if it names one, else from
/// `listeners` (Kafka's `effectiveAdvertisedControllerListeners`).
fn controller_endpoint(settings: &Settings) -> anyhow::Result<Option<(String, u16)>> {
    let names: Vec<String> = settings
        .get("controller.listener.names")
        .unwrap_or("CONTROLLER")
        .split(',')
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty())
        .collect();
    let mut candidates = Vec::new();
    for key in ["advertised.listeners", "listeners"] {
        if let Some(v) = settings.get(key).filter(|v| !v.trim().is_empty()) {
            candidates.push(parse_listeners(key, v)?);
        }
    }
    for name in &names {
        for listeners in &candidates {
            if let Some(l) = listeners.iter().find(|l| &l.name == name) {
                let host = if l.host.is_empty() {
                    "localhost".to_string()
                } else {
                    l.host.clone()
                };
                return Ok(Some((host, l.port)));
            }
        }
    }
    Ok(None)
}

/// Each directory with its `meta.properties` (`None`: not formatted), sorted by path text.
pub type Ensemble = BTreeMap<PathBuf, Option<MetaProperties>>;

/// Reads `meta.properties` in every directory.
pub fn load_ensemble(dirs: &[PathBuf]) -> Result<Ensemble, FormatError> {
    let mut ensemble = Ensemble::new();
    for dir in dirs {
        ensemble.insert(dir.clone(), MetaProperties::read(dir)?);
    }
    Ok(ensemble)
}

/// Kafka's `MetaPropertiesEnsemble.verify`: every formatted directory is KRaft, and carries the
/// expected cluster id (or the first one seen) and this node's id. Returns the cluster id found.
pub fn verify_ensemble(
    ensemble: &Ensemble,
    expected_cluster_id: Option<&str>,
    node_id: i32,
) -> Result<Option<String>, FormatError> {
    let mut cluster_id = expected_cluster_id.map(str::to_string);
    for (dir, props) in ensemble {
        let Some(props) = props else { continue };
        let path = dir.join(META_PROPERTIES_FILE);
        if props.version == META_PROPERTIES_VERSION_LEGACY {
            return Err(FormatError::LegacyDirectory { path });
        }
        if let Some(found) = &props.cluster_id {
            match &cluster_id {
                None => cluster_id = Some(found.clone()),
                Some(expected) if expected != found => {
                    return Err(FormatError::ClusterIdMismatch {
                        path,
                        expected: expected.clone(),
                        found: found.clone(),
                    })
                }
                Some(_) => {}
            }
        }
        if let Some(found) = props.node_id {
            if found != node_id {
                return Err(FormatError::NodeIdMismatch {
                    path,
                    expected: node_id,
                    found,
                });
            }
        }
    }
    Ok(cluster_id)
}

/// What kind of directory a formatted directory is (Kafka's `Formatter.DirectoryType`); the
/// description appears in "Formatting … with metadata.version …".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DirectoryType {
    Log,
    StaticMetadata,
    DynamicMetadataNonVoter,
    DynamicMetadataVoter,
}

impl DirectoryType {
    fn description(self) -> &'static str {
        match self {
            DirectoryType::Log => "data directory",
            DirectoryType::StaticMetadata => "metadata directory",
            DirectoryType::DynamicMetadataNonVoter => "dynamic metadata directory",
            DirectoryType::DynamicMetadataVoter => "dynamic metadata voter directory",
        }
    }
}

/// Formats the node's directories (Kafka 3.9's `kafka-storage format`), printing Kafka's
/// progress lines to `out`.
pub fn format(
    storage: &NodeStorage,
    request: &FormatRequest,
    out: &mut dyn Write,
) -> Result<(), FormatError> {
    if !storage.kraft {
        return Err(FormatError::LegacyConfig);
    }
    parse_uuid(&request.cluster_id).map_err(|source| FormatError::BadClusterId {
        cluster_id: request.cluster_id.clone(),
        source,
    })?;
    if storage.node_id < 0 {
        return Err(FormatError::NegativeNodeId);
    }
    let dynamic = matches!(
        request.quorum,
        QuorumInit::Standalone | QuorumInit::InitialControllers(_)
    );
    if storage.static_voters && dynamic {
        return Err(FormatError::DynamicWithStaticVoters);
    }
    let (initial, standalone) = match &request.quorum {
        QuorumInit::Standalone => {
            if !storage.controller {
                return Err(FormatError::StandaloneOnBroker);
            }
            let Some((host, port)) = storage.controller_endpoint.clone() else {
                return Err(FormatError::NoControllerListener);
            };
            let voter = Voter {
                id: storage.node_id,
                host,
                port,
                directory_id: random_uuid(),
            };
            (Some(vec![voter]), true)
        }
        QuorumInit::InitialControllers(v) => (Some(parse_initial_controllers(v)?), false),
        QuorumInit::NoInitialControllers => (None, false),
        QuorumInit::Unspecified => {
            if storage.controller && !storage.static_voters {
                return Err(FormatError::QuorumUnspecified);
            }
            (None, false)
        }
    };
    write_directories(
        storage,
        &request.cluster_id,
        request.ignore_formatted,
        initial.as_deref(),
        standalone,
        out,
    )
}

/// The formatting proper, shared by `format` and start-up auto-formatting.
fn write_directories(
    storage: &NodeStorage,
    cluster_id: &str,
    ignore_formatted: bool,
    initial: Option<&[Voter]>,
    standalone: bool,
    out: &mut dyn Write,
) -> Result<(), FormatError> {
    let ensemble = load_ensemble(&storage.directories())?;
    verify_ensemble(&ensemble, Some(cluster_id), storage.node_id)?;
    if !ignore_formatted {
        if let Some((dir, _)) = ensemble.iter().find(|(_, p)| p.is_some()) {
            return Err(FormatError::AlreadyFormatted {
                dir: dir.display().to_string(),
            });
        }
    }
    let empty: Vec<&PathBuf> = ensemble
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(d, _)| d)
        .collect();
    if empty.is_empty() {
        // Output to the caller's stream is best effort: formatting already succeeded.
        let _ = writeln!(out, "All of the log directories are already formatted.");
        return Ok(());
    }
    for dir in empty {
        let kind = if dir.display().to_string() != storage.metadata_dir.display().to_string() {
            DirectoryType::Log
        } else {
            match initial {
                None => DirectoryType::StaticMetadata,
                Some(v) if v.iter().any(|v| v.id == storage.node_id) => {
                    DirectoryType::DynamicMetadataVoter
                }
                Some(_) => DirectoryType::DynamicMetadataNonVoter,
            }
        };
        // A voter's metadata directory id is part of the quorum (KIP-853), so it comes from
        // the voter list; other directories get a fresh one.
        let directory_id = match (kind, initial) {
            (DirectoryType::DynamicMetadataVoter, Some(voters)) => voters
                .iter()
                .find(|v| v.id == storage.node_id)
                .map(|v| v.directory_id.clone())
                .unwrap_or_else(random_uuid),
            _ => random_uuid(),
        };
        let _ = writeln!(
            out,
            "Formatting {} {} with metadata.version {METADATA_VERSION}.",
            kind.description(),
            dir.display()
        );
        std::fs::create_dir_all(dir).map_err(|source| FormatError::Io {
            path: dir.clone(),
            source,
        })?;
        if let (Some(voters), DirectoryType::DynamicMetadataVoter)
        | (Some(voters), DirectoryType::DynamicMetadataNonVoter) = (initial, kind)
        {
            write_bootstrap(dir, voters, standalone)?;
        }
        MetaProperties::kraft(cluster_id, storage.node_id, &directory_id).write(dir)?;
    }
    Ok(())
}

/// Writes `<dir>/__cluster_metadata-0/bootstrap.json` (see [`BOOTSTRAP_FILE`]).
fn write_bootstrap(dir: &Path, voters: &[Voter], standalone: bool) -> Result<(), FormatError> {
    let partition = dir.join(METADATA_PARTITION_DIR);
    std::fs::create_dir_all(&partition).map_err(|source| FormatError::Io {
        path: partition.clone(),
        source,
    })?;
    let json = serde_json::json!({
        "standalone": standalone,
        "voters": voters.iter().map(|v| serde_json::json!({
            "id": v.id,
            "endpoint": v.endpoint(),
            "directory_id": v.directory_id,
        })).collect::<Vec<_>>(),
    });
    let path = partition.join(BOOTSTRAP_FILE);
    let tmp = partition.join(format!("{BOOTSTRAP_FILE}.tmp"));
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| FormatError::Io { path: p, source }
    };
    std::fs::write(&tmp, format!("{json}\n")).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(())
}

/// The start-up check: every directory must be formatted for this node (and for
/// `strata.cluster.id` when set) — Kafka refuses to start otherwise. With `auto_format`
/// (`strata.auto.format=true`, or the no-argument mode) unformatted directories are formatted
/// first: with the cluster id already on disk, else `strata.cluster.id`, else a new one; as a
/// standalone quorum when this controller has a controller listener and no static voters.
///
/// Returns the cluster id.
pub fn prepare_for_start(
    storage: &NodeStorage,
    auto_format: bool,
    configured_cluster_id: Option<&str>,
) -> Result<String, FormatError> {
    if let Some(id) = configured_cluster_id {
        parse_uuid(id).map_err(|source| FormatError::BadConfiguredClusterId {
            cluster_id: id.to_string(),
            source,
        })?;
    }
    let dirs = storage.directories();
    let ensemble = load_ensemble(&dirs)?;
    let found = verify_ensemble(&ensemble, configured_cluster_id, storage.node_id)?;
    let unformatted: Vec<&PathBuf> = ensemble
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(d, _)| d)
        .collect();
    if let Some(first) = unformatted.first() {
        if !auto_format {
            return Err(FormatError::NotFormatted {
                dir: first.display().to_string(),
            });
        }
        let cluster_id = found.clone().unwrap_or_else(random_uuid);
        let standalone_voter = match (&storage.controller_endpoint, storage.controller) {
            (Some((host, port)), true) if !storage.static_voters => Some(Voter {
                id: storage.node_id,
                host: host.clone(),
                port: *port,
                directory_id: random_uuid(),
            }),
            _ => None,
        };
        let initial = standalone_voter.map(|v| vec![v]);
        let mut out = Vec::new();
        write_directories(
            storage,
            &cluster_id,
            true,
            initial.as_deref(),
            initial.is_some(),
            &mut out,
        )?;
        for line in String::from_utf8_lossy(&out).lines() {
            tracing::info!("{line} (cluster.id {cluster_id}, {AUTO_FORMAT_KEY}=true)");
        }
        return Ok(cluster_id);
    }
    // Every directory is formatted, so verify_ensemble saw a cluster id (version 1 files
    // always carry one).
    found.ok_or_else(|| FormatError::NotFormatted {
        dir: storage.metadata_dir.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str = "MkU3OEVBNTcwNTJENDM2Qg";

    fn storage(dirs: &[&Path], controller_port: Option<u16>, static_voters: bool) -> NodeStorage {
        NodeStorage {
            node_id: 1,
            log_dirs: dirs.iter().map(|d| d.to_path_buf()).collect(),
            metadata_dir: dirs[0].to_path_buf(),
            kraft: true,
            controller: true,
            static_voters,
            controller_endpoint: controller_port.map(|p| ("127.0.0.1".to_string(), p)),
        }
    }

    fn request(quorum: QuorumInit) -> FormatRequest {
        FormatRequest {
            cluster_id: CLUSTER.to_string(),
            ignore_formatted: false,
            quorum,
        }
    }

    #[test]
    fn standalone_formats_every_dir_and_records_the_quorum() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        let s = storage(&[&a, &b], Some(9093), false);
        let mut out = Vec::new();
        format(&s, &request(QuorumInit::Standalone), &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            format!(
                "Formatting dynamic metadata voter directory {} with metadata.version 3.9-IV0.\n\
                 Formatting data directory {} with metadata.version 3.9-IV0.\n",
                a.display(),
                b.display()
            )
        );
        let ma = MetaProperties::read(&a).unwrap().unwrap();
        let mb = MetaProperties::read(&b).unwrap().unwrap();
        assert_eq!(ma.cluster_id.as_deref(), Some(CLUSTER));
        assert_ne!(ma.directory_id, mb.directory_id);
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(a.join(METADATA_PARTITION_DIR).join(BOOTSTRAP_FILE)).unwrap(),
        )
        .unwrap();
        assert_eq!(json["standalone"], true);
        assert_eq!(json["voters"][0]["id"], 1);
        assert_eq!(json["voters"][0]["endpoint"], "127.0.0.1:9093");
        assert_eq!(
            json["voters"][0]["directory_id"].as_str(),
            ma.directory_id.as_deref()
        );
        assert!(!b.join(METADATA_PARTITION_DIR).exists());

        // Twice: refused, unless --ignore-formatted.
        let again = format(&s, &request(QuorumInit::Standalone), &mut Vec::new()).unwrap_err();
        assert_eq!(
            again.to_string(),
            format!("Log directory {} is already formatted. Use --ignore-formatted to ignore this directory and format the others.", a.display())
        );
        let mut out = Vec::new();
        let mut ignore = request(QuorumInit::Standalone);
        ignore.ignore_formatted = true;
        format(&s, &ignore, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "All of the log directories are already formatted.\n"
        );
        // Another cluster id is refused even with --ignore-formatted.
        ignore.cluster_id = "AAAAAAAAAAAAAAAAAAAAAA".to_string();
        let err = format(&s, &ignore, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Expected AAAAAAAAAAAAAAAAAAAAAA") && err.contains(CLUSTER),
            "{err}"
        );
    }

    #[test]
    fn quorum_flags_are_checked_like_kafka() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("d");
        let err = |s: &NodeStorage, q| format(s, &request(q), &mut Vec::new()).unwrap_err();
        let dynamic = storage(&[&d], Some(9093), false);
        assert!(matches!(
            err(&dynamic, QuorumInit::Unspecified),
            FormatError::QuorumUnspecified
        ));
        let fixed = storage(&[&d], Some(9093), true);
        assert!(matches!(
            err(&fixed, QuorumInit::Standalone),
            FormatError::DynamicWithStaticVoters
        ));
        let no_listener = storage(&[&d], None, false);
        assert!(matches!(
            err(&no_listener, QuorumInit::Standalone),
            FormatError::NoControllerListener
        ));
        let mut broker = storage(&[&d], None, false);
        broker.controller = false;
        assert!(matches!(
            err(&broker, QuorumInit::Standalone),
            FormatError::StandaloneOnBroker
        ));
        let mut bad_id = request(QuorumInit::Standalone);
        bad_id.cluster_id = "not-a-uuid".into();
        let e = format(&dynamic, &bad_id, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("Cluster ID string not-a-uuid does not appear to be a valid UUID"),
            "{e}"
        );
        assert!(!d.exists(), "nothing is written when the checks fail");
        // Static voters need no flag; the metadata dir is a plain "metadata directory".
        let mut out = Vec::new();
        format(&fixed, &request(QuorumInit::Unspecified), &mut out).unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .starts_with("Formatting metadata directory "));
        assert!(!d.join(METADATA_PARTITION_DIR).exists());
    }

    #[test]
    fn initial_controllers_parse_like_kafka() {
        let v = parse_initial_controllers(
            "0@localhost:8082:JEXY6aqzQY-32P5TStzaFg,1@[::1]:8083:MvDxzVmcRsaTz33bUuRU6A",
        )
        .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].endpoint(), "[::1]:8083");
        for (bad, why) in [
            ("0@localhost:8082", "No colon following port"),
            ("x@h:1:JEXY6aqzQY-32P5TStzaFg", "node id"),
            (
                "0@h:1:JEXY6aqzQY-32P5TStzaFg,0@h:2:MvDxzVmcRsaTz33bUuRU6A",
                "more than once",
            ),
            ("0@h:1:short", "directory ID"),
        ] {
            let e = parse_initial_controllers(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn start_requires_formatting_unless_opted_in() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("d");
        let s = storage(&[&d], None, false);
        let err = prepare_for_start(&s, false, None).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("No `meta.properties` found in {}", d.display()))
                && err.contains("strata kafka-storage format"),
            "{err}"
        );
        let id = prepare_for_start(&s, true, Some(CLUSTER)).unwrap();
        assert_eq!(id, CLUSTER);
        // Formatted now: starts without the opt-in, keeps its cluster id.
        assert_eq!(prepare_for_start(&s, false, None).unwrap(), CLUSTER);
        let other = prepare_for_start(&s, true, Some("AAAAAAAAAAAAAAAAAAAAAA"))
            .unwrap_err()
            .to_string();
        assert!(
            other.contains(CLUSTER) && other.contains("AAAAAAAAAAAAAAAAAAAAAA"),
            "{other}"
        );
        let mut node2 = s.clone();
        node2.node_id = 2;
        let e = prepare_for_start(&node2, true, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("Stored node id 1 doesn't match previous node id 2"),
            "{e}"
        );
        let bad = prepare_for_start(&s, true, Some("nope"))
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("strata.cluster.id") && bad.contains("nope"),
            "{bad}"
        );
    }
}
