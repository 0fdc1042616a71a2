//! The setup link that creates the first owner (SPEC §1, §11): it works only while no user
//! exists (every `/setup/…` is a 404 page afterwards, GET and POST alike), expires 24 hours
//! after it was made, and `serve` prints a fresh one at every start while no user exists.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::agent::*;
use crate::common::*;

const MARKER: &str = "create the first owner at ";

/// The rest of the stdout line of `server` that contains `marker`.
fn eventually_line(server: &Server, marker: &str) -> String {
    let mut found = None;
    eventually(Duration::from_secs(5), || {
        found = server.stdout().lines().find_map(|l| l.split_once(marker).map(|(_, rest)| rest.trim().to_owned()));
        found.is_some()
    });
    found.unwrap_or_else(|| panic!("no line with {marker:?} in {:?}", server.stdout()))
}

/// The path of the setup link `server` printed.
fn setup_path(server: &Server) -> String {
    let link = eventually_line(server, MARKER);
    link.trim_start_matches(server.url("").trim_end_matches('/')).to_owned()
}

/// A 404 with the HTML page (not an API error body).
async fn assert_not_found_page(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), 404, "{what}");
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{what}: {content_type}");
    let page = response.text().await.unwrap();
    assert!(page.contains("This setup link is not valid"), "{what}: {page}");
}

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

#[tokio::test]
async fn setup_link_creates_the_first_owner_once() {
    let server = Server::start(bin()).unwrap();
    let path = setup_path(&server);
    let mut agent = Agent::new(&server);
    let page = agent.get(&path).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let csrf = hidden(&page, "csrf_token");
    let short = agent.post(&path, &[("csrf_token", &csrf), ("email", "first@owner.test"), ("password", "short")]).await;
    assert_eq!(short.status(), 400, "a bad form keeps the link usable");
    let done = agent.post(&path, &[("csrf_token", &csrf), ("email", "first@owner.test"), ("password", "a long password")]).await;
    assert_eq!(done.status(), 303);
    let home = agent.get("/settings/api-clients").await.text().await.unwrap();
    assert!(home.contains("first@owner.test") && home.contains("href=\"/admin/members\""), "signed in as the owner: {home}");
    assert_not_found_page(agent.get(&path).await, "one-time").await;
    let users: Value = server.cli.json(&["user", "update", "first@owner.test"]).unwrap();
    assert_eq!(users["role"], "owner");
}

#[tokio::test]
async fn once_any_user_exists_every_setup_path_is_a_404_page_for_get_and_post() {
    let server = Server::start(bin()).unwrap();
    let path = setup_path(&server);
    let mut agent = Agent::new(&server);
    let page = agent.get(&path).await.text().await.unwrap();
    let csrf = hidden(&page, "csrf_token");
    // A user made another way (the CLI) ends the setup: the link is dead, though never used.
    server.cli.json(&["user", "create", "--org", "default", "--email", "m@default.test", "--role", "member"]).unwrap();
    assert_not_found_page(agent.get(&path).await, "GET of the live link").await;
    let form = [("csrf_token", csrf.as_str()), ("email", "late@owner.test"), ("password", "a long password")];
    assert_not_found_page(agent.post(&path, &form).await, "POST of the live link with its form").await;
    assert_not_found_page(agent.post(&path, &[]).await, "POST without a CSRF token: 404, not 403").await;
    for other in ["/setup/x", "/setup/0123456789012345678901234567890123456789012", "/setup/a/b"] {
        assert_not_found_page(agent.get(other).await, other).await;
        assert_not_found_page(agent.post(other, &form).await, other).await;
    }
    assert!(server.cli.json(&["user", "list", "--org", "default"]).unwrap().as_array().unwrap().len() == 1, "no owner was made");
}

#[tokio::test]
async fn the_setup_link_expires_24_hours_after_it_was_made() {
    let server = Server::start(bin()).unwrap();
    let path = setup_path(&server);
    let mut agent = Agent::new(&server);
    assert_eq!(agent.get(&path).await.status(), 200);
    // The store keeps the link's keyed hash (64 hex digits) and when it was made: move that back.
    let made = |at: i64| format!("UPDATE meta SET value = substr(value, 1, 65) || '{at}' WHERE key = 'setup_token'");
    store_sql(&server.cli, &made(now() - 24 * 3600 + 60)).await;
    assert_eq!(agent.get(&path).await.status(), 200, "a minute short of 24 hours");
    store_sql(&server.cli, &made(now() - 24 * 3600)).await;
    assert_not_found_page(agent.get(&path).await, "24 hours old").await;
    let page = agent.get("/login").await.text().await.unwrap();
    let form = [("csrf_token", hidden(&page, "csrf_token")), ("email", "late@owner.test".into()), ("password", "a long password".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_not_found_page(agent.post(&path, &form).await, "POST of an expired link").await;
    assert_eq!(server.cli.json(&["user", "list", "--org", "default"]).unwrap(), serde_json::json!([]));
}

#[tokio::test]
async fn every_start_prints_a_fresh_link_while_no_user_exists() {
    let mut server = Server::start(bin()).unwrap();
    let first = setup_path(&server);
    assert!(server.terminate(Duration::from_secs(10)).unwrap());
    let mut server = Server::start_in(server.cli.clone(), &[]).unwrap();
    let second = setup_path(&server);
    assert_ne!(first, second);
    let mut agent = Agent::new(&server);
    assert_not_found_page(agent.get(&first).await, "the link of the previous start is replaced").await;
    assert_eq!(agent.get(&second).await.status(), 200);

    // A setup that crashed after claiming the link but before making the owner blocks nothing:
    // the next start prints a fresh link, which works.
    assert!(server.terminate(Duration::from_secs(10)).unwrap());
    let mut crashing = server.cli.clone();
    crashing.env.push(("TESSERA_FAILPOINT".into(), "setup-claimed".into()));
    let crashing = Server::start_in(crashing, &[]).unwrap();
    let path = setup_path(&crashing);
    let mut agent = Agent::new(&crashing);
    let csrf = hidden(&agent.get(&path).await.text().await.unwrap(), "csrf_token");
    let form = [("csrf_token", csrf.as_str()), ("email", "first@owner.test"), ("password", "a long password")];
    let cookies = agent.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let request = http().post(crashing.url(&path)).header("cookie", cookies).header("origin", agent.origin.clone().unwrap());
    let crashed = request.form(&form).send().await;
    assert!(crashed.is_err() || crashed.is_ok_and(|r| r.status().is_server_error()), "the server died mid-setup");
    drop(crashing);
    let server = Server::start_in(server.cli.clone(), &[]).unwrap();
    let path = setup_path(&server);
    let mut agent = Agent::new(&server);
    let csrf = hidden(&agent.get(&path).await.text().await.unwrap(), "csrf_token");
    let form = [("csrf_token", csrf.as_str()), ("email", "first@owner.test"), ("password", "a long password")];
    assert_eq!(agent.post(&path, &form).await.status(), 303, "the fresh link makes the owner");

    // With a user, a start prints no link.
    let mut server = server;
    assert!(server.terminate(Duration::from_secs(10)).unwrap());
    let server = Server::start_in(server.cli.clone(), &[]).unwrap();
    assert_eq!(http().get(server.url("/healthz")).send().await.unwrap().status(), 200);
    assert!(!eventually(Duration::from_millis(500), || server.stdout().contains(MARKER)), "{}", server.stdout());
}
