//! Java `.properties` files and `key=value` command-line properties.

use std::collections::BTreeMap;

/// Ordered string properties (later entries override earlier ones).
pub type Props = BTreeMap<String, String>;

/// Kafka's `CommandLineUtils.parseKeyValueArgs`: each argument is `key=value`, split at the
/// first `=`; a missing value is an error.
pub fn parse_key_values(args: &[&str]) -> Result<Props, String> {
    let mut props = Props::new();
    for arg in args.iter().filter(|a| !a.is_empty()) {
        match arg.split_once('=') {
            Some((k, v)) if !v.is_empty() => {
                props.insert(k.to_string(), v.to_string());
            }
            Some((k, _)) => return Err(format!("Missing value for key {k}")),
            None => return Err(format!("Missing value for key {arg}")),
        }
    }
    Ok(props)
}

/// Reads a properties file (Java `Properties.load` syntax: `#`/`!` comments, `=`, `:` or
/// whitespace separators, backslash escapes and line continuations).
pub fn load_file(path: &str) -> Result<Props, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read properties file {path}: {e}"))?;
    Ok(parse_properties(&text))
}

/// Kafka tools' usual layering: the properties `files` in order, then the `k=v` `pairs`
/// (later values win).
pub fn load_and_merge(files: &[&str], pairs: &[&str]) -> Result<Props, String> {
    let mut props = Props::new();
    for f in files {
        props.extend(load_file(f)?);
    }
    props.extend(parse_key_values(pairs)?);
    Ok(props)
}

/// Parses Java properties text.
pub fn parse_properties(text: &str) -> Props {
    let mut props = Props::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = line.chars().rev().take_while(|&c| c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let (k, v) = split_key_value(&logical);
        props.insert(unescape(&k), unescape(&v));
        logical.clear();
    }
    if !logical.is_empty() {
        let (k, v) = split_key_value(&logical);
        props.insert(unescape(&k), unescape(&v));
    }
    props
}

fn split_key_value(line: &str) -> (String, String) {
    let mut key = String::new();
    let mut chars = line.chars().peekable();
    let mut escaped = false;
    while let Some(&c) = chars.peek() {
        if escaped {
            key.push('\\');
            key.push(c);
            escaped = false;
            chars.next();
            continue;
        }
        if c == '\\' {
            escaped = true;
            chars.next();
            continue;
        }
        if c == '=' || c == ':' || c.is_whitespace() {
            break;
        }
        key.push(c);
        chars.next();
    }
    let rest: String = chars.collect();
    let rest = rest.trim_start();
    let rest = rest
        .strip_prefix('=')
        .or_else(|| rest.strip_prefix(':'))
        .unwrap_or(rest)
        .trim_start();
    (key, rest.to_string())
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push_str(&hex),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// True for a Java-style boolean property (`trim().equalsIgnoreCase("true")`).
pub fn is_true(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("true")
}

/// Client settings we cannot honour; they are ignored with a warning on stderr.
pub fn warn_unsupported_security(props: &Props) {
    for (k, v) in props {
        let unsupported = (k == "security.protocol" && !v.eq_ignore_ascii_case("PLAINTEXT"))
            || k.starts_with("sasl.")
            || k.starts_with("ssl.");
        if unsupported {
            eprintln!("WARNING: {k} is not supported by the strata tools; ignoring it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values() {
        let p = parse_key_values(&["a=b", "key.separator==", "x=y=z"]).unwrap();
        assert_eq!(p["a"], "b");
        assert_eq!(p["key.separator"], "=");
        assert_eq!(p["x"], "y=z");
        assert_eq!(
            parse_key_values(&["a"]).unwrap_err(),
            "Missing value for key a"
        );
    }

    #[test]
    fn properties_file_syntax() {
        let p = parse_properties(
            "# comment\n! also\nacks = all\nclient.id:me\nlinger.ms 5\nsep=\\t\nlong=a\\\n  b\n",
        );
        assert_eq!(p["acks"], "all");
        assert_eq!(p["client.id"], "me");
        assert_eq!(p["linger.ms"], "5");
        assert_eq!(p["sep"], "\t");
        assert_eq!(p["long"], "ab");
    }
}
