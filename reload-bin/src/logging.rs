//! Logs in Reloader's formats: logrus's text formatter (`time="..." level=info msg="..."`) and
//! its JSON formatter (`{"level":"info","msg":"...","time":"..."}`), so runbooks that grep
//! Reloader's lines keep working.
//!
//! Fields recorded on an event become extra `key=value` pairs (text) or keys (JSON), sorted by
//! key as logrus does. logrus names the warn level `warning`.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::settings::LogFormat;

/// Formats events like logrus.
#[derive(Debug, Clone, Copy)]
pub struct LogrusFormat {
    format: LogFormat,
}

impl LogrusFormat {
    /// A formatter for `format`.
    pub fn new(format: LogFormat) -> Self {
        LogrusFormat { format }
    }
}

/// Installs the global subscriber writing to stderr at `level` and above.
pub fn init(format: LogFormat, level: Level) {
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .event_format(LogrusFormat::new(format))
        .init();
}

/// logrus's level names.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warning",
        Level::ERROR => "error",
    }
}

/// The message and the other fields of one event.
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.message);
        } else {
            self.others.push((field.name().to_owned(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.others.push((field.name().to_owned(), text));
        }
    }
}

impl<S, N> FormatEvent<S, N> for LogrusFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        fields.others.sort();
        let time = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let level = level_name(*event.metadata().level());
        let line = match self.format {
            LogFormat::Text => text_line(&time, level, &fields.message, &fields.others),
            LogFormat::Json => json_line(&time, level, &fields.message, &fields.others),
        };
        writeln!(writer, "{line}")
    }
}

/// One logrus text line: `time="…" level=… msg=… key=value…`.
pub fn text_line(time: &str, level: &str, message: &str, fields: &[(String, String)]) -> String {
    let mut line = format!(
        "time={} level={} msg={}",
        quote_if_needed(time),
        level,
        quote_if_needed(message)
    );
    for (key, value) in fields {
        let _ = write!(line, " {key}={}", quote_if_needed(value));
    }
    line
}

/// One logrus JSON line; keys sorted (Go marshals maps in key order).
pub fn json_line(time: &str, level: &str, message: &str, fields: &[(String, String)]) -> String {
    let mut map = serde_json::Map::new();
    for (key, value) in fields {
        map.insert(key.clone(), serde_json::Value::String(value.clone()));
    }
    map.insert("level".into(), level.into());
    map.insert("msg".into(), message.into());
    map.insert("time".into(), time.into());
    let sorted: std::collections::BTreeMap<_, _> = map.into_iter().collect();
    serde_json::to_string(&sorted).unwrap_or_default()
}

/// logrus quotes a value unless every character is in `[A-Za-z0-9-._/@^+]` (and it is
/// non-empty), using Go's `%q` quoting.
fn quote_if_needed(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/' | '@' | '^' | '+'));
    if plain { value.to_owned() } else { go_quote(value) }
}

/// Go's `strconv.Quote` for the characters that occur in log messages.
fn go_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELOADED: &str = "Changes detected in 'my-cm' of type 'CONFIGMAP' in namespace 'default'; updated 'my-app' of type 'Deployment' in namespace 'default'";

    #[test]
    fn text_line_matches_logrus_rendering_from_the_spec() {
        assert_eq!(
            text_line("2025-06-11T09:09:12Z", "info", RELOADED, &[]),
            format!("time=\"2025-06-11T09:09:12Z\" level=info msg=\"{RELOADED}\"")
        );
    }

    #[test]
    fn json_line_matches_logrus_json_formatter() {
        assert_eq!(
            json_line("2025-06-11T09:09:12Z", "info", RELOADED, &[]),
            format!("{{\"level\":\"info\",\"msg\":\"{RELOADED}\",\"time\":\"2025-06-11T09:09:12Z\"}}")
        );
    }

    #[test]
    fn plain_values_are_not_quoted_and_others_are_go_quoted() {
        assert_eq!(quote_if_needed("Starting"), "Starting");
        assert_eq!(quote_if_needed("a b"), "\"a b\"");
        assert_eq!(quote_if_needed(""), "\"\"");
        assert_eq!(quote_if_needed("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
    }

    #[test]
    fn fields_follow_the_message_sorted_by_key() {
        let fields = vec![
            ("a".to_owned(), "x y".to_owned()),
            ("b".to_owned(), "z".to_owned()),
        ];
        assert_eq!(
            text_line("t", "warning", "m", &fields),
            "time=t level=warning msg=m a=\"x y\" b=z"
        );
        assert_eq!(
            json_line("t", "warning", "m", &fields),
            r#"{"a":"x y","b":"z","level":"warning","msg":"m","time":"t"}"#
        );
    }

    #[test]
    fn warn_level_is_named_warning_like_logrus() {
        assert_eq!(level_name(Level::WARN), "warning");
        assert_eq!(level_name(Level::ERROR), "error");
    }
}
