//! The example API's client: one named method per API method, in the shape of the Blue Canvas
//! seed's SDK (`client.deployments().put_check(…)`). Authentication, token renewal, retries
//! and pagination come from `tessera-client`.
//!
//! ```no_run
//! # async fn run() -> Result<(), tessera_client::Error> {
//! use tessera_example_client::{CheckInput, ExampleClient, PutCheck};
//!
//! let client = ExampleClient::from_env("http://127.0.0.1:3000", "http://127.0.0.1:8080")?;
//! let check = client
//!     .deployments()
//!     .put_check(&PutCheck {
//!         deployment_number: 293,
//!         name: "wall-e".into(),
//!         check: CheckInput { state: "DONE".into(), result: Some("SUCCESS".into()), description: Some("spiffy".into()) },
//!     })
//!     .await?;
//! # Ok(()) }
//! ```

use futures_util::Stream;
use serde::{Deserialize, Serialize};
pub use tessera_client::{Client, Error};

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub created_by: String,
}

/// A deployment check as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub deployment_number: u64,
    pub name: String,
    pub state: String,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub updated_by: String,
}

/// The state to set on a check: `state` is `PENDING`, `IN_PROGRESS` or `DONE`; a `DONE` check
/// has a `result` (`SUCCESS`, `FAILURE`, `ERROR`, `NEUTRAL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInput {
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The arguments of `deployments.putCheck`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutCheck {
    pub deployment_number: u64,
    pub name: String,
    pub check: CheckInput,
}

/// The example API's client.
#[derive(Debug, Clone)]
pub struct ExampleClient {
    client: Client,
}

impl ExampleClient {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A client of the API at `api_url` with tokens from `issuer`, credentials from
    /// `TESSERA_CLIENT_ID` and `TESSERA_CLIENT_SECRET`.
    pub fn from_env(api_url: &str, issuer: &str) -> Result<Self, Error> {
        Ok(Self::new(Client::builder(api_url).issuer(issuer).client_credentials_from_env("TESSERA")?.build()?))
    }

    /// The underlying HTTP client (token cache, retries, stats).
    pub fn http(&self) -> &Client {
        &self.client
    }

    pub fn projects(&self) -> Projects<'_> {
        Projects { client: &self.client }
    }

    pub fn deployments(&self) -> Deployments<'_> {
        Deployments { client: &self.client }
    }
}

/// `projects.*`
#[derive(Debug, Clone, Copy)]
pub struct Projects<'c> {
    client: &'c Client,
}

impl Projects<'_> {
    /// `GET /projects`: every project, page after page.
    pub fn list(&self) -> impl Stream<Item = Result<Project, Error>> + Send + use<> {
        self.client.paginate("/projects")
    }

    /// `GET /projects?limit=`: every project, asking for pages of `limit`.
    pub fn list_paged(&self, limit: u32) -> impl Stream<Item = Result<Project, Error>> + Send + use<> {
        self.client.paginate(&format!("/projects?limit={limit}"))
    }

    /// `POST /projects`.
    pub async fn create(&self, name: &str) -> Result<Project, Error> {
        self.client.post_json("/projects", &serde_json::json!({ "name": name })).await
    }
}

/// `deployments.*`
#[derive(Debug, Clone, Copy)]
pub struct Deployments<'c> {
    client: &'c Client,
}

fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

impl Deployments<'_> {
    /// `PUT /deployments/{n}/checks/{name}`: creates or updates a check.
    pub async fn put_check(&self, args: &PutCheck) -> Result<Check, Error> {
        self.client.put_json(&format!("/deployments/{}/checks/{}", args.deployment_number, segment(&args.name)), &args.check).await
    }

    /// `GET /deployments/{n}/checks`: every check of the deployment, page after page.
    pub async fn list_checks(&self, deployment_number: u64) -> Result<Vec<Check>, Error> {
        self.client.all(&format!("/deployments/{deployment_number}/checks")).await
    }
}
