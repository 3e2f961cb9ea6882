//! `kafka-metadata-quorum`: Kafka 3.9's MetadataQuorumCommand (`describe --status`,
//! `describe --replication [--human-readable]`), with its argparse4j command line.
//!
//! `add-controller` / `remove-controller` are parsed but refused: Strata's quorum is static
//! (`controller.quorum.voters`), and `--bootstrap-controller` is refused because Strata's
//! controller listener does not speak the Kafka protocol.

use std::time::{Duration, Instant};

use strata_client::{Client, ClientError};

use crate::props::{self, Props};
use crate::quorum_output;

/// Program name used in usage and error lines.
const PROG: &str = "kafka-metadata-quorum";
/// The subcommands Kafka 3.9 knows, in its order.
const SUBCOMMANDS: [&str; 3] = ["describe", "add-controller", "remove-controller"];
/// Kafka's `default.api.timeout.ms`: how long admin calls are retried.
const DEFAULT_API_TIMEOUT_MS: u64 = 60_000;
/// Kafka's `retry.backoff.ms` default: the pause between retries.
const RETRY_BACKOFF_MS: u64 = 100;

/// argparse4j's usage line for this tool.
const USAGE: &str = "usage: kafka-metadata-quorum [-h]
                             (--bootstrap-server BOOTSTRAP_SERVER | --bootstrap-controller BOOTSTRAP_CONTROLLER)
                             [--command-config COMMAND_CONFIG]
                             {describe,add-controller,remove-controller} ...";

/// `-h` output.
const HELP: &str = "
This tool describes kraft metadata quorum status.

positional arguments:
  {describe,add-controller,remove-controller}
    describe             Describe the metadata quorum info
    add-controller       Add a controller to the KRaft controller cluster
    remove-controller    Remove a controller from the KRaft controller cluster

named arguments:
  -h, --help             show this help message and exit
  --bootstrap-server BOOTSTRAP_SERVER
                         A comma-separated list of host:port pairs to use for
                         establishing the connection to the Kafka cluster.
  --bootstrap-controller BOOTSTRAP_CONTROLLER
                         A comma-separated list of host:port pairs to use for
                         establishing the connection to the Kafka controllers.
  --command-config COMMAND_CONFIG
                         Property file containing configs to be passed to Admin
                         Client.
";

/// `describe -h` output.
const DESCRIBE_HELP: &str = "usage: kafka-metadata-quorum describe [-h] [--status] [--replication]
                       [--human-readable]

named arguments:
  -h, --help             show this help message and exit

Status:
  --status               A short summary of the quorum status and the other
                         provides detailed information about the status of
                         replication. (default: false)

Replication:
  --replication          Detailed information about the status of replication
                         (default: false)
  --human-readable       Human-readable output (default: false)
";

/// How a run ends when it does not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuorumFailure {
    /// A command-line error: argparse4j prints the usage and `kafka-metadata-quorum: error: …`.
    Usage(String),
    /// Kafka's `TerseException`: only the message, on stderr.
    Terse(String),
}

/// What to describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescribeMode {
    /// `--status`.
    Status,
    /// `--replication`, optionally `--human-readable`.
    Replication {
        /// Timestamps as `N ms ago`.
        human_readable: bool,
    },
}

/// The subcommand given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subcommand {
    /// `describe` with its switches as given (checked after the properties file is read, like
    /// Kafka).
    Describe {
        /// `--status`.
        status: bool,
        /// `--replication`.
        replication: bool,
        /// `--human-readable`.
        human_readable: bool,
    },
    /// `add-controller` / `remove-controller` (refused).
    Reconfigure(String),
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumOptions {
    /// `--bootstrap-server`.
    pub bootstrap_server: Option<String>,
    /// `--bootstrap-controller`.
    pub bootstrap_controller: Option<String>,
    /// `--command-config`.
    pub command_config: Option<String>,
    /// The subcommand.
    pub command: Subcommand,
}

/// One accepted option of a parser level: long names (with aliases) and whether it takes a
/// value.
struct Spec {
    names: &'static [&'static str],
    takes_value: bool,
}

const TOP_SPECS: &[Spec] = &[
    Spec {
        names: &["--bootstrap-server"],
        takes_value: true,
    },
    Spec {
        names: &["--bootstrap-controller"],
        takes_value: true,
    },
    Spec {
        names: &["--command-config"],
        takes_value: true,
    },
];

const DESCRIBE_SPECS: &[Spec] = &[
    Spec {
        names: &["--status"],
        takes_value: false,
    },
    Spec {
        names: &["--replication"],
        takes_value: false,
    },
    Spec {
        names: &["--human-readable"],
        takes_value: false,
    },
];

const ADD_CONTROLLER_SPECS: &[Spec] = &[Spec {
    names: &["--dry-run"],
    takes_value: false,
}];

const REMOVE_CONTROLLER_SPECS: &[Spec] = &[
    Spec {
        names: &["--controller-id", "-i"],
        takes_value: true,
    },
    Spec {
        names: &["--controller-directory-id", "-d"],
        takes_value: true,
    },
    Spec {
        names: &["--dry-run"],
        takes_value: false,
    },
];

/// Finds the option `token` names: an exact name, or (argparse4j abbreviation) a unique
/// prefix of a long name. Returns the canonical (first) name.
fn resolve(specs: &[Spec], token: &str) -> Result<Option<(&'static str, bool)>, String> {
    let exact = specs.iter().find(|s| s.names.contains(&token));
    if let Some(s) = exact {
        return Ok(Some((s.names[0], s.takes_value)));
    }
    if !token.starts_with("--") || token.len() <= 2 {
        return Ok(None);
    }
    let matches: Vec<&Spec> = specs
        .iter()
        .filter(|s| s.names.iter().any(|n| n.starts_with(token)))
        .collect();
    match matches.as_slice() {
        [one] => Ok(Some((one.names[0], one.takes_value))),
        [] => Ok(None),
        many => {
            let names: Vec<&str> = many.iter().map(|s| s.names[0]).collect();
            Err(format!(
                "ambiguous option: {token} could match {}",
                names.join(", ")
            ))
        }
    }
}

/// Options of one parser level, and where parsing stopped (the first positional argument).
type LevelOptions = (Vec<(&'static str, Option<String>)>, usize);

/// Parses options of one level from `args[start..]`; stops at the first non-option when
/// `stop_at_positional` (the subcommand), otherwise reports it as unrecognized. `Ok(None)`
/// means `-h` was given.
fn parse_level(
    specs: &[Spec],
    args: &[String],
    start: usize,
    stop_at_positional: bool,
) -> Result<Option<LevelOptions>, String> {
    let mut out = Vec::new();
    let mut unrecognized = Vec::new();
    let mut i = start;
    while i < args.len() {
        let arg = &args[i];
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        if !arg.starts_with('-') || arg == "-" {
            if stop_at_positional {
                break;
            }
            unrecognized.push(arg.clone());
            i += 1;
            continue;
        }
        let (token, inline) = match arg.split_once('=') {
            Some((t, v)) if t.starts_with("--") => (t, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let Some((name, takes_value)) = resolve(specs, token)? else {
            unrecognized.push(arg.clone());
            i += 1;
            continue;
        };
        i += 1;
        let value = if takes_value {
            match inline {
                Some(v) => Some(v),
                None => match args.get(i) {
                    Some(v) if !v.starts_with('-') || v.len() == 1 => {
                        i += 1;
                        Some(v.clone())
                    }
                    _ => return Err(format!("argument {name}: expected one argument")),
                },
            }
        } else {
            if inline.is_some() {
                return Err(format!("argument {name}: ignored explicit argument"));
            }
            None
        };
        out.push((name, value));
    }
    if !unrecognized.is_empty() {
        let quoted: Vec<String> = unrecognized.iter().map(|a| format!("'{a}'")).collect();
        return Err(format!("unrecognized arguments: {}", quoted.join(" ")));
    }
    Ok(Some((out, i)))
}

fn last_value(options: &[(&'static str, Option<String>)], name: &str) -> Option<String> {
    options
        .iter()
        .rev()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v.clone())
}

/// Parses the command line like Kafka's argparse4j parser. `Ok(None)` means help was printed.
pub fn parse_options(args: &[String]) -> Result<Option<QuorumOptions>, QuorumFailure> {
    let usage = QuorumFailure::Usage;
    let Some((top, next)) = parse_level(TOP_SPECS, args, 0, true).map_err(usage)? else {
        println!("{USAGE}\n{HELP}");
        return Ok(None);
    };
    let bootstrap_server = last_value(&top, "--bootstrap-server");
    let bootstrap_controller = last_value(&top, "--bootstrap-controller");
    if bootstrap_server.is_some() && bootstrap_controller.is_some() {
        let (first, second) = match top.iter().find(|(n, _)| n.starts_with("--bootstrap")) {
            Some(("--bootstrap-controller", _)) => ("--bootstrap-controller", "--bootstrap-server"),
            _ => ("--bootstrap-server", "--bootstrap-controller"),
        };
        return Err(QuorumFailure::Usage(format!(
            "argument {second}: not allowed with argument {first}"
        )));
    }
    let Some(command) = args.get(next) else {
        return Err(QuorumFailure::Usage("too few arguments".into()));
    };
    if !SUBCOMMANDS.contains(&command.as_str()) {
        return Err(QuorumFailure::Usage(format!(
            "argument command: invalid choice: '{command}' (choose from 'describe', 'add-controller', 'remove-controller')"
        )));
    }
    let specs = match command.as_str() {
        "describe" => DESCRIBE_SPECS,
        "add-controller" => ADD_CONTROLLER_SPECS,
        _ => REMOVE_CONTROLLER_SPECS,
    };
    let Some((sub, _)) = parse_level(specs, args, next + 1, false).map_err(usage)? else {
        if command == "describe" {
            print!("{DESCRIBE_HELP}");
        } else {
            println!("usage: {PROG} {command} [-h] ...");
        }
        return Ok(None);
    };
    if bootstrap_server.is_none() && bootstrap_controller.is_none() {
        return Err(QuorumFailure::Usage(
            "one of the arguments --bootstrap-server --bootstrap-controller is required".into(),
        ));
    }
    let has = |name: &str| sub.iter().any(|(n, _)| *n == name);
    let command = if command == "describe" {
        Subcommand::Describe {
            status: has("--status"),
            replication: has("--replication"),
            human_readable: has("--human-readable"),
        }
    } else {
        if command == "remove-controller" {
            for required in ["--controller-id", "--controller-directory-id"] {
                if !has(required) {
                    return Err(QuorumFailure::Usage(format!(
                        "argument {required} is required"
                    )));
                }
            }
        }
        Subcommand::Reconfigure(command.clone())
    };
    Ok(Some(QuorumOptions {
        bootstrap_server,
        bootstrap_controller,
        command_config: last_value(&top, "--command-config"),
        command,
    }))
}

/// Kafka's checks after reading the properties file, before any request.
fn describe_mode(command: &Subcommand) -> Result<DescribeMode, QuorumFailure> {
    match command {
        Subcommand::Describe {
            status: true,
            replication: true,
            ..
        } => Err(QuorumFailure::Terse(
            "Only one of --status or --replication should be specified with describe sub-command"
                .into(),
        )),
        Subcommand::Describe {
            replication: true,
            human_readable,
            ..
        } => Ok(DescribeMode::Replication {
            human_readable: *human_readable,
        }),
        Subcommand::Describe {
            status: true,
            human_readable: true,
            ..
        } => Err(QuorumFailure::Terse(
            "The option --human-readable is only supported along with --replication".into(),
        )),
        Subcommand::Describe { status: true, .. } => Ok(DescribeMode::Status),
        Subcommand::Describe { .. } => Err(QuorumFailure::Terse(
            "One of --status or --replication must be specified with describe sub-command".into(),
        )),
        Subcommand::Reconfigure(name) => Err(QuorumFailure::Terse(format!(
            "{name} is not supported: Strata's metadata quorum is static (controller.quorum.voters)"
        ))),
    }
}

/// Reads `--command-config` like Kafka (a missing file is a terse error).
fn command_config(path: Option<&str>) -> Result<Props, QuorumFailure> {
    let Some(path) = path else {
        return Ok(Props::new());
    };
    if !std::path::Path::new(path).exists() {
        return Err(QuorumFailure::Terse(format!(
            "Properties file {path} does not exists!"
        )));
    }
    let loaded = props::load_file(path).map_err(QuorumFailure::Terse)?;
    props::warn_unsupported_security(&loaded);
    Ok(loaded)
}

/// Runs `describe` against `bootstrap` and returns what to print on stdout.
async fn describe_once(bootstrap: &str, mode: DescribeMode) -> Result<String, DescribeError> {
    let mut client = Client::connect(bootstrap).await?;
    match mode {
        DescribeMode::Status => {
            let cluster_id = client.describe_cluster().await?.cluster_id;
            let quorum = client.describe_quorum().await?;
            quorum_output::status(&cluster_id, &quorum)
                .map(|s| s + "\n")
                .map_err(DescribeError::Output)
        }
        DescribeMode::Replication { human_readable } => {
            let quorum = client.describe_quorum().await?;
            let now = human_readable.then(strata_clock::wall_clock_ms);
            quorum_output::replication(&quorum, now).map_err(DescribeError::Output)
        }
    }
}

/// Why one describe attempt failed.
enum DescribeError {
    /// A request failed (retried while retriable).
    Client(ClientError),
    /// The answer could not be presented (no leader among the voters, clock drift).
    Output(String),
}

impl From<ClientError> for DescribeError {
    fn from(e: ClientError) -> Self {
        DescribeError::Client(e)
    }
}

/// Like Kafka's admin client, retries retriable failures (no leader yet, broker unreachable)
/// until `default.api.timeout.ms`.
async fn describe(
    bootstrap: &str,
    mode: DescribeMode,
    timeout: Duration,
) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match describe_once(bootstrap, mode).await {
            Ok(out) => return Ok(out),
            Err(DescribeError::Output(message)) => return Err(message),
            Err(DescribeError::Client(e)) if e.is_retriable() && Instant::now() < deadline => {
                tracing::debug!(error = %e, "DescribeQuorum failed; retrying");
                tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS)).await;
            }
            Err(DescribeError::Client(e)) => return Err(e.to_string()),
        }
    }
}

fn run(opts: QuorumOptions) -> Result<String, QuorumFailure> {
    let config = command_config(opts.command_config.as_deref())?;
    if opts.bootstrap_controller.is_some() {
        return Err(QuorumFailure::Terse(
            "--bootstrap-controller is not supported: Strata controllers do not serve the Kafka protocol; use --bootstrap-server".into(),
        ));
    }
    let mode = describe_mode(&opts.command)?;
    // Kafka's `initializeBootstrapProperties`: the flag wins over `bootstrap.servers`.
    let bootstrap = opts
        .bootstrap_server
        .or_else(|| config.get("bootstrap.servers").cloned())
        .unwrap_or_default();
    let timeout_ms = match config.get("default.api.timeout.ms") {
        Some(v) => v.trim().parse::<u64>().map_err(|_| {
            QuorumFailure::Terse(format!(
                "Invalid value {v} for configuration default.api.timeout.ms: Not a number of type LONG"
            ))
        })?,
        None => DEFAULT_API_TIMEOUT_MS,
    };
    let rt = crate::runtime().map_err(QuorumFailure::Terse)?;
    rt.block_on(describe(
        &bootstrap,
        mode,
        Duration::from_millis(timeout_ms),
    ))
    .map_err(QuorumFailure::Terse)
}

/// Entry point: runs `kafka-metadata-quorum` with `args` (without the program name) and
/// returns the process exit code.
pub fn kafka_metadata_quorum(args: Vec<String>) -> i32 {
    let outcome = match parse_options(&args) {
        Ok(None) => return 0,
        Ok(Some(opts)) => run(opts),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(out) => {
            print!("{out}");
            0
        }
        Err(QuorumFailure::Usage(message)) => {
            eprintln!("{USAGE}");
            eprintln!("{PROG}: error: {message}");
            1
        }
        Err(QuorumFailure::Terse(message)) => {
            eprintln!("{message}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn parsed(args: &[&str]) -> QuorumOptions {
        parse_options(&sv(args)).unwrap().unwrap()
    }

    fn usage_err(args: &[&str]) -> String {
        match parse_options(&sv(args)) {
            Err(QuorumFailure::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn parses_describe() {
        let o = parsed(&["--bootstrap-server", "h:1", "describe", "--status"]);
        assert_eq!(o.bootstrap_server.as_deref(), Some("h:1"));
        assert_eq!(describe_mode(&o.command), Ok(DescribeMode::Status));
        let o = parsed(&[
            "--bootstrap-server=h:1",
            "--command-config",
            "c.properties",
            "describe",
            "--replication",
            "--human-readable",
        ]);
        assert_eq!(o.command_config.as_deref(), Some("c.properties"));
        assert_eq!(
            describe_mode(&o.command),
            Ok(DescribeMode::Replication {
                human_readable: true
            })
        );
        // argparse4j accepts unique prefixes.
        let o = parsed(&["--bootstrap-s", "h:1", "describe", "--repl"]);
        assert_eq!(
            describe_mode(&o.command),
            Ok(DescribeMode::Replication {
                human_readable: false
            })
        );
    }

    #[test]
    fn describe_switch_errors_are_kafkas() {
        let mode = |args: &[&str]| match describe_mode(&parsed(args).command) {
            Err(QuorumFailure::Terse(m)) => m,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(
            mode(&["--bootstrap-server", "h:1", "describe"]),
            "One of --status or --replication must be specified with describe sub-command"
        );
        assert_eq!(
            mode(&[
                "--bootstrap-server",
                "h:1",
                "describe",
                "--status",
                "--replication"
            ]),
            "Only one of --status or --replication should be specified with describe sub-command"
        );
        assert_eq!(
            mode(&[
                "--bootstrap-server",
                "h:1",
                "describe",
                "--status",
                "--human-readable"
            ]),
            "The option --human-readable is only supported along with --replication"
        );
    }

    #[test]
    fn argparse_errors() {
        assert_eq!(
            usage_err(&["describe", "--status"]),
            "one of the arguments --bootstrap-server --bootstrap-controller is required"
        );
        assert_eq!(
            usage_err(&["--bootstrap-server", "h:1"]),
            "too few arguments"
        );
        assert_eq!(
            usage_err(&[
                "--bootstrap-server",
                "h:1",
                "--bootstrap-controller",
                "h:2",
                "describe"
            ]),
            "argument --bootstrap-controller: not allowed with argument --bootstrap-server"
        );
        assert_eq!(
            usage_err(&["--bootstrap-server", "h:1", "show"]),
            "argument command: invalid choice: 'show' (choose from 'describe', 'add-controller', 'remove-controller')"
        );
        assert_eq!(
            usage_err(&["--bootstrap-server", "h:1", "describe", "--bogus"]),
            "unrecognized arguments: '--bogus'"
        );
        assert_eq!(
            usage_err(&["--bootstrap-server"]),
            "argument --bootstrap-server: expected one argument"
        );
        assert_eq!(
            usage_err(&["--bootstrap-server", "h:1", "remove-controller", "-i", "1"]),
            "argument --controller-directory-id is required"
        );
    }

    #[test]
    fn missing_properties_file_is_terse() {
        let o = parsed(&[
            "--bootstrap-server",
            "h:1",
            "--command-config",
            "/nonexistent/admin.properties",
            "describe",
        ]);
        assert_eq!(
            run(o),
            Err(QuorumFailure::Terse(
                "Properties file /nonexistent/admin.properties does not exists!".into()
            ))
        );
    }

    #[test]
    fn help_exits_zero() {
        assert_eq!(parse_options(&sv(&["-h"])), Ok(None));
        assert_eq!(
            parse_options(&sv(&["--bootstrap-server", "h:1", "describe", "-h"])),
            Ok(None)
        );
    }
}
