//! The admin REST API (`/admin/v1`, issue 6): every endpoint against a real server, who may do
//! what (member, admin, another organization; Q04: a missing scope is 403 insufficient_scope),
//! tokens refused at once (revoked, user disabled, client OFF), RFC 7807 problems for every
//! error, cursor pagination with `Link`, and the OpenAPI document (valid by an independent
//! validator, and naming every route the router serves).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::agent::{Agent, code_query, response_params, web_client};
use crate::common::*;

pub(crate) const ADMIN_SCOPES: &[&str] = &["--scope", "tessera:admin", "--scope", "tessera:clients"];

/// A client-credentials client owned by (and running as) `owner`, registered for the admin
/// API's scopes in `flags`; returns its token.
pub(crate) async fn admin_token(server: &Server, fixture: &Fixture, owner: &str, flags: &[&str]) -> String {
    let mut args = vec!["client", "create", "--org", &fixture.org_name, "--owner", owner, "--name", "admin script"];
    args.extend_from_slice(flags);
    let created = server.cli.json(&args).expect("client create");
    client_credentials_token(server, created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap()).await
}

/// The owner's token with both admin scopes.
pub(crate) async fn owner_token(server: &Server, fixture: &Fixture) -> String {
    admin_token(server, fixture, &fixture.owner_email, ADMIN_SCOPES).await
}

/// A member with a password and a `tessera:clients` token of their own.
async fn member_token(server: &Server, fixture: &Fixture, email: &str) -> String {
    add_user(server, fixture, email, "member", "member password 1", &[]);
    admin_token(server, fixture, email, &["--scope", "tessera:clients"]).await
}

pub(crate) struct Api<'a> {
    pub server: &'a Server,
    pub token: String,
}

impl Api<'_> {
    pub(crate) fn new<'a>(server: &'a Server, token: &str) -> Api<'a> {
        Api { server, token: token.to_owned() }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.server.url(&format!("/admin/v1{path}"))
    }

    pub(crate) async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> reqwest::Response {
        let mut request = http().request(method, self.url(path)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub(crate) async fn patch(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub(crate) async fn put(&self, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::PUT, path, None).await
    }

    pub(crate) async fn delete(&self, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// `GET path`, expecting 200 and JSON.
    pub(crate) async fn ok(&self, path: &str) -> Value {
        expect(self.get(path).await, 200).await
    }
}

/// Asserts the status and returns the JSON body.
pub(crate) async fn expect(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
}

/// Asserts an RFC 7807 problem: status, media type, the members, and the RFC 6749/6750 code.
/// Returns the headers and the body.
pub(crate) async fn problem(response: reqwest::Response, status: u16, error: &str) -> (reqwest::header::HeaderMap, Value) {
    let headers = response.headers().clone();
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    assert_eq!(headers.get("content-type").unwrap(), "application/problem+json", "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["type"], "about:blank", "{body}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    assert_eq!(body["error"], error, "{body}");
    (headers, body)
}

fn challenge(headers: &reqwest::header::HeaderMap) -> String {
    headers.get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// The `rel="next"` target of a response's `Link` header.
fn next_link(response: &reqwest::Response) -> Option<String> {
    let link = response.headers().get("link")?.to_str().unwrap().to_owned();
    let (target, rel) = link.split_once(';').unwrap();
    assert_eq!(rel.trim(), "rel=\"next\"");
    Some(target.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
}

#[tokio::test]
async fn admin_api_clients_every_operation() {
    let (server, fixture) = start();
    let api = Api::new(&server, &owner_token(&server, &fixture).await);

    let me = api.ok("/me").await;
    assert_eq!(me["user"]["email"], fixture.owner_email.as_str());
    assert_eq!(me["user"]["role"], "owner");
    assert_eq!(me["org"]["name"], fixture.org_name.as_str());
    assert_eq!(me["scopes"], json!(["tessera:admin", "tessera:clients"]));

    // Create: the secret is in this answer only, and it works at once.
    let response = api
        .post("/clients", &json!({ "name": "deployer", "scopes": ["read"], "allowed_ips": ["127.0.0.1/32"], "access_token_ttl": 600 }))
        .await;
    let location = response.headers().get("location").unwrap().to_str().unwrap().to_owned();
    let created = expect(response, 201).await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/admin/v1/clients/{id}"));
    assert_eq!((created["owner"].as_str(), created["scopes"].clone()), (Some(fixture.owner_email.as_str()), json!(["read"])));
    let token = post_basic(&server, "/oauth2/token", &id, &secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(token.status(), 200);
    let issued: Value = token.json().await.unwrap();
    assert_eq!(issued["expires_in"], 600);

    let shown = api.ok(&format!("/clients/{id}")).await;
    assert!(shown.get("client_secret").is_none(), "{shown}");
    assert_eq!(shown["status"], "on");

    // Edit: only what is named changes; null clears the lifetime.
    let edited = expect(api.patch(&format!("/clients/{id}"), &json!({ "name": "deployer 2", "access_token_ttl": null })).await, 200).await;
    assert_eq!((edited["name"].as_str(), edited.get("access_token_ttl")), (Some("deployer 2"), None));
    assert_eq!(edited["allowed_ips"], json!(["127.0.0.1/32"]));

    // Reveal (the owner) and regenerate: the old secret stops working on the next request.
    assert_eq!(api.ok(&format!("/clients/{id}/secret")).await["client_secret"], secret.as_str());
    let renewed = expect(api.post(&format!("/clients/{id}/secret"), &json!({})).await, 200).await;
    let new_secret = renewed["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let old = post_basic(&server, "/oauth2/token", &id, &secret, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(old, 401, "invalid_client").await;
    // A roll with a grace (SPEC §13): both secrets work until `previous_secret_expires_at`, which
    // the client's view gives too; a grace over 30 days or an unknown member is refused.
    let graced = expect(api.post(&format!("/clients/{id}/secret"), &json!({ "grace_seconds": 3600 })).await, 200).await;
    let until = graced["previous_secret_expires_at"].as_i64().expect("until when the old one works");
    assert_eq!(api.ok(&format!("/clients/{id}")).await["previous_secret_expires_at"].as_i64(), Some(until));
    for secret in [new_secret, graced["client_secret"].as_str().unwrap()] {
        let token = post_basic(&server, "/oauth2/token", &id, secret, &[("grant_type", "client_credentials")]).await;
        assert_eq!(token.status(), 200);
    }
    problem(api.post(&format!("/clients/{id}/secret"), &json!({ "grace_seconds": 2_592_001 })).await, 400, "invalid_request").await;
    problem(api.post(&format!("/clients/{id}/secret"), &json!({ "grace": 60 })).await, 400, "invalid_request").await;
    let access = issued["access_token"].as_str().unwrap();
    let client = Fixture { client_id: id.clone(), client_secret: new_secret.to_owned(), ..fixture.clone() };

    // OFF: authentication fails and its live tokens stop; ON again.
    assert_eq!(expect(api.post(&format!("/clients/{id}/disable"), &json!({})).await, 200).await["status"], "off");
    assert!(!is_active(&server, &fixture, access).await);
    let refused = post_basic(&server, "/oauth2/token", &id, new_secret, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(refused, 401, "invalid_client").await;
    assert_eq!(expect(api.post(&format!("/clients/{id}/enable"), &json!({})).await, 200).await["status"], "on");
    let fresh = access_token(&server, &client).await;

    // Revoke one of its tokens through the API.
    assert!(is_active(&server, &fixture, &fresh).await);
    expect(api.post("/tokens/revoke", &json!({ "token": fresh })).await, 204).await;
    assert!(!is_active(&server, &fixture, &fresh).await);
    problem(api.post("/tokens/revoke", &json!({ "token": "not-a-token" })).await, 400, "invalid_request").await;

    // The list holds it (and the fixture's clients); delete; then it is gone.
    let listed = api.ok("/clients").await;
    assert!(listed["items"].as_array().unwrap().iter().any(|c| c["client_id"] == id.as_str()), "{listed}");
    expect(api.delete(&format!("/clients/{id}")).await, 204).await;
    problem(api.get(&format!("/clients/{id}")).await, 404, "invalid_request").await;
    problem(api.delete(&format!("/clients/{id}")).await, 404, "invalid_request").await;
}

/// A broken rule names the request member it is about (`field`), from the rule itself: a form
/// or a script puts the message where it belongs without reading the words.
#[tokio::test]
async fn admin_api_problems_name_the_field_they_are_about() {
    let (server, fixture) = start();
    let api = Api::new(&server, &owner_token(&server, &fixture).await);
    let cases = [
        (json!({ "name": "x", "allowed_origins": ["https://app.example/path"] }), "allowed_origins"),
        (json!({ "name": "x", "allowed_ips": ["not an address"] }), "allowed_ips"),
        (json!({ "name": "x", "scopes": ["no-such-scope"] }), "scopes"),
        (json!({ "name": "x", "grants": ["password"] }), "grants"),
        (json!({ "name": "" }), "name"),
    ];
    for (body, field) in cases {
        let (_, problem) = problem(api.post("/clients", &body).await, 400, "invalid_request").await;
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    let id = expect(api.post("/clients", &json!({ "name": "deployer" })).await, 201).await["client_id"].as_str().unwrap().to_owned();
    let edits = [
        (json!({ "redirect_uris": ["http://app.example/cb"] }), "redirect_uris"),
        (json!({ "allowed_origins": ["ftp://app.example"] }), "allowed_origins"),
        (json!({ "access_token_ttl": 0 }), "access_token_ttl"),
        (json!({ "name": "\u{7}" }), "name"),
    ];
    for (body, field) in edits {
        let (_, problem) = problem(api.patch(&format!("/clients/{id}"), &body).await, 400, "invalid_request").await;
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    // A problem about no member in particular has no `field`.
    let (_, problem) = problem(api.post("/tokens/revoke", &json!({ "token": "not-a-token" })).await, 400, "invalid_request").await;
    assert!(problem.get("field").is_none(), "{problem}");
}

#[tokio::test]
async fn admin_api_members_scopes_and_approvals() {
    let (server, fixture) = start();
    let api = Api::new(&server, &owner_token(&server, &fixture).await);

    // Members: a member with a password, a service user, role and permission changes.
    let added =
        expect(api.post("/members", &json!({ "email": "dev@example.test", "role": "member", "password": "dev password 1" })).await, 201)
            .await;
    let dev_id = added["id"].as_str().unwrap().to_owned();
    let robot = expect(
        api.post("/members", &json!({ "email": "robot@example.test", "role": "member", "service": true, "authorize_applications": true }))
            .await,
        201,
    )
    .await;
    assert_eq!((robot["service"].as_bool(), robot["authorize_applications"].as_bool()), (Some(true), Some(true)));
    problem(api.post("/members", &json!({ "email": "dev@example.test", "role": "member" })).await, 400, "invalid_request").await;
    problem(api.post("/members", &json!({ "email": "x@example.test", "role": "emperor" })).await, 400, "invalid_request").await;
    let members = api.ok("/members").await;
    let emails: BTreeSet<&str> = members["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert!(emails.contains("dev@example.test") && emails.contains("robot@example.test") && emails.contains(fixture.owner_email.as_str()));
    assert_eq!(api.ok("/members/dev@example.test").await["id"], dev_id.as_str());
    let promoted =
        expect(api.patch(&format!("/members/{dev_id}"), &json!({ "role": "admin", "authorize_applications": true })).await, 200).await;
    assert_eq!((promoted["role"].as_str(), promoted["authorize_applications"].as_bool()), (Some("admin"), Some(true)));
    // Nobody changes their own account here (so an organization keeps its administrators).
    problem(api.patch(&format!("/members/{}", fixture.owner_id), &json!({ "role": "member" })).await, 403, "access_denied").await;

    // Disable: the member's tokens stop at once; enable again.
    let dev_token = admin_token(&server, &fixture, "dev@example.test", &["--scope", "tessera:clients"]).await;
    let dev = Api::new(&server, &dev_token);
    assert_eq!(dev.ok("/me").await["user"]["role"], "admin");
    assert_eq!(expect(api.post(&format!("/members/{dev_id}/disable"), &json!({})).await, 200).await["disabled"], true);
    let (headers, _) = problem(dev.get("/me").await, 401, "invalid_token").await;
    assert!(challenge(&headers).contains("error=\"invalid_token\""));
    assert_eq!(expect(api.post(&format!("/members/{dev_id}/enable"), &json!({})).await, 200).await["disabled"], false);

    // Scopes: built-ins and the catalogue; add, refuse a duplicate, mark restricted.
    let scopes = api.ok("/scopes").await;
    let names: BTreeSet<&str> = scopes["items"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    for name in ["openid", "tessera:admin", "tessera:clients", "read", "write", "admin"] {
        assert!(names.contains(name), "{name} in {scopes}");
    }
    let admin_scope = scopes["items"].as_array().unwrap().iter().find(|s| s["name"] == "tessera:admin").unwrap().clone();
    assert_eq!(admin_scope, json!({ "name": "tessera:admin", "restricted": true, "built_in": true }));
    let added = expect(api.post("/scopes", &json!({ "name": "deployments:write" })).await, 201).await;
    assert_eq!(added, json!({ "name": "deployments:write", "restricted": false, "built_in": false }));
    problem(api.post("/scopes", &json!({ "name": "deployments:write" })).await, 409, "invalid_request").await;
    problem(api.post("/scopes", &json!({ "name": "tessera:admin" })).await, 409, "invalid_request").await;
    problem(api.post("/scopes", &json!({ "name": "bad\"name" })).await, 400, "invalid_request").await;
    let marked = expect(api.patch("/scopes/deployments:write", &json!({ "restricted": true })).await, 200).await;
    assert_eq!(marked["restricted"], true);
    problem(api.patch("/scopes/nope", &json!({ "restricted": true })).await, 404, "invalid_request").await;
    let catalogue = server.cli.json(&["scope", "list", "--org", &fixture.org_name]).unwrap();
    assert!(catalogue.to_string().contains("deployments:write"), "{catalogue}");

    // Approvals: approve another organization's app, list, withdraw.
    let other = Fixture::create(&server.cli).unwrap();
    let (app, _) = add_client(&server, &other, "their app", &["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb"]);
    let app_id = app["client_id"].as_str().unwrap();
    expect(api.put(&format!("/approvals/{app_id}")).await, 204).await;
    let approvals = api.ok("/approvals").await;
    assert_eq!(approvals["items"][0]["client_id"], app_id, "{approvals}");
    assert_eq!(approvals["items"][0]["client_name"], "their app");
    expect(api.delete(&format!("/approvals/{app_id}")).await, 204).await;
    assert_eq!(api.ok("/approvals").await["items"], json!([]));
    problem(api.put("/approvals/no-such-client").await, 404, "invalid_request").await;
}

#[tokio::test]
async fn admin_api_audit_log_filters_and_pages() {
    let (server, fixture) = start();
    let token = owner_token(&server, &fixture).await;
    let api = Api::new(&server, &token);
    let mut made = Vec::new();
    for n in 0..5 {
        let created = expect(api.post("/clients", &json!({ "name": format!("app {n}"), "scopes": ["read"] })).await, 201).await;
        made.push(created["client_id"].as_str().unwrap().to_owned());
    }
    let owner_id = api.ok("/me").await["user"]["id"].as_str().unwrap().to_owned();

    // Page through client_created entries by the owner, two at a time, following Link.
    let mut next = Some(format!("/admin/v1/audit?action=client_created&actor={}&limit=2", fixture.owner_email.replace('@', "%40")));
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(path) = next {
        let response = http().get(server.url(&path)).bearer_auth(&token).send().await.unwrap();
        next = next_link(&response);
        let body = expect(response, 200).await;
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        assert_eq!(body.get("next_cursor").is_some(), next.is_some(), "{body}");
        for entry in items {
            assert_eq!((entry["action"].as_str(), entry["actor"].as_str()), (Some("client_created"), Some(owner_id.as_str())));
            seen.push(entry["target"].as_str().unwrap().to_owned());
        }
        if let Some(link) = &next {
            assert!(link.contains("action=client_created") && link.contains("limit=2"), "filters kept: {link}");
        }
        pages += 1;
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(seen, expected, "newest first, each once");

    // By target (or its alias `client`), and by dates.
    let one = api.ok(&format!("/audit?client={}", made[0])).await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(api.ok(&format!("/audit?target={}", made[0])).await, one);
    let today = api.ok(&format!("/audit?since=2000-01-01&action=client_created&actor={owner_id}")).await;
    assert_eq!(today["items"].as_array().unwrap().len(), 5);
    assert_eq!(api.ok("/audit?until=2000-01-01").await["items"], json!([]));
    assert_eq!(api.ok("/audit?since=4102444800").await["items"], json!([]));
    problem(api.get("/audit?since=yesterday").await, 400, "invalid_request").await;
    problem(api.get("/audit?cursor=zz").await, 400, "invalid_request").await;
    problem(api.get("/audit?colour=red").await, 400, "invalid_request").await;
    problem(api.get("/audit?limit=0").await, 400, "invalid_request").await;
    problem(api.get("/audit?limit=ten").await, 400, "invalid_request").await;
}

#[tokio::test]
async fn admin_api_lists_page_with_link_headers_and_tessera_client_follows_them() {
    let (server, fixture) = start();
    // This script's own client is a member of the list too.
    let created = server
        .cli
        .json(&[
            "client",
            "create",
            "--org",
            &fixture.org_name,
            "--owner",
            &fixture.owner_email,
            "--name",
            "sdk",
            "--scope",
            "tessera:clients",
        ])
        .unwrap();
    let (id, secret) = (created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap());
    let sdk = tessera_client::Client::builder(server.url("/").trim_end_matches('/'))
        .issuer(server.url("/").trim_end_matches('/'))
        .client_credentials(id, secret)
        .build()
        .unwrap();
    for n in 0..6 {
        let _: Value = sdk.post_json("/admin/v1/clients", &json!({ "name": format!("paged {n}"), "scopes": ["read"] })).await.unwrap();
    }
    let token = sdk.access_token().await.unwrap();
    let mut next = Some("/admin/v1/clients?limit=3".to_owned());
    let mut by_hand = Vec::new();
    while let Some(path) = next {
        let response = http().get(server.url(&path)).bearer_auth(&token).send().await.unwrap();
        next = next_link(&response);
        let body = expect(response, 200).await;
        by_hand.extend(body["items"].as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap().to_owned()));
    }
    // The fixture's client, the SDK's client and six more: eight, in three pages, each once.
    assert_eq!(by_hand.len(), 8, "{by_hand:?}");
    assert_eq!(by_hand.iter().collect::<BTreeSet<_>>().len(), 8);
    let all: Vec<tessera_proto::ClientView> = sdk.all("/admin/v1/clients?limit=2").await.unwrap();
    assert_eq!(all.iter().map(|c| c.client_id.clone()).collect::<Vec<_>>(), by_hand);
    let scopes: Vec<tessera_proto::ScopeView> = sdk.all("/admin/v1/scopes?limit=1").await.unwrap();
    assert_eq!(scopes.len(), 9, "six built in and three in the catalogue: {scopes:?}");
}

#[tokio::test]
async fn admin_api_q04_members_and_other_orgs() {
    let (server, fixture) = start();
    let owner = Api::new(&server, &owner_token(&server, &fixture).await);
    let member = Api::new(&server, &member_token(&server, &fixture, "m@example.test").await);

    // A member's token: their own clients only; owner-only APIs answer 403 insufficient_scope.
    let mine = expect(member.post("/clients", &json!({ "name": "my app", "scopes": ["read"] })).await, 201).await;
    let mine_id = mine["client_id"].as_str().unwrap();
    let listed = member.ok("/clients").await;
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap()).collect();
    assert!(ids.contains(&mine_id) && !ids.contains(&fixture.client_id.as_str()), "{listed}");
    for path in ["/members", "/approvals", "/audit"] {
        let (headers, _) = problem(member.get(path).await, 403, "insufficient_scope").await;
        assert_eq!(challenge(&headers), "Bearer realm=\"tessera\", error=\"insufficient_scope\", scope=\"tessera:admin\"");
    }
    let (headers, _) = problem(member.post("/scopes", &json!({ "name": "mine" })).await, 403, "insufficient_scope").await;
    assert!(challenge(&headers).contains("scope=\"tessera:admin\""));
    // Another user's client is not found, not forbidden.
    problem(member.get(&format!("/clients/{}", fixture.client_id)).await, 404, "invalid_request").await;
    problem(member.post(&format!("/clients/{}/disable", fixture.client_id), &json!({})).await, 404, "invalid_request").await;
    problem(member.delete(&format!("/clients/{}", fixture.client_id)).await, 404, "invalid_request").await;
    // A member may not register the restricted admin scope (nor a restricted catalogue scope).
    problem(member.post("/clients", &json!({ "name": "x", "scopes": ["tessera:admin"] })).await, 400, "invalid_request").await;
    problem(member.post("/clients", &json!({ "name": "x", "scopes": ["admin"] })).await, 400, "invalid_request").await;

    // The owner sees the member's client but may not read its secret (only its owner may).
    assert_eq!(owner.ok(&format!("/clients/{mine_id}")).await["owner"], "m@example.test");
    problem(owner.get(&format!("/clients/{mine_id}/secret")).await, 403, "access_denied").await;
    assert_eq!(member.ok(&format!("/clients/{mine_id}/secret")).await["client_secret"], mine["client_secret"]);

    // An admin of another organization sees none of this one.
    let other = Fixture::create(&server.cli).unwrap();
    let stranger = Api::new(&server, &owner_token(&server, &other).await);
    problem(stranger.get(&format!("/clients/{mine_id}")).await, 404, "invalid_request").await;
    problem(stranger.patch(&format!("/clients/{mine_id}"), &json!({ "name": "mine now" })).await, 404, "invalid_request").await;
    problem(stranger.get("/members/m@example.test").await, 404, "invalid_request").await;
    problem(stranger.post("/members/m@example.test/disable", &json!({})).await, 404, "invalid_request").await;
    problem(stranger.post("/tokens/revoke", &json!({ "token": member.token })).await, 400, "invalid_request").await;
    let theirs = stranger.ok("/clients").await;
    assert!(!theirs.to_string().contains(mine_id));
    let audit = stranger.ok("/audit").await;
    assert!(!audit.to_string().contains(mine_id));
    assert_eq!(owner.ok("/me").await["user"]["id"], fixture.owner_id.as_str());

    // Through the code flow too, a member's token lacks tessera:admin (Q04).
    let app = web_client(&server, &fixture, ADMIN_SCOPES);
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login("m@example.test", "member password 1").await.status(), 303);
    let url = agent.authorize(&code_query(&app, "&scope=tessera%3Aadmin+tessera%3Aclients"), "allow").await;
    let code = response_params(&url)["code"].clone();
    let tokens = crate::agent::redeem_ok(&server, &app, &code).await;
    assert_eq!(tokens["scope"], "tessera:clients");
    let by_code = Api::new(&server, tokens["access_token"].as_str().unwrap());
    assert_eq!(by_code.ok("/me").await["user"]["email"], "m@example.test");
    problem(by_code.get("/members").await, 403, "insufficient_scope").await;
}

#[tokio::test]
async fn admin_api_refuses_missing_bad_revoked_and_disabled_tokens() {
    let (server, fixture) = start();
    let no_token = http().get(server.url("/admin/v1/me")).send().await.unwrap();
    let (headers, _) = problem(no_token, 401, "invalid_token").await;
    assert_eq!(challenge(&headers), "Bearer realm=\"tessera\"");
    let (headers, _) = problem(Api::new(&server, "garbage").get("/me").await, 401, "invalid_token").await;
    assert!(challenge(&headers).contains("error=\"invalid_token\""));
    let in_query = http().get(server.url("/admin/v1/me?access_token=x")).bearer_auth("y").send().await.unwrap();
    problem(in_query, 400, "invalid_request").await;

    // A token of this server without the admin scopes.
    let plain = Api::new(&server, &access_token(&server, &fixture).await);
    let (headers, _) = problem(plain.get("/clients").await, 403, "insufficient_scope").await;
    assert_eq!(challenge(&headers), "Bearer realm=\"tessera\", error=\"insufficient_scope\", scope=\"tessera:clients\"");

    // Revoked: refused on the next request.
    let api = Api::new(&server, &owner_token(&server, &fixture).await);
    let doomed = Api::new(&server, &owner_token(&server, &fixture).await);
    expect(doomed.get("/me").await, 200).await;
    expect(api.post("/tokens/revoke", &json!({ "token": doomed.token })).await, 204).await;
    problem(doomed.get("/me").await, 401, "invalid_token").await;

    // Its client turned OFF (by the CLI, another process): refused at once.
    let switched = Api::new(&server, &owner_token(&server, &fixture).await);
    let me = switched.ok("/me").await;
    server.cli.json(&["client", "disable", me["client_id"].as_str().unwrap()]).unwrap();
    problem(switched.get("/me").await, 401, "invalid_token").await;

    // Its user disabled: refused at once, by the CLI as by the API.
    let member = Api::new(&server, &member_token(&server, &fixture, "gone@example.test").await);
    expect(member.get("/me").await, 200).await;
    server.cli.json(&["user", "disable", "gone@example.test"]).unwrap();
    problem(member.get("/me").await, 401, "invalid_token").await;
    problem(member.get("/clients").await, 401, "invalid_token").await;
}

#[tokio::test]
async fn admin_api_malformed_requests_are_problems_never_5xx() {
    let (server, fixture) = start();
    let api = Api::new(&server, &owner_token(&server, &fixture).await);
    let raw = |method: reqwest::Method, path: &str, content_type: &str, body: Vec<u8>| {
        http()
            .request(method, server.url(&format!("/admin/v1{path}")))
            .bearer_auth(&api.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let json_type = "application/json";
    problem(raw(reqwest::Method::POST, "/clients", json_type, b"{\"name\":".to_vec()).await.unwrap(), 400, "invalid_request").await;
    let (_, body) = problem(
        raw(reqwest::Method::POST, "/clients", json_type, br#"{"name":"x","colour":"red"}"#.to_vec()).await.unwrap(),
        400,
        "invalid_request",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("colour"), "{body}");
    let (_, body) =
        problem(raw(reqwest::Method::POST, "/clients", json_type, br#"{"name":42}"#.to_vec()).await.unwrap(), 400, "invalid_request").await;
    assert!(body["detail"].as_str().unwrap().contains("invalid type"), "{body}");
    problem(raw(reqwest::Method::POST, "/clients", json_type, b"[]".to_vec()).await.unwrap(), 400, "invalid_request").await;
    problem(
        raw(reqwest::Method::PATCH, "/scopes/read", json_type, br#"{"restricted":"yes"}"#.to_vec()).await.unwrap(),
        400,
        "invalid_request",
    )
    .await;
    problem(raw(reqwest::Method::POST, "/clients", "text/plain", b"{}".to_vec()).await.unwrap(), 415, "invalid_request").await;
    problem(
        raw(reqwest::Method::POST, "/clients", "application/x-www-form-urlencoded", b"name=x".to_vec()).await.unwrap(),
        415,
        "invalid_request",
    )
    .await;
    let huge = format!("{{\"name\":\"{}\"}}", "a".repeat(70 * 1024));
    problem(raw(reqwest::Method::POST, "/clients", json_type, huge.into_bytes()).await.unwrap(), 413, "invalid_request").await;
    problem(api.post("/clients", &json!({ "name": "" })).await, 400, "invalid_request").await;
    problem(api.post("/clients", &json!({ "name": "x", "grants": ["password"] })).await, 400, "invalid_request").await;
    problem(api.post("/clients", &json!({ "name": "x", "allowed_ips": ["not an ip"] })).await, 400, "invalid_request").await;
    problem(api.post("/clients", &json!({ "name": "x", "access_token_ttl": -5 })).await, 400, "invalid_request").await;
    problem(api.patch(&format!("/clients/{}", fixture.client_id), &json!({ "run_as": "nobody@nowhere" })).await, 400, "invalid_request")
        .await;

    // Unknown paths and methods under /admin/v1 are problems too.
    problem(api.get("/nothing-here").await, 404, "invalid_request").await;
    problem(api.get("").await, 404, "invalid_request").await;
    problem(api.put("/clients").await, 405, "invalid_request").await;
    problem(api.delete("/me").await, 405, "invalid_request").await;
    problem(api.get("/clients?limit=500").await, 400, "invalid_request").await;
    problem(api.get("/clients?cursor=not-hex").await, 400, "invalid_request").await;
    problem(api.get("/clients?page=2").await, 400, "invalid_request").await;
}

#[tokio::test]
async fn admin_api_openapi_document_is_valid_and_names_every_route() {
    let (server, _fixture) = start();
    let response = http().get(server.url("/admin/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1."), "{}", document["openapi"]);

    // An independent validator (Python's openapi-spec-validator, installed by scripts/test).
    let dir = tempdir();
    let file = dir.join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let output = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", "3.1.0"])
        .arg(&file)
        .output()
        .expect("python3 runs (the CI installs openapi-spec-validator)");
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();

    // The router and the document are made from one list of handlers; what the document names,
    // the router serves (none answers the "no such endpoint" 404 or a 405).
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    // A new route changes this count, and is unfinished until the authorization matrix has its rows.
    assert_eq!(documented.len(), 35, "{documented:?}");
    for (method, path) in &documented {
        let url = server.url(&path.replace("{client_id}", "x").replace("{user}", "x").replace("{name}", "x"));
        let response = http().request(method.parse().unwrap(), url).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert!(!body.contains("no such endpoint") && status != 405, "{method} {path}: {status} {body}");
    }
    let security = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!((security["type"].as_str(), security["scheme"].as_str()), (Some("http"), Some("bearer")));
    // The clients' PKCE setting is a closed vocabulary in the schema too.
    let schemas = &document["components"]["schemas"];
    assert_eq!(schemas["Pkce"]["enum"], json!(["required", "optional"]), "{}", schemas["Pkce"]);
    assert!(schemas["ClientView"]["properties"]["pkce"].is_object(), "{}", schemas["ClientView"]);
    assert!(schemas["NewClientRequest"]["properties"]["pkce"].is_object(), "{}", schemas["NewClientRequest"]);
    assert!(schemas["ClientPatch"]["properties"]["pkce"].is_object(), "{}", schemas["ClientPatch"]);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-openapi-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}
