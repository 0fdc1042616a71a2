//! The example API as a program. Configuration comes from the environment:
//!
//! - `EXAMPLE_ISSUER` (required): the Tessera issuer URL;
//! - `EXAMPLE_FEED_CLIENT_ID`, `EXAMPLE_FEED_CLIENT_SECRET`: the client that reads the
//!   revocation feed (named in the server's `--revocation-feed-client`);
//! - `EXAMPLE_AUDIENCE` (default: the issuer), `EXAMPLE_LEEWAY_SECONDS` (default 60),
//!   `EXAMPLE_POLL_INTERVAL_MS` (default 5000), `EXAMPLE_MAX_STALENESS_SECONDS` (default 300);
//! - `EXAMPLE_QUOTA` as `REQUESTS/SECONDS` per client (default: none);
//! - `EXAMPLE_LISTEN` (default `127.0.0.1:3000`; port 0 picks one).
//!
//! It prints `listening on http://ADDRESS` once it serves.

use std::time::Duration;

use anyhow::Context;
use tessera_example_api::{Api, Quota, app};
use tessera_guard::{FeedCredentials, Guard, GuardConfig};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn number(name: &str, default: u64) -> anyhow::Result<u64> {
    env(name).map_or(Ok(default), |v| v.parse().with_context(|| format!("{name} must be a number")))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(env("EXAMPLE_LOG").unwrap_or_else(|| "info".into())).init();
    let issuer = env("EXAMPLE_ISSUER").context("EXAMPLE_ISSUER is required")?;
    let mut config = GuardConfig::new(issuer);
    if let Some(audience) = env("EXAMPLE_AUDIENCE") {
        config.audience = audience;
    }
    config.leeway = Duration::from_secs(number("EXAMPLE_LEEWAY_SECONDS", 60)?);
    config.poll_interval = Duration::from_millis(number("EXAMPLE_POLL_INTERVAL_MS", 5000)?);
    config.max_staleness = Duration::from_secs(number("EXAMPLE_MAX_STALENESS_SECONDS", 300)?);
    if let (Some(id), Some(secret)) = (env("EXAMPLE_FEED_CLIENT_ID"), env("EXAMPLE_FEED_CLIENT_SECRET")) {
        config.feed = Some(FeedCredentials::new(id, secret));
    }
    let quota = match env("EXAMPLE_QUOTA") {
        None => None,
        Some(text) => {
            let (requests, seconds) = text.split_once('/').context("EXAMPLE_QUOTA is REQUESTS/SECONDS")?;
            Some(Quota { requests: requests.parse()?, window: Duration::from_secs(seconds.parse()?) })
        }
    };
    let listen = env("EXAMPLE_LISTEN").unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    // The URL clients address this API by: DPoP proofs name it (htu).
    config.api_base_url = Some(
        env("EXAMPLE_BASE_URL")
            .unwrap_or_else(|| format!("http://{}", listener.local_addr().unwrap_or_else(|_| ([127, 0, 0, 1], 3000).into()))),
    );
    let guard = Guard::start(config).await.context("cannot start the guard")?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(Api::new(guard, quota))).await?;
    Ok(())
}
