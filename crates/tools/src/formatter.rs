//! Kafka's `DefaultMessageFormatter` (kafka-console-consumer output), byte for byte.

use strata_client::ConsumedRecord;

use crate::props::{is_true, Props};

/// Formatter settings from `--property` / `--formatter-property` (unknown keys are ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFormatter {
    print_timestamp: bool,
    print_key: bool,
    print_value: bool,
    print_partition: bool,
    print_offset: bool,
    print_headers: bool,
    key_separator: Vec<u8>,
    line_separator: Vec<u8>,
    headers_separator: Vec<u8>,
    null_literal: Vec<u8>,
}

impl Default for MessageFormatter {
    fn default() -> Self {
        MessageFormatter {
            print_timestamp: false,
            print_key: false,
            print_value: true,
            print_partition: false,
            print_offset: false,
            print_headers: false,
            key_separator: b"\t".to_vec(),
            line_separator: b"\n".to_vec(),
            headers_separator: b",".to_vec(),
            null_literal: b"null".to_vec(),
        }
    }
}

impl MessageFormatter {
    /// Applies Kafka's `DefaultMessageFormatter.configure` to `props`.
    pub fn from_props(props: &Props) -> Self {
        let mut f = MessageFormatter::default();
        let flag = |key: &str, current: bool| props.get(key).map_or(current, |v| is_true(v));
        f.print_timestamp = flag("print.timestamp", f.print_timestamp);
        f.print_key = flag("print.key", f.print_key);
        f.print_offset = flag("print.offset", f.print_offset);
        f.print_partition = flag("print.partition", f.print_partition);
        f.print_headers = flag("print.headers", f.print_headers);
        f.print_value = flag("print.value", f.print_value);
        let bytes = |key: &str, current: &Vec<u8>| {
            props
                .get(key)
                .map_or_else(|| current.clone(), |v| v.as_bytes().to_vec())
        };
        f.key_separator = bytes("key.separator", &f.key_separator);
        f.line_separator = bytes("line.separator", &f.line_separator);
        f.headers_separator = bytes("headers.separator", &f.headers_separator);
        f.null_literal = bytes("null.literal", &f.null_literal);
        f
    }

    fn separator(&self, out: &mut Vec<u8>, more_columns: bool) {
        if more_columns {
            out.extend_from_slice(&self.key_separator);
        } else {
            out.extend_from_slice(&self.line_separator);
        }
    }

    fn bytes_or_null<'a>(&'a self, b: &'a Option<bytes::Bytes>) -> &'a [u8] {
        match b {
            Some(b) => b,
            None => &self.null_literal,
        }
    }

    /// Appends one record's output to `out`.
    pub fn write(&self, r: &ConsumedRecord, out: &mut Vec<u8>) {
        if self.print_timestamp {
            // Record batch v2 always has a timestamp type, so Kafka's NO_TIMESTAMP case
            // only appears for -1 timestamps in CreateTime; Kafka still prints the type then.
            out.extend_from_slice(format!("{}:{}", r.timestamp_type, r.timestamp).as_bytes());
            self.separator(
                out,
                self.print_partition
                    || self.print_offset
                    || self.print_headers
                    || self.print_key
                    || self.print_value,
            );
        }
        if self.print_partition {
            out.extend_from_slice(format!("Partition:{}", r.partition).as_bytes());
            self.separator(
                out,
                self.print_offset || self.print_headers || self.print_key || self.print_value,
            );
        }
        if self.print_offset {
            out.extend_from_slice(format!("Offset:{}", r.offset).as_bytes());
            self.separator(
                out,
                self.print_headers || self.print_key || self.print_value,
            );
        }
        if self.print_headers {
            if r.headers.is_empty() {
                out.extend_from_slice(b"NO_HEADERS");
            } else {
                for (i, (k, v)) in r.headers.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(&self.headers_separator);
                    }
                    out.extend_from_slice(k.as_bytes());
                    out.push(b':');
                    out.extend_from_slice(self.bytes_or_null(v));
                }
            }
            self.separator(out, self.print_key || self.print_value);
        }
        if self.print_key {
            out.extend_from_slice(self.bytes_or_null(&r.key));
            self.separator(out, self.print_value);
        }
        if self.print_value {
            out.extend_from_slice(self.bytes_or_null(&r.value));
            out.extend_from_slice(&self.line_separator);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use strata_client::TimestampKind;

    fn record() -> ConsumedRecord {
        ConsumedRecord {
            topic: "t".into(),
            partition: 0,
            offset: 5,
            timestamp: 1_700_000_000_000,
            timestamp_type: TimestampKind::CreateTime,
            key: Some(Bytes::from_static(b"key")),
            value: Some(Bytes::from_static(b"value")),
            headers: vec![
                ("h1".into(), Some(Bytes::from_static(b"v1"))),
                ("h2".into(), None),
            ],
        }
    }

    fn fmt(pairs: &[(&str, &str)], r: &ConsumedRecord) -> String {
        let props: Props = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut out = Vec::new();
        MessageFormatter::from_props(&props).write(r, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn default_prints_value_only() {
        assert_eq!(fmt(&[], &record()), "value\n");
    }

    #[test]
    fn all_fields_in_kafka_order() {
        let s = fmt(
            &[
                ("print.timestamp", "true"),
                ("print.partition", "true"),
                ("print.offset", "true"),
                ("print.key", "true"),
            ],
            &record(),
        );
        assert_eq!(
            s,
            "CreateTime:1700000000000\tPartition:0\tOffset:5\tkey\tvalue\n"
        );
    }

    #[test]
    fn headers_nulls_and_separators() {
        let mut r = record();
        r.key = None;
        r.value = None;
        let s = fmt(
            &[
                ("print.headers", "true"),
                ("print.key", "TRUE "),
                ("key.separator", ":"),
                ("timestamp.print", "true"),
                ("key.print", "true"),
            ],
            &r,
        );
        assert_eq!(s, "h1:v1,h2:null:null:null\n");
        r.headers.clear();
        assert_eq!(fmt(&[("print.headers", "true")], &r), "NO_HEADERS\tnull\n");
    }

    #[test]
    fn value_off_ends_line_after_last_column() {
        let s = fmt(
            &[
                ("print.key", "true"),
                ("print.value", "false"),
                ("line.separator", "|"),
            ],
            &record(),
        );
        assert_eq!(s, "key|");
        let mut r = record();
        r.timestamp_type = TimestampKind::LogAppendTime;
        assert_eq!(
            fmt(&[("print.timestamp", "true"), ("print.value", "false")], &r),
            "LogAppendTime:1700000000000\n"
        );
    }
}
