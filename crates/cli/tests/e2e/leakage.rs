//! Leakage and side channels at the token, introspection and revocation endpoints
//! (SECURITY.md L01, A03, A04, V16).

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tessera_testkit::CliOutput;

use crate::common::*;

const CC: (&str, &str) = ("grant_type", "client_credentials");

/// Runs a CLI command that must succeed and keeps its stderr for the leak search.
fn run(server: &Server, logs: &mut Vec<(String, String)>, args: &[&str], stdin: &str) -> CliOutput {
    let output = server.cli.run_with_stdin(args, stdin).unwrap();
    assert!(output.success, "tessera {args:?}: {}", output.stderr);
    logs.push((format!("stderr of tessera {}", args.join(" ")), output.stderr.clone()));
    output
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_else(|| panic!("{key} missing in {value}")).to_owned()
}

#[tokio::test]
async fn l01_no_secret_token_or_password_reaches_a_log() {
    // The most talkative level an operator would use; the CLI commands log at it too.
    let options = ServerOptions { global: vec!["--log".into(), "debug".into()], ..Default::default() };
    let server = Server::start_with(bin(), options).unwrap();
    let mut logs: Vec<(String, String)> = Vec::new();
    let mut sensitive: Vec<(String, String)> = Vec::new();

    run(&server, &mut logs, &["org", "create", "--name", "leaky"], "");
    run(&server, &mut logs, &["scope", "create", "--org", "leaky", "read"], "");
    let password = "L01 owner password: correct horse battery staple 9";
    run(
        &server,
        &mut logs,
        &["user", "create", "--org", "leaky", "--email", "owner@leaky.test", "--role", "owner", "--password-stdin"],
        &format!("{password}\n"),
    );
    let member_password = "L01-member-p@ss\u{e9}word-42";
    run(
        &server,
        &mut logs,
        &["user", "create", "--org", "leaky", "--email", "m@leaky.test", "--role", "member", "--password-stdin"],
        &format!("{member_password}\n"),
    );
    sensitive.push(("owner password".into(), password.into()));
    sensitive.push(("member password".into(), member_password.into()));
    let created = run(
        &server,
        &mut logs,
        &["client", "create", "--org", "leaky", "--owner", "owner@leaky.test", "--name", "l01", "--scope", "read"],
        "",
    )
    .json()
    .unwrap();
    let id = text(&created, "client_id");
    let first_secret = text(&created, "client_secret");
    sensitive.push(("client secret".into(), first_secret.clone()));

    // Tokens through every way of authenticating, then introspection and revocation.
    let mut tokens = Vec::new();
    let basic = post_basic(&server, "/oauth2/token", &id, &first_secret, &[CC]).await;
    tokens.push(text(&basic.json().await.unwrap(), "access_token"));
    let form = post_form(&server, "/oauth2/token", &[CC, ("client_id", &id), ("client_secret", &first_secret)]).await;
    tokens.push(text(&form.json().await.unwrap(), "access_token"));
    let body = json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": first_secret });
    let json_response = http().post(server.url("/oauth2/token")).json(&body).send().await.unwrap();
    tokens.push(text(&json_response.json().await.unwrap(), "access_token"));
    let introspected: Value =
        post_basic(&server, "/oauth2/introspect", &id, &first_secret, &[("token", &tokens[0])]).await.json().await.unwrap();
    assert_eq!(introspected["active"], true);
    let revoked =
        post_form(&server, "/oauth2/revoke", &[("token", &tokens[1]), ("client_id", &id), ("client_secret", &first_secret)]).await;
    assert_eq!(revoked.status(), 200);

    // Failed authentications: wrong secrets by Basic, form and JSON, a secret in the URL, a
    // broken Basic header, and an unknown client.
    let wrong = [
        "L01WrongSecretBasic0123456789abcdefghijklmn",
        "L01WrongSecretForm0123456789abcdefghijklmno",
        "L01WrongSecretJson0123456789abcdefghijklmno",
    ];
    for secret in wrong {
        sensitive.push(("wrong secret".into(), secret.into()));
    }
    assert_eq!(post_basic(&server, "/oauth2/token", &id, wrong[0], &[CC]).await.status(), 401);
    assert_eq!(post_form(&server, "/oauth2/token", &[CC, ("client_id", &id), ("client_secret", wrong[1])]).await.status(), 401);
    let body = json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": wrong[2] });
    assert_eq!(http().post(server.url("/oauth2/token")).json(&body).send().await.unwrap().status(), 401);
    assert_eq!(post_basic(&server, "/oauth2/introspect", &id, wrong[0], &[("token", &tokens[0])]).await.status(), 401);
    assert_eq!(post_basic(&server, "/oauth2/revoke", &id, wrong[0], &[("token", &tokens[0])]).await.status(), 401);
    assert_eq!(post_basic(&server, "/oauth2/token", "L01UnknownClient", wrong[0], &[CC]).await.status(), 401);
    let in_url = format!("{}?client_secret={first_secret}", server.url("/oauth2/token"));
    assert_eq!(http().post(in_url).form(&[CC, ("client_id", id.as_str())]).send().await.unwrap().status(), 400);
    let broken_basic = format!("Basic {}!!", STANDARD.encode(format!("{id}:{first_secret}")));
    let broken = http().post(server.url("/oauth2/token")).header("authorization", &broken_basic).form(&[CC]).send().await.unwrap();
    assert_eq!(broken.status(), 401);
    sensitive.push(("broken Basic value".into(), broken_basic));

    // Regenerate, then the old secret fails and the new one works.
    let regenerated = run(&server, &mut logs, &["client", "regenerate-secret", &id], "").json().unwrap();
    let second_secret = text(&regenerated, "client_secret");
    sensitive.push(("regenerated client secret".into(), second_secret.clone()));
    assert_eq!(post_basic(&server, "/oauth2/token", &id, &first_secret, &[CC]).await.status(), 401);
    let response = post_basic(&server, "/oauth2/token", &id, &second_secret, &[CC]).await;
    tokens.push(text(&response.json().await.unwrap(), "access_token"));
    run(&server, &mut logs, &["token", "revoke", "-"], &format!("{}\n", tokens[2]));
    run(&server, &mut logs, &["client", "show", &id], "");
    run(&server, &mut logs, &["client", "disable", &id], "");
    assert_eq!(post_basic(&server, "/oauth2/token", &id, &second_secret, &[CC]).await.status(), 401);
    run(&server, &mut logs, &["client", "enable", &id], "");
    let audit = run(&server, &mut logs, &["audit", "list", "--limit", "1000"], "");

    for secret in [&first_secret, &second_secret] {
        sensitive.push(("Basic value".into(), STANDARD.encode(format!("{id}:{secret}"))));
        sensitive.push(("first half of a client secret".into(), secret[..secret.len() / 2].to_owned()));
    }
    for token in &tokens {
        sensitive.push(("access token".into(), token.clone()));
        sensitive.push(("access token signature".into(), token.rsplit('.').next().unwrap().to_owned()));
    }
    let server_log = server.log();
    assert!(server_log.contains("listening"), "the server log is being captured: {server_log:.300}");
    logs.push(("server log".into(), server_log));
    logs.push(("audit log (tessera audit list)".into(), audit.stdout.clone()));
    for (what, value) in &sensitive {
        for (source, log) in &logs {
            assert!(!log.contains(value.as_str()), "the {what} {value:?} appears in the {source}");
        }
    }
}

/// Sends `a` and `b` interleaved (ABAB…, then BABA… to cancel drift), `rounds` times each,
/// after a warm-up; returns the median latency of each and their answers.
async fn interleaved_medians(
    server: &Server,
    a: (&str, &str),
    b: (&str, &str),
    rounds: usize,
) -> (Duration, Duration, Vec<(u16, String)>, Vec<(u16, String)>) {
    let client = http();
    let url = server.url("/oauth2/token");
    let send = |(id, secret): (&str, &str)| {
        let request = client.post(&url).basic_auth(id, Some(secret)).form(&[CC]);
        async move {
            let started = Instant::now();
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            (started.elapsed(), status, body)
        }
    };
    for _ in 0..30 {
        send(a).await;
        send(b).await;
    }
    let (mut times_a, mut times_b, mut answers_a, mut answers_b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let order = if round % 2 == 0 { [(a, true), (b, false)] } else { [(b, false), (a, true)] };
        for (credentials, is_a) in order {
            let (elapsed, status, body) = send(credentials).await;
            if is_a {
                times_a.push(elapsed);
                answers_a.push((status, body));
            } else {
                times_b.push(elapsed);
                answers_b.push((status, body));
            }
        }
    }
    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    (median(times_a), median(times_b), answers_a, answers_b)
}

/// No distinguishable difference: the medians differ by less than 25 % of the smaller one or
/// 0.5 ms, whichever is larger.
fn assert_indistinguishable(what: &str, a: Duration, b: Duration) {
    let difference = a.abs_diff(b);
    let tolerance = (a.min(b) / 4).max(Duration::from_micros(500));
    assert!(difference < tolerance, "{what}: medians {a:?} vs {b:?} differ by {difference:?} (tolerance {tolerance:?})");
}

fn without_lockout() -> ServerOptions {
    ServerOptions { serve: vec!["--client-auth-failure-limit".into(), "1000000".into()], ..Default::default() }
}

/// One character of `secret` replaced by another of the same alphabet.
fn with_char_changed(secret: &str, index: usize) -> String {
    let mut bytes = secret.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn a04_secrets_wrong_in_the_first_or_the_last_byte_are_indistinguishable() {
    let (server, fixture) = start_with(without_lockout());
    let secret = &fixture.client_secret;
    let first = with_char_changed(secret, 0);
    let last = with_char_changed(secret, secret.len() - 1);
    let (median_first, median_last, answers_first, answers_last) =
        interleaved_medians(&server, (&fixture.client_id, &first), (&fixture.client_id, &last), 300).await;
    assert!(answers_first.iter().chain(&answers_last).all(|answer| *answer == answers_first[0]), "one identical answer for all");
    assert_eq!(answers_first[0].0, 401);
    assert_indistinguishable("wrong first byte vs wrong last byte", median_first, median_last);
}

#[tokio::test]
async fn a03_unknown_client_and_known_client_with_a_wrong_secret_are_indistinguishable() {
    let (server, fixture) = start_with(without_lockout());
    // An unknown id of the same shape and length as the real one.
    let unknown_id = with_char_changed(&fixture.client_id, fixture.client_id.len() / 2);
    let wrong = with_char_changed(&fixture.client_secret, 0);
    let (median_unknown, median_known, answers_unknown, answers_known) =
        interleaved_medians(&server, (&unknown_id, &wrong), (&fixture.client_id, &wrong), 300).await;
    assert!(answers_unknown.iter().chain(&answers_known).all(|answer| *answer == answers_unknown[0]), "one identical answer for all");
    assert_eq!(answers_unknown[0].0, 401);
    assert_indistinguishable("unknown client vs known client with a wrong secret", median_unknown, median_known);
}

#[tokio::test]
async fn v16_token_introspection_and_revocation_responses_are_never_cached() {
    let (server, fixture) = start();
    let token = access_token(&server, &fixture).await;
    let (id, secret) = (fixture.client_id.as_str(), fixture.client_secret.as_str());
    let responses = vec![
        ("token", 200, post_basic(&server, "/oauth2/token", id, secret, &[CC]).await),
        ("token error", 401, post_basic(&server, "/oauth2/token", id, "wrong", &[CC]).await),
        ("token error", 400, post_basic(&server, "/oauth2/token", id, secret, &[("grant_type", "password")]).await),
        ("introspection of an active token", 200, post_basic(&server, "/oauth2/introspect", id, secret, &[("token", &token)]).await),
        ("introspection of an inactive token", 200, post_basic(&server, "/oauth2/introspect", id, secret, &[("token", "garbage")]).await),
        ("introspection error", 401, post_basic(&server, "/oauth2/introspect", id, "wrong", &[("token", &token)]).await),
        ("introspection error", 400, post_basic(&server, "/oauth2/introspect", id, secret, &[]).await),
        ("revocation", 200, post_basic(&server, "/oauth2/revoke", id, secret, &[("token", &token)]).await),
    ];
    for (what, status, response) in responses {
        assert_eq!(response.status(), status, "{what}");
        let headers = response.headers();
        assert_eq!(headers.get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{what} {status}");
        assert_eq!(headers.get("pragma").map(|v| v.to_str().unwrap()), Some("no-cache"), "{what} {status}");
    }
    assert!(!is_active(&server, &fixture, &token).await);
}
