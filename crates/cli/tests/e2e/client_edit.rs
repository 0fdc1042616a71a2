//! Changing a client's grants and scopes after creation, by the CLI, the admin API and the
//! portal: the same rules as at creation, a refused edit changes nothing, and the change holds
//! from the very next request (the cache follows the change feed): a grant removed is refused
//! (`unauthorized_client`, also for refresh tokens already issued), a scope removed is no longer
//! granted, on refresh neither. Access tokens already issued live out their lifetime.

use serde_json::{Value, json};

use crate::agent::*;
use crate::common::*;

fn show(server: &Server, id: &str) -> Value {
    server.cli.json(&["client", "show", id]).unwrap()
}

/// `client update ID args…` that must fail; returns its error message.
fn update_refused(server: &Server, id: &str, args: &[&str]) -> String {
    let mut all = vec!["client", "update", id];
    all.extend_from_slice(args);
    let output = server.cli.run(&all).unwrap();
    assert!(!output.success, "{args:?} should be refused: {}", output.stdout);
    output.error().unwrap()["message"].as_str().unwrap().to_owned()
}

fn update(server: &Server, id: &str, args: &[&str]) -> Value {
    let mut all = vec!["client", "update", id];
    all.extend_from_slice(args);
    server.cli.json(&all).unwrap()
}

fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name].as_str().unwrap_or_else(|| panic!("no {name} in {value}"))
}

/// A web client with the refresh grant and the owner's first tokens for `scope`.
async fn web_tokens(server: &Server, fixture: &Fixture, scope: &str) -> (Fixture, Value) {
    let client = web_client(server, fixture, &["--grant", "refresh_token"]);
    let mut agent = Agent::new(server);
    let code = owner_code(&mut agent, fixture, &client, &format!("&scope={scope}")).await;
    let tokens = redeem_ok(server, &client, &code).await;
    (client, tokens)
}

async fn client_credentials(server: &Server, client: &Fixture, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    post_basic(server, "/oauth2/token", &client.client_id, &client.client_secret, &form).await
}

#[tokio::test]
async fn cli_update_replaces_grants_and_scopes_and_a_refused_edit_changes_nothing() {
    let (server, fixture) = start();
    let id = fixture.client_id.clone();
    let before = show(&server, &id);
    assert_eq!(before["scopes"], json!(["admin", "read", "write"]));

    // Each refusal names its problem, and leaves the client exactly as it was.
    let refusals: [(&[&str], &str); 5] = [
        (&["--scope", "nosuch"], "scope 'nosuch' is not in the organization's catalogue"),
        (&["--grant", "teleport"], "unknown grant \"teleport\""),
        (&["--grant", "authorization_code"], "need a redirect URI"),
        (&["--scope", "read", "--grant", "authorization_code", "--grant", "implicit"], "need a redirect URI"),
        (&["--scope", "bad\"scope"], "scope"),
    ];
    for (args, message) in refusals {
        let stderr = update_refused(&server, &id, args);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(show(&server, &id), before, "{args:?} changed the client");
    }

    // Given: the whole new list. The very next token request follows it.
    let edited = update(&server, &id, &["--scope", "read", "--scope", "openid"]);
    assert_eq!((edited["scopes"].clone(), edited["grants"].clone()), (json!(["openid", "read"]), json!(["client_credentials"])));
    assert_eq!(show(&server, &id)["scopes"], json!(["openid", "read"]), "stored");
    // Scopes were taken away: the client's earlier tokens end, to the second after the change
    // (`iat` counts seconds), so the next token is asked for in the next second.
    wait_for_the_next_second();
    let issued: Value = client_credentials(&server, &fixture, None).await.json().await.unwrap();
    assert_eq!(issued["scope"], "openid read", "{issued}");
    assert_oauth_error(client_credentials(&server, &fixture, Some("write")).await, 400, "invalid_scope").await;

    // The audit entry carries the new grants and scopes.
    let audit = server.cli.json(&["audit", "list", "--org", &fixture.org_name]).unwrap();
    let entry = audit.as_array().unwrap().iter().find(|e| e["action"] == "client_updated").expect("client_updated").to_string();
    assert!(entry.contains("client_credentials") && entry.contains("openid read"), "{entry}");

    // client_credentials removed: the next client-credentials request is unauthorized_client;
    // the token issued before lives out its lifetime.
    update(&server, &id, &["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb"]);
    assert_eq!(show(&server, &id)["grants"], json!(["authorization_code"]));
    assert_oauth_error(client_credentials(&server, &fixture, None).await, 400, "unauthorized_client").await;
    assert!(is_active(&server, &fixture, field(&issued, "access_token")).await);
    update(&server, &id, &["--grant", "client_credentials"]);
    assert_eq!(client_credentials(&server, &fixture, None).await.status(), 200);
}

#[tokio::test]
async fn the_rules_of_creation_hold_for_edits_public_clients_and_restricted_scopes() {
    let (server, fixture) = start();
    let (_, spa) = add_client(&server, &fixture, "spa", PUBLIC_SPA);
    let before = show(&server, &spa.client_id);
    for grant in ["client_credentials", "token_exchange"] {
        let stderr = update_refused(&server, &spa.client_id, &["--grant", "authorization_code", "--grant", grant]);
        assert!(stderr.contains(&format!("a public client cannot use the {grant} grant")), "{stderr}");
    }
    assert_eq!(show(&server, &spa.client_id), before);
    let edited = update(&server, &spa.client_id, &["--grant", "authorization_code", "--grant", "refresh_token"]);
    assert_eq!(edited["grants"], json!(["authorization_code", "refresh_token"]));
    assert_eq!(show(&server, &spa.client_id)["grants"], edited["grants"], "stored");

    // A member's client may not take the restricted scope, by any path.
    let dev = format!("dev@{}.test", fixture.org_name);
    add_user(&server, &fixture, &dev, "member", "member password 1", &[]);
    let created = server
        .cli
        .json(&["client", "create", "--org", &fixture.org_name, "--owner", &dev, "--name", "dev tool", "--scope", "read"])
        .unwrap();
    let id = field(&created, "client_id");
    let stderr = update_refused(&server, id, &["--scope", "read", "--scope", "admin"]);
    assert!(stderr.contains("the owner's role may not grant the restricted scope 'admin'"), "{stderr}");
    assert_eq!(show(&server, id)["scopes"], json!(["read"]));
}

#[tokio::test]
async fn removing_refresh_token_refuses_the_clients_refresh_tokens_at_the_next_refresh() {
    let (server, fixture) = start();
    let (client, tokens) = web_tokens(&server, &fixture, "read").await;
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read%20offline_access").await;
    let offline = redeem_ok(&server, &client, &code).await;
    update(&server, &client.client_id, &["--grant", "authorization_code"]);
    // RFC 6749 §5.2: the client is no longer authorized for this grant type. The token is left
    // as it was, not revoked.
    assert_oauth_error(refresh(&server, &client, field(&tokens, "refresh_token"), &[]).await, 400, "unauthorized_client").await;
    // A family begun with offline_access needs only authorization_code, as at creation.
    assert_eq!(refresh(&server, &client, field(&offline, "refresh_token"), &[]).await.status(), 200);
    // The access token issued before lives out its lifetime.
    assert!(is_active(&server, &fixture, field(&tokens, "access_token")).await);

    update(&server, &client.client_id, &["--grant", "authorization_code", "--grant", "refresh_token"]);
    let refreshed = refresh(&server, &client, field(&tokens, "refresh_token"), &[]).await;
    assert_eq!(refreshed.status(), 200, "the grant back, the untouched token works again");
}

#[tokio::test]
async fn admin_api_patch_of_scopes_narrows_the_next_refresh_and_refuses_bad_lists() {
    let (server, fixture) = start();
    let (client, tokens) = web_tokens(&server, &fixture, "read%20write").await;
    assert_eq!(tokens["scope"], "read write");
    let (_, admin) = add_client(&server, &fixture, "admin script", &["--scope", "tessera:clients"]);
    let admin_token = token(&server, &admin, None).await["access_token"].as_str().unwrap().to_owned();
    let path = server.url(&format!("/admin/v1/clients/{}", client.client_id));
    let patch = |body: Value| {
        let request = http().patch(&path).bearer_auth(&admin_token).json(&body);
        async move { request.send().await.unwrap() }
    };

    let before = show(&server, &client.client_id);
    let refusals = [
        (json!({ "scopes": ["read", "nosuch"] }), "scope 'nosuch' is not in the organization's catalogue"),
        (json!({ "grants": [] }), "at least one grant is required"),
        (json!({ "grants": ["client_credentials", "authorization_code"], "redirect_uris": [] }), "need a redirect URI"),
        (json!({ "grants": "refresh_token" }), ""),
    ];
    for (body, message) in refusals {
        let response = patch(body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["error"], "invalid_request", "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains(message), "{body}: {problem}");
        assert_eq!(show(&server, &client.client_id), before, "{body} changed the client");
    }

    let response = patch(json!({ "scopes": ["read"] })).await;
    assert_eq!(response.status(), 200);
    let view: Value = response.json().await.unwrap();
    assert_eq!((view["scopes"].clone(), view["grants"].clone()), (json!(["read"]), json!(["authorization_code", "refresh_token"])));

    // The family was granted `read write`; the next refresh gets `read` only, and asking for
    // `write` alone leaves nothing the client may still have.
    let refreshed: Value = refresh(&server, &client, field(&tokens, "refresh_token"), &[]).await.json().await.unwrap();
    assert_eq!(refreshed["scope"], "read", "{refreshed}");
    let (_, claims) = jwt_parts(field(&refreshed, "access_token"));
    assert_eq!(claims["scope"], "read", "{claims}");
    let response = refresh(&server, &client, field(&refreshed, "refresh_token"), &[("scope", "write")]).await;
    assert_oauth_error(response, 400, "invalid_scope").await;
    // A new authorization gets `read` only too.
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read%20write").await;
    assert_eq!(redeem_ok(&server, &client, &code).await["scope"], "read");

    // The scope back: the family's scope (never narrowed by a refresh) is granted again.
    assert_eq!(patch(json!({ "scopes": ["read", "write"] })).await.status(), 200);
    let refreshed: Value = refresh(&server, &client, field(&refreshed, "refresh_token"), &[]).await.json().await.unwrap();
    assert_eq!(refreshed["scope"], "read write", "{refreshed}");

    // The OpenAPI document shows both members of the patch.
    let openapi: Value = http().get(server.url("/admin/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let properties = &openapi["components"]["schemas"]["ClientPatch"]["properties"];
    for member in ["grants", "scopes"] {
        assert!(properties[member]["type"].to_string().contains("array"), "{member}: {properties}");
    }
}

async fn signed_in_owner<'a>(server: &'a Server, fixture: &Fixture) -> Agent<'a> {
    let mut agent = Agent::new(server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    agent
}

/// Whether the edit form shows the checkbox `name=value` checked.
fn checked(html: &str, name: &str, value: &str) -> bool {
    let marker = format!("name=\"{name}\" value=\"{value}\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name}={value} on the form"));
    html[start..].split('>').next().unwrap().contains("checked")
}

#[tokio::test]
async fn portal_edit_form_shows_and_changes_grants_and_scopes() {
    let (server, fixture) = start();
    let id = fixture.client_id.clone();
    let path = format!("/settings/api-clients/{id}/edit");
    let mut agent = signed_in_owner(&server, &fixture).await;
    let response = agent.get(&path).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(checked(&html, "grants", "client_credentials") && !checked(&html, "grants", "refresh_token"));
    assert!(checked(&html, "scopes", "read") && checked(&html, "scopes", "write") && checked(&html, "scopes", "admin"));
    let csrf = hidden(&html, "csrf_token");
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut form = vec![("csrf_token", csrf.clone()), ("name", "script".to_owned()), ("run_as", fixture.owner_email.clone())];
        form.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        form
    };

    // Nothing checked: refused on the form, next to the grants, and nothing changes.
    let before = show(&server, &id);
    let none_checked = base(&[("grants", ""), ("scopes", ""), ("scopes", "read")]);
    let response = agent.post(&path, &pairs(&none_checked)).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("At least one grant is required."));
    assert_eq!(show(&server, &id), before);
    let bad_scope = base(&[("grants", ""), ("grants", "client_credentials"), ("scopes", ""), ("scopes", "nosuch")]);
    let response = agent.post(&path, &pairs(&bad_scope)).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("not in the organization"));
    assert_eq!(show(&server, &id), before);

    // Checked boxes are the new lists; the next token follows them.
    let narrowed = base(&[("grants", ""), ("grants", "client_credentials"), ("scopes", ""), ("scopes", "write")]);
    assert_eq!(agent.post(&path, &pairs(&narrowed)).await.status(), 303);
    assert_eq!(show(&server, &id)["scopes"], json!(["write"]));
    assert_eq!(token(&server, &fixture, None).await["scope"], "write");
    let html = agent.get(&path).await.text().await.unwrap();
    assert!(checked(&html, "scopes", "write") && !checked(&html, "scopes", "read"), "pre-filled with the new values");

    // A form without the groups (an older page) leaves grants and scopes as they are.
    assert_eq!(agent.post(&path, &pairs(&base(&[]))).await.status(), 303);
    assert_eq!(show(&server, &id)["scopes"], json!(["write"]));
    assert_eq!(show(&server, &id)["grants"], json!(["client_credentials"]));
}

fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// SPEC §13: `client update` changes every setting `client create` sets (the kind and the way it
/// authenticates excepted: they decide what credential it holds), and `client show` gives them back.
#[tokio::test]
async fn cli_update_changes_every_setting_create_can_set() {
    let (server, fixture) = start();
    let robot =
        add_user(&server, &fixture, "robot@matrix.test", "member", "a robot's password 1", &["--permission", "authorize_applications"]);
    let robot_id = field(&robot, "id").to_owned();
    let client = web_client(&server, &fixture, &[]);
    let id = client.client_id.as_str();
    let updated = update(
        &server,
        id,
        &[
            "--name",
            "renamed",
            "--grant",
            "authorization_code",
            "--grant",
            "client_credentials",
            "--scope",
            "read",
            "--redirect-uri",
            "https://app.example/other",
            "--allowed-origin",
            "https://app.example",
            "--allowed-ip",
            "10.0.0.0/8",
            "--run-as",
            "robot@matrix.test",
            "--access-token-ttl",
            "600",
            "--requires-org-approval",
            "true",
            "--require-par",
            "true",
            "--require-dpop",
            "true",
            "--pkce",
            "optional",
            "--resource",
            "https://api.example/",
        ],
    );
    assert_eq!(updated, show(&server, id), "what update answers is what is stored");
    let expected = json!({
        "name": "renamed", "grants": ["client_credentials", "authorization_code"], "scopes": ["read"],
        "redirect_uris": ["https://app.example/other"], "allowed_origins": ["https://app.example"],
        "allowed_ips": ["10.0.0.0/8"], "run_as_id": robot_id, "access_token_ttl": 600,
        "requires_org_approval": true, "require_pushed_authorization_requests": true,
        "dpop_bound_access_tokens": true, "pkce": "optional", "resources": ["https://api.example/"],
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&updated[key], value, "{key}");
    }
    // And back: the server's lifetime, any address, no approval needed, the owner as run-as.
    let back = update(
        &server,
        id,
        &[
            "--default-access-token-ttl",
            "--any-ip",
            "--requires-org-approval",
            "false",
            "--run-as",
            &fixture.owner_email,
            "--clear-resources",
        ],
    );
    assert!(back.get("access_token_ttl").is_none(), "{back}");
    assert_eq!((back["allowed_ips"].clone(), back["requires_org_approval"].clone()), (json!([]), json!(false)));
    assert_eq!((field(&back, "run_as_id"), back["resources"].clone()), (fixture.owner_id.as_str(), json!([])));
    update_refused(&server, id, &["--access-token-ttl", "60", "--default-access-token-ttl"]);
}
