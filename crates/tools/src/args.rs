//! A joptsimple-compatible command-line parser: `--name value`, `--name=value`, unique prefixes.

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// A switch such as `--list`.
    Flag,
    /// Must be followed by a value.
    Required,
    /// May be followed by a value (taken only if it does not start with `-`).
    Optional,
}

/// One accepted option.
#[derive(Debug, Clone, Copy)]
pub struct OptSpec {
    /// Name without the leading `--`.
    pub name: &'static str,
    /// Whether it takes a value.
    pub arity: Arity,
    /// Placeholder shown in usage, e.g. `String: topic`.
    pub arg_desc: &'static str,
    /// Help text shown in usage.
    pub help: &'static str,
}

/// Shorthand constructor for [`OptSpec`].
pub const fn opt(
    name: &'static str,
    arity: Arity,
    arg_desc: &'static str,
    help: &'static str,
) -> OptSpec {
    OptSpec {
        name,
        arity,
        arg_desc,
        help,
    }
}

/// Parsed options in command-line order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// (option name, value) pairs.
    pub options: Vec<(String, Option<String>)>,
    /// Arguments that are not options (ignored by Kafka's tools).
    pub non_options: Vec<String>,
}

impl Parsed {
    /// True if the option was given.
    pub fn has(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }

    /// The first value given for `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// All values given for `name`, in order.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.options
            .iter()
            .filter(|(n, _)| n == name)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }
}

fn resolve<'a>(specs: &'a [OptSpec], name: &str) -> Result<&'a OptSpec, String> {
    if let Some(s) = specs.iter().find(|s| s.name == name) {
        return Ok(s);
    }
    // joptsimple accepts any unambiguous prefix of a long option.
    let matches: Vec<&OptSpec> = specs.iter().filter(|s| s.name.starts_with(name)).collect();
    match matches.as_slice() {
        [one] if !name.is_empty() => Ok(one),
        [] | [_] => Err(format!("{name} is not a recognized option")),
        _ => Err(format!("Option '{name}' is ambiguous")),
    }
}

/// Parses `args` (without the program name). Errors carry joptsimple's messages.
pub fn parse(specs: &[OptSpec], args: &[String]) -> Result<Parsed, String> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let body = if let Some(b) = arg.strip_prefix("--") {
            b
        } else if let Some(b) = arg.strip_prefix('-').filter(|b| !b.is_empty()) {
            b
        } else {
            out.non_options.push(arg.clone());
            continue;
        };
        if body.is_empty() {
            // `--` ends option parsing.
            out.non_options.extend(args[i..].iter().cloned());
            break;
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let spec = resolve(specs, name)?;
        let value = match spec.arity {
            Arity::Flag => {
                if inline.is_some() {
                    return Err(format!("Option {} does not take an argument", spec.name));
                }
                None
            }
            Arity::Required => match inline {
                Some(v) => Some(v),
                None => {
                    let next = args
                        .get(i)
                        .ok_or_else(|| format!("Option {} requires an argument", spec.name))?;
                    i += 1;
                    Some(next.clone())
                }
            },
            Arity::Optional => match inline {
                Some(v) => Some(v),
                None => match args.get(i) {
                    Some(next) if !next.starts_with('-') => {
                        i += 1;
                        Some(next.clone())
                    }
                    _ => None,
                },
            },
        };
        out.options.push((spec.name.to_string(), value));
    }
    Ok(out)
}

/// Usage text in the shape of joptsimple's help table.
pub fn usage(specs: &[OptSpec]) -> String {
    let mut rows: Vec<(String, &str)> = specs
        .iter()
        .map(|s| {
            let left = match s.arity {
                Arity::Flag => format!("--{}", s.name),
                Arity::Required => format!("--{} <{}>", s.name, s.arg_desc),
                Arity::Optional => format!("--{} [{}]", s.name, s.arg_desc),
            };
            (left, s.help)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(6).max(6) + 2;
    let mut out = format!(
        "{:<width$}Description\n{:<width$}-----------\n",
        "Option", "------"
    );
    for (left, help) in rows {
        out.push_str(&format!("{left:<width$}{help}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<OptSpec> {
        vec![
            opt("bootstrap-server", Arity::Required, "String", ""),
            opt("topic", Arity::Required, "String", ""),
            opt("list", Arity::Flag, "", ""),
            opt("from-beginning", Arity::Flag, "", ""),
            opt("offset", Arity::Required, "String", ""),
            opt("compression-codec", Arity::Optional, "String", ""),
            opt("property", Arity::Required, "String", ""),
        ]
    }

    fn sv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn space_and_equals_forms() {
        let p = parse(
            &specs(),
            &sv(&[
                "--bootstrap-server",
                "h:1",
                "--topic=t",
                "--list",
                "--offset",
                "-1",
            ]),
        )
        .unwrap();
        assert_eq!(p.value("bootstrap-server"), Some("h:1"));
        assert_eq!(p.value("topic"), Some("t"));
        assert!(p.has("list"));
        assert_eq!(p.value("offset"), Some("-1"));
    }

    #[test]
    fn prefixes_repeats_and_errors() {
        let p = parse(
            &specs(),
            &sv(&["--boot", "h:1", "--property", "a=b", "--property", "c=d"]),
        )
        .unwrap();
        assert_eq!(p.value("bootstrap-server"), Some("h:1"));
        assert_eq!(p.values("property"), vec!["a=b", "c=d"]);
        assert_eq!(
            parse(&specs(), &sv(&["--nope"])).unwrap_err(),
            "nope is not a recognized option"
        );
        assert_eq!(
            parse(&specs(), &sv(&["--topic"])).unwrap_err(),
            "Option topic requires an argument"
        );
    }

    #[test]
    fn optional_argument() {
        let p = parse(&specs(), &sv(&["--compression-codec", "--list"])).unwrap();
        assert!(p.has("compression-codec"));
        assert_eq!(p.value("compression-codec"), None);
        let p = parse(&specs(), &sv(&["--compression-codec", "lz4"])).unwrap();
        assert_eq!(p.value("compression-codec"), Some("lz4"));
    }
}
