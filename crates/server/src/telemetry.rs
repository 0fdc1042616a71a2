//! Logs and traces (SPEC §14): `tracing` everywhere, written as text by `tracing-subscriber` or
//! as JSON by [`json_log`], through `tracing-appender`'s writer thread (a request never waits
//! for stderr), and, with `--otlp-endpoint`, exported as OpenTelemetry traces over OTLP/HTTP.
//!
//! Targets:
//! - [`REQUEST`]: the span of every request (request id, method, path, peer; the client id once
//!   known), so every log line of a request carries its id; [`ACCESS`]: the access log line.
//! - [`SPANS`]: the spans inside a request that only traces want (store calls, password
//!   hashing, signing, outbound fetches). The log never enables them, so without
//!   `--otlp-endpoint` no subscriber is interested and each costs one cached check.

mod json_log;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The target of the span every request runs in.
pub const REQUEST: &str = "tessera::request";
/// The target of the access log line.
pub const ACCESS: &str = "tessera::access";
/// The target of the spans only traces want (re-exported by the service, which makes most).
pub const SPANS: &str = tessera_service::TRACE_SPANS;

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// For people: one line per event, the request's span fields in front.
    Text,
    /// For a log collector: one JSON object per line.
    Json,
}

impl LogFormat {
    /// `--log-format`; without it, text when stderr is a terminal, else JSON.
    pub fn choose(given: Option<&str>) -> anyhow::Result<Self> {
        match given.map(str::to_ascii_lowercase).as_deref() {
            Some("json") => Ok(LogFormat::Json),
            Some("text") => Ok(LogFormat::Text),
            Some(other) => bail!("log_format {other:?} is not json or text"),
            None if std::io::IsTerminal::is_terminal(&std::io::stderr()) => Ok(LogFormat::Text),
            None => Ok(LogFormat::Json),
        }
    }
}

/// What [`init`] needs.
#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    /// The log filter (`--log`), e.g. `info` or `info,tessera::access=off`.
    pub filter: String,
    pub format: LogFormat,
    /// `--otlp-endpoint`: the collector's OTLP/HTTP address.
    pub otlp_endpoint: Option<String>,
}

impl TelemetrySettings {
    /// From the configuration; the filter's default is `info` for `serve`, `warn` for the other
    /// commands (whose output is their answer).
    pub fn of(config: &crate::config::Config, serving: bool) -> anyhow::Result<Self> {
        let filter = config.log.clone().unwrap_or_else(|| if serving { "info" } else { "warn" }.into());
        let otlp_endpoint = if serving { config.otlp_endpoint.clone() } else { None };
        if let Some(endpoint) = &otlp_endpoint {
            traces_url(endpoint)?;
        }
        Ok(TelemetrySettings { filter, format: LogFormat::choose(config.log_format.as_deref())?, otlp_endpoint })
    }
}

/// Keeps the log writer and the trace exporter running; dropping it writes what is buffered
/// and sends the last spans.
#[must_use = "logs and traces stop when this is dropped"]
pub struct Telemetry {
    _log: tracing_appender::non_blocking::WorkerGuard,
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").field("traces", &self.traces.is_some()).finish_non_exhaustive()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("could not send the last traces: {e}");
        }
    }
}

static DROPPED_LINES: OnceLock<tracing_appender::non_blocking::ErrorCounter> = OnceLock::new();
static TRACES_ON: AtomicBool = AtomicBool::new(false);

/// Log lines dropped because stderr could not keep up (the writer's queue was full).
pub fn log_lines_dropped() -> u64 {
    DROPPED_LINES.get().map_or(0, |counter| counter.dropped_lines() as u64)
}

/// Whether traces are exported (the request span then also gets the names traces show).
pub fn traces_on() -> bool {
    TRACES_ON.load(Ordering::Relaxed)
}

/// Starts the log, and the trace exporter when an endpoint is set. Call once, before any
/// runtime starts (the exporter's HTTP client runs on a thread of its own).
pub fn init(settings: &TelemetrySettings) -> anyhow::Result<Telemetry> {
    // Lines are dropped, never waited for, when stderr falls that far behind (counted). The
    // writer's thread writes what is queued through a buffer and flushes whenever the queue is
    // empty: under load one write(2) carries many lines instead of one each (a fifth of the
    // token endpoint's throughput on 2 cores, bench/README.md), and an idle server's line is out
    // at once.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(64 * 1024)
        .lossy(true)
        .finish(std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    let _ = DROPPED_LINES.set(writer.error_counter());
    let log = match LogFilter::parse(&settings.filter)? {
        LogFilter::Targets(filter) => log_layer(settings.format, writer, filter),
        LogFilter::Env(filter) => log_layer(settings.format, writer, *filter),
    };
    let (traces, provider) = match &settings.otlp_endpoint {
        Some(endpoint) => {
            let provider = tracer_provider(endpoint)?;
            let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "tessera");
            let wanted = Targets::new().with_target(REQUEST, LevelFilter::INFO).with_target(SPANS, LevelFilter::TRACE);
            TRACES_ON.store(true, Ordering::Relaxed);
            (Some(tracing_opentelemetry::layer().with_tracer(tracer).with_filter(wanted)), Some(provider))
        }
        None => (None, None),
    };
    tracing_subscriber::registry().with(log).with(traces).try_init().context("the log was started twice")?;
    Ok(Telemetry { _log: guard, traces: provider })
}

/// The log's filter. `--log` directives that name only targets and levels are a `Targets`
/// filter, decided once per call site: an `EnvFilter` keeps a table of spans behind locks that
/// every span's creation, enter and exit take (a lock word every core writes several times per
/// request). Directives on spans or fields (`[request]=debug`, `{client_id=…}`) need the
/// `EnvFilter`, and get it. Either way the spans only traces want never reach the log.
#[derive(Debug)]
enum LogFilter {
    Targets(Targets),
    Env(Box<EnvFilter>),
}

impl LogFilter {
    fn parse(given: &str) -> anyhow::Result<Self> {
        let spec = format!("{given},{SPANS}=off");
        if !spec.contains(['[', '{'])
            && let Ok(targets) = spec.parse::<Targets>()
        {
            return Ok(Self::Targets(targets));
        }
        Ok(Self::Env(Box::new(EnvFilter::try_new(spec).context("invalid --log filter")?)))
    }
}

/// The log layer in `format`, writing to `writer`, filtered by `filter`.
fn log_layer<F>(
    format: LogFormat,
    writer: tracing_appender::non_blocking::NonBlocking,
    filter: F,
) -> Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>
where
    F: tracing_subscriber::layer::Filter<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => json_log::JsonLog::new(writer).with_filter(filter).boxed(),
    }
}

/// The OTLP/HTTP exporter, batching spans on a thread of its own.
fn tracer_provider(endpoint: &str) -> anyhow::Result<opentelemetry_sdk::trace::SdkTracerProvider> {
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    let url = traces_url(endpoint)?;
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot make the trace exporter's HTTP client")?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(BlockingHttp(client))
        .with_endpoint(url)
        .with_timeout(std::time::Duration::from_secs(10))
        .build()
        .context("cannot make the trace exporter")?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("tessera").build();
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

/// `--otlp-endpoint`: the collector's base address gets the traces path (`/v1/traces`), as
/// OTLP's own `OTEL_EXPORTER_OTLP_ENDPOINT` does; an address that names it is used as it is.
fn traces_url(endpoint: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(endpoint).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    let Some(url) = url else { bail!("otlp_endpoint {endpoint:?} is not an http or https URL") };
    let text = url.as_str().trim_end_matches('/');
    Ok(if url.path().trim_end_matches('/').ends_with("/v1/traces") { text.to_owned() } else { format!("{text}/v1/traces") })
}

/// The exporter's HTTP client: reqwest's blocking client, on the batch exporter's own thread
/// (outside any runtime, where a blocking call is allowed).
#[derive(Debug)]
struct BlockingHttp(reqwest::blocking::Client);

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for BlockingHttp {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<opentelemetry_http::Response<opentelemetry_http::Bytes>, opentelemetry_http::HttpError> {
        let request = reqwest::blocking::Request::try_from(request.map(reqwest::blocking::Body::from))?;
        let response = self.0.execute(request)?;
        let mut answer = opentelemetry_http::Response::builder().status(response.status().as_u16());
        for (name, value) in response.headers() {
            answer = answer.header(name.as_str(), value.as_bytes());
        }
        // A collector's answer is small; more than 64 KiB is cut.
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(response, 64 * 1024), &mut body)?;
        Ok(answer.body(opentelemetry_http::Bytes::from(body))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(traces_url("http://127.0.0.1:4318").unwrap(), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(traces_url("http://127.0.0.1:4318/").unwrap(), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(traces_url("https://otel.example/v1/traces").unwrap(), "https://otel.example/v1/traces");
        assert_eq!(traces_url("https://otel.example/prefix").unwrap(), "https://otel.example/prefix/v1/traces");
        assert!(traces_url("otel.example:4318").is_err());
        assert!(traces_url("ftp://otel.example").is_err());
    }

    #[test]
    fn the_format_is_json_or_text() {
        assert_eq!(LogFormat::choose(Some("JSON")).unwrap(), LogFormat::Json);
        assert_eq!(LogFormat::choose(Some("text")).unwrap(), LogFormat::Text);
        assert!(LogFormat::choose(Some("xml")).is_err());
    }

    #[test]
    fn targets_and_levels_make_a_lock_free_filter_and_span_directives_an_env_filter() {
        for spec in ["info", "info,tessera::access=off", "warn,tessera=debug", "off"] {
            assert!(matches!(LogFilter::parse(spec).unwrap(), LogFilter::Targets(_)), "{spec}");
        }
        let LogFilter::Targets(targets) = LogFilter::parse("info,tessera::access=off").unwrap() else { unreachable!() };
        assert!(targets.would_enable(REQUEST, &tracing::Level::INFO));
        assert!(!targets.would_enable(ACCESS, &tracing::Level::INFO), "the access log turned off");
        assert!(!targets.would_enable(SPANS, &tracing::Level::INFO), "the trace-only spans never reach the log");
        assert!(!targets.would_enable("hyper", &tracing::Level::DEBUG));
        for spec in ["info,[request]=debug", "info,[{client_id=abc}]=debug"] {
            assert!(matches!(LogFilter::parse(spec).unwrap(), LogFilter::Env(_)), "{spec}");
        }
        assert!(LogFilter::parse("info,tessera=loud").is_err(), "a bad level is refused, as before");
    }
}
