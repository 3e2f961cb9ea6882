//! `strata kafka-storage` (also `kafka-storage` / `kafka-storage.sh` by argv[0]): Kafka 3.9's
//! storage tool — `random-uuid`, `format` and `info`, with Kafka's flags, output and messages.
//!
//! The configuration is read as the server reads it: the `-c` file, then `KAFKA_*` /
//! `STRATA_*` environment variables.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Settings;
use crate::format::{format, FormatRequest, NodeStorage, QuorumInit};
use crate::meta_properties::{
    random_uuid, MetaProperties, META_PROPERTIES_FILE, META_PROPERTIES_VERSION_LEGACY,
};

const USAGE: &str = "usage: kafka-storage [-h] {info,format,random-uuid} ...";

const FORMAT_USAGE: &str = "usage: kafka-storage format [-h] --config CONFIG --cluster-id CLUSTER_ID [--ignore-formatted]
                     [--standalone | --no-initial-controllers | --initial-controllers INITIAL_CONTROLLERS]";

const INFO_USAGE: &str = "usage: kafka-storage info [-h] --config CONFIG";

const HELP: &str = "usage: kafka-storage [-h] {info,format,random-uuid} ...

The Kafka storage tool.

positional arguments:
  {info,format,random-uuid}
    info                 Get information about the Kafka log directories on this node.
    format               Format the Kafka log directories on this node.
    random-uuid          Print a random UUID.

named arguments:
  -h, --help             show this help message and exit
";

const FORMAT_HELP: &str = "
named arguments:
  -h, --help             show this help message and exit
  --config CONFIG, -c CONFIG
                         The Kafka configuration file to use.
  --cluster-id CLUSTER_ID, -t CLUSTER_ID
                         The cluster ID to use.
  --ignore-formatted, -g
  --standalone, -s       Used to initialize a controller as a single-node dynamic quorum.
  --no-initial-controllers, -N
                         Used to initialize a server without a dynamic quorum topology.
  --initial-controllers INITIAL_CONTROLLERS, -I INITIAL_CONTROLLERS
                         Used to initialize a server with a specific dynamic quorum topology.
                         The argument is a comma-separated list of id@hostname:port:directory.
                         The same values must be used to format all nodes.
";

/// Runs the tool with `args` (without the program name); returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = run(&args, &mut out);
    let _ = out.flush();
    code
}

/// A parse or run failure: the message goes to stderr, as Kafka's `TerseFailure`.
enum Failure {
    /// Bad arguments: printed after the usage line of the subcommand.
    Usage(&'static str, String),
    /// Anything else: printed alone.
    Message(String),
}

fn run(args: &[String], out: &mut dyn Write) -> i32 {
    let result = match args.first().map(String::as_str) {
        None => Err(Failure::Usage(
            USAGE,
            "kafka-storage: error: too few arguments".to_string(),
        )),
        Some("-h") | Some("--help") => {
            let _ = write!(out, "{HELP}");
            return 0;
        }
        Some("random-uuid") => {
            let _ = writeln!(out, "{}", random_uuid());
            return 0;
        }
        Some("format") => run_format(&args[1..], out),
        Some("info") => run_info(&args[1..], out),
        Some(other) => Err(Failure::Usage(
            USAGE,
            format!("kafka-storage: error: argument {{info,format,random-uuid}}: invalid choice: '{other}' (choose from 'info', 'format', 'random-uuid')"),
        )),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(usage, message)) => {
            eprintln!("{usage}\n{message}");
            1
        }
        Err(Failure::Message(message)) => {
            eprintln!("{message}");
            1
        }
    }
}

/// The parsed flags of `format` / `info`.
#[derive(Default)]
struct Flags {
    config: Option<PathBuf>,
    cluster_id: Option<String>,
    ignore_formatted: bool,
    standalone: bool,
    no_initial_controllers: bool,
    initial_controllers: Option<String>,
    help: bool,
}

/// Parses argparse4j-style flags: `--name value`, `--name=value`, `-x value`.
fn parse_flags(
    args: &[String],
    usage: &'static str,
    command: &str,
    with_format_flags: bool,
) -> Result<Flags, Failure> {
    let error = |m: String| Failure::Usage(usage, format!("kafka-storage {command}: error: {m}"));
    let mut flags = Flags::default();
    let mut i = 0;
    while i < args.len() {
        let (name, inline) = match args[i].split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (args[i].clone(), None),
        };
        i += 1;
        let mut value = |label: &str| -> Result<String, Failure> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            let v = args
                .get(i)
                .cloned()
                .ok_or_else(|| error(format!("argument {label}: expected one argument")))?;
            i += 1;
            Ok(v)
        };
        match name.as_str() {
            "-h" | "--help" => flags.help = true,
            "--config" | "-c" => flags.config = Some(PathBuf::from(value("--config/-c")?)),
            "--cluster-id" | "-t" if with_format_flags => {
                flags.cluster_id = Some(value("--cluster-id/-t")?)
            }
            "--ignore-formatted" | "-g" if with_format_flags => flags.ignore_formatted = true,
            "--standalone" | "-s" if with_format_flags => flags.standalone = true,
            "--no-initial-controllers" | "-N" if with_format_flags => {
                flags.no_initial_controllers = true
            }
            "--initial-controllers" | "-I" if with_format_flags => {
                flags.initial_controllers = Some(value("--initial-controllers/-I")?)
            }
            "--add-scram" | "-S" | "--release-version" | "-r" | "--feature" | "-f"
                if with_format_flags =>
            {
                return Err(Failure::Message(format!(
                    "{name} is not supported by Strata: its metadata (metadata.version {}) has no SCRAM credentials or optional features to set at format time.",
                    crate::format::METADATA_VERSION
                )));
            }
            other => {
                return Err(error(format!("unrecognized arguments: '{other}'")));
            }
        }
    }
    if flags.help {
        return Ok(flags);
    }
    if flags.config.is_none() {
        return Err(error("argument --config/-c is required".to_string()));
    }
    if with_format_flags {
        if flags.cluster_id.is_none() {
            return Err(error("argument --cluster-id/-t is required".to_string()));
        }
        let chosen = [
            flags.standalone.then_some("--standalone/-s"),
            flags
                .no_initial_controllers
                .then_some("--no-initial-controllers/-N"),
            flags
                .initial_controllers
                .is_some()
                .then_some("--initial-controllers/-I"),
        ];
        let chosen: Vec<&str> = chosen.into_iter().flatten().collect();
        if chosen.len() > 1 {
            return Err(error(format!(
                "argument {}: not allowed with argument {}",
                chosen[1], chosen[0]
            )));
        }
    }
    Ok(flags)
}

/// The server's settings from the config file and the environment.
fn load_settings(path: &Path) -> Result<Settings, Failure> {
    let mut settings = Settings::defaults();
    settings
        .load_file(path)
        .map_err(|e| Failure::Message(format!("{e:#}")))?;
    settings.load_env(std::env::vars());
    Ok(settings)
}

fn run_format(args: &[String], out: &mut dyn Write) -> Result<i32, Failure> {
    let flags = parse_flags(args, FORMAT_USAGE, "format", true)?;
    if flags.help {
        let _ = write!(
            out,
            "{FORMAT_USAGE}\n\nFormat the Kafka log directories on this node.\n{FORMAT_HELP}"
        );
        return Ok(0);
    }
    let (Some(config), Some(cluster_id)) = (flags.config, flags.cluster_id) else {
        return Err(Failure::Message(
            "--config and --cluster-id are required".into(),
        ));
    };
    let settings = load_settings(&config)?;
    let storage =
        NodeStorage::from_settings(&settings).map_err(|e| Failure::Message(format!("{e:#}")))?;
    let quorum = if flags.standalone {
        QuorumInit::Standalone
    } else if flags.no_initial_controllers {
        QuorumInit::NoInitialControllers
    } else if let Some(v) = flags.initial_controllers {
        QuorumInit::InitialControllers(v)
    } else {
        QuorumInit::Unspecified
    };
    let request = FormatRequest {
        cluster_id,
        ignore_formatted: flags.ignore_formatted,
        quorum,
    };
    format(&storage, &request, out).map_err(|e| Failure::Message(e.to_string()))?;
    Ok(0)
}

fn run_info(args: &[String], out: &mut dyn Write) -> Result<i32, Failure> {
    let flags = parse_flags(args, INFO_USAGE, "info", false)?;
    if flags.help {
        let _ = write!(out, "{INFO_USAGE}\n\nGet information about the Kafka log directories on this node.\n\nnamed arguments:\n  -h, --help             show this help message and exit\n  --config CONFIG, -c CONFIG\n                         The Kafka configuration file to use.\n");
        return Ok(0);
    }
    let Some(config) = flags.config else {
        return Err(Failure::Message("--config is required".into()));
    };
    let settings = load_settings(&config)?;
    let storage =
        NodeStorage::from_settings(&settings).map_err(|e| Failure::Message(format!("{e:#}")))?;
    Ok(info(&storage.directories(), storage.kraft, out))
}

/// Kafka's `infoCommand`: lists the directories found, the metadata of the first formatted one
/// and any problems; 1 when there are problems.
fn info(directories: &[PathBuf], kraft: bool, out: &mut dyn Write) -> i32 {
    let mut problems: Vec<String> = Vec::new();
    let mut found: Vec<String> = Vec::new();
    let mut first: Option<MetaProperties> = None;
    for dir in directories {
        if !dir.is_dir() {
            problems.push(if dir.exists() {
                format!("{} is not a directory", dir.display())
            } else {
                format!("{} does not exist", dir.display())
            });
            continue;
        }
        found.push(dir.display().to_string());
        if !dir.join(META_PROPERTIES_FILE).exists() {
            problems.push(format!("{} is not formatted.", dir.display()));
            continue;
        }
        match MetaProperties::read(dir) {
            Ok(Some(props)) => match &first {
                None => first = Some(props),
                Some(prev) if prev.cluster_id != props.cluster_id => {
                    problems.push("Mismatched cluster IDs between storage directories.".into())
                }
                Some(prev) if prev.node_id != props.node_id => {
                    problems.push("Mismatched node IDs between storage directories.".into())
                }
                Some(_) => {}
            },
            Ok(None) => problems.push(format!("{} is not formatted.", dir.display())),
            Err(e) => problems.push(format!(
                "Error loading {}: {e}",
                dir.join(META_PROPERTIES_FILE).display()
            )),
        }
    }
    if let Some(prev) = &first {
        if kraft && prev.version == META_PROPERTIES_VERSION_LEGACY {
            problems.push("The kafka configuration file appears to be for a cluster in KRaft mode, but the directories are formatted for legacy mode.".into());
        } else if !kraft && prev.version != META_PROPERTIES_VERSION_LEGACY {
            problems.push("The kafka configuration file appears to be for a legacy cluster, but the directories are formatted for a cluster in KRaft mode.".into());
        }
    }
    let mut text = String::new();
    if directories.is_empty() {
        text.push_str("No directories specified.\n");
    } else {
        if !found.is_empty() {
            text.push_str(if found.len() == 1 {
                "Found log directory:\n"
            } else {
                "Found log directories:\n"
            });
            for d in &found {
                text.push_str(&format!("  {d}\n"));
            }
            text.push('\n');
        }
        if let Some(prev) = &first {
            text.push_str(&format!("Found metadata: {prev}\n\n"));
        }
        if !problems.is_empty() {
            text.push_str(if problems.len() == 1 {
                "Found problem:\n"
            } else {
                "Found problems:\n"
            });
            for p in &problems {
                text.push_str(&format!("  {p}\n"));
            }
            text.push('\n');
        }
    }
    let _ = write!(out, "{text}");
    i32::from(!problems.is_empty() && !directories.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(args: &[&str]) -> (i32, String) {
        let mut out = Vec::new();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let code = run(&args, &mut out);
        (code, String::from_utf8(out).unwrap())
    }

    #[test]
    fn random_uuid_prints_one_id() {
        let (code, out) = run_args(&["random-uuid"]);
        assert_eq!(code, 0);
        assert_eq!(out.trim_end().len(), 22, "{out}");
        assert!(crate::meta_properties::parse_uuid(out.trim_end()).is_ok());
    }

    #[test]
    fn flags_are_checked() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let msg = |r: Result<Flags, Failure>| match r {
            Err(Failure::Usage(_, m)) | Err(Failure::Message(m)) => m,
            Ok(_) => "ok".to_string(),
        };
        assert_eq!(
            msg(parse_flags(
                &args(&["-c", "x"]),
                FORMAT_USAGE,
                "format",
                true
            )),
            "kafka-storage format: error: argument --cluster-id/-t is required"
        );
        assert!(msg(parse_flags(
            &args(&["-c", "x", "-t", "y", "-s", "-N"]),
            FORMAT_USAGE,
            "format",
            true
        ))
        .contains("not allowed with"));
        let f = parse_flags(
            &args(&["--config=x", "--cluster-id", "y", "-g", "--standalone"]),
            FORMAT_USAGE,
            "format",
            true,
        )
        .ok()
        .unwrap();
        assert!(f.ignore_formatted && f.standalone);
        assert_eq!(f.config, Some(PathBuf::from("x")));
        assert!(msg(parse_flags(
            &args(&["-c", "x", "-t"]),
            INFO_USAGE,
            "info",
            false
        ))
        .contains("unrecognized arguments: '-t'"));
    }

    #[test]
    fn info_reports_like_kafka() {
        let root = tempfile::tempdir().unwrap();
        let a = root.path().join("a");
        let missing = root.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        let m = MetaProperties::kraft("MkU3OEVBNTcwNTJENDM2Qg", 1, "oBKyMc7bTYKAJF2ay1Xk5g");
        m.write(&a).unwrap();
        let mut out = Vec::new();
        let code = info(&[a.clone(), missing.clone()], true, &mut out);
        assert_eq!(code, 1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "Found log directory:\n  {}\n\nFound metadata: {{cluster.id=MkU3OEVBNTcwNTJENDM2Qg, directory.id=oBKyMc7bTYKAJF2ay1Xk5g, node.id=1, version=1}}\n\nFound problem:\n  {} does not exist\n\n",
                a.display(),
                missing.display()
            )
        );
        let mut out = Vec::new();
        assert_eq!(info(&[a], true, &mut out), 0);
    }
}
