//! Invitations (SPEC §11): `tessera user invite`, `POST /admin/v1/invitations` and the Members
//! page's "Send invitation"; the mailed link `/invite/{token}` works once, for 7 days; a new
//! person chooses a password, a person with an account signs in and joins; accepting proves the
//! email. The link never reaches the inviter through the API or the page.

use std::time::Duration;

use serde_json::{Value, json};
use tessera_testkit::mail::MailSink;

use crate::accounts::{link_of, with_mail};
use crate::admin_api::{Api, owner_token};
use crate::agent::*;
use crate::common::*;

const PASSWORD: &str = "a password for the invitee";

#[tokio::test]
async fn an_invited_person_chooses_a_password_and_joins_once() {
    let sink = MailSink::start().unwrap();
    let (server, fixture) = start_with(with_mail(&sink, &[]));
    let api = Api::new(&server, &owner_token(&server, &fixture).await);

    let answer = api.post("/invitations", &json!({ "email": "New.Person@example.test", "role": "admin" })).await;
    assert_eq!(answer.status(), 201);
    let invited: Value = answer.json().await.unwrap();
    assert_eq!((invited["email"].as_str(), invited["role"].as_str()), (Some("New.Person@example.test"), Some("admin")));
    assert!(invited.get("invite_url").is_none() && !invited.to_string().contains("/invite/"), "the inviter never holds the link");
    let expires_in = invited["expires_at"].as_i64().unwrap() - crate::jwt_validation::unix_now();
    assert!((7 * 86400 - 60..=7 * 86400 + 60).contains(&expires_in), "7 days: {expires_in}");
    let bad = api.post("/invitations", &json!({ "email": "x@example.test", "role": "king" })).await;
    assert_eq!(bad.status(), 400);
    let member = api.post("/invitations", &json!({ "email": fixture.owner_email, "role": "member" })).await;
    assert_eq!(member.status(), 400, "a member already");

    let mails = sink.wait_for(1, Duration::from_secs(20)).unwrap();
    let mail = &mails[0];
    assert_eq!(mail["envelope_to"], json!(["New.Person@example.test"]));
    assert!(mail["subject"].as_str().unwrap().contains(&fixture.org_name), "{mail}");
    assert!(mail["text"].as_str().unwrap().contains(&fixture.owner_email), "says who invited");
    let link = link_of(mail, &server);
    assert!(link.starts_with(&server.url("/invite/")), "{link}");
    assert!(!server.log().contains(&link), "no link in the log");

    // The Members page lists it as waiting.
    let mut owner = Agent::new(&server);
    owner.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let members = owner.get("/admin/members").await.text().await.unwrap();
    assert!(members.contains("Waiting to be accepted") && members.contains("New.Person@example.test"), "{members}");

    let mut invitee = Agent::new(&server);
    let page = invitee.get(&link).await.text().await.unwrap();
    assert!(page.contains(&format!("Join {}", fixture.org_name)) && page.contains("as admin"), "{page}");
    let differs = invitee.submit(&link, &page, &["csrf_token"], &[("new_password", PASSWORD), ("confirm_password", "another one")]).await;
    assert_eq!(differs.status(), 400);
    let common =
        invitee.submit(&link, &page, &["csrf_token"], &[("new_password", "qwerty123456"), ("confirm_password", "qwerty123456")]).await;
    assert_eq!(common.status(), 400, "the password rule holds");
    let joined = invitee.submit(&link, &page, &["csrf_token"], &[("new_password", PASSWORD), ("confirm_password", PASSWORD)]).await;
    assert_eq!(location(&joined), "/settings/api-clients?done=joined");
    assert_eq!(invitee.get("/admin/members").await.status(), 200, "signed in, as admin");

    let users = server.cli.json(&["user", "list", "--org", &fixture.org_name]).unwrap();
    let user = users.as_array().unwrap().iter().find(|u| u["email"] == "New.Person@example.test").unwrap().clone();
    assert_eq!(user["role"], "admin");
    let verified = store_texts(
        &server.cli,
        "SELECT CAST(email_verified_at IS NOT NULL AS TEXT) FROM people WHERE lower(email) = 'new.person@example.test'",
    )
    .await;
    assert!(matches!(verified.as_slice(), [v] if v == "1" || v == "true"), "accepting proves the email: {verified:?}");
    let again = Agent::new(&server).get(&link).await;
    assert_eq!(again.status(), 404, "once");
    let log = server.cli.json(&["audit", "list", "--org", &fixture.org_name]).unwrap();
    let actions: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"user_invited") && actions.contains(&"invitation_accepted"), "{actions:?}");
    let mut fresh = Agent::new(&server);
    assert_eq!(fresh.login("new.person@example.test", PASSWORD).await.status(), 303, "the chosen password signs in");
}

#[tokio::test]
async fn a_person_with_an_account_signs_in_and_joins_from_the_members_page_invitation() {
    let sink = MailSink::start().unwrap();
    let (server, acme) = start_with(with_mail(&sink, &[]));
    let beta = tessera_testkit::Fixture::create(&server.cli).unwrap();

    // Beta's owner invites acme's owner on the Members page.
    let mut inviter = Agent::new(&server);
    inviter.login(&beta.owner_email, OWNER_PASSWORD).await;
    let members = inviter.get("/admin/members").await.text().await.unwrap();
    let sent =
        inviter.submit("/admin/members/invite", &members, &["csrf_token"], &[("email", &acme.owner_email), ("role", "member")]).await;
    assert_eq!(location(&sent), "/admin/members?done=invited");
    let link = link_of(&sink.wait_for(1, Duration::from_secs(20)).unwrap()[0], &server);

    // Signed out: the page asks to sign in (no password form for an existing account).
    let mut person = Agent::new(&server);
    let page = person.get(&link).await.text().await.unwrap();
    assert!(page.contains("has an account") && !page.contains("new_password"), "{page}");
    let path = link.strip_prefix(&server.url("")).unwrap().to_owned();
    // Someone else signed in is told to sign out first; Join is not offered.
    let mut other = Agent::new(&server);
    other.login(&beta.owner_email, OWNER_PASSWORD).await;
    let page = other.get(&path).await.text().await.unwrap();
    assert!(page.contains("sign out") && !page.contains("/accept"), "{page}");
    // The person signs in and joins; the browser works in beta.
    person.login(&acme.owner_email, OWNER_PASSWORD).await;
    let page = person.get(&path).await.text().await.unwrap();
    let joined = person.submit(&format!("{path}/accept"), &page, &["csrf_token"], &[]).await;
    assert_eq!(location(&joined), "/settings/api-clients?done=joined");
    let orgs = person.get("/settings/organizations").await.text().await.unwrap();
    assert!(orgs.contains(&format!("aria-label=\"{}: the organization you are working in\"", beta.org_name)), "{orgs}");
    assert!(orgs.contains(&format!("<strong>{}</strong>", acme.org_name)));
    assert_eq!(person.get(&path).await.status(), 404, "once");
}

#[tokio::test]
async fn without_email_the_operator_invites_and_the_api_says_email_is_off() {
    let (server, fixture) = start();
    let api = Api::new(&server, &owner_token(&server, &fixture).await);
    let off = api.post("/invitations", &json!({ "email": "someone@example.test", "role": "member" })).await;
    assert_eq!(off.status(), 503);
    assert!(off.text().await.unwrap().contains("tessera user invite"), "says what to do instead");
    let mut owner = Agent::new(&server);
    owner.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let members = owner.get("/admin/members").await.text().await.unwrap();
    assert!(members.contains("Email is off") && !members.contains("/admin/members/invite"), "{members}");

    let invited =
        server.cli.json(&["user", "invite", "--org", &fixture.org_name, "--email", "someone@example.test", "--role", "member"]).unwrap();
    assert_eq!(invited.as_object().unwrap().keys().collect::<Vec<_>>(), ["email", "id", "invite_url"]);
    let issuer = server.url("");
    let under_issuer = server
        .cli
        .json(&["user", "invite", "--org", &fixture.org_name, "--email", "third@example.test", "--role", "member", "--issuer", &issuer])
        .unwrap();
    assert!(under_issuer["invite_url"].as_str().unwrap().starts_with(&format!("{issuer}/invite/")), "{under_issuer}");
    // The CLI's links start with the issuer it is configured with (the same as the server's,
    // in a real deployment); the test server listens elsewhere, so the path is what counts.
    let path_of = |url: &str| format!("/invite/{}", url.split_once("/invite/").expect("an invite link").1);
    let link = &path_of(invited["invite_url"].as_str().unwrap());
    // A newer invitation of the same email replaces it.
    let newer =
        server.cli.json(&["user", "invite", "--org", &fixture.org_name, "--email", "SOMEONE@example.test", "--role", "admin"]).unwrap();
    assert_eq!(Agent::new(&server).get(link).await.status(), 404, "replaced");
    let page = Agent::new(&server).get(&path_of(newer["invite_url"].as_str().unwrap())).await.text().await.unwrap();
    assert!(page.contains("as admin"), "{page}");
    let refused =
        server.cli.run(&["user", "invite", "--org", &fixture.org_name, "--email", &fixture.owner_email, "--role", "member"]).unwrap();
    assert!(!refused.success && refused.stderr.contains(&format!("{} is a member of {} already", fixture.owner_email, fixture.org_name)));
}

/// An owner adds, by the admin API, an email that has an account in another organization: the
/// answer is a member's, but the person decides: they are mailed an invitation to exactly that
/// membership (the id the answer gave, the role and permission asked), and their password stays
/// theirs. An admin of one organization cannot so take over a person another one adds later.
#[tokio::test]
async fn adding_a_person_with_an_account_mails_them_an_invitation_to_that_membership() {
    let sink = MailSink::start().unwrap();
    let (server, acme) = start_with(with_mail(&sink, &[]));
    let beta = tessera_testkit::Fixture::create(&server.cli).unwrap();
    let beta_api = Api::new(&server, &owner_token(&server, &beta).await);
    let body = json!({ "email": acme.owner_email, "role": "admin", "password": "beta's idea of it 1", "authorize_applications": true });
    let answered = beta_api.post("/members", &body).await;
    assert_eq!(answered.status(), 201);
    let answered: Value = answered.json().await.unwrap();
    let link = link_of(&sink.wait_for(1, Duration::from_secs(20)).unwrap()[0], &server);
    assert!(Agent::new(&server).login(&acme.owner_email, "beta's idea of it 1").await.status() == 401, "the password given is not theirs");

    let mut person = Agent::new(&server);
    person.login(&acme.owner_email, OWNER_PASSWORD).await;
    let path = link.strip_prefix(&server.url("")).unwrap().to_owned();
    let page = person.get(&path).await.text().await.unwrap();
    assert!(page.contains("as admin"), "{page}");
    let joined = person.submit(&format!("{path}/accept"), &page, &["csrf_token"], &[]).await;
    assert_eq!(location(&joined), "/settings/api-clients?done=joined");
    let shown: Value = beta_api.get(&format!("/members/{}", answered["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(shown["email"].as_str().map(str::to_lowercase), Some(acme.owner_email.to_lowercase()), "{shown}");
    assert_eq!((shown["role"].as_str(), shown["authorize_applications"].as_bool()), (Some("admin"), Some(true)));
}

/// The invitation page in Chromium, at 1280 and 390 px: labelled password fields inside the page,
/// joined from the keyboard (Enter in the second field).
#[tokio::test]
async fn the_invitation_page_fits_a_phone_and_is_filled_from_the_keyboard() {
    use crate::portal_browser::{WAIT, screenshot};
    use tessera_testkit::browser::{Browser, Locator};
    let (server, fixture) = start();
    let issuer = server.url("");
    let invited = server
        .cli
        .json(&["user", "invite", "--org", &fixture.org_name, "--email", "phone@example.test", "--role", "member", "--issuer", &issuer])
        .unwrap();
    let link = invited["invite_url"].as_str().unwrap();

    let browser = Browser::start().await.unwrap();
    browser.goto(link).await.unwrap();
    browser.wait_for_element("#new_password", WAIT).await.unwrap();
    screenshot(&browser, "invite.png").await;
    browser.client().set_window_size(390, 900).await.unwrap();
    browser.goto(link).await.unwrap();
    browser.wait_for_element("#new_password", WAIT).await.unwrap();
    let page = browser.client().find(Locator::Css("html")).await.unwrap().rectangle().await.unwrap();
    for css in ["section.card", "#new_password", "#confirm_password", "button[type=submit]"] {
        let (x, _, w, _) = browser.client().find(Locator::Css(css)).await.unwrap().rectangle().await.unwrap();
        assert!(x >= 0.0 && x + w <= page.2 + 0.5, "390px: {css} fits");
    }
    for id in ["new_password", "confirm_password"] {
        let label = browser.text(&format!("label[for={id}]")).await.unwrap();
        assert!(!label.trim().is_empty(), "#{id} has a label");
    }
    screenshot(&browser, "invite-phone.png").await;
    browser.fill("#new_password", PASSWORD).await.unwrap();
    browser.fill("#confirm_password", &format!("{PASSWORD}\n")).await.unwrap();
    browser.wait_for_url(|url| url.contains("done=joined"), WAIT).await.unwrap();
    assert!(browser.text("main").await.unwrap().contains("Welcome"), "signed in, in the organization");
    browser.close().await.unwrap();
}

/// An invitation gives no more than its inviter may give when it is accepted: an admin invites
/// someone as admin, is demoted to member before the link is used, and the link no longer works.
#[tokio::test]
async fn an_invitation_of_an_inviter_demoted_since_no_longer_works() {
    let sink = MailSink::start().unwrap();
    let (server, fixture) = start_with(with_mail(&sink, &[]));
    let admin = format!("admin@{}.test", fixture.org_name);
    add_user(&server, &fixture, &admin, "admin", PASSWORD, &[]);
    let mut inviter = Agent::new(&server);
    assert_eq!(inviter.login(&admin, PASSWORD).await.status(), 303);
    let members = inviter.get("/admin/members").await.text().await.unwrap();
    let sent =
        inviter.submit("/admin/members/invite", &members, &["csrf_token"], &[("email", "helper@example.test"), ("role", "admin")]).await;
    assert_eq!(sent.status(), 303);
    let link = link_of(&sink.wait_for(1, Duration::from_secs(20)).unwrap()[0], &server);
    server.cli.json(&["user", "update", &admin, "--role", "member"]).unwrap();

    let mut invitee = Agent::new(&server);
    let page = invitee.get(&link).await.text().await.unwrap();
    let refused = invitee.submit(&link, &page, &["csrf_token"], &[("new_password", PASSWORD), ("confirm_password", PASSWORD)]).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("ask the organization for a new invitation"));
    let users = server.cli.json(&["user", "list", "--org", &fixture.org_name]).unwrap();
    assert!(!users.to_string().contains("helper@example.test"), "nobody joined: {users}");
}
