//! `strata healthcheck --bootstrap-server host:port [--node-id N] [--timeout-ms MS]`: the
//! container / orchestration liveness probe.
//!
//! Connects to exactly one node (ApiVersions is negotiated on connect), sends a brokers-only
//! Metadata request and succeeds (exit 0) only if the node answers and lists *itself* among the
//! brokers — a node that answers but is not (yet) registered, or is fenced out of the broker
//! list, is not ready for clients. Every failure exits 1: Docker reserves exit code 2, so usage
//! errors must not use it either.
//!
//! "Itself" is, in order: `--node-id`, else the `KAFKA_NODE_ID` / `STRATA_NODE_ID` environment
//! variable (what a container configured through `KAFKA_*` variables already has, and what
//! `docker exec` passes to the probe), else the broker whose advertised `host:port` is the
//! bootstrap address (same port, and the same host name, a shared resolved address, or — for a
//! loopback bootstrap — this machine's host name).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use strata_client::{BrokerInfo, Client, ClientError};

/// Program name used in messages.
const PROG: &str = "healthcheck";
/// How long the whole check (resolve, connect, ApiVersions, Metadata) may take by default.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
/// Client id the probe announces, so broker logs can tell probes from real clients.
const CLIENT_ID: &str = "strata-healthcheck";
/// Environment variables that name this node's id, in priority order.
const NODE_ID_ENV_VARS: [&str; 2] = ["KAFKA_NODE_ID", "STRATA_NODE_ID"];
/// Where Linux exposes this machine's (container's) host name without libc.
const HOSTNAME_FILE: &str = "/proc/sys/kernel/hostname";

const USAGE: &str =
    "Usage: strata healthcheck --bootstrap-server <host:port> [--node-id <id>] [--timeout-ms <ms>]
Exits 0 if the node at <host:port> answers ApiVersions and Metadata and lists itself as a broker,
else 1. The node id defaults to $KAFKA_NODE_ID / $STRATA_NODE_ID, else the broker advertising
<host:port>. The timeout (default 5000 ms) covers the whole check.";

/// Why a health check failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The command line was not understood.
    #[error("{0}")]
    Usage(String),
    /// The check did not finish in time.
    #[error("no answer from {addr} within {timeout_ms} ms")]
    Timeout {
        /// The bootstrap address probed.
        addr: String,
        /// The limit that was exceeded.
        timeout_ms: u64,
    },
    /// Connecting, ApiVersions or Metadata failed.
    #[error("{addr} did not answer: {source}")]
    Client {
        /// The bootstrap address probed.
        addr: String,
        /// What the client reported.
        source: ClientError,
    },
    /// The node answered but its broker list does not contain it.
    #[error("{addr} answered but does not list {wanted} among its brokers [{listed}]")]
    NotListed {
        /// The bootstrap address probed.
        addr: String,
        /// Which broker we looked for (`node 2` or `a broker advertising host:port`).
        wanted: String,
        /// The brokers it did list (`id@host:port`).
        listed: String,
    },
    /// The async runtime could not be started.
    #[error("{0}")]
    Runtime(String),
}

/// What to check, from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthArgs {
    /// The single `host:port` to probe.
    pub bootstrap: String,
    /// The node id the node must list; `None` = match by advertised address.
    pub node_id: Option<i32>,
    /// Limit for the whole check, in milliseconds.
    pub timeout_ms: u64,
}

/// Entry point: `args` excludes the program and subcommand names. Returns the exit code
/// (0 healthy, 1 otherwise) and prints one line saying why.
pub fn healthcheck(args: Vec<String>) -> i32 {
    let env_node_id = NODE_ID_ENV_VARS
        .iter()
        .find_map(|name| std::env::var(name).ok());
    let parsed = match parse_args(&args, env_node_id.as_deref()) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            println!("{USAGE}");
            return 0;
        }
        Err(error) => {
            eprintln!("{PROG}: {error}\n{USAGE}");
            return 1;
        }
    };
    let outcome = crate::runtime()
        .map_err(HealthError::Runtime)
        .and_then(|rt| rt.block_on(check(&parsed)));
    match outcome {
        Ok(line) => {
            println!("{PROG}: {line}");
            0
        }
        Err(error) => {
            eprintln!("{PROG}: unhealthy: {error}");
            1
        }
    }
}

/// Parses the command line; `Ok(None)` means `--help`. `env_node_id` is the node id from the
/// environment, used when `--node-id` is absent (an empty value counts as unset).
pub fn parse_args(
    args: &[String],
    env_node_id: Option<&str>,
) -> Result<Option<HealthArgs>, HealthError> {
    let mut bootstrap = None;
    let mut node_id: Option<String> = None;
    let mut timeout_ms = DEFAULT_TIMEOUT_MS;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        // Accept both `--flag value` and `--flag=value`, as Kafka's tools do.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| iter.next().cloned())
                .ok_or_else(|| HealthError::Usage(format!("option {name} requires a value")))
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--bootstrap-server" => bootstrap = Some(value(flag)?),
            "--node-id" => node_id = Some(value(flag)?),
            "--timeout-ms" => {
                let v = value(flag)?;
                timeout_ms = v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| *ms > 0)
                    .ok_or_else(|| {
                        HealthError::Usage(format!(
                            "invalid --timeout-ms {v:?}: expected milliseconds > 0"
                        ))
                    })?;
            }
            other => return Err(HealthError::Usage(format!("unknown argument {other:?}"))),
        }
    }
    let bootstrap =
        bootstrap.ok_or_else(|| HealthError::Usage("--bootstrap-server is required".into()))?;
    let addrs = strata_client::client::parse_bootstrap(&bootstrap)
        .map_err(|e| HealthError::Usage(e.to_string()))?;
    // The probe is about one node: with a list, Client would report whichever answered first.
    let [addr] = addrs.as_slice() else {
        return Err(HealthError::Usage(format!(
            "--bootstrap-server {bootstrap:?} must name exactly one host:port"
        )));
    };
    let node_id = match node_id.or_else(|| {
        env_node_id
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }) {
        None => None,
        Some(v) => Some(v.trim().parse::<i32>().map_err(|_| {
            HealthError::Usage(format!("invalid node id {v:?}: expected an integer"))
        })?),
    };
    Ok(Some(HealthArgs {
        bootstrap: addr.clone(),
        node_id,
        timeout_ms,
    }))
}

/// Runs the check under the timeout; on success returns the line to print.
async fn check(args: &HealthArgs) -> Result<String, HealthError> {
    let limit = Duration::from_millis(args.timeout_ms);
    match tokio::time::timeout(limit, probe(args)).await {
        Ok(result) => result,
        Err(_) => Err(HealthError::Timeout {
            addr: args.bootstrap.clone(),
            timeout_ms: args.timeout_ms,
        }),
    }
}

async fn probe(args: &HealthArgs) -> Result<String, HealthError> {
    let addr = args.bootstrap.as_str();
    let client_err = |source| HealthError::Client {
        addr: addr.to_string(),
        source,
    };
    let mut client = Client::connect_with_client_id(addr, CLIENT_ID)
        .await
        .map_err(client_err)?;
    let md = client
        .metadata(Some(Vec::new()), false)
        .await
        .map_err(client_err)?;
    let listed = md
        .brokers
        .iter()
        .map(|b| format!("{}@{}", b.node_id, b.address()))
        .collect::<Vec<_>>()
        .join(", ");
    let cluster = md.cluster_id.as_deref().unwrap_or("unknown");
    let found = match args.node_id {
        Some(id) => md.brokers.iter().find(|b| b.node_id == id),
        None => {
            let (host, port) = split_host_port(addr).ok_or_else(|| {
                HealthError::Usage(format!("--bootstrap-server {addr:?} is not host:port"))
            })?;
            let local = LocalNames::gather(host, port).await;
            md.brokers.iter().find(|b| local.is_self(b))
        }
    };
    match found {
        Some(b) => Ok(format!(
            "node {} at {addr} is healthy (advertised {}, cluster {cluster}, {} broker(s))",
            b.node_id,
            b.address(),
            md.brokers.len()
        )),
        None => Err(HealthError::NotListed {
            addr: addr.to_string(),
            wanted: match args.node_id {
                Some(id) => format!("node {id}"),
                None => format!("a broker advertising {addr}"),
            },
            listed,
        }),
    }
}

/// Splits `host:port` / `[v6]:port`.
fn split_host_port(addr: &str) -> Option<(&str, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some((host, port.parse().ok()?))
}

/// What "the broker at the bootstrap address" can look like in a broker list.
#[derive(Debug, Default)]
struct LocalNames {
    /// The bootstrap port: a matching broker advertises exactly this port.
    port: u16,
    /// Host names that mean the probed node (lower case).
    names: HashSet<String>,
    /// Addresses the bootstrap host resolves to.
    addrs: HashSet<IpAddr>,
}

impl LocalNames {
    async fn gather(host: &str, port: u16) -> LocalNames {
        let mut names = HashSet::from([host.to_ascii_lowercase()]);
        let addrs = resolve(host, port).await;
        // A loopback probe (the container healthcheck) reaches this machine, which advertises
        // itself under its host name (compose sets `hostname:` to the service name).
        if addrs.iter().any(IpAddr::is_loopback) {
            if let Ok(name) = std::fs::read_to_string(HOSTNAME_FILE) {
                let name = name.trim().to_ascii_lowercase();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        }
        LocalNames { port, names, addrs }
    }

    fn is_self(&self, broker: &BrokerInfo) -> bool {
        if i32::from(self.port) != broker.port {
            return false;
        }
        let host = broker.host.to_ascii_lowercase();
        if self.names.contains(&host) {
            return true;
        }
        // Only resolve what we can compare without I/O: literal addresses. Names that need DNS
        // were handled by `names` (bootstrap name, local host name).
        host.parse::<IpAddr>()
            .is_ok_and(|ip| self.addrs.contains(&ip))
    }
}

/// Addresses `host` resolves to; empty when it does not resolve (the connect then fails with
/// a clearer error anyway).
async fn resolve(host: &str, port: u16) -> HashSet<IpAddr> {
    match tokio::net::lookup_host((host, port)).await {
        Ok(iter) => iter.map(|a: SocketAddr| a.ip()).collect(),
        Err(_) => HashSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn broker(id: i32, host: &str, port: i32) -> BrokerInfo {
        BrokerInfo {
            node_id: id,
            host: host.to_string(),
            port,
            rack: None,
        }
    }

    #[test]
    fn parses_flags_and_env_node_id() {
        let p = parse_args(&args(&["--bootstrap-server", "localhost:9092"]), Some("3"))
            .unwrap()
            .unwrap();
        assert_eq!(
            p,
            HealthArgs {
                bootstrap: "localhost:9092".into(),
                node_id: Some(3),
                timeout_ms: DEFAULT_TIMEOUT_MS
            }
        );
        let p = parse_args(
            &args(&[
                "--bootstrap-server=h:1",
                "--node-id",
                "2",
                "--timeout-ms=250",
            ]),
            Some("3"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.node_id, Some(2), "--node-id wins over the environment");
        assert_eq!(p.timeout_ms, 250);
        let p = parse_args(&args(&["--bootstrap-server", "h:1"]), Some(" "))
            .unwrap()
            .unwrap();
        assert_eq!(p.node_id, None, "an empty variable counts as unset");
        assert!(parse_args(&args(&["--help"]), None).unwrap().is_none());
    }

    #[test]
    fn rejects_bad_command_lines() {
        for bad in [
            &[][..],
            &["--bootstrap-server"][..],
            &["--bootstrap-server", "a:1,b:2"][..],
            &["--bootstrap-server", "nohost"][..],
            &["--bootstrap-server", "h:1", "--node-id", "x"][..],
            &["--bootstrap-server", "h:1", "--timeout-ms", "0"][..],
            &["--bootstrap-server", "h:1", "--bogus"][..],
        ] {
            assert!(
                matches!(parse_args(&args(bad), None), Err(HealthError::Usage(_))),
                "{bad:?}"
            );
        }
        assert!(parse_args(&args(&["--bootstrap-server", "h:1"]), Some("x")).is_err());
    }

    #[test]
    fn splits_host_and_port() {
        assert_eq!(split_host_port("a:9092"), Some(("a", 9092)));
        assert_eq!(split_host_port("[::1]:9092"), Some(("::1", 9092)));
        assert_eq!(split_host_port("a:x"), None);
    }

    #[test]
    fn matches_self_by_name_address_and_port() {
        let local = LocalNames {
            port: 9092,
            names: HashSet::from(["localhost".to_string(), "strata-1".to_string()]),
            addrs: HashSet::from(["127.0.0.1".parse().unwrap()]),
        };
        assert!(local.is_self(&broker(1, "strata-1", 9092)));
        assert!(local.is_self(&broker(1, "STRATA-1", 9092)));
        assert!(local.is_self(&broker(1, "127.0.0.1", 9092)));
        assert!(!local.is_self(&broker(2, "strata-2", 9092)));
        assert!(!local.is_self(&broker(1, "strata-1", 19092)));
    }

    #[tokio::test]
    async fn unreachable_node_is_unhealthy_within_the_timeout() {
        // Bind then drop: the port is (very likely) closed, so the connect is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let a = HealthArgs {
            bootstrap: format!("127.0.0.1:{port}"),
            node_id: Some(1),
            timeout_ms: 2_000,
        };
        let started = std::time::Instant::now();
        assert!(check(&a).await.is_err());
        assert!(started.elapsed() < Duration::from_millis(2_500));
    }

    #[tokio::test]
    async fn silent_node_times_out() {
        // Accepts TCP but never answers ApiVersions.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let a = HealthArgs {
            bootstrap: format!("127.0.0.1:{port}"),
            node_id: None,
            timeout_ms: 300,
        };
        assert!(matches!(
            check(&a).await,
            Err(HealthError::Timeout {
                timeout_ms: 300,
                ..
            })
        ));
    }
}
