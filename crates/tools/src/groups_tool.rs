//! `kafka-consumer-groups`: Kafka's ConsumerGroupCommand for classic consumer groups — list,
//! describe (offsets, members, state), reset offsets, delete groups and offsets — with Kafka
//! 3.9's options, messages and column layouts.

use std::collections::{BTreeMap, BTreeSet};

use strata_client::groups::GroupInfo;
use strata_client::{Client, ClientError, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};

use crate::args::{self, opt, Arity, OptSpec, Parsed};
use crate::props;
use crate::KAFKA_COMPAT_VERSION;

const SPECS: &[OptSpec] = &[
    opt("bootstrap-server", Arity::Required, "String: server to connect to", "REQUIRED: The server(s) to connect to."),
    opt("command-config", Arity::Required, "String: command config property file", "Property file containing configs to be passed to Admin Client and Consumer."),
    opt("list", Arity::Flag, "", "List all consumer groups."),
    opt("describe", Arity::Flag, "", "Describe consumer group and list offset lag (number of messages not yet processed) related to given group."),
    opt("delete", Arity::Flag, "", "Pass in groups to delete topic partition offsets and ownership information over the entire consumer group."),
    opt("reset-offsets", Arity::Flag, "", "Reset offsets of consumer group. Supports one consumer group at the time, and instances should be inactive."),
    opt("delete-offsets", Arity::Flag, "", "Delete offsets of consumer group. Supports one consumer group at the time, and multiple topics."),
    opt("group", Arity::Required, "String: consumer group", "The consumer group we wish to act on."),
    opt("all-groups", Arity::Flag, "", "Apply to all consumer groups."),
    opt("topic", Arity::Required, "String: topic", "The topic whose consumer group information should be deleted or topic whose should be included in the reset offset process."),
    opt("all-topics", Arity::Flag, "", "Consider all topics assigned to a group in the `reset-offsets` process."),
    opt("members", Arity::Flag, "", "Describe members of the group. This option may be used with '--describe' and '--bootstrap-server' options only."),
    opt("verbose", Arity::Flag, "", "Provide additional information, if any, when describing the group."),
    opt("offsets", Arity::Flag, "", "Describe the group and list all topic partitions in the group along with their offset lag. This is the default sub-action."),
    opt("state", Arity::Optional, "String", "When specified with '--describe', includes the state of the group. When specified with '--list', it displays the state of all groups."),
    opt("to-earliest", Arity::Flag, "", "Reset offsets to earliest offset."),
    opt("to-latest", Arity::Flag, "", "Reset offsets to latest offset."),
    opt("to-current", Arity::Flag, "", "Reset offsets to current offset."),
    opt("to-offset", Arity::Required, "Long: offset", "Reset offsets to a specific offset."),
    opt("shift-by", Arity::Required, "Long: number-of-offsets", "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative."),
    opt("to-datetime", Arity::Required, "String: datetime", "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'"),
    opt("dry-run", Arity::Flag, "", "Only show results without executing changes on Consumer Groups."),
    opt("execute", Arity::Flag, "", "Execute operation."),
    opt("timeout", Arity::Required, "Long: timeout (ms)", "The timeout that can be set for some use cases."),
    opt("help", Arity::Flag, "", "Print usage information."),
    opt("version", Arity::Flag, "", "Display Kafka version."),
];

/// Kafka's placeholder for a missing column value.
const MISSING: &str = "-";

/// A failed run: the message (Kafka's `printUsageAndExit` text or error) and whether to add
/// the usage table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupsFailure {
    /// What to print on stderr.
    pub message: String,
    /// Whether the usage follows.
    pub usage: bool,
}

fn usage(message: impl Into<String>) -> GroupsFailure {
    GroupsFailure {
        message: message.into(),
        usage: true,
    }
}

impl From<ClientError> for GroupsFailure {
    fn from(e: ClientError) -> Self {
        GroupsFailure {
            message: format!("Error: Executing consumer group command failed due to {e}"),
            usage: false,
        }
    }
}

/// Checks the option combinations Kafka's ConsumerGroupCommandOptions checks.
pub fn validate(p: &Parsed) -> Result<(), GroupsFailure> {
    let actions = [
        "list",
        "describe",
        "delete",
        "reset-offsets",
        "delete-offsets",
    ];
    if actions.iter().filter(|a| p.has(a)).count() != 1 {
        return Err(usage("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets"));
    }
    if !p.has("bootstrap-server") {
        return Err(usage("Missing required argument \"[bootstrap-server]\""));
    }
    if (p.has("describe") || p.has("delete")) && !p.has("group") && !p.has("all-groups") {
        let action = if p.has("describe") {
            "describe"
        } else {
            "delete"
        };
        return Err(usage(format!(
            "Option [{action}] takes one of these options: [all-groups], [group]"
        )));
    }
    if p.has("reset-offsets") {
        if !p.has("group") && !p.has("all-groups") {
            return Err(usage(
                "Option [reset-offsets] takes one of these options: [all-groups], [group]",
            ));
        }
        if !p.has("topic") && !p.has("all-topics") {
            return Err(usage(
                "Option [reset-offsets] takes one of these options: [all-topics], [topic]",
            ));
        }
        let scenarios = [
            "to-earliest",
            "to-latest",
            "to-current",
            "to-offset",
            "shift-by",
            "to-datetime",
        ];
        if scenarios.iter().filter(|o| p.has(o)).count() != 1 {
            return Err(usage("Option [reset-offsets] takes exactly one reset scenario: [to-datetime], [by-duration], [to-earliest], [to-latest], [shift-by], [from-file], [to-current], [to-offset]"));
        }
        if p.has("dry-run") && p.has("execute") {
            return Err(usage(
                "Option \"[dry-run]\" can't be used with option \"[execute]\"",
            ));
        }
    }
    if p.has("delete-offsets") && (!p.has("group") || !p.has("topic")) {
        return Err(usage(
            "Option [delete-offsets] takes the following options: [group], [topic]",
        ));
    }
    Ok(())
}

fn pad(s: &str, width: usize) -> String {
    format!("{s:<width$}")
}

/// The offsets view (`--describe [--offsets]`), Kafka's `printOffsets` layout.
pub fn format_offsets(rows: &[[String; 9]]) -> String {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .fold(15, usize::max)
    };
    let (g, t, c, h) = (width(0), width(1), width(6), width(7));
    let line = |r: &[&str; 9]| {
        format!(
            "\n{} {} {} {} {} {} {} {} {}",
            pad(r[0], g),
            pad(r[1], t),
            pad(r[2], 10),
            pad(r[3], 15),
            pad(r[4], 15),
            pad(r[5], 15),
            pad(r[6], c),
            pad(r[7], h),
            r[8]
        )
    };
    let mut out = line(&[
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
    for r in rows {
        let cols: [&str; 9] = std::array::from_fn(|i| r[i].as_str());
        out.push_str(&line(&cols));
    }
    out.push('\n');
    out
}

/// Kafka's `shouldPrintMemberState`: the warnings and errors for a group's state; whether to
/// print its table.
fn should_print(group: &str, state: &str, rows: usize) -> bool {
    match state {
        "Dead" => {
            println!("\nError: Consumer group '{group}' does not exist.");
            return false;
        }
        "Empty" => eprintln!("\nConsumer group '{group}' has no active members."),
        "PreparingRebalance" | "CompletingRebalance" => {
            eprintln!("\nWarning: Consumer group '{group}' is rebalancing.")
        }
        _ => {}
    }
    rows > 0
}

async fn log_end_offsets(
    client: &mut Client,
    partitions: &BTreeSet<(String, i32)>,
) -> BTreeMap<(String, i32), i64> {
    let mut out = BTreeMap::new();
    for (t, p) in partitions {
        if let Ok(o) = client.list_offsets(t, *p, LATEST_TIMESTAMP).await {
            out.insert((t.clone(), *p), o);
        }
    }
    out
}

async fn describe_offsets(client: &mut Client, info: &GroupInfo) -> Result<(), GroupsFailure> {
    let committed = client.group_offsets(&info.group_id).await?;
    let mut members: Vec<_> = info
        .members
        .iter()
        .filter(|m| !m.assignment.is_empty())
        .collect();
    members.sort_by_key(|m| std::cmp::Reverse(m.assignment.len()));
    let mut all: BTreeSet<(String, i32)> = committed.keys().cloned().collect();
    for m in &members {
        all.extend(m.assignment.iter().cloned());
    }
    let ends = log_end_offsets(client, &all).await;
    let opt = |v: Option<i64>| v.map_or(MISSING.to_string(), |x| x.to_string());
    let row = |topic: &str, partition: i32, member: Option<(&str, &str, &str)>| {
        let key = (topic.to_string(), partition);
        let current = committed.get(&key).copied();
        let end = ends.get(&key).copied();
        let lag = match (current, end) {
            (Some(c), Some(e)) => Some((e - c).max(0)),
            _ => None,
        };
        let (id, host, client) = member.unwrap_or((MISSING, MISSING, MISSING));
        [
            info.group_id.clone(),
            topic.to_string(),
            partition.to_string(),
            opt(current),
            opt(end),
            opt(lag),
            id.to_string(),
            host.to_string(),
            client.to_string(),
        ]
    };
    let mut rows = Vec::new();
    let mut assigned = BTreeSet::new();
    for m in &members {
        let mut parts = m.assignment.clone();
        parts.sort_by_key(|(t, p)| (*p, t.clone()));
        for (t, p) in parts {
            assigned.insert((t.clone(), p));
            rows.push(row(
                &t,
                p,
                Some((&m.member_id, &m.client_host, &m.client_id)),
            ));
        }
    }
    for (t, p) in committed.keys() {
        if !assigned.contains(&(t.clone(), *p)) {
            rows.push(row(t, *p, None));
        }
    }
    if should_print(&info.group_id, &info.state, rows.len()) {
        print!("{}", format_offsets(&rows));
    }
    Ok(())
}

fn describe_members(info: &GroupInfo, verbose: bool) {
    let with_instance = info.members.iter().any(|m| m.group_instance_id.is_some());
    let width = |f: &dyn Fn(&strata_client::groups::GroupMemberInfo) -> usize, min: usize| {
        info.members.iter().map(f).fold(min, usize::max)
    };
    let g = info.group_id.chars().count().max(15);
    let c = width(&|m| m.member_id.chars().count(), 15);
    let i = width(
        &|m| {
            m.group_instance_id
                .as_deref()
                .unwrap_or(MISSING)
                .chars()
                .count()
        },
        17,
    );
    let h = width(&|m| m.client_host.chars().count(), 15);
    let cl = width(&|m| m.client_id.chars().count(), 15);
    let line = |cols: [&str; 7]| {
        let mut s = format!("\n{} {} ", pad(cols[0], g), pad(cols[1], c));
        if with_instance {
            s.push_str(&format!("{} ", pad(cols[2], i)));
        }
        s.push_str(&format!("{} {} ", pad(cols[3], h), pad(cols[4], cl)));
        if verbose {
            s.push_str(&format!("{} {}", pad(cols[5], 15), cols[6]));
        } else {
            s.push_str(cols[5]);
        }
        s
    };
    if !should_print(&info.group_id, &info.state, info.members.len()) {
        return;
    }
    let mut out = line([
        "GROUP",
        "CONSUMER-ID",
        "GROUP-INSTANCE-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS",
        "ASSIGNMENT",
    ]);
    for m in &info.members {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in &m.assignment {
            by_topic.entry(t).or_default().push(*p);
        }
        let assignment = if by_topic.is_empty() {
            MISSING.to_string()
        } else {
            by_topic
                .iter()
                .map(|(t, ps)| {
                    let mut ps = ps.clone();
                    ps.sort();
                    let ps: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
                    format!("{t}({})", ps.join(","))
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        out.push_str(&line([
            &info.group_id,
            &m.member_id,
            m.group_instance_id.as_deref().unwrap_or(MISSING),
            &m.client_host,
            &m.client_id,
            &m.assignment.len().to_string(),
            &assignment,
        ]));
    }
    println!("{out}");
}

fn describe_state(info: &GroupInfo) {
    if !should_print(&info.group_id, &info.state, 1) {
        return;
    }
    let g = info.group_id.chars().count().max(15);
    let line = |a: &str, b: &str, c: &str, d: &str, e: &str| {
        format!(
            "\n{} {} {} {} {e}",
            pad(a, g),
            pad(b, 25),
            pad(c, 20),
            pad(d, 15)
        )
    };
    let coordinator = format!("{} ({})", info.coordinator, info.coordinator_id);
    let mut out = line(
        "GROUP",
        "COORDINATOR (ID)",
        "ASSIGNMENT-STRATEGY",
        "STATE",
        "#MEMBERS",
    );
    out.push_str(&line(
        &info.group_id,
        &coordinator,
        &info.protocol,
        &info.state,
        &info.members.len().to_string(),
    ));
    println!("{out}");
}

/// New offsets by partition.
type Plan = BTreeMap<(String, i32), i64>;

/// `--topic T` or `--topic T:0,1` into (topic, partitions or all).
fn parse_topic_arg(arg: &str) -> Result<(String, Option<Vec<i32>>), GroupsFailure> {
    match arg.split_once(':') {
        None => Ok((arg.to_string(), None)),
        Some((t, ps)) => {
            let parts: Result<Vec<i32>, _> = ps.split(',').map(|p| p.trim().parse()).collect();
            parts
                .map(|p| (t.to_string(), Some(p)))
                .map_err(|_| usage(format!("Invalid topic-partition argument: {arg}")))
        }
    }
}

/// The partitions `--topic` names: `T` for all of T's partitions, `T:0,2` for some.
async fn topic_partitions(
    client: &mut Client,
    p: &Parsed,
) -> Result<Vec<(String, i32)>, GroupsFailure> {
    let mut out = Vec::new();
    for arg in p.values("topic") {
        let (topic, parts) = parse_topic_arg(arg)?;
        match parts {
            Some(ps) => out.extend(ps.into_iter().map(|x| (topic.clone(), x))),
            None => {
                let md = client.metadata(Some(vec![topic.clone()]), false).await?;
                for t in md
                    .topics
                    .iter()
                    .filter(|t| t.name == topic && t.error_code == 0)
                {
                    out.extend(t.partitions.iter().map(|x| (topic.clone(), x.partition)));
                }
            }
        }
    }
    Ok(out)
}

/// Milliseconds since the epoch of Kafka's `--to-datetime` (`YYYY-MM-DDTHH:mm:SS.sss`, UTC
/// unless it ends with `Z` or an offset; only UTC/`Z` is supported here).
fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim_end_matches('Z');
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, mo, da) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, millis) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>());
    let (h, mi, se) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let ms: i64 = millis.get(..3.min(millis.len()))?.parse().ok()?;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (mo + if mo > 2 { -3 } else { 9 }) + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + se * 1000 + ms)
}

async fn reset_offsets(
    client: &mut Client,
    p: &Parsed,
    groups: &[String],
) -> Result<(), GroupsFailure> {
    if !p.has("dry-run") && !p.has("execute") {
        println!("WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.");
    }
    let mut plans: Vec<(String, Plan)> = Vec::new();
    for group in groups {
        let info = client.describe_group(group).await?;
        if !matches!(info.state.as_str(), "Empty" | "Dead") {
            println!("\nError: Assignments can only be reset if the group '{group}' is inactive, but the current state is {}.", info.state);
            continue;
        }
        let committed = client.group_offsets(group).await?;
        let mut partitions: BTreeSet<(String, i32)> = BTreeSet::new();
        if p.has("all-topics") {
            partitions.extend(committed.keys().cloned());
        } else {
            partitions.extend(topic_partitions(client, p).await?);
        }
        let mut plan = BTreeMap::new();
        for (t, part) in partitions {
            let earliest = client.list_offsets(&t, part, EARLIEST_TIMESTAMP).await?;
            let latest = client.list_offsets(&t, part, LATEST_TIMESTAMP).await?;
            let current = committed.get(&(t.clone(), part)).copied();
            let clamp = |o: i64| o.clamp(earliest, latest);
            let target = if p.has("to-earliest") {
                earliest
            } else if p.has("to-latest") {
                latest
            } else if p.has("to-current") {
                current.unwrap_or(latest)
            } else if let Some(v) = p.value("to-offset") {
                clamp(v.parse().map_err(|_| {
                    usage(format!("Cannot parse argument '{v}' of option to-offset"))
                })?)
            } else if let Some(v) = p.value("shift-by") {
                let n: i64 = v.parse().map_err(|_| {
                    usage(format!("Cannot parse argument '{v}' of option shift-by"))
                })?;
                clamp(current.unwrap_or(latest).saturating_add(n))
            } else if let Some(v) = p.value("to-datetime") {
                let ts = parse_datetime(v).ok_or_else(|| {
                    usage(format!("Error parsing timestamp. It does not match the format yyyy-MM-dd'T'HH:mm:ss.SSS: {v}"))
                })?;
                match client.list_offsets(&t, part, ts).await {
                    Ok(o) if o >= 0 => o,
                    _ => latest,
                }
            } else {
                latest
            };
            plan.insert((t, part), target);
        }
        if p.has("execute") {
            for ((t, part), result) in client.commit_group_offsets(group, &plan).await? {
                if let Err(e) = result {
                    println!("\nError: Failed to commit the offset of {t}-{part} for group '{group}': {e}");
                }
            }
        }
        plans.push((group.clone(), plan));
    }
    let rows: Vec<(String, String, i32, i64)> = plans
        .iter()
        .flat_map(|(g, plan)| {
            plan.iter()
                .map(move |((t, p), o)| (g.clone(), t.clone(), *p, *o))
        })
        .collect();
    if !rows.is_empty() {
        let gw = rows
            .iter()
            .map(|r| r.0.chars().count())
            .fold(15, usize::max);
        let tw = rows
            .iter()
            .map(|r| r.1.chars().count())
            .fold(15, usize::max);
        let mut out = format!(
            "\n{} {} {} NEW-OFFSET",
            pad("GROUP", gw),
            pad("TOPIC", tw),
            pad("PARTITION", 10)
        );
        for (g, t, part, o) in rows {
            out.push_str(&format!(
                "\n{} {} {} {o}",
                pad(&g, gw),
                pad(&t, tw),
                pad(&part.to_string(), 10)
            ));
        }
        println!("{out}");
    }
    Ok(())
}

fn exception_of(e: &ClientError) -> String {
    let class = match e.kafka_code() {
        Some(68) => "org.apache.kafka.common.errors.GroupNotEmptyException",
        Some(69) => "org.apache.kafka.common.errors.GroupIdNotFoundException",
        Some(86) => "org.apache.kafka.common.errors.GroupSubscribedToTopicException",
        Some(16) => "org.apache.kafka.common.errors.NotCoordinatorException",
        _ => "org.apache.kafka.common.KafkaException",
    };
    match e {
        ClientError::Kafka { message, .. } => format!("{class}: {message}"),
        other => format!("{class}: {other}"),
    }
}

async fn run(p: Parsed) -> Result<i32, GroupsFailure> {
    let bootstrap = p.value("bootstrap-server").unwrap_or_default().to_string();
    let mut client = Client::connect(&bootstrap).await?;
    let groups: Vec<String> = if p.has("all-groups") {
        client
            .list_groups(&[])
            .await?
            .into_iter()
            .map(|g| g.group_id)
            .collect()
    } else {
        p.values("group").iter().map(|g| g.to_string()).collect()
    };
    if p.has("list") {
        let states: Vec<String> = match p.value("state") {
            Some(v) => v.split(',').map(|s| s.trim().to_string()).collect(),
            None => Vec::new(),
        };
        let listed = client.list_groups(&states).await?;
        if p.has("state") {
            let w = listed
                .iter()
                .map(|g| g.group_id.chars().count())
                .fold(15, usize::max);
            println!("{} STATE", pad("GROUP", w));
            for g in listed {
                println!("{} {}", pad(&g.group_id, w), g.state);
            }
        } else {
            for g in listed {
                println!("{}", g.group_id);
            }
        }
        return Ok(0);
    }
    if p.has("describe") {
        for group in &groups {
            let info = client.describe_group(group).await?;
            if p.has("members") {
                describe_members(&info, p.has("verbose"));
            } else if p.has("state") {
                describe_state(&info);
            } else {
                describe_offsets(&mut client, &info).await?;
            }
        }
        return Ok(0);
    }
    if p.has("delete") {
        let results = client.delete_groups(&groups).await?;
        let (ok, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(|(_, r)| r.is_ok());
        let ok: Vec<String> = ok.into_iter().map(|(g, _)| g).collect();
        if failed.is_empty() {
            println!(
                "Deletion of requested consumer groups ('{}') was successful.",
                ok.join("', '")
            );
            return Ok(0);
        }
        println!("\nError: Deletion of some consumer groups failed:");
        for (g, r) in &failed {
            if let Err(e) = r {
                println!(
                    "* Group '{g}' could not be deleted due to: {}",
                    exception_of(e)
                );
            }
        }
        if !ok.is_empty() {
            println!(
                "\nThese consumer groups were deleted successfully: '{}'",
                ok.join("', '")
            );
        }
        return Ok(1);
    }
    if p.has("reset-offsets") {
        reset_offsets(&mut client, &p, &groups).await?;
        return Ok(0);
    }
    // --delete-offsets
    let group = groups.first().cloned().unwrap_or_default();
    let partitions: Vec<(String, i32)> = topic_partitions(&mut client, &p).await?;
    let (top, results) = client.delete_group_offsets(&group, &partitions).await?;
    if top != 0 {
        let e = ClientError::kafka(top, None, "OffsetDelete");
        println!(
            "\nError: Encounter some unknown error: {}",
            exception_of(&e)
        );
        return Ok(1);
    }
    let failed = results.iter().any(|(_, c)| *c != 0);
    if failed {
        println!("\nError: Request failed for deleting offsets from group {group}.");
    } else {
        println!("Request succeed for deleting offsets from group {group}.");
    }
    let mut out = format!(
        "\n{} {} {}",
        pad("TOPIC", 30),
        pad("PARTITION", 15),
        "STATUS"
    );
    for ((t, part), code) in &results {
        let status = if *code == 0 {
            "Successful".to_string()
        } else {
            format!(
                "Error: {}",
                exception_of(&ClientError::kafka(*code, None, "OffsetDelete"))
            )
        };
        out.push_str(&format!(
            "\n{} {} {status}",
            pad(t, 30),
            pad(&part.to_string(), 15)
        ));
    }
    println!("{out}");
    Ok(i32::from(failed))
}

/// Entry point: returns the process exit code.
pub fn kafka_consumer_groups(args: Vec<String>) -> i32 {
    if args.is_empty() {
        eprintln!("This tool helps to list all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets.");
        eprint!("{}", args::usage(SPECS));
        return 1;
    }
    let p = match args::parse(SPECS, &args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            eprint!("{}", args::usage(SPECS));
            return 1;
        }
    };
    if p.has("help") {
        println!("This tool helps to list all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets.");
        print!("{}", args::usage(SPECS));
        return 0;
    }
    if p.has("version") {
        println!("{KAFKA_COMPAT_VERSION}");
        return 0;
    }
    if let Err(f) = validate(&p) {
        eprintln!("{}", f.message);
        if f.usage {
            eprint!("{}", args::usage(SPECS));
        }
        return 1;
    }
    if let Some(file) = p.value("command-config") {
        match props::load_file(file) {
            Ok(config) => props::warn_unsupported_security(&config),
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        }
    }
    let rt = match crate::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    match rt.block_on(run(p)) {
        Ok(code) => code,
        Err(f) => {
            println!("\n{}", f.message);
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(v: &[&str]) -> Parsed {
        args::parse(SPECS, &v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn validation_messages() {
        assert_eq!(
            validate(&parsed(&["--bootstrap-server", "h:1"])).unwrap_err().message,
            "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets"
        );
        assert_eq!(
            validate(&parsed(&["--bootstrap-server", "h:1", "--describe"]))
                .unwrap_err()
                .message,
            "Option [describe] takes one of these options: [all-groups], [group]"
        );
        assert!(validate(&parsed(&[
            "--bootstrap-server",
            "h:1",
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t",
            "--to-earliest"
        ]))
        .is_ok());
        assert!(validate(&parsed(&[
            "--bootstrap-server",
            "h:1",
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t"
        ]))
        .is_err());
    }

    #[test]
    fn offsets_table_uses_kafka_widths() {
        let row: [String; 9] =
            ["g", "t", "0", "5", "5", "0", "c-1", "/127.0.0.1", "c"].map(String::from);
        let out = format_offsets(&[row]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(
            lines[1],
            "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID"
        );
        assert_eq!(
            lines[2],
            "g               t               0          5               5               0               c-1             /127.0.0.1      c"
        );
    }

    #[test]
    fn datetimes_and_topic_arguments() {
        assert_eq!(parse_datetime("1970-01-01T00:00:01.500"), Some(1500));
        assert_eq!(
            parse_datetime("2026-11-24T00:00:00.000Z"),
            Some(1_795_478_400_000)
        );
        assert_eq!(parse_datetime("nope"), None);
        assert_eq!(
            parse_topic_arg("t:0,2").unwrap(),
            ("t".to_string(), Some(vec![0, 2]))
        );
        assert_eq!(parse_topic_arg("t").unwrap(), ("t".to_string(), None));
        assert!(parse_topic_arg("t:x").is_err());
    }
}
