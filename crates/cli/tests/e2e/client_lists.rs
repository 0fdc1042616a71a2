//! A client holds at most 100 redirect URIs, 100 allowed origins and 100 IP ranges (SPEC §12;
//! resources: at most 20): one rule (`core::client::registration_problems`), the same answer
//! from the CLI, the admin API, the portal and dynamic registration, at creation and on update.

use serde_json::{Value, json};

use crate::admin_api::{Api, expect, owner_token, problem};
use crate::common::*;

fn uris(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("https://app.example/cb/{i}")).collect()
}

fn origins(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("https://app{i}.example")).collect()
}

fn ips(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("10.0.{}.{}/32", i / 256, i % 256)).collect()
}

/// `client create` flags: `flag VALUE` for each value.
fn flags<'a>(flag: &'a str, values: &'a [String]) -> Vec<&'a str> {
    values.iter().flat_map(|v| [flag, v.as_str()]).collect()
}

fn create(server: &Server, fixture: &Fixture, extra: &[&str]) -> tessera_testkit::CliOutput {
    let mut args = vec!["client", "create", "--org", &fixture.org_name, "--owner", &fixture.owner_email, "--name", "lists"];
    args.extend(["--grant", "authorization_code"]);
    args.extend_from_slice(extra);
    server.cli.run(&args).unwrap()
}

#[tokio::test]
async fn at_most_100_redirect_uris_origins_and_ip_ranges_over_the_cli() {
    let (server, fixture) = start();
    let (hundred, hundred_and_one) = (uris(100), uris(101));
    let made = create(&server, &fixture, &flags("--redirect-uri", &hundred));
    assert!(made.success, "100 redirect URIs are accepted: {}", made.stderr);
    let id = made.json().unwrap()["client_id"].as_str().unwrap().to_owned();
    assert_eq!(server.cli.json(&["client", "show", &id]).unwrap()["redirect_uris"].as_array().unwrap().len(), 100);
    let refused = create(&server, &fixture, &flags("--redirect-uri", &hundred_and_one));
    assert!(!refused.success, "{}", refused.stdout);
    assert!(refused.stderr.contains("at most 100 redirect URIs, not 101"), "{}", refused.stderr);
    let mut update = vec!["client", "update", id.as_str()];
    update.extend(flags("--redirect-uri", &hundred_and_one));
    let refused = server.cli.run(&update).unwrap();
    assert!(!refused.success && refused.stderr.contains("at most 100 redirect URIs"), "{}", refused.stderr);
    assert_eq!(server.cli.json(&["client", "show", &id]).unwrap()["redirect_uris"].as_array().unwrap().len(), 100, "unchanged");

    let one = uris(1);
    for (flag, values, what) in [("--allowed-origin", origins(101), "allowed origins"), ("--allowed-ip", ips(101), "allowed IP ranges")] {
        let mut extra = flags("--redirect-uri", &one);
        extra.extend(flags(flag, &values));
        let refused = create(&server, &fixture, &extra);
        assert!(!refused.success && refused.stderr.contains(&format!("at most 100 {what}, not 101")), "{flag}: {}", refused.stderr);
        extra.truncate(extra.len() - 2);
        assert!(create(&server, &fixture, &extra).success, "{flag}: 100 are accepted");
    }
}

#[tokio::test]
async fn at_most_100_redirect_uris_origins_and_ip_ranges_in_the_admin_api_and_dynamic_registration() {
    let (server, fixture) =
        start_with(ServerOptions { serve: vec!["--registration-endpoint".into(), "true".into()], ..ServerOptions::default() });
    let api = Api::new(&server, &owner_token(&server, &fixture).await);
    let body = |field: &str, values: Vec<String>| {
        let mut body = json!({"name": "lists", "grants": ["authorization_code"], "redirect_uris": uris(1)});
        body[field] = json!(values);
        body
    };
    for (field, hundred, hundred_and_one, what) in [
        ("redirect_uris", uris(100), uris(101), "redirect URIs"),
        ("allowed_origins", origins(100), origins(101), "allowed origins"),
        ("allowed_ips", ips(100), ips(101), "allowed IP ranges"),
    ] {
        let (_, refused) = problem(api.post("/clients", &body(field, hundred_and_one.clone())).await, 400, "invalid_request").await;
        assert!(refused["detail"].as_str().unwrap().contains(&format!("at most 100 {what}, not 101")), "{refused}");
        let created: Value = expect(api.post("/clients", &body(field, hundred.clone())).await, 201).await;
        assert_eq!(created[field].as_array().unwrap().len(), 100, "{field}");
        let path = format!("/clients/{}", created["client_id"].as_str().unwrap());
        let (_, refused) = problem(api.patch(&path, &json!({ field: hundred_and_one })).await, 400, "invalid_request").await;
        assert!(refused["detail"].as_str().unwrap().contains(&format!("at most 100 {what}")), "{refused}");
    }

    // Dynamic registration (RFC 7591): the redirect URIs' error, and the same on update (RFC 7592).
    let token = crate::registration::initial_token(&server, &fixture, &[]);
    let register =
        |redirect_uris: Vec<String>| json!({"redirect_uris": redirect_uris, "grant_types": ["authorization_code"], "scope": "read"});
    let response = crate::registration::register(&server, Some(&token), &register(uris(101))).await;
    assert_oauth_error(response, 400, "invalid_redirect_uri").await;
    let registered: Value = expect(crate::registration::register(&server, Some(&token), &register(uris(100))).await, 201).await;
    let mut update = register(uris(101));
    update["client_id"] = registered["client_id"].clone();
    let response = http()
        .put(registered["registration_client_uri"].as_str().unwrap())
        .bearer_auth(registered["registration_access_token"].as_str().unwrap())
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, 400, "invalid_client_metadata").await;
}

#[tokio::test]
async fn the_portal_names_the_field_of_a_list_too_long() {
    let (server, fixture) = start();
    let mut agent = crate::agent::Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, crate::agent::OWNER_PASSWORD).await.status(), 303);
    let form = agent.get("/settings/api-clients/new?kind=server").await.text().await.unwrap();
    let lines = uris(101).join("\n");
    let fields = [("name", "lists"), ("grants", "authorization_code"), ("redirect_uris", lines.as_str())];
    let response = agent.submit("/settings/api-clients/new", &form, &["csrf_token"], &fields).await;
    assert_eq!(response.status(), 400);
    let page = response.text().await.unwrap();
    assert!(page.contains("at most 100 redirect URIs, not 101"), "{page}");
    assert!(page.contains(r#"aria-invalid="true" aria-describedby="redirect_uris-error">"#), "by the field: {page}");
    assert!(page.contains(r#"<p class="field-error" id="redirect_uris-error">"#), "{page}");
}
