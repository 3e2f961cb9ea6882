//! Kafka's `LineMessageReader`: turns one input line into a record (headers, key, value).

use bytes::Bytes;

use crate::props::{is_true, Props};

/// A parsed line: optional key, optional value, headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    /// Key, `None` when not parsed or equal to `null.marker`.
    pub key: Option<Bytes>,
    /// Value, `None` when equal to `null.marker`.
    pub value: Option<Bytes>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Reader settings (`--property` / `--reader-property`).
#[derive(Debug, Clone)]
pub struct LineReader {
    parse_key: bool,
    key_separator: String,
    parse_headers: bool,
    headers_delimiter: String,
    headers_separator: regex::Regex,
    headers_key_separator: String,
    ignore_error: bool,
    null_marker: Option<String>,
}

impl LineReader {
    /// Kafka's `LineMessageReader.configure`, including its separator conflict checks.
    pub fn from_props(props: &Props) -> Result<LineReader, String> {
        let get = |k: &str, d: &str| props.get(k).cloned().unwrap_or_else(|| d.to_string());
        let headers_separator = get("headers.separator", ",");
        let headers_delimiter = get("headers.delimiter", "\t");
        let headers_key_separator = get("headers.key.separator", ":");
        let key_separator = get("key.separator", "\t");
        let null_marker = props.get("null.marker").cloned();
        if headers_delimiter == headers_separator {
            return Err("headers.delimiter and headers.separator may not be equal".into());
        }
        if headers_delimiter == headers_key_separator {
            return Err("headers.delimiter and headers.key.separator may not be equal".into());
        }
        if headers_separator == headers_key_separator {
            return Err("headers.separator and headers.key.separator may not be equal".into());
        }
        if let Some(m) = &null_marker {
            for (name, v) in [
                ("key.separator", &key_separator),
                ("headers.separator", &headers_separator),
                ("headers.delimiter", &headers_delimiter),
                ("headers.key.separator", &headers_key_separator),
            ] {
                if v == m {
                    return Err(format!("null.marker and {name} may not be equal"));
                }
            }
        }
        // Kafka compiles headers.separator as a Java regex.
        let headers_separator = regex::Regex::new(&headers_separator)
            .map_err(|e| format!("invalid headers.separator {headers_separator:?}: {e}"))?;
        Ok(LineReader {
            parse_key: props.get("parse.key").is_some_and(|v| is_true(v)),
            key_separator,
            parse_headers: props.get("parse.headers").is_some_and(|v| is_true(v)),
            headers_delimiter,
            headers_separator,
            headers_key_separator,
            ignore_error: props.get("ignore.error").is_some_and(|v| is_true(v)),
            null_marker,
        })
    }

    fn is_null(&self, s: &str) -> bool {
        self.null_marker.as_deref() == Some(s)
    }

    fn cut<'a>(
        &self,
        enabled: bool,
        line: &'a str,
        start: usize,
        demarcation: &str,
        name: &str,
        line_number: u64,
    ) -> Result<Option<&'a str>, String> {
        if !enabled {
            return Ok(None);
        }
        match line[start..].find(demarcation) {
            Some(i) => Ok(Some(&line[start..start + i])),
            None if self.ignore_error => Ok(None),
            None => Err(format!(
                "No {name} found on line number {line_number}: '{line}'"
            )),
        }
    }

    /// Parses one line (without its line terminator); `line_number` starts at 1.
    pub fn parse(&self, line: &str, line_number: u64) -> Result<ParsedLine, String> {
        let headers = self.cut(
            self.parse_headers,
            line,
            0,
            &self.headers_delimiter,
            "headers delimiter",
            line_number,
        )?;
        let header_offset = headers.map_or(0, |h| h.len() + self.headers_delimiter.len());
        let key = self.cut(
            self.parse_key,
            line,
            header_offset,
            &self.key_separator,
            "key separator",
            line_number,
        )?;
        let key_offset = key.map_or(0, |k| k.len() + self.key_separator.len());
        let value = &line[header_offset + key_offset..];
        let to_bytes = |s: &str| Bytes::copy_from_slice(s.as_bytes());
        let mut parsed = ParsedLine {
            key: key.filter(|k| !self.is_null(k)).map(to_bytes),
            value: if self.is_null(value) {
                None
            } else {
                Some(to_bytes(value))
            },
            headers: Vec::new(),
        };
        if let Some(h) = headers.filter(|h| !self.is_null(h)) {
            let mut parts: Vec<&str> = self.headers_separator.split(h).collect();
            // Java's Pattern.split drops trailing empty strings.
            while parts.last() == Some(&"") && parts.len() > 1 {
                parts.pop();
            }
            for pair in parts {
                match pair.find(&self.headers_key_separator) {
                    None if self.ignore_error => parsed.headers.push((pair.to_string(), None)),
                    None => {
                        return Err(format!(
                            "No header key separator found in pair '{pair}' on line number {line_number}"
                        ))
                    }
                    Some(i) => {
                        let hk = &pair[..i];
                        if self.is_null(hk) {
                            return Err(format!(
                                "Header keys should not be equal to the null marker '{}' as they can't be null",
                                hk
                            ));
                        }
                        let hv = &pair[i + self.headers_key_separator.len()..];
                        let hv = if self.is_null(hv) { None } else { Some(to_bytes(hv)) };
                        parsed.headers.push((hk.to_string(), hv));
                    }
                }
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(pairs: &[(&str, &str)]) -> LineReader {
        let props: Props = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LineReader::from_props(&props).unwrap()
    }

    #[test]
    fn plain_value() {
        let p = reader(&[]).parse("hello\tworld", 1).unwrap();
        assert_eq!(p.key, None);
        assert_eq!(p.value.as_deref(), Some(&b"hello\tworld"[..]));
    }

    #[test]
    fn key_separator() {
        let r = reader(&[("parse.key", "true"), ("key.separator", ":")]);
        let p = r.parse("k1:v:1", 1).unwrap();
        assert_eq!(p.key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(p.value.as_deref(), Some(&b"v:1"[..]));
        assert_eq!(
            r.parse("novalue", 3).unwrap_err(),
            "No key separator found on line number 3: 'novalue'"
        );
        let r = reader(&[
            ("parse.key", "true"),
            ("key.separator", ":"),
            ("ignore.error", "true"),
        ]);
        let p = r.parse("novalue", 1).unwrap();
        assert_eq!(p.key, None);
        assert_eq!(p.value.as_deref(), Some(&b"novalue"[..]));
    }

    #[test]
    fn headers_and_null_marker() {
        let r = reader(&[
            ("parse.headers", "true"),
            ("parse.key", "true"),
            ("null.marker", "NULL"),
        ]);
        let p = r.parse("a:1,b:NULL\tNULL\tv", 1).unwrap();
        assert_eq!(
            p.headers,
            vec![
                ("a".to_string(), Some(Bytes::from_static(b"1"))),
                ("b".to_string(), None)
            ]
        );
        assert_eq!(p.key, None);
        assert_eq!(p.value.as_deref(), Some(&b"v"[..]));
    }
}
