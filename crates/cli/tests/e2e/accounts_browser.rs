//! The account pages in real headless Chromium (SPEC §11): "Forgot your password?" from the
//! sign-in page, the mailed link (received by a real SMTP server) followed to a new password,
//! and the password change on `/settings/security`, at 1280 and 390 px, by keyboard where a
//! person would type. With `TESSERA_UPDATE_SCREENSHOTS=1` the pages are saved under
//! `docs/screenshots/`.

use std::time::Duration;

use tessera_testkit::browser::Browser;
use tessera_testkit::mail::{MailSink, the_link};

use crate::agent::OWNER_PASSWORD;
use crate::common::*;
use crate::portal_browser::{screenshot, sign_in};

const WAIT: Duration = Duration::from_secs(10);
const NEW_PASSWORD: &str = "a new password for 2027";

/// At `width`: nothing of the page's main column sticks out sideways, and every field named
/// has a visible label.
async fn fits(browser: &Browser, width: u32, fields: &[&str]) {
    let client = browser.client();
    client.set_window_size(width, 900).await.unwrap();
    let page = client.find(tessera_testkit::browser::Locator::Css("html")).await.unwrap().rectangle().await.unwrap();
    for css in ["main", "form", "button[type=submit]"] {
        for element in client.find_all(tessera_testkit::browser::Locator::Css(css)).await.unwrap() {
            let (x, _, w, _) = element.rectangle().await.unwrap();
            assert!(x >= 0.0 && x + w <= page.2 + 0.5, "{width}px: {css} fits ({x} + {w} > {})", page.2);
        }
    }
    for id in fields {
        let label = client.find(tessera_testkit::browser::Locator::Css(&format!("label[for={id}]"))).await.unwrap();
        assert!(label.is_displayed().await.unwrap() && !label.text().await.unwrap().trim().is_empty(), "#{id} has a label");
    }
}

#[tokio::test]
async fn a_person_resets_a_forgotten_password_from_the_sign_in_page_by_mail() {
    let sink = MailSink::start().unwrap();
    let serve = vec!["--smtp-url".to_owned(), sink.smtp_url(), "--mail-from".to_owned(), "auth@tessera.test".to_owned()];
    let (server, fixture) = start_with(ServerOptions { serve, ..ServerOptions::default() });
    let browser = Browser::start().await.unwrap();
    browser.client().set_window_size(1280, 900).await.unwrap();
    browser.goto(&server.url("/login")).await.unwrap();
    browser.wait_for_element("#email", WAIT).await.unwrap();
    browser.click("a[href='/password/forgot']").await.unwrap();
    browser.wait_for_element("#email", WAIT).await.unwrap();
    fits(&browser, 390, &["email"]).await;
    screenshot(&browser, "password-forgot-phone.png").await;
    fits(&browser, 1280, &["email"]).await;
    screenshot(&browser, "password-forgot.png").await;
    // Typed, then sent with Enter, as a person would.
    browser.fill("#email", &format!("{}\n", fixture.owner_email)).await.unwrap();
    browser.wait_for_text("main h1", |t| t == "Check your mail", WAIT).await.unwrap();

    let mail = &sink.wait_for(1, Duration::from_secs(20)).unwrap()[0];
    let link = the_link(mail["text"].as_str().unwrap(), &server.url("")).unwrap();
    browser.goto(&link).await.unwrap();
    browser.wait_for_element("#new_password", WAIT).await.unwrap();
    fits(&browser, 390, &["new_password", "confirm_password"]).await;
    screenshot(&browser, "password-reset-phone.png").await;
    fits(&browser, 1280, &["new_password", "confirm_password"]).await;
    screenshot(&browser, "password-reset.png").await;
    browser.fill("#new_password", NEW_PASSWORD).await.unwrap();
    browser.fill("#confirm_password", &format!("{NEW_PASSWORD}\n")).await.unwrap();
    browser.wait_for_url(|url| url.contains("/login?done=password"), WAIT).await.unwrap();
    assert!(browser.text("main").await.unwrap().contains("Your new password is set"));
    browser.fill("#email", &fixture.owner_email).await.unwrap();
    browser.fill("#password", &format!("{NEW_PASSWORD}\n")).await.unwrap();
    browser.wait_for_url(|url| url.ends_with("/settings/api-clients"), WAIT).await.unwrap();
    browser.close().await.unwrap();
}

#[tokio::test]
async fn a_signed_in_person_changes_their_password_on_the_security_page() {
    let (server, fixture) = start();
    let browser = Browser::start().await.unwrap();
    browser.client().set_window_size(1280, 900).await.unwrap();
    sign_in(&browser, &server, "/settings/security", &fixture.owner_email, OWNER_PASSWORD).await;
    // The navigation bar leads here.
    assert_eq!(browser.text("nav a[aria-current=page]").await.unwrap(), "Security");
    let fields = ["current_password", "new_password", "confirm_password"];
    fits(&browser, 390, &fields).await;
    screenshot(&browser, "settings-security-phone.png").await;
    fits(&browser, 1280, &fields).await;
    screenshot(&browser, "settings-security.png").await;
    // After 5 minutes, adding a second factor asks who it is first (step-up), then carries on.
    server.advance_clock(5 * 60 + 1).unwrap();
    browser.click("form[action='/settings/security/totp'] button").await.unwrap();
    browser.wait_for_element("#step_up_password", WAIT).await.unwrap();
    fits(&browser, 390, &["step_up_password"]).await;
    screenshot(&browser, "step-up-phone.png").await;
    fits(&browser, 1280, &["step_up_password"]).await;
    screenshot(&browser, "step-up.png").await;
    browser.fill("#step_up_password", &format!("{OWNER_PASSWORD}\n")).await.unwrap();
    browser.wait_for_element("[data-totp-secret]", WAIT).await.unwrap();
    browser.goto(&server.url("/settings/security")).await.unwrap();
    browser.wait_for_element("#current_password", WAIT).await.unwrap();
    browser.fill("#current_password", OWNER_PASSWORD).await.unwrap();
    browser.fill("#new_password", NEW_PASSWORD).await.unwrap();
    browser.fill("#confirm_password", &format!("{NEW_PASSWORD}\n")).await.unwrap();
    browser.wait_for_url(|url| url.contains("done=password"), WAIT).await.unwrap();
    assert!(browser.text("main").await.unwrap().contains("Your password is changed"));
    browser.close().await.unwrap();
    let mut agent = crate::agent::Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, NEW_PASSWORD).await.status(), 303);
}

#[tokio::test]
async fn a_person_sets_up_an_authenticator_app_and_signs_in_with_it() {
    let (server, fixture) = start();
    let browser = Browser::start().await.unwrap();
    browser.client().set_window_size(1280, 900).await.unwrap();
    sign_in(&browser, &server, "/settings/security", &fixture.owner_email, OWNER_PASSWORD).await;
    browser.click("form[action='/settings/security/totp'] button").await.unwrap();
    browser.wait_for_element("[data-totp-secret]", WAIT).await.unwrap();
    assert!(browser.page_source().await.unwrap().contains("<svg"), "the QR code is on the page");
    fits(&browser, 390, &["code"]).await;
    screenshot(&browser, "totp-setup-phone.png").await;
    fits(&browser, 1280, &["code"]).await;
    screenshot(&browser, "totp-setup.png").await;
    let secret = browser.text("[data-totp-secret]").await.unwrap();
    browser.fill("#code", &format!("{}\n", crate::second_factor::pyotp_code(&secret, 0, 0))).await.unwrap();
    browser.wait_for_text("main h1", |t| t == "Your recovery codes", WAIT).await.unwrap();
    screenshot(&browser, "recovery-codes.png").await;
    browser.goto(&server.url("/logout")).await.unwrap();
    browser.wait_for_element("form[action='/logout'] button", WAIT).await.unwrap();
    browser.click("form[action='/logout'] button").await.unwrap();
    browser.wait_for_text("main h1", |t| t == "You are signed out", WAIT).await.unwrap();

    // The next step of the app's codes: the one that turned it on was spent.
    server.advance_clock(30).unwrap();
    browser.goto(&server.url("/login")).await.unwrap();
    browser.wait_for_element("#email", WAIT).await.unwrap();
    browser.fill("#email", &fixture.owner_email).await.unwrap();
    browser.fill("#password", &format!("{OWNER_PASSWORD}\n")).await.unwrap();
    browser.wait_for_url(|url| url.ends_with("/login/mfa"), WAIT).await.unwrap();
    fits(&browser, 390, &["code"]).await;
    screenshot(&browser, "login-mfa-phone.png").await;
    fits(&browser, 1280, &["code"]).await;
    screenshot(&browser, "login-mfa.png").await;
    browser.fill("#code", &format!("{}\n", crate::second_factor::pyotp_code(&secret, 30, 0))).await.unwrap();
    browser.wait_for_url(|url| url.ends_with("/settings/api-clients"), WAIT).await.unwrap();
    browser.close().await.unwrap();
}
