//! Every path that issues a token × every rule that can refuse it (issue 29): for each cell, a
//! token is got through the path, the rule is applied, and then the path is tried again (it must
//! refuse, or issue only what is still allowed) and the earlier token is judged where tokens are
//! honoured: introspection, userinfo (for a token acting for a user) and a `tessera-guard` that
//! reads the server's revocation feed; all three must agree with the cell. One table, one loop;
//! each cell has a user and clients of its own on one server.

use std::time::Duration;

use serde_json::Value;
use tessera_guard::{FeedCredentials, Guard, GuardConfig};

use crate::agent::*;
use crate::common::*;
use crate::device::{GRANT as DEVICE_GRANT, decide};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const PASSWORD: &str = "a matrix user's password";
/// How often the cells' guard reads the revocation feed.
const GUARD_POLL: Duration = Duration::from_millis(100);
/// What every cell asks for: `admin` is restricted (an admin may hold it, a member may not).
const SCOPE: &str = "read write admin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    ClientCredentials,
    Code,
    Refresh,
    Device,
    TokenExchange,
    /// `response_type=token`: the access token in the redirect's fragment.
    Implicit,
    /// The first-party session API, `POST /sessions` (the organization's built-in session client).
    Session,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    ClientOff,
    ClientDeleted,
    /// The path is tried with the secret the client had before.
    SecretRegenerated,
    UserDisabled,
    /// The cell's user goes from admin to member: `admin` is no longer theirs.
    RoleLowered,
    /// The client's registration keeps `read` only.
    ScopeUnregistered,
    /// Every token request of the client must carry a DPoP proof from now on (these carry none).
    DpopRequired,
    /// The client may be used from 192.0.2.0/24 only (these come from 127.0.0.1).
    IpNotAllowed,
    /// The client's authorization requests must carry PKCE from now on (these carry none).
    PkceRequired,
    /// The client's authorization requests must be pushed first (RFC 9126) from now on (these are not).
    ParRequired,
    /// The client needs the approval of the user's organization (another organization's client,
    /// or for the exchange one of the user's own, registered as needing it), which is withdrawn.
    /// No cell for client credentials, which act in their own organization.
    ApprovalWithdrawn,
}

/// What trying the path again after the rule gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Refused,
    /// A token with exactly this scope.
    Issued(&'static str),
    /// A token without this scope (the session API issues what the role allows of the catalogue).
    IssuedWithout(&'static str),
}

use Path::*;
use Rule::*;
use Then::*;

/// Each cell: the path, the rule, what the path gives afterwards, and whether the token got
/// before is still active at introspection (and userinfo). A rule that refuses the path ends the
/// tokens it gave before too (a scope taken from the registration, a lowered role, a client OFF or
/// deleted, a user disabled), except a regenerated secret (those stay valid until they expire or
/// are revoked: SECURITY.md V08, as the seed documents say) and a rule about how tokens are asked
/// for (DPoP from now on, allowed addresses), which governs requests, not the tokens already out.
#[rustfmt::skip]
const CELLS: &[(Path, Rule, Then, bool)] = &[
    (ClientCredentials, ClientOff,         Refused,                false),
    (ClientCredentials, ClientDeleted,     Refused,                false),
    (ClientCredentials, SecretRegenerated, Refused,                true),
    (ClientCredentials, UserDisabled,      Refused,                false),
    (ClientCredentials, RoleLowered,       Issued("read write"),   false),
    (ClientCredentials, ScopeUnregistered, Issued("read"),         false),
    (ClientCredentials, DpopRequired,      Refused,                true),
    (ClientCredentials, IpNotAllowed,      Refused,                true),
    (Code,              ClientOff,         Refused,                false),
    (Code,              ClientDeleted,     Refused,                false),
    (Code,              SecretRegenerated, Refused,                true),
    (Code,              UserDisabled,      Refused,                false),
    (Code,              RoleLowered,       Issued("openid read write"), false),
    (Code,              ScopeUnregistered, Issued("openid read"),  false),
    (Code,              DpopRequired,      Refused,                true),
    (Code,              IpNotAllowed,      Refused,                true),
    (Code,              ApprovalWithdrawn, Refused,                false),
    (Refresh,           ClientOff,         Refused,                false),
    (Refresh,           ClientDeleted,     Refused,                false),
    (Refresh,           SecretRegenerated, Refused,                true),
    (Refresh,           UserDisabled,      Refused,                false),
    (Refresh,           RoleLowered,       Issued("openid read write"), false),
    (Refresh,           ScopeUnregistered, Issued("openid read"),  false),
    (Refresh,           DpopRequired,      Refused,                true),
    (Refresh,           IpNotAllowed,      Refused,                true),
    (Refresh,           ApprovalWithdrawn, Refused,                false),
    (Device,            ClientOff,         Refused,                false),
    (Device,            ClientDeleted,     Refused,                false),
    (Device,            SecretRegenerated, Refused,                true),
    (Device,            UserDisabled,      Refused,                false),
    (Device,            RoleLowered,       Issued("openid read write"), false),
    (Device,            ScopeUnregistered, Issued("openid read"),  false),
    (Device,            DpopRequired,      Refused,                true),
    (Device,            IpNotAllowed,      Refused,                true),
    (Device,            ApprovalWithdrawn, Refused,                false),
    (TokenExchange,     ClientOff,         Refused,                false),
    (TokenExchange,     ClientDeleted,     Refused,                false),
    (TokenExchange,     SecretRegenerated, Refused,                true),
    (TokenExchange,     UserDisabled,      Refused,                false),
    // The subject token itself ended with the role.
    (TokenExchange,     RoleLowered,       Refused,                false),
    // It asks for what the client no longer has (RFC 8693 §2.2.2 invalid_scope).
    (TokenExchange,     ScopeUnregistered, Refused,                false),
    (TokenExchange,     DpopRequired,      Refused,                true),
    (TokenExchange,     IpNotAllowed,      Refused,                true),
    // The subject's organization withdraws its approval of the exchanging client.
    (TokenExchange,     ApprovalWithdrawn, Refused,                false),
    (Code,              PkceRequired,      Refused,                true),
    (Code,              ParRequired,       Refused,                true),
    (Implicit,          ClientOff,         Refused,                false),
    (Implicit,          ClientDeleted,     Refused,                false),
    // The implicit answer involves no client secret.
    (Implicit,          SecretRegenerated, Issued("openid read write admin"), true),
    (Implicit,          UserDisabled,      Refused,                false),
    (Implicit,          RoleLowered,       Issued("openid read write"), false),
    (Implicit,          ScopeUnregistered, Issued("openid read"),  false),
    // No token request to carry a proof: a client that must bind its tokens cannot use it.
    (Implicit,          DpopRequired,      Refused,                true),
    // The allow-list is where the client's own requests come from; this answer goes to the
    // user's browser, as the code flow's authorization step does.
    (Implicit,          IpNotAllowed,      Issued("openid read write admin"), true),
    (Implicit,          ParRequired,       Refused,                true),
    (Implicit,          ApprovalWithdrawn, Refused,                false),
    (Session,           UserDisabled,      Refused,                false),
    (Session,           RoleLowered,       IssuedWithout("admin"), false),
    // Last: the organization's one session client stays OFF.
    (Session,           ClientOff,         Refused,                false),
];

/// One cell's world: its user, the client the path uses (the one the rule acts on), and for the
/// exchange the client whose user token is exchanged.
struct Cell<'a> {
    server: &'a Server,
    fixture: &'a Fixture,
    email: String,
    client: Fixture,
    /// The code-flow client whose tokens the exchange takes as its subject.
    subject_client: Option<Fixture>,
    /// The refresh token of the first grant (the refresh path), or the subject token (the exchange).
    held: Option<String>,
    /// Whether its authorization requests go without PKCE (the cell that makes PKCE required).
    without_pkce: bool,
}

impl Cell<'_> {
    fn user_id(&self) -> String {
        let users = self.server.cli.json(&["user", "list", "--org", &self.fixture.org_name]).unwrap();
        users.as_array().unwrap().iter().find(|u| u["email"] == self.email.as_str()).unwrap()["id"].as_str().unwrap().to_owned()
    }

    /// A code of the cell's user for `client` (signing in, pressing Allow), or what stopped it.
    async fn code_for(&self, client: &Fixture) -> Result<String, String> {
        let scope = format!("&scope=openid+{}", SCOPE.replace(' ', "+"));
        let query = if self.without_pkce {
            format!("response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=xyz{scope}", client.client_id)
        } else {
            code_query(client, &scope)
        };
        let url = self.authorize(&query).await?;
        response_params(&url).get("code").cloned().ok_or(url)
    }

    /// The cell's user signs in and allows the authorization request `query`: where the
    /// browser is sent, or what stopped it.
    async fn authorize(&self, query: &str) -> Result<String, String> {
        let mut agent = Agent::new(self.server);
        let signed_in = agent.login(&self.email, PASSWORD).await;
        if signed_in.status() != 303 {
            return Err(format!("sign-in {}", signed_in.status()));
        }
        let asked = agent.get(&format!("/oauth2/authorize?{query}")).await;
        let url = match asked.status().as_u16() {
            302 => location(&asked),
            200 => {
                let page = asked.text().await.unwrap();
                let decided = agent.submit("/oauth2/authorize/decision", &page, &["csrf_token", "request"], &[("decision", "allow")]).await;
                location(&decided)
            }
            status => return Err(format!("authorize {status}: {}", asked.text().await.unwrap_or_default())),
        };
        Ok(url)
    }

    /// Tries the path once with `secret` as the client's; the token response or what refused it.
    async fn attempt(&mut self, path: Path, secret: &str) -> Result<Value, String> {
        let id = self.client.client_id.clone();
        let response = match path {
            ClientCredentials => {
                post_basic(self.server, "/oauth2/token", &id, secret, &[("grant_type", "client_credentials"), ("scope", SCOPE)]).await
            }
            Code => {
                let code = self.code_for(&self.client).await?;
                let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", "https://app.example/cb")];
                let verifier: &[(&str, &str)] = if self.without_pkce { &[] } else { &[("code_verifier", VERIFIER)] };
                post_basic(self.server, "/oauth2/token", &id, secret, &[&form[..], verifier].concat()).await
            }
            Implicit => {
                let query = format!(
                    "response_type=token&client_id={id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s&scope=openid+{}",
                    SCOPE.replace(' ', "+")
                );
                let url = self.authorize(&query).await?;
                let answer = response_params(&url);
                return match answer.get("access_token") {
                    Some(token) => Ok(serde_json::json!({ "access_token": token, "scope": answer.get("scope") })),
                    None => Err(url),
                };
            }
            Session => {
                let body = serde_json::json!({ "email": self.email, "password": PASSWORD });
                let response = http().post(self.server.url("/sessions")).json(&body).send().await.unwrap();
                let status = response.status();
                let body: Value = response.json().await.unwrap_or_default();
                if status != 201 {
                    return Err(format!("{status} {body}"));
                }
                let token = body["accessToken"].as_str().unwrap_or_default();
                let scope = jwt_parts(token).1["scope"].clone();
                return Ok(serde_json::json!({ "access_token": token, "scope": scope }));
            }
            Refresh => {
                let held = self.held.clone().expect("a refresh token");
                post_basic(self.server, "/oauth2/token", &id, secret, &[("grant_type", "refresh_token"), ("refresh_token", &held)]).await
            }
            Device => {
                let scope = format!("openid {SCOPE}");
                let started = post_basic(self.server, "/oauth2/device_authorization", &id, secret, &[("scope", &scope)]).await;
                if started.status() != 200 {
                    return Err(format!("device authorization {}", started.status()));
                }
                let started: Value = started.json().await.unwrap();
                let mut agent = Agent::new(self.server);
                let signed_in = agent.login(&self.email, PASSWORD).await;
                if signed_in.status() != 303 {
                    return Err(format!("sign-in {}", signed_in.status()));
                }
                let decided = decide(&mut agent, started["user_code"].as_str().unwrap(), "allow").await;
                if decided.status() != 200 {
                    return Err(format!("approval {}", decided.status()));
                }
                let device_code = started["device_code"].as_str().unwrap();
                post_basic(self.server, "/oauth2/token", &id, secret, &[("grant_type", DEVICE_GRANT), ("device_code", device_code)]).await
            }
            TokenExchange => {
                let subject = self.held.clone().expect("a subject token");
                let form =
                    [("grant_type", EXCHANGE), ("subject_token", subject.as_str()), ("subject_token_type", ACCESS_TOKEN), ("scope", SCOPE)];
                post_basic(self.server, "/oauth2/token", &id, secret, &form).await
            }
        };
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        if status != 200 {
            return Err(format!("{status} {body}"));
        }
        if path == Refresh {
            // Rotated: the next refresh uses the new one.
            self.held = body["refresh_token"].as_str().map(str::to_owned);
        }
        Ok(body)
    }
}

/// The cell's user (an admin), its clients, and a first token through the path.
/// With `vendor`, the path's client belongs to that other organization, needs the approval of the
/// user's organization, and has it.
async fn set_up<'a>(
    server: &'a Server,
    fixture: &'a Fixture,
    vendor: Option<&Fixture>,
    n: usize,
    path: Path,
    rule: Rule,
) -> (Cell<'a>, Value) {
    let email = format!("cell{n}@matrix.test");
    add_user(server, fixture, &email, "admin", PASSWORD, &[]);
    let web = ["--grant", "authorization_code", "--grant", "refresh_token", "--redirect-uri", "https://app.example/cb"];
    let scopes = ["--scope", "openid", "--scope", "read", "--scope", "write", "--scope", "admin"];
    let approved = |owner: &Fixture, name: &str, flags: &[&str]| {
        let Some(vendor) = vendor else { return add_client(server, owner, name, flags).1 };
        // The exchange takes its own organization's tokens only (V07): its client is the user's
        // organization's, registered as needing that organization's approval.
        let home = if path == TokenExchange { fixture } else { vendor };
        let client = add_client(server, home, name, &[flags, &["--requires-org-approval"][..]].concat()).1;
        server.cli.json(&["client", "approve", &client.client_id, "--org", &fixture.org_name]).unwrap();
        client
    };
    let (client, subject_client) = match path {
        // The robot runs as the cell's user: the rules about users reach its tokens.
        ClientCredentials => {
            let owned_by_the_user = Fixture { owner_email: email.clone(), ..fixture.clone() };
            (add_client(server, &owned_by_the_user, "robot", &["--scope", "read", "--scope", "write", "--scope", "admin"]).1, None)
        }
        // A legacy confidential client may leave PKCE out until it is made required.
        Code | Refresh if rule == PkceRequired => {
            (approved(fixture, "web", &[&web[..], &scopes[..], &["--pkce", "optional"]].concat()), None)
        }
        Code | Refresh => (approved(fixture, "web", &[&web[..], &scopes[..]].concat()), None),
        Device => (approved(fixture, "tv", &[&["--grant", "device_code"][..], &scopes[..]].concat()), None),
        Implicit => {
            let flags = ["--grant", "implicit", "--redirect-uri", "https://app.example/cb"];
            (approved(fixture, "spa", &[&flags[..], &scopes[..]].concat()), None)
        }
        // The organization's built-in session client: the rules act on it and on the user.
        Session => {
            (Fixture { client_id: format!("session-api-{}", fixture.org_id), client_secret: String::new(), ..fixture.clone() }, None)
        }
        TokenExchange => {
            let exchanger =
                approved(fixture, "exchanger", &["--grant", "token_exchange", "--scope", "read", "--scope", "write", "--scope", "admin"]);
            (exchanger, Some(add_client(server, fixture, "web", &[&web[..], &scopes[..]].concat()).1))
        }
    };
    let mut cell = Cell { server, fixture, email, client, subject_client, held: None, without_pkce: rule == PkceRequired };
    match path {
        Refresh => {
            let first = cell.attempt(Code, &cell.client.client_secret.clone()).await.expect("the first grant");
            cell.held = Some(first["refresh_token"].as_str().expect("a refresh token").to_owned());
        }
        TokenExchange => {
            let subject_client = cell.subject_client.clone().unwrap();
            let code = cell.code_for(&subject_client).await.expect("a code");
            let tokens = redeem_with_verifier(server, &subject_client, &code).await;
            cell.held = Some(tokens["access_token"].as_str().unwrap().to_owned());
        }
        _ => {}
    }
    let first = cell.attempt(path, &cell.client.client_secret.clone()).await.unwrap_or_else(|e| panic!("{path:?}: the first token: {e}"));
    (cell, first)
}

async fn redeem_with_verifier(server: &Server, client: &Fixture, code: &str) -> Value {
    let response = redeem(server, client, code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn apply(cell: &Cell<'_>, path: Path, rule: Rule) {
    let cli = &cell.server.cli;
    let id = cell.client.client_id.as_str();
    match rule {
        ClientOff => cli.json(&["client", "disable", id]).map(drop),
        ClientDeleted => cli.json(&["client", "delete", id]).map(drop),
        SecretRegenerated => cli.json(&["client", "regenerate-secret", id]).map(drop),
        UserDisabled => cli.json(&["user", "disable", &cell.user_id()]).map(drop),
        RoleLowered => cli.json(&["user", "update", &cell.user_id(), "--role", "member"]).map(drop),
        DpopRequired => cli.json(&["client", "update", id, "--require-dpop", "true"]).map(drop),
        IpNotAllowed => cli.json(&["client", "update", id, "--allowed-ip", "192.0.2.0/24"]).map(drop),
        PkceRequired => cli.json(&["client", "update", id, "--pkce", "required"]).map(drop),
        ParRequired => cli.json(&["client", "update", id, "--require-par", "true"]).map(drop),
        ApprovalWithdrawn => cli.json(&["client", "unapprove", id, "--org", &cell.fixture.org_name]).map(drop),
        ScopeUnregistered => {
            let keep: &[&str] = match path {
                ClientCredentials | TokenExchange => &["--scope", "read"],
                Code | Refresh | Device | Implicit => &["--scope", "openid", "--scope", "read"],
                Session => unreachable!("the session client registers no scopes"),
            };
            let mut args = vec!["client", "update", id];
            args.extend_from_slice(keep);
            cli.json(&args).map(drop)
        }
    }
    .unwrap_or_else(|e| panic!("{rule:?}: {e}"));
}

#[tokio::test]
async fn every_path_that_issues_a_token_under_every_rule_that_can_refuse_it() {
    let (first_start, fixture) = start();
    let vendor = Fixture::create(&first_start.cli).unwrap();
    // The guard reads the revocation feed as a client the server names at start.
    let feed = add_client(&first_start, &fixture, "matrix guard", &["--scope", "read"]).1;
    let mut first_start = first_start;
    assert!(first_start.terminate(Duration::from_secs(10)).unwrap());
    let server = Server::start_in(first_start.cli.clone(), &["--revocation-feed-client".into(), feed.client_id.clone()]).unwrap();
    let mut config = GuardConfig::new(server.base.clone());
    config.feed = Some(FeedCredentials::new(&feed.client_id, &feed.client_secret));
    config.poll_interval = GUARD_POLL;
    // The server's test clock runs ahead of the guard's by a second a cell.
    config.leeway = Duration::from_secs(600);
    let guard = Guard::start(config).await.expect("the guard starts");
    let mut failures = Vec::new();
    for (n, &(path, rule, then, active)) in CELLS.iter().enumerate() {
        let (mut cell, first) = set_up(&server, &fixture, (rule == ApprovalWithdrawn).then_some(&vendor), n, path, rule).await;
        let token = first["access_token"].as_str().unwrap().to_owned();
        assert!(is_active(&server, &fixture, &token).await, "{path:?}: the first token is active");
        guard.authenticate(&token).await.unwrap_or_else(|e| panic!("{path:?}: the guard refuses the first token: {e:?}"));
        apply(&cell, path, rule);
        // Cutoffs count whole seconds from the second after the change: the next token is a second on.
        server.advance_clock(1).unwrap();
        let secret = cell.client.client_secret.clone();
        let again = cell.attempt(path, &secret).await;
        let agrees = match (&again, then) {
            (Ok(tokens), Issued(scope)) => sorted(tokens["scope"].as_str().unwrap_or_default()) == sorted(scope),
            (Ok(tokens), IssuedWithout(scope)) => !sorted(tokens["scope"].as_str().unwrap_or_default()).contains(&scope),
            (Err(_), Refused) => true,
            _ => false,
        };
        if !agrees {
            failures.push(format!("{path:?} × {rule:?}: expected {then:?}, got {again:?}"));
        }
        let now_active = is_active(&server, &fixture, &token).await;
        if now_active != active {
            failures.push(format!(
                "{path:?} × {rule:?}: the earlier token is {} at introspection",
                if now_active { "active" } else { "inactive" }
            ));
        }
        if path != ClientCredentials && path != TokenExchange {
            let info = userinfo(&server, &token).await.status().as_u16();
            if (info == 200) != active {
                failures.push(format!("{path:?} × {rule:?}: userinfo answers {info} with the earlier token"));
            }
        }
        // The guard hears of the change at its next poll of the feed: a token that must end
        // has until two polls from now; one that must live is asked after two polls.
        let deadline = std::time::Instant::now() + GUARD_POLL * 2;
        let at_the_guard = loop {
            if active {
                tokio::time::sleep(GUARD_POLL * 2).await;
            }
            let answer = guard.authenticate(&token).await;
            if active || answer.is_err() || std::time::Instant::now() >= deadline {
                break answer;
            }
            tokio::time::sleep(GUARD_POLL / 5).await;
        };
        if at_the_guard.is_ok() != active {
            failures.push(format!("{path:?} × {rule:?}: the guard answers {at_the_guard:?} with the earlier token"));
        }
    }
    assert!(failures.is_empty(), "{} cells disagree:\n{}", failures.len(), failures.join("\n"));
}

/// A scope string's words in order, to compare two scopes.
fn sorted(scope: &str) -> Vec<&str> {
    let mut words: Vec<&str> = scope.split(' ').filter(|w| !w.is_empty()).collect();
    words.sort_unstable();
    words
}
