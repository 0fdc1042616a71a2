//! Passkeys in real headless Chromium (SPEC §11), with chromedriver's WebAuthn virtual
//! authenticator standing in for a security key or a phone: added on `/settings/security`, used
//! as the second factor after the password, used alone to sign in, removed. WebAuthn has no
//! relying party on an IP address, so the server's issuer here is `http://localhost:PORT`. With
//! `TESSERA_UPDATE_SCREENSHOTS=1` the pages are saved under `docs/screenshots/`.

use std::time::Duration;

use tessera_testkit::browser::{Browser, Locator};

use crate::agent::{Agent, OWNER_PASSWORD, code_query, redeem_ok, response_params, web_client};
use crate::common::*;
use crate::portal::{MEMBER_PASSWORD, member_email};
use crate::portal_browser::screenshot;

const WAIT: Duration = Duration::from_secs(15);

/// What `assets/webauthn.js` does on submit, without the submit: the authenticator's answer to
/// the page's passkey request, as the JSON the form would carry.
const ASK_FOR_A_PASSKEY: &str = r#"
    const done = arguments[arguments.length - 1];
    const form = document.querySelector("form[data-webauthn]");
    const options = PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(form.dataset.webauthnOptions).publicKey);
    navigator.credentials.get({ publicKey: options }).then(c => done(JSON.stringify(c.toJSON())), e => done("failed: " + e));
"#;

/// Posts the page's passkey form with `arguments[0]` as its answer.
const SUBMIT_THE_ANSWER: &str = r#"
    const form = document.querySelector("form[data-webauthn]");
    form.querySelector("input[name=credential]").value = arguments[0];
    form.submit();
"#;

/// At `width`, nothing of the page sticks out sideways and each named field has a visible label.
async fn fits(browser: &Browser, width: u32, fields: &[&str]) {
    let client = browser.client();
    client.set_window_size(width, 900).await.unwrap();
    let page = client.find(Locator::Css("html")).await.unwrap().rectangle().await.unwrap();
    for css in ["main", "form", "button[type=submit]"] {
        for element in client.find_all(Locator::Css(css)).await.unwrap() {
            let (x, _, w, _) = element.rectangle().await.unwrap();
            assert!(x >= 0.0 && x + w <= page.2 + 0.5, "{width}px: {css} fits ({x} + {w} > {})", page.2);
        }
    }
    for id in fields {
        let label = client.find(Locator::Css(&format!("label[for={id}]"))).await.unwrap();
        assert!(label.is_displayed().await.unwrap() && !label.text().await.unwrap().trim().is_empty(), "#{id} has a label");
    }
}

/// Both widths of a page, screenshot at each.
async fn both_widths(browser: &Browser, name: &str, fields: &[&str]) {
    fits(browser, 390, fields).await;
    screenshot(browser, &format!("{name}-phone.png")).await;
    fits(browser, 1280, fields).await;
    screenshot(browser, &format!("{name}.png")).await;
}

async fn sign_out(browser: &Browser) {
    browser.client().delete_all_cookies().await.unwrap();
}

#[tokio::test]
async fn a_person_adds_a_passkey_and_signs_in_with_it_after_the_password_and_instead_of_it() {
    let (server, fixture, base) = start_on_localhost();
    let browser = Browser::start().await.unwrap();
    let authenticator = browser.add_virtual_authenticator().await.unwrap();
    browser.client().set_window_size(1280, 900).await.unwrap();

    // Signed in with the password, the person adds a passkey and names it.
    browser.goto(&format!("{base}/settings/security")).await.unwrap();
    browser.wait_for_element("#email", WAIT).await.unwrap();
    browser.fill("#email", &fixture.owner_email).await.unwrap();
    browser.fill("#password", &format!("{OWNER_PASSWORD}\n")).await.unwrap();
    browser.wait_for_url(|url| url.ends_with("/settings/security"), WAIT).await.unwrap();
    browser.click("form[action='/settings/security/passkeys/new'] button").await.unwrap();
    browser.wait_for_element("#passkey_name", WAIT).await.unwrap();
    both_widths(&browser, "passkey-add", &["passkey_name"]).await;
    browser.fill("#passkey_name", "Work laptop\n").await.unwrap();
    // The first second factor comes with recovery codes, shown once.
    browser.wait_for_text("main h1", |t| t.contains("recovery codes"), WAIT).await.unwrap();
    let credentials = browser.virtual_credentials(&authenticator).await.unwrap();
    assert_eq!(credentials.len(), 1, "{credentials:?}");
    assert_eq!(credentials[0]["isResidentCredential"], true, "a passkey that can sign in without an email first");
    assert_eq!(credentials[0]["rpId"], "localhost");
    browser.goto(&format!("{base}/settings/security")).await.unwrap();
    browser.wait_for_element("tr[data-passkey]", WAIT).await.unwrap();
    assert!(browser.text("tr[data-passkey]").await.unwrap().contains("Work laptop"));
    both_widths(&browser, "settings-security-passkeys", &["current_password"]).await;

    // The password is no longer enough: the second step asks for the passkey.
    sign_out(&browser).await;
    browser.goto(&format!("{base}/settings/security")).await.unwrap();
    browser.wait_for_element("#email", WAIT).await.unwrap();
    browser.fill("#email", &fixture.owner_email).await.unwrap();
    browser.fill("#password", &format!("{OWNER_PASSWORD}\n")).await.unwrap();
    browser.wait_for_url(|url| url.ends_with("/login/mfa"), WAIT).await.unwrap();
    browser.wait_for_element("form[data-webauthn] button", WAIT).await.unwrap();
    both_widths(&browser, "login-mfa-passkey", &["code"]).await;
    browser.click("form[data-webauthn] button").await.unwrap();
    browser.wait_for_url(|url| url.ends_with("/settings/security"), WAIT).await.unwrap();
    let used = browser.virtual_credentials(&authenticator).await.unwrap();
    assert!(used[0]["signCount"].as_u64().unwrap() > credentials[0]["signCount"].as_u64().unwrap(), "the passkey signed");

    // Signed out, the passkey alone signs in: no email, no password. The authenticator's answer
    // is kept, to replay it below.
    sign_out(&browser).await;
    browser.goto(&format!("{base}/settings/security")).await.unwrap();
    browser.wait_for_element("form[action='/login/passkey'] button", WAIT).await.unwrap();
    both_widths(&browser, "login-with-passkeys", &["email", "password"]).await;
    browser.click("form[action='/login/passkey'] button").await.unwrap();
    browser.wait_for_element("form[data-webauthn] button", WAIT).await.unwrap();
    both_widths(&browser, "login-passkey", &[]).await;
    let ceremony = browser.value("input[name=ceremony]").await.unwrap();
    let answer = browser.client().execute_async(ASK_FOR_A_PASSKEY, vec![]).await.unwrap();
    let answer = answer.as_str().unwrap().to_owned();
    assert!(answer.starts_with('{'), "the browser answered: {answer}");
    browser.client().execute(SUBMIT_THE_ANSWER, vec![answer.clone().into()]).await.unwrap();
    browser.wait_for_url(|url| url.ends_with("/settings/security"), WAIT).await.unwrap();
    assert!(browser.text("header").await.unwrap().contains(&fixture.owner_email), "signed in as the passkey's person");

    // The same answer again: its ceremony is spent, and a new ceremony's challenge is another.
    let mut thief = Agent::new(&server);
    thief.origin = Some(base.clone());
    let page = thief.get("/login").await.text().await.unwrap();
    let replay = [("ceremony", ceremony.as_str()), ("credential", answer.as_str()), ("return_to", "/")];
    let replayed = thief.submit("/login/passkey", &page, &["csrf_token"], &replay).await;
    assert_eq!(replayed.status(), 401);
    let asked = thief.submit("/login/passkey", &page, &["csrf_token"], &[("return_to", "/")]).await.text().await.unwrap();
    let fresh = crate::agent::hidden(&asked, "ceremony");
    assert_ne!(fresh, ceremony);
    let replay = [("ceremony", fresh.as_str()), ("credential", answer.as_str()), ("return_to", "/")];
    let replayed = thief.submit("/login/passkey", &page, &["csrf_token"], &replay).await;
    assert_eq!(replayed.status(), 401);
    assert!(!thief.cookies.contains_key("tessera_session"), "no session from a replayed passkey answer");

    // An application signed in to this way learns how: a passkey, which is two factors.
    let app = web_client(&server, &fixture, &["--scope", "openid"]);
    browser.goto(&format!("{base}/oauth2/authorize?{}", code_query(&app, "&scope=openid"))).await.unwrap();
    browser.wait_for_element("button[value=allow]", WAIT).await.unwrap();
    browser.click("button[value=allow]").await.unwrap();
    let landed = browser.wait_for_url(|url| url.starts_with("https://app.example/cb"), WAIT).await.unwrap();
    let tokens = redeem_ok(&server, &app, &response_params(&landed)["code"]).await;
    let (_, id_token) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["amr"], serde_json::json!(["hwk", "mfa"]));
    assert_eq!(id_token["acr"], "mfa");
    browser.goto(&format!("{base}/settings/security")).await.unwrap();
    browser.wait_for_element("tr[data-passkey]", WAIT).await.unwrap();
    let passkey = browser.client().find(Locator::Css("tr[data-passkey]")).await.unwrap().attr("data-passkey").await.unwrap().unwrap();

    // Another person cannot remove it: the id names nothing of theirs.
    let other = member_email(&fixture, "other");
    add_user(&server, &fixture, &other, "owner", MEMBER_PASSWORD, &[]);
    let mut agent = Agent::new(&server);
    agent.origin = Some(base.clone());
    assert_eq!(agent.login(&other, MEMBER_PASSWORD).await.status(), 303);
    let page = agent.get("/settings/security").await.text().await.unwrap();
    let removed = agent.submit("/settings/security/passkeys/remove", &page, &["csrf_token"], &[("passkey", &passkey)]).await;
    assert_eq!(removed.status(), 404);

    // Its person removes it. Signed in more than 5 minutes ago, they confirm it's them first,
    // with the passkey itself; then it signs in no more.
    server.advance_clock(5 * 60 + 1).unwrap();
    browser.click(&format!("tr[data-passkey='{passkey}'] button")).await.unwrap();
    browser.wait_for_element("form[data-webauthn] button", WAIT).await.unwrap();
    both_widths(&browser, "step-up-passkey", &["step_up_password"]).await;
    browser.click("form[data-webauthn] button").await.unwrap();
    browser.wait_for_url(|url| url.contains("done=passkey-removed"), WAIT).await.unwrap();
    assert!(browser.client().find_all(Locator::Css("tr[data-passkey]")).await.unwrap().is_empty());
    sign_out(&browser).await;
    browser.goto(&format!("{base}/login")).await.unwrap();
    browser.click("form[action='/login/passkey'] button").await.unwrap();
    browser.wait_for_element("form[data-webauthn] button", WAIT).await.unwrap();
    browser.click("form[data-webauthn] button").await.unwrap();
    browser.wait_for_text("main [role=alert]", |t| t.contains("could not be checked"), WAIT).await.unwrap();
    let audit = server.cli.json(&["audit", "list", "--org", &fixture.org_name]).unwrap();
    let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"second_factor_added") && actions.contains(&"second_factor_removed"), "{actions:?}");
    browser.close().await.unwrap();
}
