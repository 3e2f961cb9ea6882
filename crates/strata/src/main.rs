//! `strata`: one binary for the node and Kafka's command-line tools.
//!
//! Called as `strata <command> …`, or through a link named after a Kafka tool
//! (`kafka-topics`, `kafka-topics.sh`, `kafka-server-start.sh`, …), busybox style.

mod config;
mod controller_client;
mod format;
mod meta_properties;
mod server;
mod storage_tool;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// See the dependency's comment in Cargo.toml: large fetch buffers are recycled, not mapped
/// and faulted in again on every request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "Strata: a Kafka-compatible event-streaming platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a node. With no arguments: one combined broker+controller on 127.0.0.1:9092 with
    /// data in ./strata-data. Also `kafka-server-start server.properties`, as in Kafka.
    #[command(visible_alias = "kafka-server-start")]
    Server {
        /// A Kafka `server.properties` file.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        /// `key=value` settings that win over the file and the environment.
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// The config file, as `kafka-server-start.sh server.properties` takes it.
        #[arg(value_name = "CONFIG")]
        positional_config: Option<PathBuf>,
    },
    /// Kafka's kafka-topics tool.
    #[command(name = "kafka-topics", disable_help_flag = true)]
    KafkaTopics {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Kafka's kafka-console-producer tool.
    #[command(name = "kafka-console-producer", disable_help_flag = true)]
    KafkaConsoleProducer {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Kafka's kafka-console-consumer tool.
    #[command(name = "kafka-console-consumer", disable_help_flag = true)]
    KafkaConsoleConsumer {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Kafka's kafka-metadata-quorum tool: describe --status / --replication.
    #[command(name = "kafka-metadata-quorum", disable_help_flag = true)]
    KafkaMetadataQuorum {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Kafka's kafka-consumer-groups tool: list, describe, reset offsets, delete.
    #[command(name = "kafka-consumer-groups", disable_help_flag = true)]
    KafkaConsumerGroups {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Kafka's kafka-leader-election tool: preferred or unclean leader elections.
    #[command(name = "kafka-leader-election", disable_help_flag = true)]
    KafkaLeaderElection {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Kafka's kafka-storage tool: random-uuid, format, info.
    #[command(name = "kafka-storage", disable_help_flag = true)]
    KafkaStorage {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print the version (as `--version`).
    Version,
    /// Liveness probe: exit 0 if the node at --bootstrap-server answers and lists itself.
    #[command(disable_help_flag = true)]
    Healthcheck {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let program = args
        .first()
        .map(|a| {
            a.rsplit('/')
                .next()
                .unwrap_or(a)
                .trim_end_matches(".sh")
                .to_string()
        })
        .unwrap_or_default();
    let rest: Vec<String> = args.iter().skip(1).cloned().collect();
    if program == "strata" {
        // `strata kafka-topics.sh …` as `strata kafka-topics …`: Kafka's tools are often
        // called by their script names.
        if let Some(tool) = rest.first().and_then(|c| c.strip_suffix(".sh")) {
            let mut argv = vec!["strata".to_string(), tool.to_string()];
            argv.extend(rest.iter().skip(1).cloned());
            return run_cli(Cli::parse_from(argv));
        }
    }
    match program.as_str() {
        "kafka-topics" => return tool_exit(strata_tools::kafka_topics(rest)),
        "kafka-console-producer" => return tool_exit(strata_tools::kafka_console_producer(rest)),
        "kafka-console-consumer" => return tool_exit(strata_tools::kafka_console_consumer(rest)),
        "kafka-storage" => return tool_exit(storage_tool::main(rest)),
        "kafka-metadata-quorum" => return tool_exit(strata_tools::kafka_metadata_quorum(rest)),
        "kafka-leader-election" => return tool_exit(strata_tools::kafka_leader_election(rest)),
        "kafka-consumer-groups" => return tool_exit(strata_tools::kafka_consumer_groups(rest)),
        "kafka-server-start" => {
            let mut argv = vec!["strata".to_string(), "server".to_string()];
            argv.extend(rest);
            return run_cli(Cli::parse_from(argv));
        }
        _ => {}
    }
    run_cli(Cli::parse())
}

fn run_cli(cli: Cli) -> ExitCode {
    match cli.command {
        Command::KafkaTopics { args } => tool_exit(strata_tools::kafka_topics(args)),
        Command::KafkaConsoleProducer { args } => {
            tool_exit(strata_tools::kafka_console_producer(args))
        }
        Command::KafkaConsoleConsumer { args } => {
            tool_exit(strata_tools::kafka_console_consumer(args))
        }
        Command::KafkaStorage { args } => tool_exit(storage_tool::main(args)),
        Command::Healthcheck { args } => tool_exit(strata_tools::healthcheck(args)),
        Command::Version => {
            println!("strata {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::KafkaConsumerGroups { args } => {
            tool_exit(strata_tools::kafka_consumer_groups(args))
        }
        Command::KafkaLeaderElection { args } => {
            tool_exit(strata_tools::kafka_leader_election(args))
        }
        Command::KafkaMetadataQuorum { args } => {
            tool_exit(strata_tools::kafka_metadata_quorum(args))
        }
        Command::Server {
            config,
            overrides,
            positional_config,
        } => {
            init_logging();
            match start_server(config.or(positional_config), overrides) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!("{error:#}");
                    eprintln!("strata: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn start_server(config: Option<PathBuf>, overrides: Vec<String>) -> anyhow::Result<()> {
    let mut settings = config::Settings::defaults();
    let no_arguments = config.is_none() && overrides.is_empty();
    if no_arguments {
        // The laptop default: one combined node, data in ./strata-data, formatted on first
        // start (every other mode needs `kafka-storage format` or strata.auto.format=true).
        settings.set("log.dirs", "./strata-data", "default single-node mode");
        settings.set(format::AUTO_FORMAT_KEY, "true", "default single-node mode");
    }
    if let Some(path) = &config {
        settings.load_file(path)?;
    }
    settings.load_env(std::env::vars());
    for pair in &overrides {
        settings.apply_override(pair)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(server::run(settings))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRATA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
}

fn tool_exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
}
