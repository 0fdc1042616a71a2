//! Token exchange (RFC 8693): a service exchanges a user's code-flow token for a narrower one for
//! a downstream API (`resource`/`audience`, `act`, nested `act`), deny by default, every error
//! the RFC names, revocation reaching the exchanged tokens, the audit entry, a DPoP proof binding
//! the exchanged token (RFC 9449), and Python's Authlib making the request. The downstream API's
//! guard accepting such a token is tested in `examples/api/tests/e2e.rs`.

use serde_json::{Value, json};

use crate::agent::*;
use crate::client_auth::audit_entries;
use crate::common::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const INVENTORY: &str = "https://inventory.example.com";
const SHIPPING: &str = "https://shipping.example.com";

/// The service that receives the user's token and calls the inventory API for them.
fn orders_service(server: &Server, fixture: &Fixture) -> Fixture {
    let flags = ["--grant", "token_exchange", "--scope", "read", "--scope", "write", "--resource", INVENTORY];
    add_client(server, fixture, "Orders service", &flags).1
}

/// The user's app (code flow with refresh tokens) and a token it got for the owner.
async fn user_tokens(server: &Server, fixture: &Fixture, agent: &mut Agent<'_>) -> (Fixture, Value) {
    let app = web_client(server, fixture, &["--grant", "refresh_token"]);
    let code = owner_code(agent, fixture, &app, "&scope=read+write").await;
    let tokens = redeem_ok(server, &app, &code).await;
    (app, tokens)
}

async fn exchange(server: &Server, client: &Fixture, subject: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("grant_type", GRANT), ("subject_token", subject), ("subject_token_type", ACCESS_TOKEN)];
    form.extend_from_slice(extra);
    post_basic(server, "/oauth2/token", &client.client_id, &client.client_secret, &form).await
}

async fn exchanged(server: &Server, client: &Fixture, subject: &str, extra: &[(&str, &str)]) -> Value {
    let response = exchange(server, client, subject, extra).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_service_exchanges_a_users_token_for_a_narrower_one_for_a_downstream_api() {
    let (server, fixture) = start();
    let service = orders_service(&server, &fixture);
    let mut agent = Agent::new(&server);
    let (app, tokens) = user_tokens(&server, &fixture, &mut agent).await;
    let subject = tokens["access_token"].as_str().unwrap();
    let (_, subject_claims) = jwt_parts(subject);

    let body = exchanged(&server, &service, subject, &[("resource", INVENTORY), ("scope", "read")]).await;
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    assert!(body.get("refresh_token").is_none(), "no refresh token: {body}");
    assert!(body["expires_in"].as_u64().unwrap() <= 3600);
    let token = body["access_token"].as_str().unwrap();
    let (header, claims) = jwt_parts(token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["sub"], fixture.owner_id.as_str(), "the subject's identity");
    assert_eq!(claims["org_id"], subject_claims["org_id"]);
    assert_eq!(claims["aud"], INVENTORY);
    assert_eq!(claims["client_id"], service.client_id.as_str());
    assert_eq!(claims["act"], json!({"sub": service.client_id}));
    // A grant of its own, recorded under the user's authorization (revoking that one ends it: below).
    assert!(claims["grant_id"].is_string() && claims["grant_id"] != subject_claims["grant_id"], "{claims}");
    assert!(claims["exp"].as_i64().unwrap() <= subject_claims["exp"].as_i64().unwrap(), "never outlives the subject token");

    // Introspection reports it active, with its audience and actor; `audience` works like
    // `resource`, and without `scope` the token carries all the subject's scope the service may get.
    let introspected = introspect(&server, &service, token).await;
    assert_eq!((introspected["active"].as_bool(), introspected["aud"].clone()), (Some(true), json!(INVENTORY)));
    assert_eq!(introspected["act"], json!({"sub": service.client_id}));
    let body = exchanged(&server, &service, subject, &[("audience", INVENTORY)]).await;
    assert_eq!(body["scope"], "read write");
    // The audit log names the exchange, never the tokens.
    let entries = audit_entries(&server, "token_exchanged");
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0].0, app.client_id);
    assert!(entries.iter().all(|(_, detail)| detail.contains(&service.client_id) && !detail.contains(subject)), "{entries:?}");
}

#[tokio::test]
async fn exchange_is_denied_by_default_and_errors_are_the_rfcs() {
    let (server, fixture) = start();
    let service = orders_service(&server, &fixture);
    let mut agent = Agent::new(&server);
    let (app, tokens) = user_tokens(&server, &fixture, &mut agent).await;
    let subject = tokens["access_token"].as_str().unwrap();

    // Deny by default: a client not registered for the grant, even the token's own.
    assert_oauth_error(exchange(&server, &fixture, subject, &[]).await, 400, "unauthorized_client").await;
    assert_oauth_error(exchange(&server, &app, subject, &[]).await, 400, "unauthorized_client").await;
    // A public client cannot even be registered for it.
    let output = server
        .cli
        .run(&[
            "client",
            "create",
            "--org",
            &fixture.org_name,
            "--owner",
            &fixture.owner_email,
            "--name",
            "p",
            "--public",
            "--grant",
            "token_exchange",
        ])
        .unwrap();
    assert!(!output.success && output.stderr.contains("token_exchange"), "{}", output.stderr);
    // The short registration name is not a grant type on the wire.
    let response =
        post_basic(&server, "/oauth2/token", &service.client_id, &service.client_secret, &[("grant_type", "token_exchange")]).await;
    assert_oauth_error(response, 400, "unsupported_grant_type").await;

    // invalid_request: missing or wrong parameters, and any subject token that is not an
    // active access token of ours (RFC 8693 §2.2.2: "MUST be invalid_request").
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let id_type = "urn:ietf:params:oauth:token-type:id_token";
    for form in [
        vec![("grant_type", GRANT), ("subject_token_type", ACCESS_TOKEN)],
        vec![("grant_type", GRANT), ("subject_token", subject)],
        vec![("grant_type", GRANT), ("subject_token", subject), ("subject_token_type", id_type)],
        vec![("grant_type", GRANT), ("subject_token", subject), ("subject_token_type", ACCESS_TOKEN), ("actor_token", subject)],
        vec![("grant_type", GRANT), ("subject_token", subject), ("subject_token_type", ACCESS_TOKEN), ("requested_token_type", id_type)],
        vec![("grant_type", GRANT), ("subject_token", "garbage"), ("subject_token_type", ACCESS_TOKEN)],
        vec![("grant_type", GRANT), ("subject_token", refresh_token), ("subject_token_type", ACCESS_TOKEN)],
    ] {
        let response = post_basic(&server, "/oauth2/token", &service.client_id, &service.client_secret, &form).await;
        assert_oauth_error(response, 400, "invalid_request").await;
    }
    // An actor token must be an active token of the exchanging client itself.
    let actor = [("actor_token", subject), ("actor_token_type", ACCESS_TOKEN)];
    assert_oauth_error(exchange(&server, &service, subject, &actor).await, 400, "invalid_request").await;
    let fixture_token = access_token(&server, &fixture).await;
    let actor = [("actor_token", fixture_token.as_str()), ("actor_token_type", ACCESS_TOKEN)];
    assert_oauth_error(exchange(&server, &service, subject, &actor).await, 400, "invalid_request").await;
    // A token of another organization is not this service's to exchange.
    let other_org = Fixture::create(&server.cli).unwrap();
    let other_token = access_token(&server, &other_org).await;
    assert_oauth_error(exchange(&server, &service, &other_token, &[]).await, 400, "invalid_request").await;

    // invalid_target: a resource or audience the service has not registered, or malformed.
    for target in
        [("resource", SHIPPING), ("audience", SHIPPING), ("resource", "inventory"), ("resource", "https://inventory.example.com#x")]
    {
        assert_oauth_error(exchange(&server, &service, subject, &[target]).await, 400, "invalid_target").await;
    }
    // invalid_scope: beyond the subject token's scope, or beyond what the service registered.
    let code = owner_code(&mut agent, &fixture, &app, "&scope=read").await;
    let read_only = redeem_ok(&server, &app, &code).await;
    let read_only = read_only["access_token"].as_str().unwrap();
    assert_oauth_error(exchange(&server, &service, read_only, &[("scope", "write")]).await, 400, "invalid_scope").await;
    assert_oauth_error(exchange(&server, &service, subject, &[("scope", "admin")]).await, 400, "invalid_scope").await;
    // Nothing above spent anything: the same exchange still works.
    exchanged(&server, &service, subject, &[("resource", INVENTORY)]).await;
}

#[tokio::test]
async fn an_actor_token_of_the_service_and_a_second_exchange_nest_act() {
    let (server, fixture) = start();
    let flags = ["--grant", "token_exchange", "--grant", "client_credentials", "--scope", "read", "--resource", INVENTORY];
    let (_, service) = add_client(&server, &fixture, "Orders service", &flags);
    let flags = ["--grant", "token_exchange", "--scope", "read", "--resource", SHIPPING];
    let (_, courier) = add_client(&server, &fixture, "Courier service", &flags);
    let mut agent = Agent::new(&server);
    let (_, tokens) = user_tokens(&server, &fixture, &mut agent).await;
    let subject = tokens["access_token"].as_str().unwrap();

    let own = access_token(&server, &service).await;
    let actor = [("actor_token", own.as_str()), ("actor_token_type", ACCESS_TOKEN), ("resource", INVENTORY)];
    let first = exchanged(&server, &service, subject, &actor).await;
    let first = first["access_token"].as_str().unwrap();
    assert_eq!(jwt_parts(first).1["act"], json!({"sub": service.client_id}));

    // The courier exchanges the orders service's exchanged token: the chain is kept.
    let second = exchanged(&server, &courier, first, &[("resource", SHIPPING)]).await;
    let (_, claims) = jwt_parts(second["access_token"].as_str().unwrap());
    assert_eq!(claims["act"], json!({"sub": courier.client_id, "act": {"sub": service.client_id}}));
    assert_eq!(claims["sub"], fixture.owner_id.as_str());
    assert_eq!(claims["scope"], "read");
}

#[tokio::test]
async fn revoking_the_users_authorization_or_disabling_the_user_stops_exchanged_tokens() {
    let (server, fixture) = start();
    let service = orders_service(&server, &fixture);
    let mut agent = Agent::new(&server);

    // Revoking the user's authorization (its refresh token ends the whole grant).
    let (app, tokens) = user_tokens(&server, &fixture, &mut agent).await;
    let subject = tokens["access_token"].as_str().unwrap();
    let body = exchanged(&server, &service, subject, &[("resource", INVENTORY)]).await;
    let token = body["access_token"].as_str().unwrap();
    assert!(is_active(&server, &service, token).await);
    let response =
        post_basic(&server, "/oauth2/revoke", &app.client_id, &app.client_secret, &[("token", tokens["refresh_token"].as_str().unwrap())])
            .await;
    assert_eq!(response.status(), 200);
    assert!(!is_active(&server, &service, token).await, "the exchanged token outlived the revoked authorization");
    assert_oauth_error(exchange(&server, &service, subject, &[]).await, 400, "invalid_request").await;

    // Turning the exchanging client OFF stops the exchanged token (ON again restores it);
    // disabling the user stops it for good.
    let (_, tokens) = user_tokens(&server, &fixture, &mut agent).await;
    let subject = tokens["access_token"].as_str().unwrap();
    let token = exchanged(&server, &service, subject, &[]).await["access_token"].as_str().unwrap().to_owned();
    server.cli.json(&["client", "disable", &service.client_id]).unwrap();
    assert!(!is_active(&server, &fixture, &token).await);
    server.cli.json(&["client", "enable", &service.client_id]).unwrap();
    assert!(is_active(&server, &fixture, &token).await);
    fixture.add_co_owner(&server.cli).unwrap();
    server.cli.json(&["user", "disable", &fixture.owner_email]).unwrap();
    assert!(!is_active(&server, &fixture, &token).await, "a disabled user's exchanged token stays active");
}

#[tokio::test]
async fn an_expired_subject_token_cannot_be_exchanged() {
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--leeway".into(), "0".into()], ..ServerOptions::default() });
    let service = orders_service(&server, &fixture);
    let app = web_client(&server, &fixture, &["--access-token-ttl", "1"]);
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &app, "&scope=read").await;
    let subject = redeem_ok(&server, &app, &code).await["access_token"].as_str().unwrap().to_owned();
    // While it lives, what it is exchanged for does not outlive it.
    let live = exchange(&server, &service, &subject, &[]).await;
    if live.status() == 200 {
        let body: Value = live.json().await.unwrap();
        assert!(body["expires_in"].as_u64().unwrap() <= 1, "an exchanged token outlives its subject: {body}");
    }
    // Its one second has passed (the leeway is 0): the exchange is refused.
    server.advance_clock(2).unwrap();
    let expired = exchange(&server, &service, &subject, &[]).await;
    assert_oauth_error(expired, 400, "invalid_request").await;
}

#[tokio::test]
async fn interop_authlib_makes_the_exchange() {
    let (server, fixture) = start();
    let service = orders_service(&server, &fixture);
    let mut agent = Agent::new(&server);
    let (_, tokens) = user_tokens(&server, &fixture, &mut agent).await;
    let subject = tokens["access_token"].as_str().unwrap();
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/python/token_exchange.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .args([&server.url("/oauth2/token"), &service.client_id, &service.client_secret, subject, INVENTORY])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "Authlib failed (pip install authlib==1.9.6; scripts/test does): {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines = stdout.lines().map(|line| serde_json::from_str::<Value>(line).unwrap());
    let token = lines.next().unwrap();
    assert_eq!(token["issued_token_type"], ACCESS_TOKEN, "{token}");
    assert_eq!(token["scope"], "read");
    let (_, claims) = jwt_parts(token["access_token"].as_str().unwrap());
    assert_eq!((claims["aud"].as_str(), claims["sub"].as_str()), (Some(INVENTORY), Some(fixture.owner_id.as_str())));
    assert_eq!(claims["act"]["sub"], service.client_id.as_str());
    assert_eq!(lines.next().unwrap()["error"], "invalid_request");
}

/// RFC 9449 §5 for this grant as for every other: a valid DPoP proof binds the exchanged token
/// (`cnf.jkt`, `token_type` DPoP, introspection reports the key); an invalid one is refused
/// before the exchange.
#[tokio::test]
async fn a_dpop_proof_binds_the_exchanged_token() {
    use tessera_jose::dpop::sign_proof;
    use tessera_jose::{Algorithm, SigningKey};
    let (server, fixture) = start();
    let service = orders_service(&server, &fixture);
    let mut agent = Agent::new(&server);
    let (_, tokens) = user_tokens(&server, &fixture, &mut agent).await;
    let subject = tokens["access_token"].as_str().unwrap();
    let key = SigningKey::generate(Algorithm::ES256).unwrap().0;
    let iat = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let proof =
        |htm: &str, jti: &str| sign_proof(&key, &json!({"htm": htm, "htu": server.url("/oauth2/token"), "iat": iat, "jti": jti})).unwrap();
    let form = [("grant_type", GRANT), ("subject_token", subject), ("subject_token_type", ACCESS_TOKEN), ("resource", INVENTORY)];
    let send = |proof: String| {
        http()
            .post(server.url("/oauth2/token"))
            .basic_auth(&service.client_id, Some(&service.client_secret))
            .header("DPoP", proof)
            .form(&form)
            .send()
    };
    let response = send(proof("POST", "exchange-1")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!((body["token_type"].as_str(), body["issued_token_type"].as_str()), (Some("DPoP"), Some(ACCESS_TOKEN)));
    let token = body["access_token"].as_str().unwrap();
    let (_, claims) = jwt_parts(token);
    assert_eq!(claims["cnf"]["jkt"], key.kid());
    assert_eq!(claims["act"], json!({"sub": service.client_id}));
    assert_eq!(claims["aud"], INVENTORY);
    let introspected = introspect(&server, &service, token).await;
    assert_eq!((introspected["token_type"].as_str(), introspected["cnf"]["jkt"].as_str()), (Some("DPoP"), Some(key.kid())));
    // A proof of another method, or a replayed one: invalid_dpop_proof, nothing issued.
    assert_oauth_error(send(proof("GET", "exchange-2")).await.unwrap(), 400, "invalid_dpop_proof").await;
    assert_oauth_error(send(proof("POST", "exchange-1")).await.unwrap(), 400, "invalid_dpop_proof").await;
    // Without a proof the exchanged token stays Bearer.
    let body = exchanged(&server, &service, subject, &[("resource", INVENTORY)]).await;
    assert_eq!(body["token_type"], "Bearer");
    assert!(jwt_parts(body["access_token"].as_str().unwrap()).1.get("cnf").is_none());
}
