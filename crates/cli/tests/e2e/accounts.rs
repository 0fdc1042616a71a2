//! People manage their own credentials (SPEC §11): the forgotten-password mail and its link, the
//! password change, the operator's reset, email verification and the password policy, against
//! a real SMTP server (aiosmtpd, `tessera_testkit::mail`) whose parsed mails the tests follow
//! through the real pages.

use std::time::Duration;

use serde_json::Value;
use tessera_testkit::mail::{MailSink, MailSinkOptions, the_link};

use crate::agent::*;
use crate::common::*;
use crate::login_security::audit_entries;

const NEW_PASSWORD: &str = "a new password for 2027";

pub fn with_mail(sink: &MailSink, extra: &[&str]) -> ServerOptions {
    let mut serve = vec!["--smtp-url".to_owned(), sink.smtp_url(), "--mail-from".to_owned(), "Tessera <auth@tessera.test>".to_owned()];
    serve.extend(extra.iter().map(|s| (*s).to_owned()));
    ServerOptions { serve, ..ServerOptions::default() }
}

/// Asks for a reset link for `email` on the forgot page, as a signed-out browser; returns the
/// answer's status and body.
async fn forgot(server: &Server, email: &str) -> (u16, String) {
    let mut agent = Agent::new(server);
    let page = agent.get("/password/forgot").await.text().await.unwrap();
    let response = agent.submit("/password/forgot", &page, &["csrf_token"], &[("email", email)]).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The one link of a mail, the same in its plain-text and HTML parts.
pub fn link_of(mail: &Value, server: &Server) -> String {
    let issuer = server.url("");
    let text = the_link(mail["text"].as_str().expect("a plain-text part"), &issuer).unwrap();
    let html = the_link(mail["html"].as_str().expect("an HTML part"), &issuer).unwrap();
    assert_eq!(text, html, "one link in both parts");
    text
}

/// Signs in as `email` in a fresh browser.
async fn signed_in<'a>(server: &'a Server, email: &str, password: &str) -> Agent<'a> {
    let mut agent = Agent::new(server);
    assert_eq!(agent.login(email, password).await.status(), 303, "{email} signs in");
    agent
}

async fn still_signed_in(agent: &mut Agent<'_>) -> bool {
    agent.get("/settings/security").await.status() == 200
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_mailed_link() {
    let sink = MailSink::start().unwrap();
    let (server, fixture) = start_with(with_mail(&sink, &[]));
    let mut elsewhere = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    // Five wrong passwords lock the account; the reset lifts the lock.
    let mut stranger = Agent::new(&server);
    for _ in 0..5 {
        stranger.login(&fixture.owner_email, "not the password at all").await;
    }
    assert_eq!(stranger.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 429, "locked");

    // The login page links to the forgot page.
    let login = Agent::new(&server).get("/login").await.text().await.unwrap();
    assert!(login.contains(r#"<a href="/password/forgot">Forgot your password?</a>"#), "{login}");
    // An unknown email and a known one get the same answer.
    let unknown = forgot(&server, "nobody@nowhere.test").await;
    let known = forgot(&server, &fixture.owner_email.to_uppercase()).await;
    assert_eq!(unknown, known, "the same page whether or not the account exists");
    assert_eq!(known.0, 200);
    assert!(!known.1.contains(&fixture.owner_email), "the page names no email");

    let mails = sink.wait_for(1, Duration::from_secs(20)).unwrap();
    let mail = &mails[0];
    assert_eq!(mail["envelope_to"], serde_json::json!([fixture.owner_email]), "{mail}");
    assert_eq!(mail["from"], "Tessera <auth@tessera.test>");
    assert_eq!(mail["content_type"], "multipart/alternative", "plain text and HTML");
    assert!(mail["subject"].as_str().unwrap().contains("Tessera"), "names the product: {mail}");
    let link = link_of(mail, &server);
    assert!(link.starts_with(&server.url("/password/reset/")), "{link}");
    assert!(!server.log().contains(&link), "no link in the log");

    let mut browser = Agent::new(&server);
    let page = browser.get(&link).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(&fixture.owner_email), "says whose password it resets");
    // Two different passwords, then a common one, are refused and the link still works.
    let response = browser
        .submit(&link, &page, &["csrf_token"], &[("new_password", NEW_PASSWORD), ("confirm_password", "something else entirely")])
        .await;
    assert_eq!(response.status(), 400);
    let response =
        browser.submit(&link, &page, &["csrf_token"], &[("new_password", "qwerty123456"), ("confirm_password", "qwerty123456")]).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("common"), "says why");
    let response = browser.submit(&link, &page, &["csrf_token"], &[("new_password", "too short"), ("confirm_password", "too short")]).await;
    assert_eq!(response.status(), 400);
    // A form without the page's CSRF token is refused.
    assert_eq!(browser.post(&link, &[("new_password", NEW_PASSWORD), ("confirm_password", NEW_PASSWORD)]).await.status(), 403);

    let response =
        browser.submit(&link, &page, &["csrf_token"], &[("new_password", NEW_PASSWORD), ("confirm_password", NEW_PASSWORD)]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login?done=password");
    assert!(browser.get("/login?done=password").await.text().await.unwrap().contains("Your new password is set"));
    // Every session ended, the lock-out is lifted, the old password is gone.
    assert!(!still_signed_in(&mut elsewhere).await, "the other browser's session ended");
    assert_eq!(Agent::new(&server).login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 401);
    let mut owner = signed_in(&server, &fixture.owner_email, NEW_PASSWORD).await;
    // The link proved the email.
    let security = owner.get("/settings/security").await.text().await.unwrap();
    assert!(security.contains(r#"data-email-verified="true""#), "{security}");
    // Used once: it is gone.
    assert_eq!(Agent::new(&server).get(&link).await.status(), 404);
    let audited = audit_entries(&server, "password_changed");
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0]["detail"]["how"], "reset");
    assert_eq!(audited[0]["target"], fixture.owner_id.as_str());
    // Only the known account got a mail.
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn reset_links_are_single_use_replaced_by_newer_ones_expire_and_are_limited_per_hour() {
    let sink = MailSink::start().unwrap();
    let (server, fixture) = start_with(with_mail(&sink, &[]));
    forgot(&server, &fixture.owner_email).await;
    let first = link_of(&sink.wait_for(1, Duration::from_secs(20)).unwrap()[0], &server);
    forgot(&server, &fixture.owner_email).await;
    let second = link_of(&sink.wait_for(2, Duration::from_secs(20)).unwrap()[1], &server);
    assert_ne!(first, second);
    assert_eq!(Agent::new(&server).get(&first).await.status(), 404, "voided by the newer link");
    assert_eq!(Agent::new(&server).get(&second).await.status(), 200);
    // A made-up token and a malformed one.
    assert_eq!(Agent::new(&server).get("/password/reset/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await.status(), 404);
    assert_eq!(Agent::new(&server).get("/password/reset/%FF%00").await.status(), 400, "not UTF-8");
    // 30 minutes later it has expired.
    server.advance_clock(30 * 60 + 1).unwrap();
    assert_eq!(Agent::new(&server).get(&second).await.status(), 404, "expired");

    // At most five links an hour: of seven requests within the hour, five are mailed.
    let mut sent_before = sink.messages().len();
    server.advance_clock(3600).unwrap();
    for _ in 0..7 {
        forgot(&server, &fixture.owner_email).await;
    }
    let limited = tessera_testkit::eventually(Duration::from_secs(20), || {
        audit_entries(&server, "password_reset_requested").iter().filter(|e| e["detail"]["reason"] == "hourly_limit").count() == 2
    });
    assert!(limited, "two requests refused by the hourly limit: {:?}", audit_entries(&server, "password_reset_requested"));
    let requested = audit_entries(&server, "password_reset_requested");
    assert!(requested.iter().all(|e| e["actor"] == "anonymous" && e["target"] == fixture.owner_id.as_str()), "{requested:?}");
    sent_before += 5;
    let mails = sink.wait_for(sent_before, Duration::from_secs(20)).unwrap();
    assert_eq!(mails.len(), sent_before, "five mails in the hour");
}

#[tokio::test]
async fn a_password_is_changed_with_the_current_one_and_other_sessions_end() {
    let (server, fixture) = start();
    let mut here = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let mut elsewhere = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let page = here.get("/settings/security").await.text().await.unwrap();
    assert!(page.contains(r#"<label for="current_password">Current password</label>"#));
    assert!(page.contains(r#"data-email-verified="false""#), "not proven yet");
    assert!(page.contains("Email is off on this server"), "no SMTP: it says so");
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        vec![("current_password", current), ("new_password", new), ("confirm_password", again)]
    };
    let response =
        here.submit("/settings/security/password", &page, &["csrf_token"], &change("wrong password!", NEW_PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("The current password is not right."));
    let response =
        here.submit("/settings/security/password", &page, &["csrf_token"], &change(OWNER_PASSWORD, NEW_PASSWORD, "another one!!")).await;
    assert_eq!(response.status(), 400);
    let response =
        here.submit("/settings/security/password", &page, &["csrf_token"], &change(OWNER_PASSWORD, "1qaz2wsx3edc", "1qaz2wsx3edc")).await;
    assert_eq!(response.status(), 400);
    // Without the session's form token nothing changes.
    assert_eq!(here.post("/settings/security/password", &change(OWNER_PASSWORD, NEW_PASSWORD, NEW_PASSWORD)).await.status(), 403);
    assert!(still_signed_in(&mut elsewhere).await, "nothing changed yet");

    let response =
        here.submit("/settings/security/password", &page, &["csrf_token"], &change(OWNER_PASSWORD, NEW_PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/settings/security?done=password");
    assert!(still_signed_in(&mut here).await, "this browser stays signed in");
    assert!(!still_signed_in(&mut elsewhere).await, "the other one is signed out");
    assert_eq!(Agent::new(&server).login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 401);
    signed_in(&server, &fixture.owner_email, NEW_PASSWORD).await;
    let audited = audit_entries(&server, "password_changed");
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0]["detail"]["how"], "change");
    assert_eq!(audit_entries(&server, "login_failed").iter().filter(|e| e["detail"]["reason"] == "wrong_current_password").count(), 1);
}

#[tokio::test]
async fn the_operator_sets_a_password_from_standard_input() {
    let (server, fixture) = start();
    let mut browser = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    for _ in 0..5 {
        Agent::new(&server).login(&fixture.owner_email, "not the password at all").await;
    }
    let args = ["user", "set-password", fixture.owner_email.as_str(), "--password-stdin"];
    let refused = server.cli.run_with_stdin(&args, "short one\n").unwrap();
    assert!(!refused.success);
    assert!(refused.stderr.contains("12 to 1024 characters"), "{}", refused.stderr);
    let refused = server.cli.run_with_stdin(&args, "qwerty123456\n").unwrap();
    assert!(!refused.success && refused.stderr.contains("common"), "{}", refused.stderr);
    assert!(still_signed_in(&mut browser).await, "a refused password changes nothing");
    // The password flag is required: no password on the command line.
    assert!(!server.cli.run(&["user", "set-password", fixture.owner_email.as_str()]).unwrap().success);

    let set = server.cli.json_with_stdin(&args, &format!("{NEW_PASSWORD}\n")).unwrap();
    assert_eq!(set["id"], fixture.owner_id.as_str());
    assert!(!still_signed_in(&mut browser).await, "every session ended");
    signed_in(&server, &fixture.owner_email, NEW_PASSWORD).await;
    let audited = audit_entries(&server, "password_changed");
    assert_eq!((audited[0]["actor"].as_str(), audited[0]["detail"]["how"].as_str()), (Some("cli"), Some("set")));
}

#[tokio::test]
async fn an_email_is_verified_through_the_mailed_link_and_id_tokens_say_so() {
    let sink = MailSink::start().unwrap();
    let (server, fixture) = start_with(with_mail(&sink, &[]));
    let client = web_client(&server, &fixture, &["--scope", "openid", "--scope", "email"]);
    let mut agent = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let code = owner_code(&mut agent, &fixture, &client, "&scope=openid+email&nonce=n-1").await;
    let (_, claims) = jwt_parts(redeem_ok(&server, &client, &code).await["id_token"].as_str().unwrap());
    assert_eq!(claims["email_verified"], false);

    let page = agent.get("/settings/security").await.text().await.unwrap();
    let response = agent.submit("/settings/security/verify-email", &page, &["csrf_token"], &[]).await;
    assert_eq!(location(&response), "/settings/security?done=verification-sent");
    let link = link_of(&sink.wait_for(1, Duration::from_secs(20)).unwrap()[0], &server);
    assert!(link.starts_with(&server.url("/email/verify/")), "{link}");
    let opened = Agent::new(&server).get(&link).await;
    assert_eq!(opened.status(), 200);
    assert!(opened.text().await.unwrap().contains("Your email is verified"));
    assert_eq!(Agent::new(&server).get(&link).await.status(), 404, "once");
    assert!(agent.get("/settings/security").await.text().await.unwrap().contains(r#"data-email-verified="true""#));
    assert_eq!(audit_entries(&server, "email_verified").len(), 1);

    let code = owner_code(&mut agent, &fixture, &client, "&scope=openid+email&nonce=n-2").await;
    let tokens = redeem_ok(&server, &client, &code).await;
    let (_, claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["email_verified"], true);
    let info: Value = userinfo(&server, tokens["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(info["email_verified"], true);
}

#[tokio::test]
async fn without_smtp_the_forgot_page_says_email_is_off() {
    let (server, fixture) = start();
    let page = Agent::new(&server).get("/password/forgot").await.text().await.unwrap();
    assert!(page.contains("Email is off on this server"), "{page}");
    assert!(!page.contains(r#"name="email""#), "no form that could not work");
    let (status, _) = {
        let mut agent = Agent::new(&server);
        let login = agent.get("/login").await.text().await.unwrap();
        let response = agent.submit("/password/forgot", &login, &["csrf_token"], &[("email", &fixture.owner_email)]).await;
        (response.status().as_u16(), ())
    };
    assert_eq!(status, 503);
}

/// STARTTLS with a certificate of the operator's own CA (`--smtp-ca-file`), and a mail server
/// that answers "try again later" once: the mail arrives on the retry.
#[tokio::test]
async fn mail_goes_over_starttls_and_is_retried_after_a_temporary_failure() {
    let dir = tessera_testkit::TempDir::new("smtp-tls").unwrap();
    let ca = crate::transport::test_ca();
    let (cert, key) = ca.issue(dir.path(), "smtp");
    let sink = MailSink::start_with(&MailSinkOptions { starttls: Some((&cert, &key)), fail_first: 1 }).unwrap();
    let ca_file = ca.pem_file().display().to_string();
    let (server, fixture) = start_with(with_mail(&sink, &["--smtp-ca-file", &ca_file]));
    forgot(&server, &fixture.owner_email).await;
    let mails = sink.wait_for(1, Duration::from_secs(30)).unwrap();
    assert_eq!(mails[0]["tls"], true, "sent after STARTTLS");
    assert!(server.log().contains("retrying"), "the first attempt was refused: {}", server.log());
    assert!(!server.log().contains("/password/reset/"), "no link in the log");
}

/// The form values of every "Sign out" button of a sessions table.
fn session_handles(page: &str) -> Vec<String> {
    page.match_indices(r#"name="session" value=""#)
        .map(|(at, marker)| {
            let rest = &page[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_security_page_lists_signed_in_browsers_and_signs_out_others() {
    let (server, fixture) = start();
    let member = "dev@acme-sessions.test";
    add_user(&server, &fixture, member, "member", "member password 1", &[]);
    let mut here = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let mut phone = Agent::new(&server);
    let login = phone.get("/login").await.text().await.unwrap();
    let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1";
    let form = [
        ("email", fixture.owner_email.as_str()),
        ("password", OWNER_PASSWORD),
        ("csrf_token", &hidden(&login, "csrf_token")),
        ("return_to", "/"),
    ];
    let response = http()
        .post(server.url("/login"))
        .header("cookie", phone.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
        .header("origin", server.url("").trim_end_matches('/'))
        .header("user-agent", ua)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    for cookie in response.headers().get_all("set-cookie") {
        let (pair, _) = cookie.to_str().unwrap().split_once(';').unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        phone.cookies.insert(name.to_owned(), value.to_owned());
    }
    let mut third = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let mut members_browser = signed_in(&server, member, "member password 1").await;

    let page = here.get("/settings/security").await.text().await.unwrap();
    assert_eq!(page.matches("<tr").count() - 1, 3, "three browsers of the owner, none of the member: {page}");
    assert_eq!(page.matches(r#"data-current-session="true""#).count(), 1);
    assert!(page.contains("Safari on iOS") && page.contains("127.0.0.1"), "{page}");
    let handles = session_handles(&page);
    assert_eq!(handles.len(), 2, "a button for each other browser, none for this one");
    assert!(!page.contains(&here.cookies["tessera_session"]), "no session id on the page");

    // Another user's session cannot be ended from here, whatever its handle.
    let members_page = members_browser.get("/settings/security").await.text().await.unwrap();
    assert!(session_handles(&members_page).is_empty(), "the member has one browser");
    let response =
        here.submit("/settings/security/sessions/end", &page, &["csrf_token"], &[("session", "0123456789abcdef0123456789abcdef")]).await;
    assert_eq!(response.status(), 404);
    assert!(still_signed_in(&mut members_browser).await);

    // Find the phone's row: its button's label names the browser.
    let phone_handle = handles
        .iter()
        .find(|h| {
            let at = page.find(h.as_str()).unwrap();
            page[at..].split("</tr>").next().unwrap().contains("Safari on iOS")
        })
        .unwrap()
        .clone();
    let response = here.submit("/settings/security/sessions/end", &page, &["csrf_token"], &[("session", &phone_handle)]).await;
    assert_eq!(location(&response), "/settings/security?done=session-ended");
    assert!(!still_signed_in(&mut phone).await, "the phone is signed out");
    assert!(still_signed_in(&mut third).await && still_signed_in(&mut here).await);
    let page = here.get("/settings/security").await.text().await.unwrap();
    let response = here.submit("/settings/security/sessions/end-others", &page, &["csrf_token"], &[]).await;
    assert_eq!(location(&response), "/settings/security?done=sessions-ended");
    assert!(!still_signed_in(&mut third).await, "every other browser is signed out");
    assert!(still_signed_in(&mut here).await && still_signed_in(&mut members_browser).await, "this one and other users' stay");
}
