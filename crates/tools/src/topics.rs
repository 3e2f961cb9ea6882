//! `kafka-topics`: Kafka's TopicCommand (create, list, describe, alter, delete).

use std::collections::HashSet;

use strata_client::{Client, ClientError, NewPartitions, NewTopic, TopicInfo};

use crate::args::{self, opt, Arity, OptSpec, Parsed};
use crate::describe;
use crate::props;
use crate::KAFKA_COMPAT_VERSION;

const SPECS: &[OptSpec] = &[
    opt("bootstrap-server", Arity::Required, "String: server to connect to", "REQUIRED: The Kafka server to connect to."),
    opt("command-config", Arity::Required, "String: command config property file", "Property file containing configs to be passed to Admin Client."),
    opt("list", Arity::Flag, "", "List all available topics."),
    opt("create", Arity::Flag, "", "Create a new topic."),
    opt("delete", Arity::Flag, "", "Delete a topic"),
    opt("alter", Arity::Flag, "", "Alter the number of partitions and replica assignment."),
    opt("describe", Arity::Flag, "", "List details for the given topics."),
    opt("topic", Arity::Required, "String: topic", "The topic to create, alter, describe or delete. It also accepts a regular expression, except for --create option."),
    opt("topic-id", Arity::Required, "String: topic-id", "The topic-id to describe."),
    opt("config", Arity::Required, "String: name=value", "A topic configuration override for the topic being created."),
    opt("delete-config", Arity::Required, "String: name", "This option is no longer supported."),
    opt("partitions", Arity::Required, "Integer: # of partitions", "The number of partitions for the topic being created or altered."),
    opt("replication-factor", Arity::Required, "Integer: replication factor", "The replication factor for each partition in the topic being created."),
    opt("replica-assignment", Arity::Required, "String: broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , ...", "A list of manual partition-to-broker assignments for the topic being created or altered."),
    opt("under-replicated-partitions", Arity::Flag, "", "If set when describing topics, only show under-replicated partitions."),
    opt("unavailable-partitions", Arity::Flag, "", "If set when describing topics, only show partitions whose leader is not available."),
    opt("under-min-isr-partitions", Arity::Flag, "", "If set when describing topics, only show partitions whose isr count is less than the configured minimum."),
    opt("at-min-isr-partitions", Arity::Flag, "", "If set when describing topics, only show partitions whose isr count is equal to the configured minimum."),
    opt("topics-with-overrides", Arity::Flag, "", "If set when describing topics, only show topics that have overridden configs."),
    opt("if-exists", Arity::Flag, "", "If set when altering or deleting or describing topics, the action will only execute if the topic exists."),
    opt("if-not-exists", Arity::Flag, "", "If set when creating topics, the action will only execute if the topic does not already exist."),
    opt("exclude-internal", Arity::Flag, "", "Exclude internal topics when listing or describing topics. By default, the internal topics are included."),
    opt("partition-size-limit-per-response", Arity::Required, "Integer: maximum number of partitions per response", "The maximum partition size to be included in one DescribeTopicPartitions response."),
    opt("help", Arity::Flag, "", "Print usage information."),
    opt("version", Arity::Flag, "", "Display Kafka version."),
];

/// How a kafka-topics run ends when it does not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicsFailure {
    /// Bad command line: message and usage on stderr (Kafka's `printUsageAndExit`).
    Usage(String),
    /// The command failed: Kafka prints `Error while executing topic command : <message>`.
    Failed(String),
}

impl From<ClientError> for TopicsFailure {
    fn from(e: ClientError) -> Self {
        TopicsFailure::Failed(e.to_string())
    }
}

/// Validated kafka-topics options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicsOptions {
    parsed: Parsed,
    /// Bootstrap servers.
    pub bootstrap: String,
    /// Client properties from `--command-config`.
    pub command_config: props::Props,
}

fn has_any(p: &Parsed, names: &[&str]) -> Option<String> {
    names.iter().find(|n| p.has(n)).map(|n| n.to_string())
}

/// Kafka's `checkInvalidArgs`: `used` may not be combined with any of `invalid`.
fn check_invalid(p: &Parsed, used: &str, invalid: &[&str]) -> Result<(), TopicsFailure> {
    if p.has(used) {
        if let Some(bad) = has_any(p, invalid) {
            return Err(TopicsFailure::Usage(format!(
                "Option \"[{used}]\" can't be used with option \"[{bad}]\""
            )));
        }
    }
    Ok(())
}

/// Parses and validates arguments like Kafka's `TopicCommandOptions.checkArgs`.
/// `Ok(None)` means help or version was printed.
pub fn parse_options(args: &[String]) -> Result<Option<TopicsOptions>, TopicsFailure> {
    if args.is_empty() {
        return Err(TopicsFailure::Usage(
            "Create, delete, describe, or change a topic.".into(),
        ));
    }
    let p = args::parse(SPECS, args).map_err(TopicsFailure::Usage)?;
    if p.has("help") {
        println!("This tool helps to create, delete, describe, or change a topic.");
        print!("{}", args::usage(SPECS));
        return Ok(None);
    }
    if p.has("version") {
        println!("{KAFKA_COMPAT_VERSION}");
        return Ok(None);
    }
    let actions = ["create", "list", "alter", "describe", "delete"]
        .iter()
        .filter(|a| p.has(a))
        .count();
    if actions != 1 {
        return Err(TopicsFailure::Usage(
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete".into(),
        ));
    }
    if p.has("delete-config") {
        eprintln!("delete-config option is no longer supported and deprecated since version 4.0. The config will be fully removed in future releases.");
    }
    let command_config = match p.value("command-config") {
        Some(f) => props::load_file(f).map_err(TopicsFailure::Failed)?,
        None => props::Props::new(),
    };
    props::warn_unsupported_security(&command_config);
    let bootstrap = match p
        .value("bootstrap-server")
        .map(str::to_string)
        .or_else(|| command_config.get("bootstrap.servers").cloned())
    {
        Some(b) => b,
        None => {
            return Err(TopicsFailure::Failed(
                "--bootstrap-server must be specified".into(),
            ))
        }
    };
    if p.has("describe") && p.has("if-exists") && !p.has("topic") && !p.has("topic-id") {
        return Err(TopicsFailure::Usage(
            "--topic or --topic-id is required to describe a topic".into(),
        ));
    }
    if !p.has("list") && !p.has("describe") && !p.has("topic") {
        return Err(TopicsFailure::Usage(
            "Missing required argument \"[topic]\"".into(),
        ));
    }
    if p.has("alter") {
        if p.has("config") {
            return Err(TopicsFailure::Usage(
                "Option combination \"[bootstrap-server],[config]\" can't be used with option \"[alter]\" (To alter topic configurations, the kafka-configs tool can be used.)".into(),
            ));
        }
        if !p.has("partitions") {
            return Err(TopicsFailure::Usage(
                "Missing required argument \"[partitions]\"".into(),
            ));
        }
    }
    let all_actions = ["alter", "create", "describe", "list", "delete"];
    let except = |keep: &[&str]| -> Vec<&str> {
        all_actions
            .iter()
            .copied()
            .filter(|a| !keep.contains(a))
            .collect()
    };
    check_invalid(&p, "config", &except(&["alter", "create"]))?;
    check_invalid(&p, "partitions", &except(&["alter", "create"]))?;
    check_invalid(&p, "replication-factor", &except(&["create"]))?;
    check_invalid(&p, "replica-assignment", &except(&["alter", "create"]))?;
    if p.has("create") {
        check_invalid(
            &p,
            "replica-assignment",
            &["partitions", "replication-factor"],
        )?;
    }
    for report in [
        "under-replicated-partitions",
        "under-min-isr-partitions",
        "at-min-isr-partitions",
        "unavailable-partitions",
    ] {
        let mut invalid = except(&["describe"]);
        invalid.push("topics-with-overrides");
        check_invalid(&p, report, &invalid)?;
    }
    let mut invalid = except(&["describe"]);
    invalid.extend([
        "under-replicated-partitions",
        "under-min-isr-partitions",
        "at-min-isr-partitions",
        "unavailable-partitions",
    ]);
    check_invalid(&p, "topics-with-overrides", &invalid)?;
    check_invalid(&p, "if-exists", &except(&["alter", "delete", "describe"]))?;
    check_invalid(&p, "if-not-exists", &except(&["create"]))?;
    check_invalid(&p, "exclude-internal", &except(&["list", "describe"]))?;
    Ok(Some(TopicsOptions {
        parsed: p,
        bootstrap,
        command_config,
    }))
}

/// Kafka's `parseReplicaAssignment`: `0:1,1:2` -> [[0,1],[1,2]].
pub fn parse_replica_assignment(s: &str) -> Result<Vec<Vec<i32>>, TopicsFailure> {
    let mut out: Vec<Vec<i32>> = Vec::new();
    for (i, part) in s.split(',').enumerate() {
        let brokers = part
            .split(':')
            .map(|b| {
                b.trim().parse::<i32>().map_err(|_| {
                    TopicsFailure::Failed(format!("For input string: \"{}\"", b.trim()))
                })
            })
            .collect::<Result<Vec<i32>, _>>()?;
        let mut seen = HashSet::new();
        let dups: Vec<String> = brokers
            .iter()
            .filter(|b| !seen.insert(**b))
            .map(|b| b.to_string())
            .collect();
        if !dups.is_empty() {
            return Err(TopicsFailure::Failed(format!(
                "Partition replica lists may not contain duplicate entries: {}",
                dups.join(",")
            )));
        }
        if let Some(first) = out.first() {
            if first.len() != brokers.len() {
                return Err(TopicsFailure::Failed(format!(
                    "Partition {i} has different replication factor: [{}]",
                    brokers
                        .iter()
                        .map(|b| b.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        out.push(brokers);
    }
    Ok(out)
}

/// Kafka's `parseTopicConfigsToBeAdded`: each `--config` is `name=value` (split on `\s*=\s*`).
pub fn parse_topic_configs(values: &[&str]) -> Result<Vec<(String, String)>, TopicsFailure> {
    let mut out = Vec::new();
    for v in values {
        let mut parts: Vec<&str> = v.split('=').map(str::trim).collect();
        // Java's String.split drops trailing empty strings.
        while parts.last() == Some(&"") {
            parts.pop();
        }
        if parts.len() != 2 {
            return Err(TopicsFailure::Failed(
                "requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".".into(),
            ));
        }
        out.push((parts[0].to_string(), parts[1].to_string()));
    }
    Ok(out)
}

fn parse_int(p: &Parsed, name: &str) -> Result<Option<i32>, TopicsFailure> {
    match p.value(name) {
        None => Ok(None),
        Some(v) => v.trim().parse::<i32>().map(Some).map_err(|_| {
            TopicsFailure::Usage(format!("Cannot parse argument '{v}' of option {name}"))
        }),
    }
}

/// Kafka's `Topic.isInternal`.
pub fn is_internal_topic_name(name: &str) -> bool {
    matches!(
        name,
        "__consumer_offsets" | "__transaction_state" | "__share_group_state"
    )
}

/// Kafka's `TopicFilter.IncludeList` regex (commas mean alternation; quotes and spaces stripped),
/// matched against the whole topic name.
pub fn include_list_regex(raw: &str) -> Result<regex::Regex, String> {
    let mut r = raw.trim().replace(',', "|").replace(' ', "");
    r = r
        .trim_start_matches(['"', '\''])
        .trim_end_matches(['"', '\''])
        .to_string();
    regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| format!("{r} is an invalid regex: {e}"))
}

/// Kafka's `doGetTopics`: sorted names, filtered by the `--topic` regex and internal flag.
pub fn filter_topics(
    all: &[(String, bool)],
    include: Option<&str>,
    exclude_internal: bool,
) -> Result<Vec<String>, TopicsFailure> {
    let re = include
        .map(include_list_regex)
        .transpose()
        .map_err(TopicsFailure::Failed)?;
    let mut names: Vec<String> = all
        .iter()
        .filter(|(name, internal)| {
            let internal = *internal || is_internal_topic_name(name);
            let allowed = re.as_ref().is_none_or(|re| re.is_match(name));
            allowed && !(internal && exclude_internal)
        })
        .map(|(n, _)| n.clone())
        .collect();
    names.sort();
    Ok(names)
}

fn ensure_topic_exists(
    found: &[String],
    requested: Option<&str>,
    require: bool,
) -> Result<(), TopicsFailure> {
    if let Some(t) = requested {
        if !t.is_empty() && require && found.is_empty() {
            return Err(TopicsFailure::Failed(format!(
                "Topic '{t}' does not exist as expected"
            )));
        }
    }
    Ok(())
}

async fn get_topics(
    client: &mut Client,
    opts: &TopicsOptions,
) -> Result<Vec<String>, TopicsFailure> {
    let md = client.metadata(None, false).await?;
    let all: Vec<(String, bool)> = md
        .topics
        .iter()
        .filter(|t| t.error_code == 0)
        .map(|t| (t.name.clone(), t.is_internal))
        .collect();
    filter_topics(
        &all,
        opts.parsed.value("topic"),
        opts.parsed.has("exclude-internal"),
    )
}

async fn create(client: &mut Client, opts: &TopicsOptions) -> Result<(), TopicsFailure> {
    let p = &opts.parsed;
    let name = p.value("topic").unwrap_or_default().to_string();
    if name.contains('.') || name.contains('_') {
        println!("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.");
    }
    let partitions = parse_int(p, "partitions")?;
    let rf = parse_int(p, "replication-factor")?;
    let configs = parse_topic_configs(&p.values("config"))?;
    let assignment = match p.value("replica-assignment") {
        Some(s) if !s.is_empty() => parse_replica_assignment(s)?,
        _ => Vec::new(),
    };
    if rf.is_some_and(|rf| rf > i32::from(i16::MAX) || rf < 1) {
        return Err(TopicsFailure::Failed(format!(
            "The replication factor must be between 1 and {} inclusive",
            i16::MAX
        )));
    }
    if partitions.is_some_and(|n| n < 1) {
        return Err(TopicsFailure::Failed(
            "The partitions must be greater than 0".into(),
        ));
    }
    let spec = NewTopic {
        name: name.clone(),
        num_partitions: if assignment.is_empty() {
            partitions.unwrap_or(-1)
        } else {
            -1
        },
        replication_factor: if assignment.is_empty() {
            rf.map_or(-1, |r| r as i16)
        } else {
            -1
        },
        assignments: assignment,
        configs,
    };
    let results = client.create_topics(vec![spec], false).await?;
    for (_, r) in results {
        match r {
            Ok(()) => println!("Created topic {name}."),
            Err(e) if e.kafka_code() == Some(36) && p.has("if-not-exists") => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn list(client: &mut Client, opts: &TopicsOptions) -> Result<(), TopicsFailure> {
    let topics = get_topics(client, opts).await?;
    // Kafka prints the joined list with println, so an empty list prints one empty line.
    println!("{}", topics.join("\n"));
    Ok(())
}

async fn alter(client: &mut Client, opts: &TopicsOptions) -> Result<(), TopicsFailure> {
    let p = &opts.parsed;
    let topics = get_topics(client, opts).await?;
    ensure_topic_exists(&topics, p.value("topic"), !p.has("if-exists"))?;
    if topics.is_empty() {
        return Ok(());
    }
    let count = parse_int(p, "partitions")?.unwrap_or(0);
    let assignment = match p.value("replica-assignment") {
        Some(s) if !s.is_empty() => Some(parse_replica_assignment(s)?),
        _ => None,
    };
    let mut specs = Vec::new();
    if assignment.is_some() {
        let described = client.describe_topic_partitions(topics.clone()).await?;
        for t in &topics {
            let existing = described
                .iter()
                .find(|d| &d.name == t)
                .map_or(0, |d| d.partitions.len());
            specs.push(NewPartitions {
                topic: t.clone(),
                total_count: count,
                assignments: assignment
                    .as_ref()
                    .map(|a| a.iter().skip(existing).cloned().collect()),
            });
        }
    } else {
        specs = topics
            .iter()
            .map(|t| NewPartitions {
                topic: t.clone(),
                total_count: count,
                assignments: None,
            })
            .collect();
    }
    for (_, r) in client.create_partitions(specs, false).await? {
        r?;
    }
    Ok(())
}

async fn delete(client: &mut Client, opts: &TopicsOptions) -> Result<(), TopicsFailure> {
    let p = &opts.parsed;
    let topics = get_topics(client, opts).await?;
    ensure_topic_exists(&topics, p.value("topic"), !p.has("if-exists"))?;
    if topics.is_empty() {
        return Ok(());
    }
    if let Some(internal) = topics.iter().find(|t| is_internal_topic_name(t)) {
        // Kafka's TopicCommand refuses this before asking the cluster.
        return Err(TopicsFailure::Failed(format!(
            "Topic {internal} is a kafka internal topic and is not allowed to be marked for deletion."
        )));
    }
    for (_, r) in client.delete_topics(topics).await? {
        r?;
    }
    Ok(())
}

fn min_isr(configs: &[strata_client::ConfigEntry]) -> usize {
    configs
        .iter()
        .find(|c| c.name == "min.insync.replicas")
        .and_then(|c| c.value.as_deref())
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Renders `--describe` output for already-fetched data (separated for golden tests).
pub fn render_describe(
    p: &Parsed,
    topics: &[(TopicInfo, Vec<strata_client::ConfigEntry>)],
    live_brokers: &HashSet<i32>,
) -> String {
    let under_rep = p.has("under-replicated-partitions");
    let unavailable = p.has("unavailable-partitions");
    let under_min = p.has("under-min-isr-partitions");
    let at_min = p.has("at-min-isr-partitions");
    let overrides = p.has("topics-with-overrides");
    let describe_configs = !under_rep && !unavailable && !under_min && !at_min;
    let describe_partitions = !overrides;
    let mut out = String::new();
    for (topic, configs) in topics {
        let mut parts = topic.partitions.clone();
        parts.sort_by_key(|p| p.partition);
        if describe_configs {
            let has_non_default = configs.iter().any(|c| !c.is_default());
            if !overrides || has_non_default {
                let rf = parts.first().map_or(0, |p| p.replicas.len());
                out.push_str(&describe::topic_line(topic, rf, configs));
                out.push('\n');
            }
        }
        if describe_partitions {
            let min = min_isr(configs);
            for part in &parts {
                let has_leader = part.leader >= 0;
                let show = describe_configs
                    || (under_rep && part.replicas.len() > part.isr.len())
                    || (unavailable && (!has_leader || !live_brokers.contains(&part.leader)))
                    || (under_min && (!has_leader || part.isr.len() < min))
                    || (at_min && part.isr.len() == min);
                if show {
                    out.push_str(&describe::partition_line(&topic.name, part));
                    out.push('\n');
                }
            }
        }
    }
    out
}

async fn describe_topics(client: &mut Client, opts: &TopicsOptions) -> Result<(), TopicsFailure> {
    let p = &opts.parsed;
    let topics = get_topics(client, opts).await?;
    ensure_topic_exists(&topics, p.value("topic"), !p.has("if-exists"))?;
    if topics.is_empty() {
        return Ok(());
    }
    let mut described = client.describe_topic_partitions(topics.clone()).await?;
    if let Some(t) = described.iter().find(|t| t.error_code != 0) {
        return Err(
            ClientError::kafka(t.error_code, None, format!("describe topic '{}'", t.name)).into(),
        );
    }
    // Kafka's admin returns a map; the tool iterates it sorted by our topic list order.
    described.sort_by(|a, b| a.name.cmp(&b.name));
    let configs = client
        .describe_configs(described.iter().map(|t| t.name.clone()).collect())
        .await?;
    let live: HashSet<i32> = client
        .describe_cluster()
        .await?
        .brokers
        .iter()
        .map(|b| b.node_id)
        .collect();
    let joined: Vec<(TopicInfo, Vec<strata_client::ConfigEntry>)> = described
        .into_iter()
        .map(|t| {
            let c = configs
                .iter()
                .find(|c| c.topic == t.name)
                .map(|c| c.entries.clone())
                .unwrap_or_default();
            (t, c)
        })
        .collect();
    print!("{}", render_describe(p, &joined, &live));
    Ok(())
}

async fn run(opts: TopicsOptions) -> Result<(), TopicsFailure> {
    let client_id = opts
        .command_config
        .get("client.id")
        .cloned()
        .unwrap_or_else(|| "adminclient-1".to_string());
    let mut client = Client::connect_with_client_id(&opts.bootstrap, &client_id).await?;
    let p = &opts.parsed;
    if p.has("create") {
        create(&mut client, &opts).await
    } else if p.has("alter") {
        alter(&mut client, &opts).await
    } else if p.has("list") {
        list(&mut client, &opts).await
    } else if p.has("describe") {
        describe_topics(&mut client, &opts).await
    } else {
        delete(&mut client, &opts).await
    }
}

/// Entry point for `kafka-topics` (arguments without the program name); returns the exit code.
pub fn kafka_topics(args: Vec<String>) -> i32 {
    let outcome = match parse_options(&args) {
        Ok(None) => return 0,
        Ok(Some(opts)) => match crate::runtime() {
            Ok(rt) => rt.block_on(run(opts)),
            Err(e) => Err(TopicsFailure::Failed(e)),
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => 0,
        Err(TopicsFailure::Usage(msg)) => {
            eprintln!("{msg}");
            eprint!("{}", args::usage(SPECS));
            1
        }
        Err(TopicsFailure::Failed(msg)) => {
            // Kafka prints this line on stdout and logs the exception (with the same message)
            // on stderr; mirror both so scripts matching either stream keep working.
            println!("Error while executing topic command : {msg}");
            eprintln!("ERROR {msg} (kafka.admin.TopicCommand$)");
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

    fn usage_err(args: &[&str]) -> String {
        match parse_options(&sv(args)) {
            Err(TopicsFailure::Usage(m)) => m,
            other => panic!("expected usage error, got {other:?}"),
        }
    }

    #[test]
    fn option_validation_messages() {
        assert_eq!(
            usage_err(&["--bootstrap-server", "h:1", "--topic", "t"]),
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete"
        );
        assert_eq!(
            usage_err(&["--bootstrap-server", "h:1", "--create"]),
            "Missing required argument \"[topic]\""
        );
        assert_eq!(
            usage_err(&["--bootstrap-server", "h:1", "--alter", "--topic", "t"]),
            "Missing required argument \"[partitions]\""
        );
        assert_eq!(
            usage_err(&["--bootstrap-server", "h:1", "--list", "--partitions", "3"]),
            "Option \"[partitions]\" can't be used with option \"[list]\""
        );
        assert_eq!(
            usage_err(&[
                "--bootstrap-server",
                "h:1",
                "--create",
                "--topic",
                "t",
                "--if-exists"
            ]),
            "Option \"[if-exists]\" can't be used with option \"[create]\""
        );
        assert_eq!(
            parse_options(&sv(&["--list"])).unwrap_err(),
            TopicsFailure::Failed("--bootstrap-server must be specified".into())
        );
        let ok = parse_options(&sv(&[
            "--bootstrap-server=h:1",
            "--create",
            "--topic",
            "t",
            "--partitions",
            "3",
            "--config",
            "cleanup.policy=compact",
            "--if-not-exists",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(ok.bootstrap, "h:1");
    }

    #[test]
    fn replica_assignment_and_configs() {
        assert_eq!(
            parse_replica_assignment("0:1, 1:2").unwrap(),
            vec![vec![0, 1], vec![1, 2]]
        );
        assert!(matches!(
            parse_replica_assignment("0:0"),
            Err(TopicsFailure::Failed(m)) if m == "Partition replica lists may not contain duplicate entries: 0"
        ));
        assert!(parse_replica_assignment("0:1,2").is_err());
        assert_eq!(
            parse_topic_configs(&["a = b", "c=d"]).unwrap(),
            vec![("a".into(), "b".into()), ("c".into(), "d".into())]
        );
        assert!(parse_topic_configs(&["a="]).is_err());
        assert!(parse_topic_configs(&["a=b=c"]).is_err());
    }

    #[test]
    fn topic_filtering() {
        let all = vec![
            ("b".to_string(), false),
            ("a".to_string(), false),
            ("__consumer_offsets".to_string(), true),
            ("a.b".to_string(), false),
        ];
        assert_eq!(
            filter_topics(&all, None, false).unwrap(),
            vec!["__consumer_offsets", "a", "a.b", "b"]
        );
        assert_eq!(
            filter_topics(&all, None, true).unwrap(),
            vec!["a", "a.b", "b"]
        );
        assert_eq!(filter_topics(&all, Some("a"), false).unwrap(), vec!["a"]);
        assert_eq!(
            filter_topics(&all, Some("a.*"), false).unwrap(),
            vec!["a", "a.b"]
        );
        assert_eq!(
            filter_topics(&all, Some("a,b"), false).unwrap(),
            vec!["a", "b"]
        );
        assert!(filter_topics(&all, Some("x"), false).unwrap().is_empty());
        assert_eq!(
            ensure_topic_exists(&[], Some("x"), true).unwrap_err(),
            TopicsFailure::Failed("Topic 'x' does not exist as expected".into())
        );
    }

    #[test]
    fn describe_golden_output() {
        use strata_client::{ConfigEntry, PartitionInfo};
        let part = |i: i32, leader: i32, isr: Vec<i32>| PartitionInfo {
            partition: i,
            error_code: 0,
            leader,
            leader_epoch: 0,
            replicas: vec![1],
            isr,
            offline_replicas: vec![],
            elr: Some(vec![]),
            last_known_elr: Some(vec![]),
        };
        let topic = TopicInfo {
            name: "t".into(),
            topic_id: uuid::Uuid::nil(),
            is_internal: false,
            error_code: 0,
            partitions: vec![part(1, -1, vec![]), part(0, 1, vec![1])],
        };
        let configs = vec![ConfigEntry {
            name: "retention.ms".into(),
            value: Some("1000".into()),
            source: 1,
            read_only: false,
            is_sensitive: false,
        }];
        let live: HashSet<i32> = [1].into_iter().collect();
        let p = args::parse(SPECS, &sv(&["--describe"])).unwrap();
        assert_eq!(
            render_describe(&p, &[(topic.clone(), configs.clone())], &live),
            "Topic: t\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: retention.ms=1000\n\
             \tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: \n\
             \tTopic: t\tPartition: 1\tLeader: none\tReplicas: 1\tIsr: \tElr: \tLastKnownElr: \n"
        );
        let p = args::parse(SPECS, &sv(&["--describe", "--unavailable-partitions"])).unwrap();
        assert_eq!(
            render_describe(&p, &[(topic.clone(), configs.clone())], &live),
            "\tTopic: t\tPartition: 1\tLeader: none\tReplicas: 1\tIsr: \tElr: \tLastKnownElr: \n"
        );
        let p = args::parse(SPECS, &sv(&["--describe", "--under-replicated-partitions"])).unwrap();
        assert_eq!(
            render_describe(&p, &[(topic, configs)], &live),
            "\tTopic: t\tPartition: 1\tLeader: none\tReplicas: 1\tIsr: \tElr: \tLastKnownElr: \n"
        );
    }
}
