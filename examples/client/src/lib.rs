//! The example API's Rust client, generated from its OpenAPI document (`../api/openapi.json`) by
//! progenitor at every build (`build.rs`): one named method per operation, grouped by tag in
//! extension traits (`ClientDeploymentsExt::put_check`, `ClientProjectsExt::list`), with typed
//! bodies and answers in [`types`]. A changed document changes the client; code that no longer
//! fits fails to compile.
//!
//! Every request goes through `tessera-client`'s [`TesseraAuth`] middleware (the hook below):
//! tokens by client credentials, a refresh token or a given token; renewal after a 401; retries
//! of 429 and 5xx with backoff and `Retry-After`. A company does the same for its own API with
//! its own document and these few lines (README, "SDKs for your API").
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tessera_example_client::prelude::*;
//! use tessera_example_client::types::{CheckInput, CheckResult, CheckState};
//!
//! let auth = tessera_client::TesseraAuth::builder()
//!     .issuer("https://id.example.com")
//!     .client_credentials_from_env("TESSERA")? // TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET
//!     .build()?;
//! let api = tessera_example_client::connect("https://api.example.com", auth)?;
//! let check = api
//!     .put_check()
//!     .deployment_number(293)
//!     .name("wall-e")
//!     .body(CheckInput { state: CheckState::Done, result: Some(CheckResult::Success), description: Some("spiffy".into()) })
//!     .send()
//!     .await?
//!     .into_inner();
//! # Ok(()) }
//! ```

use std::sync::Arc;

use futures_util::Stream;
pub use tessera_client::TesseraAuth;

#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used, clippy::panic, unused_imports, missing_docs)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/example_api.rs"));
}

pub use generated::*;

/// A client of the API at `base_url` whose requests `auth` authenticates.
pub fn connect(base_url: &str, auth: TesseraAuth) -> Result<Client, tessera_client::Error> {
    // No redirects: the bearer token must not travel to another server.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| tessera_client::Error::Config(format!("cannot build the HTTP client: {e}")))?;
    Ok(Client::new_with_client(base_url.trim_end_matches('/'), http, auth))
}

impl Client {
    /// The client's authentication: its tokens (`access_token`, `current_token`,
    /// `refresh_token`) and counters (`stats`).
    pub fn auth(&self) -> &TesseraAuth {
        self.inner()
    }
}

/// A failure of [`TesseraAuth`], on its way from `exec` to `post` (progenitor's `exec` can fail
/// only with a `reqwest::Error`, which nobody outside reqwest can make).
#[derive(Clone)]
struct AuthFailure(Arc<tessera_client::Error>);

/// Progenitor's hooks: every generated method sends through the middleware.
impl progenitor_client::ClientHooks<TesseraAuth> for Client {
    async fn exec(&self, request: reqwest::Request, _info: &progenitor_client::OperationInfo) -> reqwest::Result<reqwest::Response> {
        match self.inner().execute(self.client(), request).await {
            Ok(response) => Ok(response),
            Err(reqwest_middleware::Error::Reqwest(e)) => Err(e),
            Err(e) => {
                let mut stand_in = reqwest::Response::from(http::Response::new(Vec::<u8>::new()));
                stand_in.extensions_mut().insert(AuthFailure(Arc::new(tessera_client::Error::from_middleware(e))));
                Ok(stand_in)
            }
        }
    }

    /// A token the middleware could not get is the method's error: `Error::Custom` with the
    /// reason (`the token endpoint answered 401 invalid_client ...`).
    async fn post<E>(&self, result: &reqwest::Result<reqwest::Response>, _info: &progenitor_client::OperationInfo) -> Result<(), Error<E>> {
        match result.as_ref().ok().and_then(|r| r.extensions().get::<AuthFailure>()) {
            Some(AuthFailure(e)) => Err(Error::Custom(e.to_string())),
            None => Ok(()),
        }
    }
}

/// The error of a generated method, for streams of pages.
pub type ApiError = Error<types::Error>;

fn looped(why: String) -> ApiError {
    Error::InvalidRequest(why)
}

/// Every project, page after page (pages of `limit`), as one stream.
pub fn every_project(api: &Client, limit: u32) -> impl Stream<Item = Result<types::Project, ApiError>> + '_ {
    tessera_client::cursor_stream(
        move |cursor| async move {
            let mut request = api.list().limit(limit);
            if let Some(cursor) = cursor {
                request = request.cursor(cursor);
            }
            let page = request.send().await?.into_inner();
            Ok((page.items, page.next_cursor))
        },
        looped,
    )
}

/// Every check of a deployment, page after page, as one stream.
pub fn every_check(api: &Client, deployment_number: u64) -> impl Stream<Item = Result<types::Check, ApiError>> + '_ {
    tessera_client::cursor_stream(
        move |cursor| async move {
            let mut request = api.list_checks().deployment_number(deployment_number);
            if let Some(cursor) = cursor {
                request = request.cursor(cursor);
            }
            let page = request.send().await?.into_inner();
            Ok((page.items, page.next_cursor))
        },
        looped,
    )
}
