//! The portal and admin pages in real headless Chromium: a member creates a client, reveals its
//! secret, gets a token with the generator and regenerates the secret (the old one is refused);
//! an admin disables a member and the member's client tokens stop at once; a member is offered
//! no restricted scope and no run-as user without the permission; the implicit walk-through's
//! script shows the token from the fragment; the PKCE choice under "Advanced" at 390px.
//!
//! With `TESSERA_UPDATE_SCREENSHOTS=1` the pages are saved under `docs/screenshots/`.

use std::path::PathBuf;
use std::time::Duration;

use tessera_testkit::browser::Browser;

use crate::agent::OWNER_PASSWORD;
use crate::common::*;
use crate::portal::{MEMBER_PASSWORD, client_of, member_email};

pub const WAIT: Duration = Duration::from_secs(10);

pub async fn screenshot(browser: &Browser, name: &str) {
    if std::env::var_os("TESSERA_UPDATE_SCREENSHOTS").is_none() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), browser.screenshot_png().await.unwrap()).unwrap();
}

pub async fn sign_in(browser: &Browser, server: &Server, path: &str, email: &str, password: &str) {
    browser.goto(&server.url(path)).await.unwrap();
    browser.wait_for_element("#email", WAIT).await.unwrap();
    browser.fill("#email", email).await.unwrap();
    browser.fill("#password", password).await.unwrap();
    browser.click("form button[type=submit]").await.unwrap();
    browser.wait_for_url(|url| url.ends_with(path), WAIT).await.unwrap();
}

#[tokio::test]
async fn a_member_creates_a_client_reveals_its_secret_gets_a_token_and_regenerates_the_secret() {
    let (server, fixture) = start();
    let dev = member_email(&fixture, "dev");
    add_user(&server, &fixture, &dev, "member", MEMBER_PASSWORD, &[]);
    let browser = Browser::start().await.unwrap();
    sign_in(&browser, &server, "/settings/api-clients", &dev, MEMBER_PASSWORD).await;

    // First what will use it, then a short form: the grants come from that answer.
    browser.click("a.button.primary").await.unwrap();
    browser.wait_for_element("#kind-server", WAIT).await.unwrap();
    screenshot(&browser, "portal-new-client-kind.png").await;
    browser.click("#kind-server").await.unwrap();
    browser.wait_for_element("#name", WAIT).await.unwrap();
    browser.fill("#name", "Deploy bot").await.unwrap();
    // No scope ticked is an error, never "every scope".
    browser.click("button.primary[type=submit]").await.unwrap();
    browser.wait_for_element("fieldset[aria-invalid=true] #scopes-error", WAIT).await.unwrap();
    assert!(browser.text("#scopes-error").await.unwrap().contains("Choose at least one scope"));
    browser.click("input[name=scopes][value=read]").await.unwrap();
    browser.click("input[name=scopes][value=write]").await.unwrap();
    screenshot(&browser, "portal-new-client.png").await;
    browser.click("button.primary[type=submit]").await.unwrap();
    browser.wait_for_element("#client-id", WAIT).await.unwrap();
    let client_id = browser.text("#client-id").await.unwrap();
    let first_secret = browser.text("#client-secret").await.unwrap();
    assert_eq!(first_secret.len(), 43, "the new secret is shown once at creation: {first_secret}");
    assert!(browser.current_url().await.unwrap().ends_with(&format!("/settings/api-clients/{client_id}?done=created")));
    screenshot(&browser, "portal-client-created.png").await;

    // A reload repeats nothing: no second client, and the secret is masked until Show.
    browser.client().refresh().await.unwrap();
    browser.wait_for_element("#show-secret", WAIT).await.unwrap();
    let listed = server.cli.json(&["client", "list", "--org", &fixture.org_name]).unwrap();
    assert_eq!(listed.as_array().unwrap().iter().filter(|c| c["name"] == "Deploy bot").count(), 1, "{listed}");
    assert!(!browser.page_source().await.unwrap().contains(&first_secret), "masked");
    screenshot(&browser, "portal-client.png").await;
    browser.click("#show-secret").await.unwrap();
    browser.wait_for_element("#client-secret:not(.masked)", WAIT).await.unwrap();
    assert_eq!(browser.text("#client-secret").await.unwrap(), first_secret);

    // The generator gets a token for it.
    browser.goto(&server.url(&format!("/tools/access-token?client_id={client_id}"))).await.unwrap();
    browser.wait_for_element("#get-token", WAIT).await.unwrap();
    browser.click("#get-token").await.unwrap();
    browser.wait_for_element("#access-token", WAIT).await.unwrap();
    let token = browser.value("#access-token").await.unwrap();
    let claims = jwt_parts(&token).1;
    assert_eq!(claims["client_id"], client_id.as_str());
    assert_eq!(browser.text("#token-scope").await.unwrap(), "read write");
    assert!(browser.text("#curl-api").await.unwrap().contains(&token), "a copy-ready curl line");
    screenshot(&browser, "portal-generator.png").await;
    // The page holding a token sends no Referer, and its own form still works (Origin: null
    // from a same-origin page).
    // (The page being replaced has the field too: wait for the new token, not just the field.)
    browser.click("#get-token").await.unwrap();
    let again = browser.wait_for_value("#access-token", |value| !value.is_empty() && value != token, WAIT).await;
    assert!(again.is_ok(), "a second token from the page that shows the first: {again:?}");
    // The token came by post/redirect/get: the address is the plain page, and loading it again
    // shows no token and asks for none.
    let shown_at = browser.current_url().await.unwrap();
    assert_eq!(shown_at, server.url(&format!("/tools/access-token?client_id={client_id}")));
    browser.goto(&shown_at).await.unwrap();
    browser.wait_for_element("#get-token", WAIT).await.unwrap();
    assert!(!browser.page_source().await.unwrap().contains("id=\"access-token\""), "shown once");

    // Roll the secret, keeping the old one for an hour (SPEC §13): both work, and the page says
    // until when. The choice is a labelled radio group that fits a phone.
    let grant = [("grant_type", "client_credentials")];
    let status_with = |secret: String| {
        let (server, id) = (&server, client_id.clone());
        async move { post_basic(server, "/oauth2/token", &id, &secret, &grant).await.status().as_u16() }
    };
    browser.goto(&server.url(&format!("/settings/api-clients/{client_id}"))).await.unwrap();
    browser.wait_for_element("#regenerate", WAIT).await.unwrap();
    browser.click("#regenerate").await.unwrap();
    browser.wait_for_element("#confirm", WAIT).await.unwrap();
    assert!(browser.text("main").await.unwrap().contains("When does the current secret stop working?"));
    for (width, name) in [(390, "portal-roll-secret-phone.png"), (1280, "portal-roll-secret.png")] {
        browser.client().set_window_size(width, 900).await.unwrap();
        let (x, _, w, _) =
            browser.client().find(tessera_testkit::browser::Locator::Css("#confirm")).await.unwrap().rectangle().await.unwrap();
        assert!(x >= 0.0 && x + w <= f64::from(width) + 0.5, "{width}px: the Roll button fits");
        screenshot(&browser, name).await;
    }
    browser.click("label.check:nth-of-type(2) input").await.unwrap();
    browser.click("#confirm").await.unwrap();
    browser.wait_for_element("#client-secret:not(.masked)", WAIT).await.unwrap();
    let second_secret = browser.text("#client-secret").await.unwrap();
    // A reload after the roll rolls nothing again.
    browser.client().refresh().await.unwrap();
    browser.wait_for_element("#client-secret.masked", WAIT).await.unwrap();
    assert_eq!(status_with(second_secret.clone()).await, 200, "the reload made no third secret");
    assert_ne!(second_secret, first_secret);
    assert!(browser.text("#previous-secret").await.unwrap().contains("UTC"), "the page says until when the old one works");
    for (width, name) in [(390, "portal-client-rolled-phone.png"), (1280, "portal-client-rolled.png")] {
        browser.client().set_window_size(width, 900).await.unwrap();
        screenshot(&browser, name).await;
    }
    assert_eq!(status_with(first_secret.clone()).await, 200, "the old secret within its hour");
    assert_eq!(status_with(second_secret.clone()).await, 200);

    // Roll again, at once (the first choice): every earlier secret is refused from then on.
    browser.click("#regenerate").await.unwrap();
    browser.wait_for_element("#confirm", WAIT).await.unwrap();
    browser.click("#confirm").await.unwrap();
    browser.wait_for_element("#client-secret:not(.masked)", WAIT).await.unwrap();
    let third_secret = browser.text("#client-secret").await.unwrap();
    for earlier in [first_secret, second_secret] {
        assert_eq!(status_with(earlier).await, 401, "void at once");
    }
    assert_eq!(status_with(third_secret).await, 200);
    browser.close().await.unwrap();
}

#[tokio::test]
async fn an_admin_disables_a_member_and_the_members_client_tokens_stop_working() {
    let (server, fixture) = start();
    let dev = member_email(&fixture, "dev");
    add_user(&server, &fixture, &dev, "member", MEMBER_PASSWORD, &[]);
    let client = client_of(&server, &fixture, &dev, "dev script", &["--scope", "read"]);
    let live = access_token(&server, &client).await;
    assert!(is_active(&server, &fixture, &live).await);

    let browser = Browser::start().await.unwrap();
    sign_in(&browser, &server, "/admin/members", &fixture.owner_email, OWNER_PASSWORD).await;
    screenshot(&browser, "admin-members.png").await;
    browser.click(&format!("button[aria-label='Disable {dev}']")).await.unwrap();
    browser.wait_for_url(|url| url.contains("done=disabled"), WAIT).await.unwrap();
    assert!(browser.text("main").await.unwrap().contains("Disabled"));
    assert!(!is_active(&server, &fixture, &live).await, "the member's client token is inactive at once");
    let refused =
        post_basic(&server, "/oauth2/token", &client.client_id, &client.client_secret, &[("grant_type", "client_credentials")]).await;
    assert!(refused.status().is_client_error(), "and the client gets no new one: {}", refused.status());

    for (path, name) in [
        ("/admin/scopes", "admin-scopes.png"),
        ("/admin/approvals", "admin-approvals.png"),
        ("/admin/audit", "admin-audit.png"),
        ("/admin/organization", "admin-organization.png"),
    ] {
        browser.goto(&server.url(path)).await.unwrap();
        browser.wait_for_element("nav.tabs", WAIT).await.unwrap();
        screenshot(&browser, name).await;
    }
    // The Settings tab on a phone: the form and its button stay inside the page.
    browser.client().set_window_size(390, 900).await.unwrap();
    browser.goto(&server.url("/admin/organization")).await.unwrap();
    browser.wait_for_element("input[name=require_mfa]", WAIT).await.unwrap();
    let page = browser.client().find(tessera_testkit::browser::Locator::Css("html")).await.unwrap().rectangle().await.unwrap();
    let button = browser.client().find(tessera_testkit::browser::Locator::Css("form button[type=submit]")).await.unwrap();
    let (x, _, w, _) = button.rectangle().await.unwrap();
    assert!(x >= 0.0 && x + w <= page.2 + 0.5, "390px: the Save button fits");
    for tab in browser.client().find_all(tessera_testkit::browser::Locator::Css("nav.tabs a")).await.unwrap() {
        let (x, _, w, _) = tab.rectangle().await.unwrap();
        assert!(x >= 0.0 && x + w <= page.2 + 0.5, "390px: every tab is on the page (they wrap)");
    }
    screenshot(&browser, "admin-organization-phone.png").await;
    browser.client().set_window_size(1280, 900).await.unwrap();
    browser.goto(&server.url("/admin/audit")).await.unwrap();
    assert!(browser.text("main").await.unwrap().contains("user_disabled"), "the audit log shows it");
    browser.goto(&server.url("/settings/api-clients")).await.unwrap();
    browser.wait_for_element("table.list", WAIT).await.unwrap();
    screenshot(&browser, "portal-clients.png").await;
    browser.close().await.unwrap();
}

#[tokio::test]
async fn q04_a_member_is_offered_no_restricted_scope_and_no_run_as_user_without_the_permission() {
    let (server, fixture) = start();
    let dev = member_email(&fixture, "dev");
    let plain = member_email(&fixture, "plain");
    let robot = member_email(&fixture, "robot");
    add_user(&server, &fixture, &dev, "member", MEMBER_PASSWORD, &[]);
    add_user(&server, &fixture, &plain, "member", MEMBER_PASSWORD, &[]);
    add_user(&server, &fixture, &robot, "member", MEMBER_PASSWORD, &["--permission", "authorize_applications"]);
    let browser = Browser::start().await.unwrap();
    sign_in(&browser, &server, "/settings/api-clients/new?kind=server", &dev, MEMBER_PASSWORD).await;

    let restricted = browser.client().find(fantoccini_locator("input[name=scopes][value=admin]")).await.unwrap();
    assert_eq!(restricted.prop("disabled").await.unwrap().as_deref(), Some("true"), "the restricted scope cannot be ticked");
    restricted.click().await.ok();
    assert_eq!(restricted.prop("checked").await.unwrap().as_deref(), Some("false"));
    // The run-as user is under "Advanced settings".
    browser.click("details.advanced > summary").await.unwrap();
    let options = browser.text("#run_as").await.unwrap();
    assert!(options.contains(&dev) && options.contains(&robot), "{options}");
    assert!(!options.contains(&plain), "a user without the permission is not offered: {options}");

    // A bad field comes back marked, with the other values kept.
    browser.fill("#name", "Reporting").await.unwrap();
    browser.click("input[name=scopes][value=read]").await.unwrap();
    browser.fill("#allowed_ips", "10.0.0.0/33").await.unwrap();
    browser.click("button.primary[type=submit]").await.unwrap();
    browser.wait_for_element("#allowed_ips[aria-invalid=true]", WAIT).await.unwrap();
    assert!(browser.text("main").await.unwrap().contains("is not an address or CIDR range"));
    assert_eq!(browser.value("#name").await.unwrap(), "Reporting");
    let read = browser.client().find(fantoccini_locator("input[name=scopes][value=read]")).await.unwrap();
    assert_eq!(read.prop("checked").await.unwrap().as_deref(), Some("true"), "ticked boxes stay ticked");
    screenshot(&browser, "portal-form-errors.png").await;
    browser.close().await.unwrap();
}

#[tokio::test]
async fn the_implicit_walk_through_shows_the_token_from_the_fragment() {
    let (server, fixture) = start();
    let callback = server.url("/tools/access-token/callback");
    let app = client_of(
        &server,
        &fixture,
        &fixture.owner_email,
        "legacy spa",
        &["--grant", "implicit", "--redirect-uri", &callback, "--scope", "read"],
    );
    let browser = Browser::start().await.unwrap();
    sign_in(&browser, &server, "/tools/access-token", &fixture.owner_email, OWNER_PASSWORD).await;
    browser.goto(&server.url(&format!("/tools/access-token?client_id={}", app.client_id))).await.unwrap();
    browser.wait_for_element("#get-token", WAIT).await.unwrap();
    browser.click("#get-token").await.unwrap();
    // The consent page, unless the user consented before; then back to our callback page.
    browser.wait_for_element("button[value=allow], #implicit-result", WAIT).await.unwrap();
    if browser.current_url().await.unwrap().contains("/oauth2/authorize") {
        browser.click("button[value=allow]").await.unwrap();
    }
    if let Err(e) = browser.wait_for_element("#implicit-result:not([hidden])", WAIT).await {
        panic!("{e}: {}", browser.text("#implicit-error").await.unwrap_or_default());
    }
    let token = browser.value("#access-token").await.unwrap();
    assert_eq!(jwt_parts(&token).1["client_id"], app.client_id.as_str());
    assert!(is_active(&server, &fixture, &token).await);
    let url = browser.current_url().await.unwrap();
    assert!(!url.contains('#') && !url.contains(&token), "the fragment is dropped from the address bar: {url}");
    browser.close().await.unwrap();
}

#[tokio::test]
async fn the_pkce_choice_sits_under_advanced_with_a_real_label_and_fits_a_390px_phone() {
    let (server, fixture) = start();
    let browser = Browser::start().await.unwrap();
    browser.client().set_window_size(1280, 800).await.unwrap();
    sign_in(&browser, &server, "/settings/api-clients/new?kind=server", &fixture.owner_email, OWNER_PASSWORD).await;
    let client = browser.client();
    browser.click("details.advanced > summary").await.unwrap();
    client.execute("document.querySelector('#pkce').scrollIntoView({block: 'center'})", vec![]).await.unwrap();
    screenshot(&browser, "portal-advanced.png").await;
    for width in [1280, 390] {
        client.set_window_size(width, 844).await.unwrap();
        // Cancel and the submit button stand on one line, the same height (not a tall box beside a button).
        let cancel = client.find(fantoccini_locator(".actions a.button")).await.unwrap().rectangle().await.unwrap();
        let submit = client.find(fantoccini_locator(".actions button.primary")).await.unwrap().rectangle().await.unwrap();
        assert!(
            (cancel.3 - submit.3).abs() <= 4.0 && (cancel.1 + cancel.3 - submit.1 - submit.3).abs() <= 1.0,
            "{width}px: {cancel:?} {submit:?}"
        );
    }
    let page = client.find(fantoccini_locator("html")).await.unwrap().rectangle().await.unwrap();
    assert!(page.2 <= 390.0, "the viewport of a 390px phone: {page:?}");
    // Nothing sticks out sideways: the form, the Advanced fieldset, the PKCE label and select.
    for css in ["form.wide", "details.advanced", "label[for=pkce]", "#pkce", "button.primary[type=submit]"] {
        let element = client.find(fantoccini_locator(css)).await.unwrap();
        assert!(element.is_displayed().await.unwrap(), "{css} is shown");
        let (x, _, width, _) = element.rectangle().await.unwrap();
        assert!(x >= 0.0 && x + width <= page.2 + 0.5, "{css} fits: x {x} + width {width} > {}", page.2);
    }
    assert_eq!(browser.text("details.advanced:has(#pkce) > summary").await.unwrap(), "Advanced settings");
    assert!(browser.text("label[for=pkce]").await.unwrap().starts_with("PKCE in the code flow"));

    // A legacy confidential client, made from the phone.
    browser.fill("#name", "Legacy web app").await.unwrap();
    browser.click("input[name=scopes][value=read]").await.unwrap();
    browser.click("input[name=grants][value=client_credentials]").await.unwrap();
    browser.click("input[name=grants][value=authorization_code]").await.unwrap();
    browser.fill("#redirect_uris", "https://legacy.example/cb").await.unwrap();
    client.find(fantoccini_locator("#pkce")).await.unwrap().select_by_value("optional").await.unwrap();
    screenshot(&browser, "portal-advanced-phone.png").await;
    browser.click("button.primary[type=submit]").await.unwrap();
    browser.wait_for_element("#client-id", WAIT).await.unwrap();
    assert!(browser.text("#pkce").await.unwrap().starts_with("optional"), "{}", browser.text("main").await.unwrap());
    let id = browser.text("#client-id").await.unwrap();
    assert_eq!(server.cli.json(&["client", "show", &id]).unwrap()["pkce"], "optional");
    browser.close().await.unwrap();
}

fn fantoccini_locator(css: &str) -> tessera_testkit::browser::Locator<'_> {
    tessera_testkit::browser::Locator::Css(css)
}

/// Presses Tab until the focused element matches `css` (at most 60 times).
async fn tab_to(browser: &Browser, css: &str) {
    let client = browser.client();
    for _ in 0..60 {
        let focused = client.execute("return document.activeElement.matches(arguments[0])", vec![css.into()]).await.unwrap();
        if focused == serde_json::Value::Bool(true) {
            return;
        }
        client.active_element().await.unwrap().send_keys(TAB).await.unwrap();
    }
    panic!("Tab never reached {css}");
}

const TAB: &str = "\u{e004}";
const ENTER: &str = "\u{e007}";
const SPACE: &str = "\u{e00d}";

/// SPEC §16: the create flow by keyboard alone, from the list to the new client's secret.
#[tokio::test]
async fn a_client_is_created_with_the_keyboard_alone() {
    let (server, fixture) = start();
    let browser = Browser::start().await.unwrap();
    sign_in(&browser, &server, "/settings/api-clients", &fixture.owner_email, OWNER_PASSWORD).await;
    let client = browser.client();
    let press = |key: &'static str| async move { client.active_element().await.unwrap().send_keys(key).await.unwrap() };

    tab_to(&browser, "a[href='/settings/api-clients/new']").await;
    press(ENTER).await;
    browser.wait_for_element("#kind-spa", WAIT).await.unwrap();
    tab_to(&browser, "#kind-spa").await;
    press(ENTER).await;
    browser.wait_for_element("#name", WAIT).await.unwrap();
    tab_to(&browser, "#name").await;
    client.active_element().await.unwrap().send_keys("Keyboard app").await.unwrap();
    tab_to(&browser, "input[name=scopes][value=read]").await;
    press(SPACE).await;
    tab_to(&browser, "#redirect_uris").await;
    client.active_element().await.unwrap().send_keys("https://keys.example/cb").await.unwrap();
    tab_to(&browser, "#allowed_origins").await;
    client.active_element().await.unwrap().send_keys("https://keys.example").await.unwrap();
    // Advanced settings open from the keyboard too.
    tab_to(&browser, "details.advanced > summary").await;
    press(ENTER).await;
    tab_to(&browser, "button.primary[type=submit]").await;
    press(ENTER).await;
    browser.wait_for_element("#client-id", WAIT).await.unwrap();
    let id = browser.text("#client-id").await.unwrap();
    let shown = server.cli.json(&["client", "show", &id]).unwrap();
    assert_eq!(shown["public"], true, "a single-page app keeps no secret: {shown}");
    assert_eq!(shown["grants"], serde_json::json!(["authorization_code", "refresh_token"]), "{shown}");
    assert_eq!(shown["allowed_origins"], serde_json::json!(["https://keys.example"]));
    browser.close().await.unwrap();
}
