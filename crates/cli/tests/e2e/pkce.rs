//! PKCE required of every client in the code flow (OAuth 2.1 §4.1.1, SPEC §12, P10): the
//! default for confidential clients, `--pkce optional` for a legacy one, never optional for a
//! public client (CLI, admin API, portal), the setting shown and changed everywhere a client is,
//! and the Bluescape profile's default, since its seed sends no `code_challenge`.

use serde_json::{Value, json};

use crate::admin_api::{Api, expect, owner_token, problem};
use crate::agent::*;
use crate::common::*;

/// A code request by `client` without PKCE.
fn without_pkce(client: &Fixture) -> String {
    format!("response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=xyz&scope=read", client.client_id)
}

/// Redeems a code that was issued without a challenge: no `code_verifier`.
async fn redeem_without_verifier(server: &Server, client: &Fixture, code: &str) -> reqwest::Response {
    let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "https://app.example/cb")];
    post_basic(server, "/oauth2/token", &client.client_id, &client.client_secret, &form).await
}

fn show(server: &Server, client: &Fixture) -> Value {
    server.cli.json(&["client", "show", &client.client_id]).unwrap()
}

#[tokio::test]
async fn p10_pkce_required_by_default_refuses_a_confidential_client_without_code_challenge() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    assert_eq!(show(&server, &client)["pkce"], "required", "the default");
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    // The redirect URI is trusted: the error goes back to the client, with state and iss.
    let url = agent.authorize(&without_pkce(&client), "allow").await;
    assert!(url.starts_with("https://app.example/cb?"), "{url}");
    let params = response_params(&url);
    assert_eq!(params["error"], "invalid_request", "{url}");
    assert!(params["error_description"].contains("PKCE"), "{url}");
    assert_eq!(params["state"], "xyz");
    assert!(!params.contains_key("code"));
    // A pushed request is held to the same rule.
    let form = [("response_type", "code"), ("redirect_uri", "https://app.example/cb"), ("scope", "read")];
    let response = post_basic(&server, "/oauth2/par", &client.client_id, &client.client_secret, &form).await;
    assert_oauth_error(response, 400, "invalid_request").await;
    // With PKCE the same client gets its code and tokens.
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    redeem_ok(&server, &client, &code).await;
}

#[tokio::test]
async fn p10_a_client_registered_pkce_optional_runs_the_code_flow_without_it_until_updated_to_required() {
    let (server, fixture) = start();
    let legacy = web_client(&server, &fixture, &["--pkce", "optional"]);
    assert_eq!(show(&server, &legacy)["pkce"], "optional");
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let url = agent.authorize(&without_pkce(&legacy), "allow").await;
    let code = response_params(&url).get("code").unwrap_or_else(|| panic!("a code: {url}")).clone();
    let response = redeem_without_verifier(&server, &legacy, &code).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    // A challenge that is sent is still enforced (P07).
    let code = owner_code(&mut agent, &fixture, &legacy, "&scope=read").await;
    assert_oauth_error(redeem_without_verifier(&server, &legacy, &code).await, 400, "invalid_grant").await;

    // Tightened with `client update`: the running server applies it on the next request.
    let updated = server.cli.json(&["client", "update", &legacy.client_id, "--pkce", "required"]).unwrap();
    assert_eq!(updated["pkce"], "required");
    let params = response_params(&agent.authorize(&without_pkce(&legacy), "allow").await);
    assert_eq!(params.get("error").map(String::as_str), Some("invalid_request"), "{params:?}");
    let audit = server.cli.json(&["audit", "list", "--org", &fixture.org_name]).unwrap();
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "client_updated" && e["detail"]["pkce"] == "required"), "{audit}");
    let bad = server.cli.run(&["client", "update", &legacy.client_id, "--pkce", "sometimes"]).unwrap();
    assert!(!bad.success && bad.stderr.contains("required or optional"), "{}", bad.stderr);
}

#[tokio::test]
async fn p10_a_public_client_can_never_be_pkce_optional() {
    let (server, fixture) = start();
    let mut args = vec!["client", "create", "--org", &fixture.org_name, "--owner", &fixture.owner_email, "--name", "spa"];
    args.extend_from_slice(PUBLIC_SPA);
    args.extend(["--pkce", "optional"]);
    let refused = server.cli.run(&args).unwrap();
    assert!(!refused.success, "{}", refused.stdout);
    assert!(refused.stderr.contains("a public client always uses PKCE"), "{}", refused.stderr);
    let (created, spa) = add_client(&server, &fixture, "spa", PUBLIC_SPA);
    assert_eq!(created["pkce"], "required");
    let refused = server.cli.run(&["client", "update", &spa.client_id, "--pkce", "optional"]).unwrap();
    assert!(!refused.success && refused.stderr.contains("a public client always uses PKCE"), "{}", refused.stderr);
    assert_eq!(show(&server, &spa)["pkce"], "required");

    // The admin API: a 400 problem naming the rule, at creation and on PATCH.
    let api = Api::new(&server, &owner_token(&server, &fixture).await);
    let body = json!({"name": "spa", "public": true, "grants": ["authorization_code"], "redirect_uris": ["http://127.0.0.1/cb"], "pkce": "optional"});
    let (_, refused) = problem(api.post("/clients", &body).await, 400, "invalid_request").await;
    assert!(refused["detail"].as_str().unwrap().contains("a public client always uses PKCE"), "{refused}");
    let (_, refused) =
        problem(api.patch(&format!("/clients/{}", spa.client_id), &json!({"pkce": "optional"})).await, 400, "invalid_request").await;
    assert!(refused["detail"].as_str().unwrap().contains("PKCE"), "{refused}");
    problem(api.post("/clients", &json!({"name": "x", "pkce": "sometimes"})).await, 400, "invalid_request").await;

    // The portal: the form's PKCE field carries the message.
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let form = agent.get("/settings/api-clients/new?kind=server").await.text().await.unwrap();
    assert!(form.contains(r#"<label for="pkce">"#) && form.contains(r#"<select id="pkce" name="pkce""#), "a real label: {form}");
    assert!(form.contains("<summary>Advanced settings</summary>"), "{form}");
    let fields = [
        ("name", "portal spa"),
        ("grants", "authorization_code"),
        ("public", "true"),
        ("redirect_uris", "http://127.0.0.1/cb"),
        ("pkce", "optional"),
    ];
    let response = agent.submit("/settings/api-clients/new", &form, &["csrf_token"], &fields).await;
    assert_eq!(response.status(), 400);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"id="pkce-error""#) && page.contains("a public client always uses PKCE"), "{page}");
}

#[tokio::test]
async fn the_setting_is_shown_and_changed_through_the_admin_api_and_the_portal() {
    let (server, fixture) = start();
    let api = Api::new(&server, &owner_token(&server, &fixture).await);
    let web = json!({"name": "web", "grants": ["authorization_code"], "redirect_uris": ["https://app.example/cb"]});
    let created = expect(api.post("/clients", &web).await, 201).await;
    assert_eq!(created["pkce"], "required");
    let id = created["client_id"].as_str().unwrap();
    let legacy = expect(
        api.post(
            "/clients",
            &json!({"name": "legacy", "pkce": "optional", "grants": ["authorization_code"], "redirect_uris": ["https://app.example/cb"]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(legacy["pkce"], "optional");
    let patched = expect(api.patch(&format!("/clients/{id}"), &json!({"pkce": "optional"})).await, 200).await;
    assert_eq!(patched["pkce"], "optional");
    assert_eq!(expect(api.get(&format!("/clients/{id}")).await, 200).await["pkce"], "optional");
    let patched = expect(api.patch(&format!("/clients/{id}"), &json!({"name": "renamed"})).await, 200).await;
    assert_eq!(patched["pkce"], "optional", "left out: unchanged");

    // The portal shows it, and its edit form changes it.
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let page = agent.get(&format!("/settings/api-clients/{id}")).await.text().await.unwrap();
    assert!(page.contains(r#"<dd id="pkce">optional"#), "{page}");
    let form = agent.get(&format!("/settings/api-clients/{id}/edit")).await.text().await.unwrap();
    assert!(form.contains(r#"<option value="optional" selected>"#), "{form}");
    let fields = [("name", "renamed"), ("grants", "authorization_code"), ("redirect_uris", "https://app.example/cb"), ("pkce", "required")];
    let response = agent.submit(&format!("/settings/api-clients/{id}/edit"), &form, &["csrf_token"], &fields).await;
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    assert_eq!(server.cli.json(&["client", "show", id]).unwrap()["pkce"], "required");
}

#[tokio::test]
async fn the_bluescape_profile_makes_confidential_clients_pkce_optional_by_default() {
    let (server, fixture) = start_with(ServerOptions {
        serve: vec!["--profile".into(), "bluescape".into(), "--registration-endpoint".into(), "true".into()],
        ..ServerOptions::default()
    });
    // The CLI makes its clients as the running server's profile says.
    let (created, legacy) =
        add_client(&server, &fixture, "seed app", &["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb"]);
    assert_eq!(created["pkce"], "optional");
    let (created, _) = add_client(
        &server,
        &fixture,
        "strict",
        &["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb", "--pkce", "required"],
    );
    assert_eq!(created["pkce"], "required", "an explicit setting wins");
    let (created, _) = add_client(&server, &fixture, "spa", PUBLIC_SPA);
    assert_eq!(created["pkce"], "required", "a public client always requires PKCE");
    // So do the admin API and the portal's form.
    let api = Api::new(&server, &owner_token(&server, &fixture).await);
    let web = json!({"name": "web", "grants": ["authorization_code"], "redirect_uris": ["https://app.example/cb"]});
    assert_eq!(expect(api.post("/clients", &web).await, 201).await["pkce"], "optional");
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let form = agent.get("/settings/api-clients/new?kind=server").await.text().await.unwrap();
    assert!(form.contains(r#"<option value="optional" selected>"#), "{form}");
    // Dynamic registration keeps PKCE required: RFC 7591 has no way to ask otherwise.
    let token = crate::registration::initial_token(&server, &fixture, &[]);
    let body = json!({"redirect_uris": ["https://app.example/cb"], "grant_types": ["authorization_code"], "scope": "read"});
    let registered: Value = expect(crate::registration::register(&server, Some(&token), &body).await, 201).await;
    let registered_id = registered["client_id"].as_str().unwrap();
    assert_eq!(server.cli.json(&["client", "show", registered_id]).unwrap()["pkce"], "required");

    // The seed's code flow, without a challenge, at the profile's /authorize.
    let response = agent.get(&format!("/authorize?{}", without_pkce(&legacy))).await;
    let page = response.text().await.unwrap();
    let response = agent.submit("/oauth2/authorize/decision", &page, &["csrf_token", "request"], &[("decision", "allow")]).await;
    let code = response_params(&location(&response)).get("code").cloned().unwrap_or_else(|| panic!("{page}"));
    assert_eq!(redeem_without_verifier(&server, &legacy, &code).await.status(), 200);
}
