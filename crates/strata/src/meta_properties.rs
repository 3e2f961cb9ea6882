//! `meta.properties`: the file that marks a log directory as formatted for one cluster and node,
//! in Kafka's format, and Kafka's base64 UUIDs (cluster ids, directory ids).
//!
//! Kafka 3.9 writes (Java `Properties.store` with an empty comment, so a `#` line and a date line):
//!
//! ```text
//! #
//! #Thu Oct 10 09:20:21 UTC 2024
//! cluster.id=MkU3OEVBNTcwNTJENDM2Qg
//! directory.id=oBKyMc7bTYKAJF2ay1Xk5g
//! node.id=1
//! version=1
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;

/// The file name inside every formatted log directory.
pub const META_PROPERTIES_FILE: &str = "meta.properties";

/// `version=1`: KRaft directories (cluster.id and node.id always present).
pub const META_PROPERTIES_VERSION_KRAFT: u8 = 1;

/// `version=0`: ZooKeeper-era directories (`broker.id`, cluster id optional). Read only to
/// refuse them with a clear message.
pub const META_PROPERTIES_VERSION_LEGACY: u8 = 0;

/// A Kafka UUID is 16 bytes.
const UUID_BYTES: usize = 16;

/// Kafka refuses longer strings before decoding (22 base64 chars plus at most 2 of padding).
const UUID_MAX_STRING_CHARS: usize = 24;

/// What went wrong reading, writing or validating `meta.properties` or a UUID.
#[derive(Debug, thiserror::Error)]
pub enum MetaPropertiesError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file (or its directory) cannot be written.
    #[error("Error while writing meta.properties file {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `version` is neither 0 nor 1.
    #[error("Unknown meta.properties version {value:?} in {path}: expected 0 or 1")]
    UnknownVersion {
        /// The file.
        path: PathBuf,
        /// The value read.
        value: String,
    },
    /// A version 1 file lacks a required key.
    #[error("{key} was not found in {path}")]
    MissingKey {
        /// The file.
        path: PathBuf,
        /// `cluster.id` or `node.id`.
        key: &'static str,
    },
    /// `node.id` / `broker.id` is not an integer.
    #[error("Failed to parse {key} {value:?} in {path} as an integer")]
    BadNodeId {
        /// The file.
        path: PathBuf,
        /// `node.id` or `broker.id`.
        key: &'static str,
        /// The value read.
        value: String,
    },
    /// `directory.id` is not a Kafka UUID.
    #[error("Unable to read directory.id as a Uuid in {path}: {source}")]
    BadDirectoryId {
        /// The file.
        path: PathBuf,
        /// Why the UUID is invalid.
        source: UuidError,
    },
}

/// Why a string is not a Kafka UUID (messages as Kafka's `Uuid.fromString`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UuidError {
    /// More than 24 characters.
    #[error("Input string with prefix `{prefix}` is too long to be decoded as a base64 UUID")]
    TooLong {
        /// The first 24 characters.
        prefix: String,
    },
    /// Not base64url.
    #[error("Illegal base64 character in `{input}`: {reason}")]
    NotBase64 {
        /// The input.
        input: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// Decodes to a length other than 16 bytes.
    #[error("Input string `{input}` decoded as {len} bytes, which is not equal to the expected 16 bytes of a base64-encoded UUID")]
    WrongLength {
        /// The input.
        input: String,
        /// Decoded length.
        len: usize,
    },
}

/// Parses a Kafka UUID (base64url of 16 bytes, padding optional), as `Uuid.fromString`.
pub fn parse_uuid(input: &str) -> Result<[u8; UUID_BYTES], UuidError> {
    if input.chars().count() > UUID_MAX_STRING_CHARS {
        return Err(UuidError::TooLong {
            prefix: input.chars().take(UUID_MAX_STRING_CHARS).collect(),
        });
    }
    // Java's URL decoder accepts the string with or without `=` padding, and ignores the unused
    // low bits of the last character: Kafka's documented example id `MkU3OEVBNTcwNTJENDM2Qk`
    // has them set, so a strict decoder would refuse ids Kafka accepts.
    const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = LENIENT.decode(input).map_err(|e| UuidError::NotBase64 {
        input: input.to_string(),
        reason: e.to_string(),
    })?;
    <[u8; UUID_BYTES]>::try_from(bytes.as_slice()).map_err(|_| UuidError::WrongLength {
        input: input.to_string(),
        len: bytes.len(),
    })
}

/// A new random UUID as Kafka prints it (22 base64url characters).
///
/// Like Kafka's `Uuid.randomUuid`, ids starting with `-` are skipped: they would read as a flag
/// on a command line (`kafka-storage format -t <id>`). Kafka's reserved ids (all-zero, one) cannot
/// come out of a v4 UUID, whose version bits are never zero.
pub fn random_uuid() -> String {
    loop {
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(uuid::Uuid::new_v4().as_bytes());
        if !id.starts_with('-') {
            return id;
        }
    }
}

/// The contents of one `meta.properties`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaProperties {
    /// 1 (KRaft) or 0 (legacy).
    pub version: u8,
    /// `cluster.id` (always present in version 1).
    pub cluster_id: Option<String>,
    /// `node.id` (version 1) or `broker.id` (version 0).
    pub node_id: Option<i32>,
    /// `directory.id` (Kafka 3.7+), unique per log directory.
    pub directory_id: Option<String>,
}

impl MetaProperties {
    /// A version 1 (KRaft) file.
    pub fn kraft(cluster_id: &str, node_id: i32, directory_id: &str) -> Self {
        MetaProperties {
            version: META_PROPERTIES_VERSION_KRAFT,
            cluster_id: Some(cluster_id.to_string()),
            node_id: Some(node_id),
            directory_id: Some(directory_id.to_string()),
        }
    }

    /// Parses the text of `path` (named in errors), with Kafka's rules: `version` defaults to 0;
    /// version 1 requires `cluster.id` and `node.id`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, MetaPropertiesError> {
        let props: BTreeMap<String, String> = strata_tools::props::parse_properties(text);
        let version = match props.get("version").map(|v| v.trim()) {
            None | Some("0") => META_PROPERTIES_VERSION_LEGACY,
            Some("1") => META_PROPERTIES_VERSION_KRAFT,
            Some(other) => {
                return Err(MetaPropertiesError::UnknownVersion {
                    path: path.to_path_buf(),
                    value: other.to_string(),
                })
            }
        };
        let id_key = if version == META_PROPERTIES_VERSION_KRAFT {
            "node.id"
        } else {
            "broker.id"
        };
        let node_id = match props.get(id_key) {
            None => None,
            Some(v) => {
                Some(
                    v.trim()
                        .parse::<i32>()
                        .map_err(|_| MetaPropertiesError::BadNodeId {
                            path: path.to_path_buf(),
                            key: id_key,
                            value: v.clone(),
                        })?,
                )
            }
        };
        let cluster_id = props.get("cluster.id").cloned();
        let directory_id = match props.get("directory.id") {
            None => None,
            Some(v) => {
                parse_uuid(v).map_err(|source| MetaPropertiesError::BadDirectoryId {
                    path: path.to_path_buf(),
                    source,
                })?;
                Some(v.clone())
            }
        };
        if version == META_PROPERTIES_VERSION_KRAFT {
            if cluster_id.is_none() {
                return Err(MetaPropertiesError::MissingKey {
                    path: path.to_path_buf(),
                    key: "cluster.id",
                });
            }
            if node_id.is_none() {
                return Err(MetaPropertiesError::MissingKey {
                    path: path.to_path_buf(),
                    key: "node.id",
                });
            }
        }
        Ok(MetaProperties {
            version,
            cluster_id,
            node_id,
            directory_id,
        })
    }

    /// The key/value pairs, sorted by key (Kafka's `info` prints them this way).
    pub fn to_map(&self) -> BTreeMap<&'static str, String> {
        let mut map = BTreeMap::new();
        map.insert("version", self.version.to_string());
        if let Some(c) = &self.cluster_id {
            map.insert("cluster.id", c.clone());
        }
        if let Some(n) = self.node_id {
            let key = if self.version == META_PROPERTIES_VERSION_KRAFT {
                "node.id"
            } else {
                "broker.id"
            };
            map.insert(key, n.to_string());
        }
        if let Some(d) = &self.directory_id {
            map.insert("directory.id", d.clone());
        }
        map
    }

    /// The file text: an empty comment line and a date comment line (what Java's
    /// `Properties.store(writer, "")` writes), then the keys in sorted order.
    pub fn to_text(&self, written_at: SystemTime) -> String {
        let mut text = format!("#\n#{}\n", java_date_utc(written_at));
        for (k, v) in self.to_map() {
            text.push_str(k);
            text.push('=');
            text.push_str(&v);
            text.push('\n');
        }
        text
    }

    /// Reads `<dir>/meta.properties`; `Ok(None)` when the file (or the dir) does not exist.
    pub fn read(dir: &Path) -> Result<Option<Self>, MetaPropertiesError> {
        let path = dir.join(META_PROPERTIES_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(MetaPropertiesError::Read { path, source }),
        }
    }

    /// Writes `<dir>/meta.properties` durably: a temporary file, fsync, rename, fsync of the
    /// directory, so a crash leaves either no file or a complete one (never a torn one that
    /// would make the directory unreadable).
    pub fn write(&self, dir: &Path) -> Result<(), MetaPropertiesError> {
        let path = dir.join(META_PROPERTIES_FILE);
        let tmp = dir.join(format!("{META_PROPERTIES_FILE}.tmp"));
        let write_err = |p: &Path| {
            let p = p.to_path_buf();
            move |source| MetaPropertiesError::Write { path: p, source }
        };
        std::fs::create_dir_all(dir).map_err(write_err(dir))?;
        let mut file = std::fs::File::create(&tmp).map_err(write_err(&tmp))?;
        file.write_all(self.to_text(SystemTime::now()).as_bytes())
            .map_err(write_err(&tmp))?;
        file.sync_all().map_err(write_err(&tmp))?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(write_err(&path))?;
        // The rename itself must survive a crash; a directory fsync failure is not fatal on
        // file systems that do not support it.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl fmt::Display for MetaProperties {
    /// Kafka's `Found metadata: {cluster.id=…, directory.id=…, node.id=1, version=1}` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .to_map()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        write!(f, "{{{}}}", parts.join(", "))
    }
}

/// `Thu Oct 10 09:20:21 UTC 2024`: Java's `Date.toString()` in UTC.
pub fn java_date_utc(at: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const SECONDS_PER_DAY: u64 = 86_400;
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / SECONDS_PER_DAY;
    let of_day = secs % SECONDS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {day:02} {:02}:{:02}:{:02} UTC {year}",
        // 1970-01-01 was a Thursday.
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        of_day / 3600,
        (of_day / 60) % 60,
        of_day % 60
    )
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01 (Howard Hinnant's
/// days-to-civil algorithm, restricted to dates after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    debug_assert!((1..=12).contains(&month) && (1..=31).contains(&day));
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn random_uuids_are_valid_kafka_uuids() {
        for _ in 0..1000 {
            let id = random_uuid();
            assert_eq!(id.len(), 22, "{id}");
            assert!(!id.starts_with('-'), "{id}");
            assert!(parse_uuid(&id).is_ok(), "{id}");
        }
    }

    #[test]
    fn uuid_validation_matches_kafka() {
        assert!(parse_uuid("MkU3OEVBNTcwNTJENDM2Qg").is_ok());
        assert!(parse_uuid("MkU3OEVBNTcwNTJENDM2Qg==").is_ok());
        assert_eq!(
            parse_uuid("abc").unwrap_err(),
            UuidError::WrongLength {
                input: "abc".into(),
                len: 2
            }
        );
        assert!(matches!(
            parse_uuid("not a uuid at all!!"),
            Err(UuidError::NotBase64 { .. })
        ));
        let long = parse_uuid(&"A".repeat(30)).unwrap_err().to_string();
        assert!(
            long.contains("too long") && long.contains(&"A".repeat(24)),
            "{long}"
        );
        // Kafka's documentation example: trailing bits set, still valid.
        assert!(parse_uuid("MkU3OEVBNTcwNTJENDM2Qk").is_ok());
        // 20 characters decode to 15 bytes.
        assert!(parse_uuid("MkU3OEVBNTcwNTJENDM2")
            .unwrap_err()
            .to_string()
            .contains("expected 16 bytes"));
    }

    #[test]
    fn writes_kafka_text_and_reads_it_back() {
        let m = MetaProperties::kraft("MkU3OEVBNTcwNTJENDM2Qg", 3, "oBKyMc7bTYKAJF2ay1Xk5g");
        let at = UNIX_EPOCH + Duration::from_secs(1_728_552_021); // 2024-10-10 09:20:21 UTC
        assert_eq!(
            m.to_text(at),
            "#\n#Thu Oct 10 09:20:21 UTC 2024\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\n\
             directory.id=oBKyMc7bTYKAJF2ay1Xk5g\nnode.id=3\nversion=1\n"
        );
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(MetaProperties::read(dir.path()).unwrap(), None);
        m.write(dir.path()).unwrap();
        assert_eq!(MetaProperties::read(dir.path()).unwrap(), Some(m.clone()));
        assert!(!dir.path().join("meta.properties.tmp").exists());
        assert_eq!(
            m.to_string(),
            "{cluster.id=MkU3OEVBNTcwNTJENDM2Qg, directory.id=oBKyMc7bTYKAJF2ay1Xk5g, node.id=3, version=1}"
        );
    }

    #[test]
    fn parses_kafka_written_files_in_any_key_order() {
        let p = Path::new("/d/meta.properties");
        let m = MetaProperties::parse(
            "#\n#Wed Jul 17 08:55:41 UTC 2024\nnode.id=1\ndirectory.id=oBKyMc7bTYKAJF2ay1Xk5g\nversion=1\ncluster.id=abc\n",
            p,
        )
        .unwrap();
        assert_eq!(m.node_id, Some(1));
        assert_eq!(m.cluster_id.as_deref(), Some("abc"));
        let legacy = MetaProperties::parse("broker.id=4\n", p).unwrap();
        assert_eq!(
            (legacy.version, legacy.node_id, legacy.cluster_id),
            (0, Some(4), None)
        );
    }

    #[test]
    fn rejects_incomplete_or_invalid_files_naming_the_file() {
        let p = Path::new("/d/meta.properties");
        let missing = MetaProperties::parse("version=1\nnode.id=1\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("cluster.id") && missing.contains("/d/meta.properties"),
            "{missing}"
        );
        let bad = MetaProperties::parse("version=1\ncluster.id=x\nnode.id=one\n", p)
            .unwrap_err()
            .to_string();
        assert!(bad.contains("node.id") && bad.contains("one"), "{bad}");
        let version = MetaProperties::parse("version=7\n", p)
            .unwrap_err()
            .to_string();
        assert!(version.contains("\"7\""), "{version}");
        let dir_id =
            MetaProperties::parse("version=1\ncluster.id=x\nnode.id=1\ndirectory.id=zz\n", p)
                .unwrap_err()
                .to_string();
        assert!(dir_id.contains("directory.id"), "{dir_id}");
    }

    #[test]
    fn java_dates() {
        assert_eq!(java_date_utc(UNIX_EPOCH), "Thu Jan 01 00:00:00 UTC 1970");
        // 2024-02-29 23:59:59 UTC (leap day).
        assert_eq!(
            java_date_utc(UNIX_EPOCH + Duration::from_secs(1_709_251_199)),
            "Thu Feb 29 23:59:59 UTC 2024"
        );
    }
}
