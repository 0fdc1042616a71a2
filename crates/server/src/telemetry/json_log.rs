//! The JSON log (`--log-format json`, the default when stderr is not a terminal): one object per
//! line, the shape of `tracing-subscriber`'s JSON formatter with the event's fields flattened and
//! the current span's fields under `span`:
//!
//! `{"timestamp":"2026-12-07T21:57:59.123456Z","level":"INFO","status":200,…,"message":"request",
//! "target":"tessera::access","span":{"request_id":"…","method":"POST",…,"name":"request"}}`
//!
//! Our own layer, because the access log writes a line per request and `tracing-subscriber`'s
//! formatter stores a span's fields as JSON text, then parses that text back into a map for every
//! line it writes, and gathers the event's fields into a map too (an allocation per field). Here a
//! span's fields are rendered once, when it opens, into text that each line copies as it is, and a
//! line is built in a buffer of the thread's own.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::ops::Range;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The layer: formats every event it is given (its filter decides which) and writes the line.
pub struct JsonLog<W> {
    writer: W,
}

impl<W> JsonLog<W> {
    pub fn new(writer: W) -> Self {
        JsonLog { writer }
    }
}

/// A span's fields, rendered as JSON values when recorded. A field recorded again (the client id,
/// once a client authenticates) appends its new value and points at it; the old bytes stay
/// unused, which a span's few late fields make cheap.
#[derive(Default)]
struct SpanFields {
    values: String,
    fields: Vec<(&'static str, Range<usize>)>,
}

impl SpanFields {
    fn record(&mut self, name: &'static str, value: impl FnOnce(&mut String)) {
        let start = self.values.len();
        value(&mut self.values);
        let range = start..self.values.len();
        match self.fields.iter_mut().find(|(known, _)| *known == name) {
            Some((_, old)) => *old = range,
            None => self.fields.push((name, range)),
        }
    }

    /// `"name":value,` for each field, in the order they were first recorded.
    fn write_members(&self, out: &mut String) {
        for (name, range) in &self.fields {
            json_string(out, name);
            out.push(':');
            out.push_str(&self.values[range.clone()]);
            out.push(',');
        }
    }
}

/// Where a visitor puts each field: its name, and its JSON value as `value` writes it.
trait Fields {
    fn field(&mut self, name: &'static str, value: impl FnOnce(&mut String));
}

impl Fields for SpanFields {
    fn field(&mut self, name: &'static str, value: impl FnOnce(&mut String)) {
        self.record(name, value);
    }
}

/// An event's fields, written straight into the line as `"name":value,` members.
impl Fields for String {
    fn field(&mut self, name: &'static str, value: impl FnOnce(&mut String)) {
        json_string(self, name);
        self.push(':');
        value(self);
        self.push(',');
    }
}

/// Visits a span's or an event's fields, writing each value as JSON into `F`.
struct Json<'a, F>(&'a mut F);

impl<F: Fields> Visit for Json<'_, F> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.field(field.name(), |out| json_string(out, value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.field(field.name(), |out| json_number(out, value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.field(field.name(), |out| json_number(out, value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.field(field.name(), |out| json_float(out, value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.field(field.name(), |out| out.push_str(if value { "true" } else { "false" }));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.field(field.name(), |out| json_debug(out, value));
    }
}

thread_local! {
    /// The line being built; kept per thread so a line allocates only what the writer copies.
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
}

impl<S, W> Layer<S> for JsonLog<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut Json(&mut fields));
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
            values.record(&mut Json(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // The thread's buffer; a fresh one for a line logged while this thread writes another
        // (a `Debug` that logs) or while the thread is ending (its locals already gone).
        let written = LINE
            .try_with(|line| {
                let Ok(mut out) = line.try_borrow_mut() else { return false };
                self.write_line(&mut out, event, &ctx);
                // One huge line does not keep its memory for the thread's life.
                if out.capacity() > 64 * 1024 {
                    *out = String::with_capacity(512);
                }
                true
            })
            .unwrap_or(false);
        if !written {
            self.write_line(&mut String::new(), event, &ctx);
        }
    }
}

impl<W> JsonLog<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    /// Formats `event` into `out` (emptied first) and hands the line to the writer.
    fn write_line<S>(&self, out: &mut String, event: &Event<'_>, ctx: &Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        out.clear();
        let metadata = event.metadata();
        out.push_str("{\"timestamp\":\"");
        rfc3339_micros(out, std::time::SystemTime::now());
        out.push_str("\",\"level\":\"");
        out.push_str(metadata.level().as_str());
        out.push_str("\",");
        event.record(&mut Json(out));
        out.push_str("\"target\":");
        json_string(out, metadata.target());
        if let Some(span) = ctx.event_span(event) {
            out.push_str(",\"span\":{");
            if let Some(fields) = span.extensions().get::<SpanFields>() {
                fields.write_members(out);
            }
            out.push_str("\"name\":");
            json_string(out, span.name());
            out.push('}');
        }
        out.push_str("}\n");
        // The writer queues the line (tracing-appender: dropped and counted when its queue is full).
        let _ = self.writer.make_writer_for(metadata).write_all(out.as_bytes());
    }
}

/// `value` as a JSON string, escaped (RFC 8259 §7).
fn json_string(out: &mut String, value: &str) {
    out.push('"');
    let _ = Escaped(out).write_str(value);
    out.push('"');
}

/// A value's `Debug` text (a `%` field's `Display`) as a JSON string, escaped as it is written.
fn json_debug(out: &mut String, value: &dyn fmt::Debug) {
    out.push('"');
    let _ = write!(Escaped(out), "{value:?}");
    out.push('"');
}

fn json_number(out: &mut String, value: impl fmt::Display) {
    let _ = write!(out, "{value}");
}

/// A finite float as a JSON number; NaN and the infinities, which JSON lacks, as strings.
fn json_float(out: &mut String, value: f64) {
    if value.is_finite() {
        let _ = write!(out, "{value}");
    } else {
        json_string(out, &value.to_string());
    }
}

/// Writes text into a JSON string's body: quote, backslash and control characters escaped.
struct Escaped<'a>(&'a mut String);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.push_str(&text[plain..at]);
            if escape.is_empty() {
                let _ = write!(self.0, "\\u{byte:04x}");
            } else {
                self.0.push_str(escape);
            }
            plain = at + 1;
        }
        self.0.push_str(&text[plain..]);
        Ok(())
    }
}

/// A time as RFC 3339 in UTC to the microsecond: `2026-12-07T21:57:59.123456Z`.
fn rfc3339_micros(out: &mut String, time: std::time::SystemTime) {
    let since = time.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let seconds = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    let (year, month, day) = crate::http::dates::civil_from_days(seconds.div_euclid(86_400));
    let in_day = seconds.rem_euclid(86_400);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60,
        since.subsec_micros()
    );
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// A writer into memory, for reading back what the layer wrote.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    fn lines_of(log: impl FnOnce()) -> Vec<Value> {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::registry().with(JsonLog::new(captured.clone()));
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.ends_with('\n'), "every line ends: {text:?}");
        text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
    }

    #[test]
    fn a_line_carries_the_event_and_its_spans_fields_as_json() {
        let lines = lines_of(|| {
            let span = tracing::info_span!(
                target: "tessera::request",
                "request",
                request_id = %"r-1",
                method = %"POST",
                path = %"/a \"quoted\"\\path\n",
                client_id = tracing::field::Empty,
            );
            span.record("client_id", "c-1");
            span.in_scope(
                || tracing::info!(target: "tessera::access", status = 200u16, duration_ms = 0.25, bytes = 12u64, ok = true, "request"),
            );
            span.record("client_id", "c-2");
            span.in_scope(|| tracing::warn!(delta = -3i64, odd = f64::NAN, "control \u{1} {}", "here"));
            tracing::error!("outside");
        });
        assert_eq!(lines.len(), 3);
        let [access, warning, outside] = &lines[..] else { unreachable!() };
        assert_eq!(access["level"], "INFO");
        assert_eq!(access["target"], "tessera::access");
        assert_eq!(access["message"], "request");
        assert_eq!(
            (&access["status"], &access["duration_ms"], &access["bytes"], &access["ok"]),
            (&json!(200), &json!(0.25), &json!(12), &json!(true))
        );
        let span = json!({"request_id": "r-1", "method": "POST", "path": "/a \"quoted\"\\path\n", "client_id": "c-1", "name": "request"});
        assert_eq!(access["span"], span);
        assert_eq!(warning["span"]["client_id"], "c-2", "a field recorded again has its new value, once");
        assert_eq!((&warning["level"], &warning["delta"], &warning["odd"]), (&json!("WARN"), &json!(-3), &json!("NaN")));
        assert_eq!(warning["message"], "control \u{1} here");
        assert!(outside.get("span").is_none(), "{outside}");
        let timestamp = access["timestamp"].as_str().unwrap();
        assert_eq!((timestamp.len(), &timestamp[10..11], &timestamp[19..20], &timestamp[26..]), (27, "T", ".", "Z"), "{timestamp}");
    }

    #[test]
    fn a_line_written_while_the_threads_buffer_is_in_use_gets_a_buffer_of_its_own() {
        // As when a value's `Debug` logs under the global dispatcher (the scoped one of these
        // tests drops such nested events): the buffer is borrowed while the event comes.
        let lines = LINE.with(|line| {
            let _held = line.borrow_mut();
            lines_of(|| tracing::info!(value = "x", "while busy"))
        });
        assert_eq!((&lines[0]["message"], &lines[0]["value"]), (&json!("while busy"), &json!("x")));
    }

    #[test]
    fn a_huge_line_does_not_keep_its_buffer_for_the_threads_life() {
        let huge = "x".repeat(100 * 1024);
        let lines = lines_of(|| tracing::info!(value = %huge, "huge"));
        assert_eq!(lines[0]["value"].as_str().map(str::len), Some(huge.len()), "the line is written whole");
        let capacity = LINE.with(|line| line.borrow().capacity());
        assert!(capacity <= 64 * 1024, "the thread's buffer is let go after a huge line, yet it keeps {capacity} bytes");
    }

    #[test]
    fn the_timestamp_is_rfc3339_in_utc_to_the_microsecond() {
        let mut out = String::new();
        let at = std::time::UNIX_EPOCH + std::time::Duration::new(1_795_392_000 + 3_600 * 14 + 60 * 5 + 9, 123_456_789);
        rfc3339_micros(&mut out, at);
        assert_eq!(out, "2026-11-23T14:05:09.123456Z");
        out.clear();
        rfc3339_micros(&mut out, std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400));
        assert_eq!(out, "2000-02-29T00:00:00.000000Z");
    }
}
