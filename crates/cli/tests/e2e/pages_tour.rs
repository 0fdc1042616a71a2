//! Every page of the portal, the organization's pages and the sign-in pages, in real headless
//! Chromium at 1280 and 390 px (SPEC §16): nothing sticks out sideways, every action (button,
//! link, field) is shown and inside the window, and axe-core (from the npm registry, run in the
//! page) finds no serious or critical accessibility violation.
//!
//! Then the same pages in German, switched from the footer.
//!
//! `TESSERA_UPDATE_SCREENSHOTS=1 cargo test -p tessera --test e2e -- pages_tour` writes each page
//! at both widths to `docs/screenshots/page-NAME.png` and `page-NAME-phone.png` (`page-NAME-de…`
//! in German).

use std::path::PathBuf;

use serde_json::{Value, json};
use tessera_testkit::browser::Browser;

use crate::agent::*;
use crate::common::*;
use crate::portal_browser::{WAIT, screenshot, sign_in};

/// axe-core's browser build, installed by `scripts/test` with `interop/node`'s packages.
fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/node/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (run `npm ci` in interop/node)", path.display()))
}

/// What is wrong with the page on screen now: sideways overflow, actions hidden or outside the
/// window, and axe-core's serious and critical violations.
async fn problems(browser: &Browser, axe: &str) -> Vec<String> {
    let client = browser.client();
    let layout = client
        .execute(
            r#"
            const width = window.innerWidth;
            const found = [];
            if (document.documentElement.scrollWidth > width + 1) {
                found.push(`the page is ${document.documentElement.scrollWidth}px wide in a ${width}px window`);
            }
            const actions = document.querySelectorAll(
                'main a[href], main button, main input:not([type=hidden]), main select, main textarea, header a');
            for (const el of actions) {
                if (el.closest('details:not([open])') || el.closest('[hidden]') || el.hidden) continue;
                const box = el.getBoundingClientRect();
                const name = `${el.tagName.toLowerCase()} "${(el.textContent || el.name || el.id).trim().slice(0, 40)}"`;
                if (box.width === 0 || box.height === 0) found.push(`${name} is not shown`);
                else if (box.left < -1 || box.right > width + 1) found.push(`${name} sticks out: ${box.left}..${box.right}`);
            }
            return found;
            "#,
            vec![],
        )
        .await
        .unwrap();
    let mut found: Vec<String> = serde_json::from_value(layout).unwrap();
    client.execute(&format!("{axe}\nreturn true;"), vec![]).await.unwrap();
    let violations = client
        .execute_async(
            r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] }).then(
                (result) => done(result.violations
                    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)),
                (error) => done([`axe-core failed: ${error}`]));
            "#,
            vec![],
        )
        .await
        .unwrap();
    found.extend(serde_json::from_value::<Vec<String>>(violations).unwrap());
    found
}

/// Shows `path` at both widths, checks it, and keeps its screenshots as `page-NAME…png`.
async fn visit(browser: &Browser, server: &Server, axe: &str, name: &str, path: &str, failures: &mut Vec<String>) {
    for (width, suffix) in [(1280, ""), (390, "-phone")] {
        browser.client().set_window_size(width, 900).await.unwrap();
        browser.goto(&server.url(path)).await.unwrap();
        browser.wait_for_element("main", WAIT).await.unwrap();
        for problem in problems(browser, axe).await {
            failures.push(format!("{name} ({path}) at {width}px: {problem}"));
        }
        screenshot(browser, &format!("page-{name}{suffix}.png")).await;
    }
}

#[tokio::test]
async fn every_page_keeps_every_action_at_1280_and_390_px_and_passes_axe_core() {
    let (server, fixture) = start();
    let axe = axe_source();
    // Something on every page: a member, a client of each kind, an application awaiting approval.
    let member = format!("dev@{}.test", fixture.org_name);
    add_user(&server, &fixture, &member, "member", "member password 1", &[]);
    let web = web_client(&server, &fixture, &["--grant", "refresh_token", "--requires-org-approval"]);
    let mut dev = Agent::new(&server);
    assert_eq!(dev.login(&member, "member password 1").await.status(), 303);
    dev.authorize(&code_query(&web, "&scope=read"), "allow").await;
    let client = &fixture.client_id;

    let browser = Browser::start().await.unwrap();
    let mut failures = Vec::new();
    // Signed out.
    for (name, path) in [("login", "/login"), ("password-forgot", "/password/forgot")] {
        visit(&browser, &server, &axe, name, path, &mut failures).await;
    }
    browser.client().set_window_size(1280, 900).await.unwrap();
    sign_in(&browser, &server, "/settings/api-clients", &fixture.owner_email, OWNER_PASSWORD).await;
    let pages = [
        ("clients", "/settings/api-clients".to_owned()),
        ("new-client-kind", "/settings/api-clients/new".to_owned()),
        ("new-client", "/settings/api-clients/new?kind=web".to_owned()),
        ("client", format!("/settings/api-clients/{client}")),
        ("client-edit", format!("/settings/api-clients/{client}/edit")),
        ("client-roll-secret", format!("/settings/api-clients/{client}/regenerate")),
        ("client-turn-off", format!("/settings/api-clients/{client}/status")),
        ("client-delete", format!("/settings/api-clients/{client}/delete")),
        ("token-generator", format!("/tools/access-token?client_id={client}")),
        ("consent", format!("/oauth2/authorize?{}", code_query(&web, "&scope=read"))),
        ("connected-apps", "/settings/connected-apps".to_owned()),
        ("security", "/settings/security".to_owned()),
        ("organizations", "/settings/organizations".to_owned()),
        ("admin-members", "/admin/members".to_owned()),
        ("admin-scopes", "/admin/scopes".to_owned()),
        ("admin-approvals", "/admin/approvals".to_owned()),
        ("admin-audit", "/admin/audit".to_owned()),
        ("admin-organization", "/admin/organization".to_owned()),
        ("not-found", "/settings/api-clients/no-such-client".to_owned()),
    ];
    for (name, path) in &pages {
        visit(&browser, &server, &axe, name, path, &mut failures).await;
    }
    // The same pages in German, switched from the footer: checked the same way.
    browser.client().set_window_size(1280, 900).await.unwrap();
    browser.goto(&server.url("/settings/api-clients")).await.unwrap();
    browser.click("footer a[lang=de]").await.unwrap();
    browser.wait_for_element("html[lang=de]", WAIT).await.unwrap();
    assert!(browser.text("nav.nav").await.unwrap().contains("API-Clients"), "the navigation speaks German");
    for (name, path) in &pages {
        visit(&browser, &server, &axe, &format!("{name}-de"), path, &mut failures).await;
    }
    browser.goto(&server.url("/language?set=en&return_to=/settings/api-clients")).await.unwrap();
    browser.wait_for_element("html[lang=en]", WAIT).await.unwrap();
    // The generator's answer, with the decoded token.
    browser.goto(&server.url(&format!("/tools/access-token?client_id={client}"))).await.unwrap();
    browser.wait_for_element("#get-token", WAIT).await.unwrap();
    browser.click("#get-token").await.unwrap();
    browser.wait_for_element("#token-claims", WAIT).await.unwrap();
    let claims: Value = serde_json::from_str(&browser.text("#token-claims").await.unwrap()).unwrap();
    assert_eq!(claims["client_id"], json!(client));
    for (width, suffix) in [(1280, ""), (390, "-phone")] {
        browser.client().set_window_size(width, 900).await.unwrap();
        for problem in problems(&browser, &axe).await {
            failures.push(format!("token-generator with a token at {width}px: {problem}"));
        }
        browser.client().execute("document.querySelector('.result').scrollIntoView()", vec![]).await.unwrap();
        screenshot(&browser, &format!("page-token-generator-result{suffix}.png")).await;
    }
    browser.close().await.unwrap();
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}
