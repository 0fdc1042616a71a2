//! Memberships (SPEC §11): one person, one email and one password, in several organizations,
//! with a role in each; the organization switcher; a token carries the organization of the
//! membership it acts under; adding a member never tells whether the email has an account
//! elsewhere.

use serde_json::{Value, json};

use crate::admin_api::{Api, owner_token};
use crate::agent::*;
use crate::common::*;

#[tokio::test]
async fn one_person_belongs_to_several_organizations_and_switches_between_them() {
    let (server, acme) = start();
    let beta = tessera_testkit::Fixture::create(&server.cli).unwrap();
    let gamma = tessera_testkit::Fixture::create(&server.cli).unwrap();
    let person = acme.owner_email.clone();

    // The operator adds the person to beta: a membership, the password stays the person's.
    let in_beta = server.cli.json(&["user", "create", "--org", &beta.org_name, "--email", &person, "--role", "admin"]).unwrap();
    assert_eq!((in_beta["org_id"].as_str(), in_beta["role"].as_str()), (Some(beta.org_id.as_str()), Some("admin")));
    assert_ne!(in_beta["id"].as_str(), Some(acme.owner_id.as_str()), "a membership of its own");

    // Gamma's owner adds them by the admin API, with a password: the same answer as for an
    // email without an account, but no membership: the person decides (an invitation is mailed
    // to them, when the server sends mail: `invitations.rs`), and the password is not theirs.
    let gamma_api = Api::new(&server, &owner_token(&server, &gamma).await);
    let existing = gamma_api.post("/members", &json!({ "email": person, "role": "member", "password": "an admin's choice 1" })).await;
    assert_eq!(existing.status(), 201);
    let existing: Value = existing.json().await.unwrap();
    let fresh: Value = gamma_api
        .post("/members", &json!({ "email": "new@gamma.test", "role": "member", "password": "an admin's choice 1" }))
        .await
        .json()
        .await
        .unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&existing), keys(&fresh), "nothing tells the two apart");
    assert_eq!((existing["role"].as_str(), existing["disabled"].as_bool()), (fresh["role"].as_str(), fresh["disabled"].as_bool()));
    let mut wrong = Agent::new(&server);
    assert_eq!(wrong.login(&person, "an admin's choice 1").await.status(), 401, "the admin's password is not the person's");
    let gamma_members = server.cli.json(&["user", "list", "--org", &gamma.org_name]).unwrap();
    assert!(!gamma_members.to_string().contains(&person), "not a member until they accept: {gamma_members}");
    // The operator adds the membership at once (without a password: the person keeps theirs).
    let with_password = server
        .cli
        .run_with_stdin(
            &["user", "create", "--org", &gamma.org_name, "--email", &person, "--role", "member", "--password-stdin"],
            "a long enough password\n",
        )
        .unwrap();
    assert!(!with_password.success && with_password.stderr.contains("without --password-stdin"), "{}", with_password.stderr);
    let in_gamma = server.cli.json(&["user", "create", "--org", &gamma.org_name, "--email", &person, "--role", "member"]).unwrap();
    let again = gamma_api.post("/members", &json!({ "email": person, "role": "member" })).await;
    assert_eq!(again.status(), 400, "one membership per organization");
    // A service user never shares a person: its email is one no account uses.
    let squat = server
        .cli
        .run(&["user", "create", "--org", &gamma.org_name, "--email", "robot@acme.test", "--role", "member", "--service"])
        .unwrap();
    assert!(squat.success, "{}", squat.stderr);
    let human = server.cli.run(&["user", "create", "--org", &acme.org_name, "--email", "robot@acme.test", "--role", "member"]).unwrap();
    assert!(!human.success, "a person cannot join a service user's email: {}", human.stdout);

    // Signing in: the oldest membership, acme; the person lists and switches organizations.
    let mut browser = Agent::new(&server);
    assert_eq!(browser.login(&person, OWNER_PASSWORD).await.status(), 303);
    let page = browser.get("/settings/organizations").await.text().await.unwrap();
    for org in [&acme.org_name, &beta.org_name, &gamma.org_name] {
        assert!(page.contains(&format!("<strong>{org}</strong>")), "{org} listed: {page}");
    }
    assert!(page.contains(&format!("aria-label=\"{}: the organization you are working in\"", acme.org_name)), "{page}");
    let switched =
        browser.submit("/settings/organizations/switch", &page, &["csrf_token"], &[("user_id", in_beta["id"].as_str().unwrap())]).await;
    assert_eq!(location(&switched), "/settings/api-clients?done=switched");
    let members = browser.get("/admin/members").await.text().await.unwrap();
    assert!(members.contains(&beta.owner_email), "beta's members, as beta's admin: {members}");
    assert!(!members.contains("new@gamma.test"), "and no other organization's");
    // Another person's membership is not one to switch to.
    let page = browser.get("/settings/organizations").await.text().await.unwrap();
    let refused = browser.submit("/settings/organizations/switch", &page, &["csrf_token"], &[("user_id", &beta.owner_id)]).await;
    assert_eq!(refused.status(), 404);
    let entries = server.cli.json(&["audit", "list", "--org", &beta.org_name]).unwrap();
    assert!(entries.as_array().unwrap().iter().any(|e| e["action"] == "session_switched" && e["target"] == in_beta["id"]));

    // Working in beta, the person allows an application of gamma: the token acts in gamma,
    // the organization of the membership it acts under.
    let app = web_client(&server, &gamma, &["--scope", "openid"]);
    let url = browser.authorize(&code_query(&app, "&scope=openid+read"), "allow").await;
    let code = response_params(&url)["code"].clone();
    let tokens = redeem_ok(&server, &app, &code).await;
    let (_, claims) = jwt_parts(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["org_id"], gamma.org_id.as_str());
    assert_eq!(claims["sub"], in_gamma["id"], "the gamma membership");
    // And an application of beta, in beta.
    let beta_app = web_client(&server, &beta, &["--scope", "openid"]);
    let url = browser.authorize(&code_query(&beta_app, "&scope=openid+read"), "allow").await;
    let tokens = redeem_ok(&server, &beta_app, &response_params(&url)["code"]).await;
    assert_eq!(jwt_parts(tokens["access_token"].as_str().unwrap()).1["org_id"], beta.org_id.as_str());

    // The operator names a person in several organizations by the membership's id.
    let ambiguous = server.cli.run(&["user", "disable", &person]).unwrap();
    assert!(!ambiguous.success && ambiguous.stderr.contains("several organizations"), "{}", ambiguous.stderr);
    server.cli.json(&["user", "disable", in_beta["id"].as_str().unwrap()]).unwrap();
    assert_eq!(browser.get("/settings/api-clients").await.status(), 302, "the beta session ended with its membership");
    assert_eq!(browser.login(&person, OWNER_PASSWORD).await.status(), 303, "the person still signs in to acme");
    // Disabled in beta: no other membership of theirs acts for beta's applications either.
    let refused = browser.get(&format!("/oauth2/authorize?{}", code_query(&beta_app, "&scope=openid+read"))).await;
    assert_eq!(refused.status(), 403, "{:?}", refused.text().await);
    let page = browser.get("/settings/organizations").await.text().await.unwrap();
    assert!(page.contains("disabled by the organization"), "{page}");
}

/// The organizations page in Chromium, at 1280 and 390 px: every organization and its Switch
/// button on the page, the switch pressed from the keyboard.
#[tokio::test]
async fn the_organizations_page_fits_a_phone_and_switches_from_the_keyboard() {
    use crate::portal_browser::{WAIT, screenshot, sign_in};
    use tessera_testkit::browser::{Browser, Locator};
    let (server, acme) = start();
    let beta = tessera_testkit::Fixture::create(&server.cli).unwrap();
    server.cli.json(&["user", "create", "--org", &beta.org_name, "--email", &acme.owner_email, "--role", "member"]).unwrap();

    let browser = Browser::start().await.unwrap();
    sign_in(&browser, &server, "/settings/organizations", &acme.owner_email, OWNER_PASSWORD).await;
    screenshot(&browser, "organizations.png").await;
    browser.client().set_window_size(390, 900).await.unwrap();
    browser.goto(&server.url("/settings/organizations")).await.unwrap();
    let switch = format!("button[aria-label='Switch to {}']", beta.org_name);
    browser.wait_for_element(&switch, WAIT).await.unwrap();
    let page = browser.client().find(Locator::Css("html")).await.unwrap().rectangle().await.unwrap();
    for css in ["main", "ul.apps li", &switch] {
        for element in browser.client().find_all(Locator::Css(css)).await.unwrap() {
            let (x, _, w, _) = element.rectangle().await.unwrap();
            assert!(x >= 0.0 && x + w <= page.2 + 0.5, "390px: {css} fits ({x} + {w} > {})", page.2);
        }
    }
    screenshot(&browser, "organizations-phone.png").await;
    // Enter on the focused button (WebDriver's Enter key) submits its form.
    browser.client().find(Locator::Css(&switch)).await.unwrap().send_keys("\u{E007}").await.unwrap();
    browser.wait_for_url(|url| url.contains("done=switched"), WAIT).await.unwrap();
    browser.goto(&server.url("/settings/organizations")).await.unwrap();
    browser.wait_for_element(".badge", WAIT).await.unwrap();
    let current = browser.client().find(Locator::Css(".badge")).await.unwrap().attr("aria-label").await.unwrap().unwrap_or_default();
    assert_eq!(current, format!("{}: the organization you are working in", beta.org_name));

    // The consent page's choice of organization, on the phone: labelled, inside the page.
    let gamma = tessera_testkit::Fixture::create(&server.cli).unwrap();
    let app = web_client(&server, &gamma, &["--scope", "openid"]);
    browser.goto(&server.url(&format!("/oauth2/authorize?{}", code_query(&app, "&scope=openid+read")))).await.unwrap();
    browser.wait_for_element("select#membership", WAIT).await.unwrap();
    let label = browser.text("label[for=membership]").await.unwrap();
    assert!(label.contains("organizations"), "{label}");
    let page = browser.client().find(Locator::Css("html")).await.unwrap().rectangle().await.unwrap();
    for css in ["select#membership", "button[value=allow]"] {
        let (x, _, w, _) = browser.client().find(Locator::Css(css)).await.unwrap().rectangle().await.unwrap();
        assert!(x >= 0.0 && x + w <= page.2 + 0.5, "390px: {css} fits");
    }
    screenshot(&browser, "consent-organization-phone.png").await;
    browser.close().await.unwrap();
}

/// An application of an organization the person is not a member of: the consent page asks which
/// of the person's organizations it may act in, the token carries that one, and the choice is
/// remembered (the next request asks nothing and acts there again).
#[tokio::test]
async fn consent_to_an_application_of_another_organization_chooses_where_it_acts() {
    let (server, acme) = start();
    let beta = tessera_testkit::Fixture::create(&server.cli).unwrap();
    let gamma = tessera_testkit::Fixture::create(&server.cli).unwrap();
    let in_beta = server.cli.json(&["user", "create", "--org", &beta.org_name, "--email", &acme.owner_email, "--role", "member"]).unwrap();
    let app = web_client(&server, &gamma, &["--scope", "openid"]);

    let mut browser = Agent::new(&server);
    browser.login(&acme.owner_email, OWNER_PASSWORD).await;
    let query = code_query(&app, "&scope=openid+read");
    let consent = browser.get(&format!("/oauth2/authorize?{query}")).await.text().await.unwrap();
    assert!(consent.contains(r#"<label for="membership">"#), "the page asks: {consent}");
    assert!(consent.contains(&format!(">{}</option>", acme.org_name)) && consent.contains(&format!(">{}</option>", beta.org_name)));
    assert!(!consent.contains(&format!(">{}</option>", gamma.org_name)), "only the person's own organizations");

    // Another person's membership is not a choice.
    let refused = browser
        .submit(
            "/oauth2/authorize/decision",
            &consent,
            &["csrf_token", "request"],
            &[("decision", "allow"), ("membership", &gamma.owner_id)],
        )
        .await;
    assert_eq!(refused.status(), 404);

    let chosen = in_beta["id"].as_str().unwrap();
    let allowed = browser
        .submit("/oauth2/authorize/decision", &consent, &["csrf_token", "request"], &[("decision", "allow"), ("membership", chosen)])
        .await;
    assert_eq!(allowed.status(), 303);
    let tokens = redeem_ok(&server, &app, &response_params(&location(&allowed))["code"]).await;
    let claims = jwt_parts(tokens["access_token"].as_str().unwrap()).1;
    assert_eq!((claims["org_id"].as_str(), claims["sub"].as_str()), (Some(beta.org_id.as_str()), Some(chosen)));

    // Remembered: no page, the same organization, while the browser still works in acme.
    let again = browser.get(&format!("/oauth2/authorize?{query}")).await;
    assert_eq!(again.status(), 302, "no consent page the second time");
    let tokens = redeem_ok(&server, &app, &response_params(&location(&again))["code"]).await;
    assert_eq!(jwt_parts(tokens["access_token"].as_str().unwrap()).1["org_id"], beta.org_id.as_str());
    let orgs = browser.get("/settings/organizations").await.text().await.unwrap();
    assert!(orgs.contains(&format!("aria-label=\"{}: the organization you are working in\"", acme.org_name)), "the browser did not move");

    // A person with one organization is not asked.
    let mut single = Agent::new(&server);
    single.login(&beta.owner_email, OWNER_PASSWORD).await;
    let page = single.get(&format!("/oauth2/authorize?{query}")).await.text().await.unwrap();
    assert!(page.contains("Allow") && !page.contains("name=\"membership\""), "{page}");
}
