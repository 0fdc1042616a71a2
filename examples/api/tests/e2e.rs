#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! End to end with real processes: `tessera serve` (started by the testkit), the example API
//! (its binary, guarding with `tessera-guard`), and the example clients (the Rust one, in
//! process and as its binary, and the Node SDK under `node --test`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use serde_json::Value;
use tessera_client::Client;
use tessera_example_client::prelude::*;
use tessera_example_client::types::{CheckInput, CheckResult, CheckState, NewProject};
use tessera_example_client::{TesseraAuth, every_check, every_project};
use tessera_testkit::agent::{Agent, challenge, response_params};
use tessera_testkit::{Cli, Server, TempDir, workspace_bin};

const SCOPES: [&str; 4] = ["projects:read", "projects:write", "deployments:read", "deployments:write"];
/// The guard's poll interval in these tests: the bound on how late a revocation is seen.
const POLL_MS: u64 = 100;

const OWNER_PASSWORD: &str = "owner password 1";
/// The redirect URI of the web client that gets the owner's tokens (never visited).
const REDIRECT_URI: &str = "https://app.example/cb";
const PKCE_VERIFIER: &str = "a-pkce-verifier-of-the-example-tests-0123456789";

/// Credentials of one client.
#[derive(Debug, Clone)]
struct Creds {
    id: String,
    secret: String,
}

/// Tessera with an organization, an owner, a client for the guard and one for a customer,
/// and the example API guarding with a short poll interval.
struct World {
    server: Server,
    api: Api,
    org: String,
    owner: String,
    owner_id: String,
    feed: Creds,
    customer: Creds,
    _dir: TempDir,
}

struct Api {
    base: String,
    child: Child,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tessera() -> PathBuf {
    workspace_bin("tessera", "tessera").expect("the tessera binary builds")
}

fn create_client(cli: &Cli, org: &str, owner: &str, name: &str, flags: &[&str]) -> Creds {
    let mut args = vec!["client", "create", "--org", org, "--owner", owner, "--name", name, "--grant", "client_credentials"];
    args.extend_from_slice(flags);
    let created = cli.json(&args).expect("client create");
    Creds { id: created["client_id"].as_str().unwrap().to_owned(), secret: created["client_secret"].as_str().unwrap().to_owned() }
}

impl World {
    fn start() -> World {
        World::start_with(&[])
    }

    /// `api_env`: extra environment of the example API (e.g. a quota).
    fn start_with(api_env: &[(&str, &str)]) -> World {
        let dir = TempDir::new("guard").unwrap();
        let cli = Cli { bin: tessera(), data_dir: dir.path().join("data"), global: vec![], env: vec![] };
        std::fs::create_dir_all(&cli.data_dir).unwrap();
        let org = "acme".to_owned();
        cli.json(&["org", "create", "--name", &org]).unwrap();
        for scope in SCOPES {
            cli.json(&["scope", "create", "--org", &org, scope]).unwrap();
        }
        let owner = "owner@acme.test".to_owned();
        let created = cli
            .json_with_stdin(
                &["user", "create", "--org", &org, "--email", &owner, "--role", "owner", "--password-stdin"],
                &format!("{OWNER_PASSWORD}\n"),
            )
            .unwrap();
        let owner_id = created["id"].as_str().unwrap().to_owned();
        // A second owner, so that the tests may disable the first (an organization keeps one).
        cli.json(&["user", "create", "--org", &org, "--email", "co-owner@acme.test", "--role", "owner"]).unwrap();
        let feed = create_client(&cli, &org, &owner, "api-guard", &["--scope", "projects:read"]);
        let scope_flags: Vec<&str> = SCOPES.iter().flat_map(|s| ["--scope", s]).collect();
        let customer = create_client(&cli, &org, &owner, "ci-script", &scope_flags);
        let server = Server::start_in(cli, &["--leeway".into(), "0".into(), "--revocation-feed-client".into(), feed.id.clone()]).unwrap();
        let api = start_api(&server.base, &feed, api_env);
        World { server, api, org, owner, owner_id, feed, customer, _dir: dir }
    }

    /// A member of the organization (not the owner the clients act for), a web client with the
    /// code and refresh grants, and a refresh token of the member's for it: signed in and
    /// consented through Tessera's pages, as a browser would. Returns the client, the refresh
    /// token and the member's id.
    async fn user_refresh_token(&self) -> (Creds, String, String) {
        let email = "dev@acme.test";
        let member = self
            .server
            .cli
            .json_with_stdin(
                &["user", "create", "--org", &self.org, "--email", email, "--role", "member", "--password-stdin"],
                "member password 1\n",
            )
            .unwrap();
        let mut args = vec!["client", "create", "--org", &self.org, "--owner", &self.owner, "--name", "web-app"];
        args.extend(["--grant", "authorization_code", "--grant", "refresh_token", "--redirect-uri", REDIRECT_URI]);
        args.extend(SCOPES.iter().flat_map(|s| ["--scope", s]));
        let created = self.server.cli.json(&args).expect("client create");
        let web =
            Creds { id: created["client_id"].as_str().unwrap().to_owned(), secret: created["client_secret"].as_str().unwrap().to_owned() };
        let mut agent = Agent::new(&self.server);
        assert_eq!(agent.login(email, "member password 1").await.status(), 303, "the member signs in");
        let query = format!(
            "response_type=code&client_id={}&redirect_uri={}&state=s&scope={}&code_challenge={}&code_challenge_method=S256",
            web.id,
            "https%3A%2F%2Fapp.example%2Fcb",
            SCOPES.join("+"),
            challenge(PKCE_VERIFIER)
        );
        let redirect = agent.authorize(&query, "allow").await;
        let code = response_params(&redirect).remove("code").unwrap_or_else(|| panic!("no code in {redirect}"));
        let response = reqwest::Client::new()
            .post(self.server.url("/oauth2/token"))
            .basic_auth(&web.id, Some(&web.secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", PKCE_VERIFIER),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let tokens: Value = response.json().await.unwrap();
        let refresh = tokens["refresh_token"].as_str().unwrap_or_else(|| panic!("no refresh token in {tokens}")).to_owned();
        (web, refresh, member["id"].as_str().unwrap().to_owned())
    }

    /// Revokes `token` (as `creds`) and waits until the API refuses it.
    async fn revoke(&self, creds: &Creds, token: &str) {
        let revoked = reqwest::Client::new()
            .post(self.server.url("/oauth2/revoke"))
            .basic_auth(&creds.id, Some(&creds.secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);
        assert!(
            eventually(WITHIN, || async { self.projects_with(token).await.0 == 401 }).await,
            "the guard never refused the revoked token"
        );
    }

    /// What introspection says of `token`, asked by the guard's client.
    async fn introspect(&self, token: &str) -> Value {
        let response = reqwest::Client::new()
            .post(self.server.url("/oauth2/introspect"))
            .basic_auth(&self.feed.id, Some(&self.feed.secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    fn client(&self, creds: &Creds) -> Client {
        Client::builder(&self.api.base).issuer(&self.server.base).client_credentials(&creds.id, &creds.secret).build().unwrap()
    }

    /// The example API's generated client, authenticated as `creds` (client credentials).
    fn generated(&self, creds: &Creds) -> tessera_example_client::Client {
        let auth = TesseraAuth::builder().issuer(&self.server.base).client_credentials(&creds.id, &creds.secret).build().unwrap();
        tessera_example_client::connect(&self.api.base, auth).unwrap()
    }

    fn example(&self) -> tessera_example_client::Client {
        self.generated(&self.customer)
    }

    async fn token(&self, creds: &Creds) -> String {
        let response = reqwest::Client::new()
            .post(self.server.url("/oauth2/token"))
            .basic_auth(&creds.id, Some(&creds.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
    }

    /// `GET /projects` with `token`: the status and the `WWW-Authenticate` header.
    async fn projects_with(&self, token: &str) -> (u16, Option<String>) {
        let response = reqwest::Client::new().get(format!("{}/projects", self.api.base)).bearer_auth(token).send().await.unwrap();
        let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), challenge)
    }

    async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.api.base)).await.unwrap().text().await.unwrap()
    }
}

fn start_api(issuer: &str, feed: &Creds, extra: &[(&str, &str)]) -> Api {
    let poll = POLL_MS.to_string();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera-example-api"));
    command
        .env("EXAMPLE_ISSUER", issuer)
        .env("EXAMPLE_FEED_CLIENT_ID", &feed.id)
        .env("EXAMPLE_FEED_CLIENT_SECRET", &feed.secret)
        .env("EXAMPLE_POLL_INTERVAL_MS", &poll)
        .env("EXAMPLE_LEEWAY_SECONDS", "0")
        .env("EXAMPLE_LISTEN", "127.0.0.1:0")
        .envs(extra.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("the example API starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a line from the example API").unwrap();
    let base = first.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {first:?}")).to_owned();
    // Keep draining stdout so the API never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Api { base, child }
}

/// Polls `check` until it holds or `timeout` passes; never asserts on timing.
async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Generous: the guard polls every `POLL_MS`; this only bounds a broken implementation.
const WITHIN: Duration = Duration::from_secs(15);

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_client_puts_checks_and_lists_them() {
    let world = World::start();
    let api = world.example();
    let check = api
        .put_check()
        .deployment_number(293)
        .name("wall-e")
        .body(CheckInput {
            state: CheckState::Done,
            result: Some(CheckResult::Success),
            description: Some("The results are in, everything looks spiffy.".into()),
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((check.deployment_number, check.state, check.result), (293, CheckState::Done, Some(CheckResult::Success)));
    assert_eq!(check.updated_by, world.customer.id, "the guard handed the token's client id to the handler");
    let checks: Vec<_> = every_check(&api, 293).try_collect().await.unwrap();
    assert_eq!(checks, vec![check]);
    // An answer the document declares comes back typed.
    let refused = api
        .put_check()
        .deployment_number(1)
        .name("x")
        .body(CheckInput { state: CheckState::Done, result: None, description: None })
        .send()
        .await
        .unwrap_err();
    match &refused {
        tessera_example_client::Error::ErrorResponse(answer) => {
            assert_eq!((answer.status().as_u16(), answer.error.as_str()), (400, "invalid_request"));
        }
        other => panic!("{other}"),
    }
    assert_eq!(api.auth().stats().tokens_fetched, 1, "one cached token served every call");
    assert!(api.auth().current_token().await.is_some(), "the client exposes the token it holds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_returns_every_item_exactly_once() {
    let world = World::start();
    let api = world.example();
    let mut created = Vec::new();
    for n in 0..23 {
        created.push(api.create().body(NewProject { name: format!("project {n}") }).send().await.unwrap().into_inner().id);
    }
    let listed: Vec<String> = every_project(&api, 5).map_ok(|p| p.id).try_collect().await.unwrap();
    assert_eq!(listed, created, "every project once, in order, over five pages");
    // tessera-client's own Client follows the Link header.
    let by_link: Vec<Value> = world.client(&world.customer).all("/projects?limit=7").await.unwrap();
    assert_eq!(by_link.len(), 23);
    // Checks are paginated by next_cursor only, in pages of ten.
    let mut names = Vec::new();
    for n in 0..23 {
        let name = format!("check-{n:02}");
        let pending = CheckInput { state: CheckState::Pending, result: None, description: None };
        api.put_check().deployment_number(5).name(name.clone()).body(pending).send().await.unwrap();
        names.push(name);
    }
    let listed: Vec<String> = every_check(&api, 5).map_ok(|c| c.name).try_collect().await.unwrap();
    assert_eq!(listed, names, "every check once, over three pages followed by cursor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_rfc6750_answers() {
    let world = World::start();
    let response = reqwest::get(format!("{}/projects", world.api.base)).await.unwrap();
    assert_eq!(response.status(), 401);
    // V09: plain challenges, no error; the API takes DPoP-bound tokens too (RFC 9449 §7.1).
    let challenges: Vec<_> = response.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert_eq!(challenges, ["Bearer realm=\"api\"", "DPoP algs=\"ES256 EdDSA RS256 PS256\""]);
    let (status, challenge) = world.projects_with("not.a.jwt").await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().starts_with("Bearer realm=\"api\", error=\"invalid_token\""));
    // A token of the feed client holds projects:read only.
    let narrow = world.token(&world.feed).await;
    assert_eq!(world.projects_with(&narrow).await.0, 200);
    let response = reqwest::Client::new()
        .post(format!("{}/projects", world.api.base))
        .bearer_auth(&narrow)
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"projects:write\"",
        "V15"
    );
    // A token forged with a key of our own is refused: the guard trusts the issuer's JWKS only.
    let (key, _) = tessera_jose::SigningKey::generate(tessera_jose::Algorithm::ES256).unwrap();
    let forged = key.sign("at+jwt", &claims_of(&narrow)).unwrap();
    assert_eq!(world.projects_with(&forged).await.0, 401);
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_within_the_poll_interval_and_the_client_renews() {
    let world = World::start();
    let client = world.client(&world.customer);
    let token = client.access_token().await.unwrap();
    assert_eq!(world.projects_with(&token).await.0, 200);
    world.revoke(&world.customer, &token).await;
    // The client still holds the revoked token: it gets a 401, renews once, and succeeds.
    let projects: Value = client.get_json("/projects").await.unwrap();
    assert!(projects["items"].is_array());
    let stats = client.stats();
    assert_eq!((stats.renewals_after_401, stats.tokens_fetched), (1, 2), "{stats:?}");
    assert!(metric(&world.metrics().await, "tessera_guard_requests_total{outcome=\"invalid_token\",reason=\"revoked\"}").unwrap() >= 1.0);
}

/// The generated client with a user's refresh token (kept rotated, and used again after the
/// access token is revoked) and with a token the caller has (`Bearer ` prefix and all; never
/// renewed, so its revocation is the answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_client_with_a_users_refresh_token_and_with_a_given_token() {
    let world = World::start();
    let (web, first, member_id) = world.user_refresh_token().await;
    let auth = TesseraAuth::builder().issuer(&world.server.base).refresh_token(&web.id, Some(web.secret.clone()), &first).build().unwrap();
    let api = tessera_example_client::connect(&world.api.base, auth).unwrap();
    let project = api.create().body(NewProject { name: "by a user".into() }).send().await.unwrap().into_inner();
    assert_eq!(project.created_by, member_id, "the API sees the user");
    let rotated = api.auth().refresh_token().await.unwrap();
    assert_ne!(rotated, first, "the refresh token rotated, and the client keeps the newest");
    world.revoke(&web, &api.auth().current_token().await.unwrap()).await;
    api.create().body(NewProject { name: "again".into() }).send().await.unwrap();
    assert_eq!(api.auth().stats().renewals_after_401, 1);
    assert_ne!(api.auth().refresh_token().await.unwrap(), rotated);

    let token = world.token(&world.customer).await;
    let given = TesseraAuth::builder().bearer_token(&format!("Bearer {token}")).unwrap().build().unwrap();
    let api = tessera_example_client::connect(&world.api.base, given).unwrap();
    assert_eq!(api.auth().current_token().await.as_deref(), Some(token.as_str()), "the prefix is dropped");
    let project = api.create().body(NewProject { name: "given".into() }).send().await.unwrap().into_inner();
    assert_eq!(project.created_by, world.owner_id, "a client-credentials token acts for the client's owner");
    world.revoke(&world.customer, &token).await;
    match api.create().body(NewProject { name: "x".into() }).send().await.unwrap_err() {
        tessera_example_client::Error::ErrorResponse(answer) => {
            assert_eq!((answer.status().as_u16(), answer.error.as_str()), (401, "invalid_token"));
        }
        other => panic!("{other}"),
    }
    assert_eq!(api.auth().stats().tokens_fetched, 0, "a given token is never renewed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_client_is_refused_and_works_again_once_enabled() {
    let world = World::start();
    let token = world.token(&world.customer).await;
    assert_eq!(world.projects_with(&token).await.0, 200);
    world.server.cli.json(&["client", "disable", &world.customer.id]).unwrap();
    assert!(eventually(WITHIN, || async { world.projects_with(&token).await.0 == 401 }).await, "the disabled client's token still passes");
    // Renewal cannot help: the token endpoint refuses the client too, and the SDK says so.
    let error = world.client(&world.customer).post_json::<_, Value>("/projects", &serde_json::json!({"name": "x"})).await.unwrap_err();
    assert!(matches!(&error, tessera_client::Error::Auth { status: 401, error, .. } if error == "invalid_client"), "{error}");
    // The generated client reports the same reason (progenitor's hook errors are text).
    let error = world.example().create().body(NewProject { name: "x".into() }).send().await.unwrap_err();
    assert!(matches!(&error, tessera_example_client::Error::Custom(why) if why.contains("401 invalid_client")), "{error}");
    world.server.cli.json(&["client", "enable", &world.customer.id]).unwrap();
    assert!(eventually(WITHIN, || async { world.projects_with(&token).await.0 == 200 }).await, "the enabled client's token stays refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_is_refused() {
    let world = World::start();
    let token = world.token(&world.customer).await;
    assert_eq!(world.projects_with(&token).await.0, 200);
    world.server.cli.json(&["user", "disable", &world.owner]).unwrap();
    assert!(eventually(WITHIN, || async { world.projects_with(&token).await.0 == 401 }).await, "the disabled user's token still passes");
    let metrics = world.metrics().await;
    assert!(metric(&metrics, "tessera_guard_denylist_entries{kind=\"user\"}").unwrap() >= 1.0, "{metrics}");
}

/// A lowered role ends the user's earlier tokens at the guard as at introspection: the feed
/// carries the cutoff (the second review's finding 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lowered_role_is_refused_by_the_guard_as_at_introspection() {
    let world = World::start();
    let token = world.token(&world.customer).await;
    assert_eq!(world.projects_with(&token).await.0, 200);
    world.server.cli.json(&["user", "update", &world.owner, "--role", "member"]).unwrap();
    assert!(eventually(WITHIN, || async { world.projects_with(&token).await.0 == 401 }).await, "the demoted user's token still passes");
    let introspected = world.introspect(&token).await;
    assert_eq!(introspected["active"], false, "{introspected}");
    // A token issued after the change works (from the next whole second on: `iat` counts seconds).
    assert!(
        eventually(WITHIN, || async { world.projects_with(&world.token(&world.customer).await).await.0 == 200 }).await,
        "a token issued after the change is refused"
    );
}

/// A scope made restricted ends the members' earlier tokens at the guard as at introspection
/// (a member's token with a scope they may no longer hold is inactive there); an owner's stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_made_restricted_is_refused_by_the_guard_as_at_introspection() {
    let world = World::start();
    let cli = &world.server.cli;
    cli.json(&["user", "create", "--org", &world.org, "--email", "dev@acme.test", "--role", "member"]).unwrap();
    let members_client = create_client(cli, &world.org, "dev@acme.test", "dev-script", &["--scope", "projects:read"]);
    let members_token = world.token(&members_client).await;
    let owners_token = world.token(&world.customer).await;
    assert_eq!(world.projects_with(&members_token).await.0, 200);
    cli.json(&["scope", "update", "--org", &world.org, "projects:read", "--restricted", "true"]).unwrap();
    assert!(
        eventually(WITHIN, || async { world.projects_with(&members_token).await.0 == 401 }).await,
        "the member's token with a now-restricted scope still passes"
    );
    let introspected = world.introspect(&members_token).await;
    assert_eq!(introspected["active"], false, "{introspected}");
    assert_eq!(world.projects_with(&owners_token).await.0, 200, "an owner may hold it: their token stays");
}

/// A scope taken from a client's registration ends the tokens it got before, at the guard as at
/// introspection (the feed's client cutoff); a token got afterwards works, with what is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_taken_from_a_client_ends_its_earlier_tokens_at_the_guard() {
    let world = World::start();
    let token = world.token(&world.customer).await;
    assert_eq!(world.projects_with(&token).await.0, 200);
    world.server.cli.json(&["client", "update", &world.customer.id, "--scope", "projects:read"]).unwrap();
    assert!(eventually(WITHIN, || async { world.projects_with(&token).await.0 == 401 }).await, "the earlier token still passes");
    assert_eq!(world.introspect(&token).await["active"], false);
    assert!(
        metric(&world.metrics().await, "tessera_guard_requests_total{outcome=\"invalid_token\",reason=\"client_changed\"}").unwrap() >= 1.0
    );
    assert!(
        eventually(WITHIN, || async { world.projects_with(&world.token(&world.customer).await).await.0 == 200 }).await,
        "a token got after the change is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_renewed_transparently() {
    let world = World::start();
    let short = {
        let cli = &world.server.cli;
        let flags: Vec<&str> = SCOPES.iter().flat_map(|s| ["--scope", s]).chain(["--access-token-ttl", "1"]).collect();
        create_client(cli, &world.org, &world.owner, "short-lived", &flags)
    };
    let client = world.generated(&short);
    let first = client.auth().access_token().await.unwrap();
    // Keep calling until the token has been replaced twice; every call must succeed.
    let mut calls = 0;
    assert!(
        eventually(WITHIN, || {
            calls += 1;
            let client = client.clone();
            async move {
                client.create().body(NewProject { name: "p".into() }).send().await.unwrap();
                client.auth().stats().tokens_fetched >= 3
            }
        })
        .await
    );
    assert!(calls > 2);
    // The first token expires (a second after it was issued) and the guard then refuses it.
    assert!(eventually(WITHIN, || async { world.projects_with(&first).await.0 == 401 }).await, "the expired token still passes");
    assert!(metric(&world.metrics().await, "tessera_guard_requests_total{outcome=\"invalid_token\",reason=\"expired\"}").unwrap() >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_the_retry_after_wait() {
    let world = World::start_with(&[("EXAMPLE_QUOTA", "2/1")]);
    let api = world.example();
    for n in 0..6 {
        let pending = CheckInput { state: CheckState::Pending, result: None, description: None };
        api.put_check().deployment_number(7).name(format!("check-{n}")).body(pending).send().await.unwrap();
    }
    let checks: Vec<_> = every_check(&api, 7).try_collect().await.unwrap();
    assert_eq!(checks.len(), 6);
    let metrics = world.metrics().await;
    assert!(metric(&metrics, "example_throttled_total").unwrap() >= 1.0, "the quota was never hit: {metrics}");
    assert_eq!(metric(&metrics, "example_early_retries_total"), Some(0.0), "a retry came back before Retry-After: {metrics}");
    assert!(api.auth().stats().retries >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_works_on_its_cache_while_the_issuer_is_down() {
    let mut world = World::start();
    let token = world.token(&world.customer).await;
    assert_eq!(world.projects_with(&token).await.0, 200);
    assert_eq!(metric(&world.metrics().await, "tessera_guard_feed_up"), Some(1.0));
    world.server.terminate(Duration::from_secs(10)).unwrap();
    assert!(
        eventually(WITHIN, || async { metric(&world.metrics().await, "tessera_guard_feed_up") == Some(0.0) }).await,
        "the metrics never said the feed was down"
    );
    assert_eq!(world.projects_with(&token).await.0, 200, "a valid token still passes on the cached keys and denylist");
    assert!(metric(&world.metrics().await, "tessera_guard_feed_failures_total").unwrap() >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_revocation_feed_is_for_listed_clients_and_incremental() {
    let world = World::start();
    let http = reqwest::Client::new();
    let read = |creds: &Creds, after: Option<&str>| {
        let mut request = http.get(world.server.url("/oauth2/revocations")).basic_auth(&creds.id, Some(&creds.secret));
        if let Some(after) = after {
            request = request.query(&[("after", after)]);
        }
        request.send()
    };
    let refused = read(&world.customer, None).await.unwrap();
    assert_eq!(refused.status(), 403, "only clients named in --revocation-feed-client read the feed");
    let anonymous = http.get(world.server.url("/oauth2/revocations")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let full: Value = read(&world.feed, None).await.unwrap().json().await.unwrap();
    assert_eq!(full["full"], true);
    let cursor = full["cursor"].as_str().unwrap().to_owned();
    let idle = read(&world.feed, Some(&cursor)).await.unwrap().text().await.unwrap();
    assert_eq!(idle, format!("{{\"cursor\":\"{cursor}\"}}"), "an idle feed answers with its cursor alone");
    world.server.cli.json(&["client", "disable", &world.customer.id]).unwrap();
    let delta: Value = read(&world.feed, Some(&cursor)).await.unwrap().json().await.unwrap();
    assert_eq!(delta["clients_off"], serde_json::json!([world.customer.id]), "{delta}");
    assert_eq!(delta.get("full"), None);
    let cursor = delta["cursor"].as_str().unwrap().to_owned();
    // A revoked token comes with its exp; a disabled user with every client it owns.
    let token = world.token(&world.feed).await;
    let revoked = http
        .post(world.server.url("/oauth2/revoke"))
        .basic_auth(&world.feed.id, Some(&world.feed.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    world.server.cli.json(&["user", "disable", &world.owner]).unwrap();
    let delta: Value = read(&world.feed, Some(&cursor)).await.unwrap().json().await.unwrap();
    let claims = claims_of(&token);
    assert_eq!(delta["tokens"], serde_json::json!([[claims["jti"], claims["exp"]]]), "{delta}");
    let owner_id = claims["sub"].clone();
    assert_eq!(delta["users_off"], serde_json::json!([owner_id]), "{delta}");
    let mut off: Vec<&str> = delta["clients_off"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    off.sort_unstable();
    let mut owned = vec![world.feed.id.as_str(), world.customer.id.as_str()];
    owned.sort_unstable();
    assert_eq!(off, owned, "{delta}");
    // A full answer (no cursor) holds the same refusals.
    let full: Value = read(&world.feed, None).await.unwrap().json().await.unwrap();
    assert_eq!(
        (full["full"].clone(), full["tokens"].clone(), full["users_off"].clone()),
        (Value::Bool(true), delta["tokens"].clone(), delta["users_off"].clone())
    );
    let bad = read(&world.feed, Some("not-a-cursor")).await.unwrap();
    assert_eq!(bad.status(), 400);
}

/// The example API's Node client, generated from its OpenAPI document by `tessera-sdk generate`
/// (`npm run build` in examples/node-client, which scripts/test runs), passes its tests:
/// client credentials, a user's refresh token, a given token, revocation, 429 and pagination.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_node_client_passes_its_tests_against_the_real_servers() {
    let world = World::start_with(&[("EXAMPLE_QUOTA", "3/1")]);
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../node-client");
    assert!(
        example.join("dist/test").is_dir() && example.join("src/generated/client.ts").is_file(),
        "run `npm ci && npm run build` in sdk/node, then in examples/node-client (scripts/test does)"
    );
    let short = {
        let flags: Vec<&str> = SCOPES.iter().flat_map(|s| ["--scope", s]).chain(["--access-token-ttl", "1"]).collect();
        create_client(&world.server.cli, &world.org, &world.owner, "node-short", &flags)
    };
    let (web, refresh, member_id) = world.user_refresh_token().await;
    let output = Command::new("node")
        .args(["--test", "--test-reporter=spec", "dist/test/"])
        .current_dir(&example)
        .env("TESSERA_E2E_ISSUER", &world.server.base)
        .env("TESSERA_E2E_API", &world.api.base)
        .env("TESSERA_E2E_SHORT_CLIENT_ID", &short.id)
        .env("TESSERA_E2E_SHORT_CLIENT_SECRET", &short.secret)
        .env("TESSERA_E2E_USER_CLIENT_ID", &web.id)
        .env("TESSERA_E2E_USER_CLIENT_SECRET", &web.secret)
        .env("TESSERA_E2E_USER_REFRESH_TOKEN", &refresh)
        .env("TESSERA_E2E_USER_SUB", &member_id)
        .env("TESSERA_E2E_OWNER_SUB", &world.owner_id)
        .env("TESSERA_ISSUER", &world.server.base)
        .env("TESSERA_CLIENT_ID", &world.customer.id)
        .env("TESSERA_CLIENT_SECRET", &world.customer.secret)
        .output()
        .expect("node runs");
    let report = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "node --test failed:\n{report}");
    assert!(report.contains("fail 0") && !report.contains("skipped 1"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_signed_with_a_key_rotated_in_later_pass() {
    let world = World::start();
    let jwks: Value = reqwest::get(world.server.url("/oauth2/jwks")).await.unwrap().json().await.unwrap();
    let known: Vec<String> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect();
    // Twice: the first promotes the already published `next` key; the second signs with a key
    // the guard has never seen.
    world.server.cli.json(&["keys", "rotate"]).unwrap();
    world.server.cli.json(&["keys", "rotate"]).unwrap();
    let kid_of = |t: &str| {
        use base64::Engine;
        let header = t.split('.').next().unwrap();
        let header: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        header["kid"].as_str().unwrap().to_owned()
    };
    assert!(
        eventually(WITHIN, || async {
            let fresh = world.token(&world.customer).await;
            !known.contains(&kid_of(&fresh)) && world.projects_with(&fresh).await.0 == 200
        })
        .await,
        "a token signed with the new key never passed the guard"
    );
    assert!(metric(&world.metrics().await, "tessera_guard_jwks_fetches_total").unwrap() >= 2.0);
}

/// DPoP (RFC 9449 §7) at the guard: a bound token passes only as `DPoP` with a proof of the API
/// request; bound-as-Bearer, wrong `ath`, another key, wrong `htm`/`htu` and a replayed `jti`
/// are refused with a `DPoP` challenge; an unbound token keeps working as Bearer.
#[tokio::test]
async fn dpop_bound_tokens_need_a_proof_of_the_api_request() {
    use tessera_jose::dpop::{access_token_hash, sign_proof};
    use tessera_jose::{Algorithm, SigningKey};
    let world = World::start();
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let counter = std::sync::atomic::AtomicU32::new(0);
    let jti = || format!("{}-{}", now(), counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let key = SigningKey::generate(Algorithm::ES256).unwrap().0;
    let other = SigningKey::generate(Algorithm::ES256).unwrap().0;
    let token_proof =
        sign_proof(&key, &serde_json::json!({"htm": "POST", "htu": world.server.url("/oauth2/token"), "iat": now(), "jti": jti()}))
            .unwrap();
    let response = reqwest::Client::new()
        .post(world.server.url("/oauth2/token"))
        .basic_auth(&world.customer.id, Some(&world.customer.secret))
        .header("DPoP", token_proof)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let url = format!("{}/projects", world.api.base);
    let proof = |key: &SigningKey, edit: &dyn Fn(&mut Value)| {
        let mut c = serde_json::json!({"htm": "GET", "htu": url, "iat": now(), "jti": jti(), "ath": access_token_hash(&token)});
        edit(&mut c);
        sign_proof(key, &c).unwrap()
    };
    let call = |scheme: &str, proofs: Vec<String>| {
        let mut request = reqwest::Client::new().get(&url).header("authorization", format!("{scheme} {token}"));
        for p in proofs {
            request = request.header("DPoP", p);
        }
        request.send()
    };
    let refused = |response: reqwest::Response, error: &str, what: &str| {
        assert_eq!(response.status(), 401, "{what}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.starts_with("DPoP algs=") && challenge.contains(&format!("error=\"{error}\"")), "{what}: {challenge}");
    };
    let good = proof(&key, &|_| {});
    assert_eq!(call("DPoP", vec![good.clone()]).await.unwrap().status(), 200);
    refused(call("DPoP", vec![good]).await.unwrap(), "invalid_dpop_proof", "replayed jti");
    refused(call("Bearer", vec![]).await.unwrap(), "invalid_token", "bound token as Bearer");
    refused(call("Bearer", vec![proof(&key, &|_| {})]).await.unwrap(), "invalid_token", "bound token as Bearer with a proof");
    refused(call("DPoP", vec![]).await.unwrap(), "invalid_dpop_proof", "no proof");
    let cases: Vec<(&str, String)> = vec![
        ("wrong ath", proof(&key, &|c| c["ath"] = access_token_hash("another").into())),
        ("another key", proof(&other, &|_| {})),
        ("wrong htm", proof(&key, &|c| c["htm"] = "POST".into())),
        ("wrong htu", proof(&key, &|c| c["htu"] = format!("{}/projects/1/checks", world.api.base).into())),
        ("stale iat", proof(&key, &|c| c["iat"] = (now() - 3600).into())),
    ];
    for (what, p) in cases {
        refused(call("DPoP", vec![p]).await.unwrap(), "invalid_dpop_proof", what);
    }
    // An unbound token: Bearer as before, DPoP refused.
    let plain = world.token(&world.customer).await;
    assert_eq!(world.projects_with(&plain).await.0, 200);
    let response = reqwest::Client::new().get(&url).header("authorization", format!("DPoP {plain}")).send().await.unwrap();
    refused(response, "invalid_token", "unbound token as DPoP");
}

/// RFC 8707 / RFC 9068 §4: an API guarding with its own resource URI as the audience accepts
/// tokens whose `aud` names it (alone or among others) and refuses tokens for another resource
/// or for the default audience.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_refuses_a_token_for_another_resource() {
    const PROJECTS: &str = "https://projects.example.com";
    const BILLING: &str = "https://billing.example.com";
    let world = World::start_with(&[("EXAMPLE_AUDIENCE", PROJECTS)]);
    let scope_flags: Vec<&str> = SCOPES.iter().flat_map(|s| ["--scope", s]).collect();
    let mut flags = vec!["--resource", PROJECTS, "--resource", BILLING];
    flags.extend_from_slice(&scope_flags);
    let creds = create_client(&world.server.cli, &world.org, &world.owner, "resource-script", &flags);
    let token_for = |resources: &'static [&'static str]| {
        let creds = creds.clone();
        let url = world.server.url("/oauth2/token");
        async move {
            let mut form = vec![("grant_type", "client_credentials")];
            form.extend(resources.iter().map(|r| ("resource", *r)));
            let response = reqwest::Client::new().post(url).basic_auth(&creds.id, Some(&creds.secret)).form(&form).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(world.projects_with(&token_for(&[PROJECTS]).await).await.0, 200);
    assert_eq!(world.projects_with(&token_for(&[BILLING, PROJECTS]).await).await.0, 200);
    for token in [token_for(&[BILLING]).await, token_for(&[]).await] {
        let (status, challenge) = world.projects_with(&token).await;
        assert_eq!(status, 401, "{:?}", claims_of(&token)["aud"]);
        assert!(challenge.unwrap().starts_with("Bearer realm=\"api\", error=\"invalid_token\""));
    }
    assert!(metric(&world.metrics().await, "tessera_guard_requests_total{outcome=\"invalid_token\",reason=\"audience\"}").unwrap() >= 2.0);
}

/// RFC 8693: a service exchanges a customer's token for one for this API (its audience); the
/// API's guard accepts it, and refuses it once the exchanging service is turned OFF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_accepts_an_exchanged_token_for_its_audience() {
    const PROJECTS: &str = "https://projects.example.com";
    let world = World::start_with(&[("EXAMPLE_AUDIENCE", PROJECTS)]);
    let service = {
        let args = [
            "client",
            "create",
            "--org",
            &world.org,
            "--owner",
            &world.owner,
            "--name",
            "gateway",
            "--grant",
            "token_exchange",
            "--scope",
            "projects:read",
            "--resource",
            PROJECTS,
        ];
        let created = world.server.cli.json(&args).expect("client create");
        Creds { id: created["client_id"].as_str().unwrap().to_owned(), secret: created["client_secret"].as_str().unwrap().to_owned() }
    };
    let subject = world.token(&world.customer).await;
    assert_eq!(world.projects_with(&subject).await.0, 401, "the customer's token is for the default audience, not this API");
    let response = reqwest::Client::new()
        .post(world.server.url("/oauth2/token"))
        .basic_auth(&service.id, Some(&service.secret))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", subject.as_str()),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("audience", PROJECTS),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let exchanged = response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&exchanged)["act"]["sub"], service.id.as_str());
    assert_eq!(world.projects_with(&exchanged).await.0, 200);
    world.server.cli.json(&["client", "disable", &service.id]).unwrap();
    assert!(eventually(WITHIN, || async { world.projects_with(&exchanged).await.0 == 401 }).await, "the OFF service's token still passes");
}
