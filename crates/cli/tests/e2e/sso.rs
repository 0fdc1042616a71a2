//! Single sign-on (SPEC §15) against a real, independent upstream OpenID Provider:
//! node-oidc-provider, started by the test (`tessera_testkit::upstream_op`), whose login page the
//! test fills in. Tessera fetches its discovery document and keys over HTTP on 127.0.0.1 (hence
//! `serve --allow-internal-jwks-uri true`), redeems codes at its token endpoint and validates
//! its ID tokens with the `openidconnect` crate.

use serde_json::Value;
use tessera_testkit::upstream_op::UpstreamOp;

use crate::agent::*;
use crate::common::*;

const RP_ID: &str = "tessera-at-upstream";
const RP_SECRET: &str = "the upstream secret of tessera";
/// The domain the operator lets the provider claim.
const DOMAIN: &str = "corp.test";

struct World {
    server: Server,
    fixture: Fixture,
    op: UpstreamOp,
    idp: String,
}

/// A server, the fixture's organization with the upstream connected (claiming `DOMAIN`), and
/// the upstream itself. `before_add` runs before the provider is added (its keys fetched).
async fn world_with(before_add: impl AsyncFnOnce(&UpstreamOp)) -> World {
    let (server, fixture) =
        start_with(ServerOptions { serve: vec!["--allow-internal-jwks-uri".into(), "true".into()], ..Default::default() });
    let op = UpstreamOp::start(RP_ID, RP_SECRET, &[server.url("/login/sso/callback")]).expect("the upstream provider starts");
    before_add(&op).await;
    let args = [
        "idp",
        "add",
        "--org",
        &fixture.org_name,
        "--name",
        "Corp SSO",
        "--issuer",
        op.issuer(),
        "--client-id",
        RP_ID,
        "--client-secret-stdin",
        "--email-domain",
        DOMAIN,
    ];
    let added = server.cli.json_with_stdin(&args, &format!("{RP_SECRET}\n")).expect("idp add");
    // (The CLI names the issuer it is configured with; the test server listens elsewhere.)
    assert!(added["redirect_uri"].as_str().unwrap().ends_with("/login/sso/callback"), "{added}");
    assert_eq!(added["email_domains"], serde_json::json!([DOMAIN]));
    assert!(!added.to_string().contains(RP_SECRET), "the secret is never shown");
    let idp = added["id"].as_str().unwrap().to_owned();
    World { server, fixture, op, idp }
}

async fn world() -> World {
    world_with(async |_| {}).await
}

/// "Continue with Corp SSO" from the sign-in page: the answer sends the browser to the provider.
async fn start(world: &World, agent: &mut Agent<'_>, return_to: &str) -> reqwest::Response {
    let page = agent.get(&format!("/login?return_to={}", urlencode(return_to))).await.text().await.unwrap();
    agent.submit("/login/sso", &page, &["csrf_token"], &[("provider", &world.idp), ("return_to", return_to)]).await
}

/// Goes to the provider, signs in there as `sub`, and brings the answer back to Tessera's
/// callback (whose response is returned).
async fn sign_in_as(world: &World, agent: &mut Agent<'_>, sub: &str, return_to: &str) -> reqwest::Response {
    let response = start(world, agent, return_to).await;
    let answer = sign_in_at_upstream(world, response, sub, |url| url.to_owned()).await;
    agent.get(&answer).await
}

/// The provider's answer (the callback URL) to a sign-in whose start answered `response`, the
/// authorization URL first passed through `tamper`.
async fn sign_in_at_upstream(world: &World, response: reqwest::Response, sub: &str, tamper: impl Fn(&str) -> String) -> String {
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    let authorize = location(&response);
    assert!(authorize.starts_with(world.op.issuer()), "to the provider: {authorize}");
    let params = response_params(&authorize);
    assert_eq!(params["code_challenge_method"], "S256", "PKCE");
    assert!(params.contains_key("state") && params.contains_key("nonce"), "{authorize}");
    let answer = world.op.sign_in(&tamper(&authorize), sub).await.expect("the upstream login");
    assert!(answer.starts_with(&world.server.url("/login/sso/callback?")), "{answer}");
    answer
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).unwrap()[2..].to_owned()
}

fn members(world: &World) -> Vec<Value> {
    world.server.cli.json(&["user", "list", "--org", &world.fixture.org_name]).unwrap().as_array().unwrap().clone()
}

/// The organization's audit entries of `action`, oldest first.
fn audit(world: &World, action: &str) -> Vec<Value> {
    let entries = world.server.cli.json(&["audit", "list", "--org", &world.fixture.org_name]).unwrap();
    // The log lists the newest first.
    let mut found: Vec<Value> = entries.as_array().unwrap().iter().rev().filter(|e| e["action"] == action).cloned().collect();
    found.sort_by_key(|e| e["at"].as_i64());
    found
}

/// A refusal's page: the status and the sentence it shows.
async fn refused(response: reqwest::Response, status: u16, says: &str) {
    assert_eq!(response.status(), status);
    let page = response.text().await.unwrap();
    assert!(page.contains("Sign-in did not go through") && page.contains(says), "{says}: {page}");
}

#[tokio::test]
async fn a_member_is_made_at_the_first_sign_in_and_is_the_same_account_ever_after() {
    let world = world().await;
    world.op.set_account("alice", &format!("alice@{DOMAIN}"), true, "Alice").await.unwrap();
    let mut agent = Agent::new(&world.server);
    let response = sign_in_as(&world, &mut agent, "alice", "/settings/api-clients").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/settings/api-clients", "back where the sign-in began");
    assert_eq!(agent.get("/settings/api-clients").await.status(), 200, "signed in");
    let made: Vec<Value> = members(&world).into_iter().filter(|m| m["email"] == format!("alice@{DOMAIN}")).collect();
    assert_eq!(made.len(), 1, "made just in time");
    assert_eq!(made[0]["role"], "member", "with the provider's default role");
    let id = made[0]["id"].as_str().unwrap().to_owned();

    // Again, and after the email changed upstream: the same account (linked by issuer and sub).
    world.op.set_account("alice", &format!("alice.renamed@{DOMAIN}"), true, "Alice").await.unwrap();
    let mut again = Agent::new(&world.server);
    assert_eq!(sign_in_as(&world, &mut again, "alice", "/settings/api-clients").await.status(), 303);
    let now: Vec<Value> = members(&world).into_iter().filter(|m| m["email"].as_str().unwrap().starts_with("alice")).collect();
    assert_eq!(now.len(), 1, "no second account: {now:?}");
    assert_eq!(now[0]["id"], id.as_str());
    let outcomes: Vec<String> =
        audit(&world, "federated_sign_in").iter().map(|e| e["detail"]["outcome"].as_str().unwrap().to_owned()).collect();
    assert_eq!(outcomes.iter().filter(|o| *o == "created").count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| *o == "signed_in").count(), 1, "{outcomes:?}");

    // An authorization request of the organization's application: its sign-in page offers the
    // provider, and the ID token says the person signed in elsewhere (amr fed).
    let client = web_client(&world.server, &world.fixture, &["--scope", "openid"]);
    let mut browser = Agent::new(&world.server);
    let query = code_query(&client, "&scope=openid+read&nonce=n1");
    let response = browser.get(&format!("/oauth2/authorize?{query}")).await;
    let login = location(&response);
    let page = browser.get(&login).await.text().await.unwrap();
    assert!(page.contains("Continue with Corp SSO"), "{page}");
    assert_eq!(hidden(&page, "provider"), world.idp);
    let response = browser.submit("/login/sso", &page, &["csrf_token", "return_to", "provider"], &[]).await;
    let answer = sign_in_at_upstream(&world, response, "alice", |url| url.to_owned()).await;
    let response = browser.get(&answer).await;
    let back = location(&response);
    assert!(back.starts_with("/oauth2/authorize?"), "{back}");
    let url = browser.authorize(back.split_once('?').unwrap().1, "allow").await;
    let tokens = redeem_ok(&world.server, &client, &response_params(&url)["code"]).await;
    let claims = jwt_parts(tokens["id_token"].as_str().unwrap()).1;
    assert_eq!(claims["amr"], serde_json::json!(["fed"]));
    assert_eq!(claims["sub"], id.as_str());

    // Another organization's application never shows this provider.
    let other = Fixture::create(&world.server.cli).unwrap();
    let stranger = web_client(&world.server, &other, &[]);
    let response = Agent::new(&world.server).get(&format!("/oauth2/authorize?{}", code_query(&stranger, ""))).await;
    let page = Agent::new(&world.server).get(&location(&response)).await.text().await.unwrap();
    assert!(!page.contains("Corp SSO"), "{page}");
}

#[tokio::test]
async fn an_account_is_linked_only_when_both_sides_verified_the_email() {
    let world = world().await;
    // An unverified email upstream: neither linked nor made.
    world.op.set_account("mallory", &format!("mallory@{DOMAIN}"), false, "Mallory").await.unwrap();
    let mut agent = Agent::new(&world.server);
    refused(sign_in_as(&world, &mut agent, "mallory", "/").await, 403, "did not confirm your email address").await;
    assert!(members(&world).iter().all(|m| m["email"] != format!("mallory@{DOMAIN}")));
    let failed = audit(&world, "federated_sign_in_failed");
    assert_eq!(failed.last().unwrap()["detail"]["reason"], "upstream_email_unverified");

    // A member whose email was never proven here: not linked, and told why.
    let unproven = format!("bob@{DOMAIN}");
    add_user(&world.server, &world.fixture, &unproven, "member", "bob's long password", &[]);
    world.op.set_account("bob", &unproven, true, "Bob").await.unwrap();
    refused(sign_in_as(&world, &mut agent, "bob", "/").await, 403, "its email is not verified").await;

    // A member who accepted an invitation (which proves the email): linked, the same account.
    let invited = format!("carol@{DOMAIN}");
    let link =
        world.server.cli.json(&["user", "invite", "--org", &world.fixture.org_name, "--email", &invited, "--role", "admin"]).unwrap();
    let path = format!("/invite/{}", link["invite_url"].as_str().unwrap().split_once("/invite/").unwrap().1);
    let mut carol = Agent::new(&world.server);
    let page = carol.get(&path).await.text().await.unwrap();
    let password = "carol's long password";
    let response = carol.submit(&path, &page, &["csrf_token"], &[("new_password", password), ("confirm_password", password)]).await;
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    let before: Vec<Value> = members(&world).into_iter().filter(|m| m["email"] == invited.as_str()).collect();
    world.op.set_account("carol-upstream", &invited, true, "Carol").await.unwrap();
    let mut linked = Agent::new(&world.server);
    assert_eq!(sign_in_as(&world, &mut linked, "carol-upstream", "/").await.status(), 303);
    let after: Vec<Value> = members(&world).into_iter().filter(|m| m["email"] == invited.as_str()).collect();
    assert_eq!(after, before, "linked, not made again; the role stays admin");
    assert!(audit(&world, "federated_sign_in").iter().any(|e| e["detail"]["outcome"] == "linked"));

    // Someone of another domain, not a member: the provider knows them, Tessera does not.
    world.op.set_account("eve", "eve@elsewhere.test", true, "Eve").await.unwrap();
    refused(sign_in_as(&world, &mut agent, "eve", "/").await, 403, "not a member of this organization").await;
}

#[tokio::test]
async fn require_sso_turns_password_sign_in_off_but_for_owners_and_company_emails_go_to_the_provider() {
    let world = world().await;
    let member = format!("dave@{DOMAIN}");
    add_user(&world.server, &world.fixture, &member, "member", "dave's long password", &[]);
    let set = world.server.cli.json(&["org", "update", &world.fixture.org_name, "--require-sso", "true"]).unwrap();
    assert_eq!(set["require_sso"], true);

    let mut agent = Agent::new(&world.server);
    let response = agent.login(&member, "dave's long password").await;
    assert_eq!(response.status(), 403);
    let page = response.text().await.unwrap();
    assert!(page.contains("signs its members in through Corp SSO"), "{page}");
    // The owner's break-glass password still works.
    let response = Agent::new(&world.server).login(&world.fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(response.status(), 303);
    // A wrong password is the same answer as ever (the SSO rule tells nothing before it).
    assert_eq!(Agent::new(&world.server).login(&member, "not the password at all").await.status(), 401);

    // A company email and no password: straight to the provider.
    let mut browser = Agent::new(&world.server);
    let page = browser.get("/login").await.text().await.unwrap();
    assert!(page.contains("leave the password empty"), "the page says so: {page}");
    let response = browser.submit("/login", &page, &["csrf_token", "return_to"], &[("email", &member), ("password", "")]).await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    assert!(to.starts_with(world.op.issuer()) && to.contains("login_hint="), "{to}");
    world.op.set_account("dave", &member, true, "Dave").await.unwrap();
    // Dave's email was never proven here: he is told so rather than linked.
    let answer = sign_in_at_upstream(&world, response, "dave", |url| url.to_owned()).await;
    refused(browser.get(&answer).await, 403, "its email is not verified").await;

    // The provider of an organization that requires SSO cannot be removed while it is the last.
    let removed = world.server.cli.run(&["idp", "remove", &world.idp]).unwrap();
    assert!(!removed.success);
    assert!(removed.stderr.contains("turn --require-sso off first"), "{}", removed.stderr);
}

#[tokio::test]
async fn a_forged_state_a_changed_nonce_and_a_token_of_other_keys_are_refused() {
    let world = world().await;
    world.op.set_account("frank", &format!("frank@{DOMAIN}"), true, "Frank").await.unwrap();

    // The answer of another browser's sign-in (its state) does not fit this browser's cookie.
    let mut agent = Agent::new(&world.server);
    let answer = sign_in_at_upstream(&world, start(&world, &mut agent, "/").await, "frank", |url| url.to_owned()).await;
    let mut other = Agent::new(&world.server);
    let _ = start(&world, &mut other, "/").await;
    refused(other.get(&answer).await, 403, "does not belong to a sign-in of this browser").await;
    // And a made-up state in this browser.
    let forged = answer.replace("state=", "state=forged");
    let mut again = Agent::new(&world.server);
    let _ = sign_in_at_upstream(&world, start(&world, &mut again, "/").await, "frank", |url| url.to_owned()).await;
    refused(again.get(&forged).await, 403, "does not belong to a sign-in of this browser").await;

    // The nonce changed on the way to the provider: its ID token does not carry ours.
    let mut agent = Agent::new(&world.server);
    let response = start(&world, &mut agent, "/").await;
    let answer = sign_in_at_upstream(&world, response, "frank", |url| url.replace("nonce=", "nonce=tampered")).await;
    refused(agent.get(&answer).await, 403, "could not be verified").await;
    let reasons: Vec<String> =
        audit(&world, "federated_sign_in_failed").iter().map(|e| e["detail"]["reason"].as_str().unwrap().to_owned()).collect();
    assert!(reasons.contains(&"state_mismatch".to_owned()) && reasons.contains(&"wrong_nonce".to_owned()), "{reasons:?}");
    assert!(members(&world).iter().all(|m| m["email"] != format!("frank@{DOMAIN}")), "nobody was made");

    // The provider says "no" (to this browser's sign-in).
    let mut agent = Agent::new(&world.server);
    let response = start(&world, &mut agent, "/").await;
    let state = response_params(&location(&response))["state"].clone();
    let response = agent.get(&format!("/login/sso/callback?error=access_denied&state={state}")).await;
    refused(response, 403, "did not sign you in").await;
    assert_eq!(audit(&world, "federated_sign_in_failed").last().unwrap()["detail"]["reason"], "upstream_access_denied");
}

#[tokio::test]
async fn an_id_token_whose_signature_the_published_keys_do_not_verify_is_refused() {
    // The keys Tessera reads when the provider is added are not the ones its tokens are signed
    // with (as if another key signed them).
    let world = world_with(async |op| op.set_rogue_keys(true).await.unwrap()).await;
    world.op.set_account("grace", &format!("grace@{DOMAIN}"), true, "Grace").await.unwrap();
    let mut agent = Agent::new(&world.server);
    refused(sign_in_as(&world, &mut agent, "grace", "/").await, 403, "could not be verified").await;
    let failed = audit(&world, "federated_sign_in_failed");
    assert_eq!(failed.last().unwrap()["detail"]["reason"], "bad_signature");
    assert!(members(&world).iter().all(|m| m["email"] != format!("grace@{DOMAIN}")));

    // The provider publishes its real keys again: a token that names keys Tessera no longer
    // trusts makes it fetch them once more (at most every 5 s), and the sign-in goes through.
    world.op.set_rogue_keys(false).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let mut agent = Agent::new(&world.server);
    assert_eq!(sign_in_as(&world, &mut agent, "grace", "/").await.status(), 303);
}

/// The whole round trip in real Chromium: an application's sign-in page offers the provider,
/// the provider's own login page is filled in, and the consent page of Tessera follows, signed
/// in; the sign-in page at a phone's width keeps the provider's button.
#[tokio::test]
async fn chromium_goes_to_the_provider_and_back_signed_in() {
    use std::time::Duration;
    use tessera_testkit::browser::Browser;
    const WAIT: Duration = Duration::from_secs(15);
    let world = world().await;
    world.op.set_account("hana", &format!("hana@{DOMAIN}"), true, "Hana").await.unwrap();
    let client = web_client(&world.server, &world.fixture, &["--scope", "openid"]);
    let browser = Browser::start().await.unwrap();
    for width in [390, 1280] {
        browser.client().set_window_size(width, 900).await.unwrap();
        browser.goto(&world.server.url(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=openid+read")))).await.unwrap();
        browser.wait_for_element("form.provider button", WAIT).await.unwrap();
        assert_eq!(browser.text("form.provider button").await.unwrap(), "Continue with Corp SSO");
        let suffix = if width == 390 { "-phone" } else { "" };
        crate::portal_browser::screenshot(&browser, &format!("login-sso{suffix}.png")).await;
    }
    browser.click("form.provider button").await.unwrap();
    // The provider's page (node-oidc-provider's interaction, served by the test's script).
    browser.wait_for_element("input[name=login]", WAIT).await.unwrap();
    browser.fill("input[name=login]", "hana").await.unwrap();
    browser.fill("input[name=password]", "anything").await.unwrap();
    browser.click("#op-login").await.unwrap();
    // Back at Tessera, signed in: its consent page for the application.
    browser.wait_for_element("button[value=allow]", WAIT).await.unwrap();
    assert!(browser.current_url().await.unwrap().starts_with(&world.server.url("/oauth2/authorize")));
    assert!(browser.page_source().await.unwrap().contains(&format!("hana@{DOMAIN}")), "the consent names who signed in");
    browser.close().await.unwrap();

    // The organization page lists the provider, on a phone too (its table becomes cards).
    let browser = Browser::start().await.unwrap();
    crate::portal_browser::sign_in(&browser, &world.server, "/admin/organization", &world.fixture.owner_email, OWNER_PASSWORD).await;
    for width in [390, 1280] {
        browser.client().set_window_size(width, 900).await.unwrap();
        browser.goto(&world.server.url("/admin/organization")).await.unwrap();
        browser.wait_for_element("#identity-providers", WAIT).await.unwrap();
        assert!(browser.text("table.list").await.unwrap().contains("Corp SSO"));
        browser.client().execute("document.getElementById('identity-providers').scrollIntoView()", vec![]).await.unwrap();
        let suffix = if width == 390 { "-phone" } else { "" };
        crate::portal_browser::screenshot(&browser, &format!("admin-sso{suffix}.png")).await;
    }
    browser.close().await.unwrap();
}

/// The organization page: an owner connects a provider (a bad issuer is refused in place, the
/// form kept but for the secret), requires it, and cannot disconnect the last one while it is
/// required; an admin only reads.
#[tokio::test]
async fn owners_connect_and_require_a_provider_on_the_organization_page() {
    let (server, fixture) =
        start_with(ServerOptions { serve: vec!["--allow-internal-jwks-uri".into(), "true".into()], ..Default::default() });
    let op = UpstreamOp::start(RP_ID, RP_SECRET, &[server.url("/login/sso/callback")]).unwrap();
    let mut owner = Agent::new(&server);
    assert_eq!(owner.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let page = owner.get("/admin/organization").await.text().await.unwrap();
    assert!(page.contains("No identity provider is connected") && page.contains(&server.url("/login/sso/callback")), "{page}");
    assert!(page.contains(r#"name="require_sso" value="true" disabled"#), "nothing to require yet: {page}");

    let bad: Vec<(&str, &str)> = vec![
        ("name", "Corp SSO"),
        ("issuer", "http://login.elsewhere.example"),
        ("client_id", RP_ID),
        ("client_secret", RP_SECRET),
        ("default_role", "member"),
    ];
    let response = owner.submit("/admin/organization/identity-providers", &page, &["csrf_token"], &bad).await;
    assert_eq!(response.status(), 400);
    let again = response.text().await.unwrap();
    assert!(again.contains("http is allowed only for 127.0.0.1") && again.contains(r#"value="Corp SSO""#), "{again}");
    assert!(!again.contains(RP_SECRET), "the secret is never echoed");

    let issuer = op.issuer().to_owned();
    let good: Vec<(&str, String)> = vec![
        ("name", "Corp SSO".into()),
        ("issuer", issuer.clone()),
        ("client_id", RP_ID.into()),
        ("client_secret", RP_SECRET.into()),
        ("default_role", "member".into()),
    ];
    let borrowed: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = owner.submit("/admin/organization/identity-providers", &page, &["csrf_token"], &borrowed).await;
    assert_eq!(location(&response), "/admin/organization?done=added");
    let page = owner.get("/admin/organization").await.text().await.unwrap();
    assert!(page.contains("Corp SSO") && page.contains(&issuer) && !page.contains(RP_SECRET), "{page}");
    let listed = server.cli.json(&["idp", "list", "--org", &fixture.org_name]).unwrap();
    assert_eq!(listed[0]["email_domains"], serde_json::json!([]), "an owner claims no domain");

    // Required: the owner saves it; an admin reads it and cannot change it.
    let response = owner.submit("/admin/organization", &page, &["csrf_token"], &[("require_sso", "true")]).await;
    assert_eq!(location(&response), "/admin/organization?done=saved");
    assert_eq!(
        server.cli.json(&["org", "list"]).unwrap().as_array().unwrap().iter().find(|o| o["name"] == fixture.org_name.as_str()).unwrap()["require_sso"],
        true
    );
    let admin = format!("admin@{}.test", fixture.org_name);
    add_user(&server, &fixture, &admin, "admin", "an admin's long password", &[]);
    let mut reader = Agent::new(&server);
    // (An admin's password no longer works once SSO is required: the operator lifts it for the look.)
    server.cli.json(&["org", "update", &fixture.org_name, "--require-sso", "false"]).unwrap();
    assert_eq!(reader.login(&admin, "an admin's long password").await.status(), 303);
    server.cli.json(&["org", "update", &fixture.org_name, "--require-sso", "true"]).unwrap();
    let seen = reader.get("/admin/organization").await.text().await.unwrap();
    assert!(seen.contains("Corp SSO") && !seen.contains("/admin/organization/identity-providers/remove"), "{seen}");
    let id = listed[0]["id"].as_str().unwrap();
    let refused = reader.submit("/admin/organization/identity-providers/remove", &page, &["csrf_token"], &[("id", id)]).await;
    assert_eq!(refused.status(), 403);

    // The last provider of an organization that requires it stays.
    let page = owner.get("/admin/organization").await.text().await.unwrap();
    let response = owner.submit("/admin/organization/identity-providers/remove", &page, &["csrf_token"], &[("id", id)]).await;
    assert_eq!(response.status(), 409);
    let response = owner.submit("/admin/organization", &page, &["csrf_token"], &[]).await;
    assert_eq!(location(&response), "/admin/organization?done=saved");
    let response = owner.submit("/admin/organization/identity-providers/remove", &page, &["csrf_token"], &[("id", id)]).await;
    assert_eq!(location(&response), "/admin/organization?done=removed");
    assert_eq!(server.cli.json(&["idp", "list", "--org", &fixture.org_name]).unwrap(), serde_json::json!([]));
}

/// What a provider vouches for stays in its organization: a session it began changes none of
/// the person's credentials; a person's password does not carry them into an organization that
/// requires its provider; only a form of ours starts a sign-in; and an owner cannot swap the
/// provider behind the domains the operator let it claim.
#[tokio::test]
async fn a_provider_vouches_for_its_own_organization_only() {
    use crate::admin_api::{ADMIN_SCOPES, Api, admin_token};
    let world = world().await;
    world.op.set_account("ivan", &format!("ivan@{DOMAIN}"), true, "Ivan").await.unwrap();
    let mut agent = Agent::new(&world.server);
    assert_eq!(sign_in_as(&world, &mut agent, "ivan", "/settings/security").await.status(), 303);
    let page = agent.get("/settings/security").await.text().await.unwrap();
    for (path, fields) in [
        ("/settings/security/totp", vec![]),
        ("/settings/security/passkeys/new", vec![]),
        (
            "/settings/security/password",
            vec![("current_password", "x"), ("new_password", "a new long password"), ("confirm_password", "a new long password")],
        ),
    ] {
        let response = agent.submit(path, &page, &["csrf_token"], &fields).await;
        assert_eq!(response.status(), 403, "{path}");
        let text = response.text().await.unwrap();
        assert!(text.contains("sign in with your password or a passkey to change your own credentials"), "{path}: {text}");
    }

    // Login CSRF: a sign-in is started only by a form of ours.
    let forged =
        http().post(world.server.url("/login/sso")).form(&[("provider", world.idp.as_str()), ("return_to", "/")]).send().await.unwrap();
    assert_eq!(forged.status(), 403);

    // A person whose password signs them in elsewhere does not carry it into this organization
    // once it requires its provider.
    let other = Fixture::create(&world.server.cli).unwrap();
    let person = format!("judy@{DOMAIN}");
    add_user(&world.server, &other, &person, "member", "judy's long password", &[]);
    world.server.cli.json(&["user", "create", "--org", &world.fixture.org_name, "--email", &person, "--role", "member"]).unwrap();
    world.server.cli.json(&["org", "update", &world.fixture.org_name, "--require-sso", "true"]).unwrap();
    let mut judy = Agent::new(&world.server);
    assert_eq!(judy.login(&person, "judy's long password").await.status(), 303, "her first organization does not require it");
    let page = judy.get("/settings/organizations").await.text().await.unwrap();
    let here = members(&world).into_iter().find(|m| m["email"] == person.as_str()).unwrap();
    let refused = judy.submit("/settings/organizations/switch", &page, &["csrf_token"], &[("user_id", here["id"].as_str().unwrap())]).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("signs its members in through Corp SSO"));

    // An invitation into it makes the member, but a password chosen on the way signs in nowhere
    // there: the page sends the person to the provider.
    let invited = "kim@elsewhere.test";
    let link =
        world.server.cli.json(&["user", "invite", "--org", &world.fixture.org_name, "--email", invited, "--role", "member"]).unwrap();
    let path = format!("/invite/{}", link["invite_url"].as_str().unwrap().split_once("/invite/").unwrap().1);
    let mut kim = Agent::new(&world.server);
    let page = kim.get(&path).await.text().await.unwrap();
    let password = "kim's long password";
    let joined = kim.submit(&path, &page, &["csrf_token"], &[("new_password", password), ("confirm_password", password)]).await;
    assert_eq!(location(&joined), "/login?done=joined-sso");
    assert!(!joined.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap().starts_with("tessera_session=")), "no session");
    assert!(members(&world).iter().any(|m| m["email"] == invited), "a member now");

    // The operator let this provider claim corp.test: an owner renames it, but may not point it
    // at another issuer.
    let token = admin_token(&world.server, &world.fixture, &world.fixture.owner_email, ADMIN_SCOPES).await;
    let api = Api::new(&world.server, &token);
    let path = format!("/identity-providers/{}", world.idp);
    let swapped = api.send(reqwest::Method::PATCH, &path, Some(&serde_json::json!({ "issuer": "https://login.attacker.example" }))).await;
    assert_eq!(swapped.status(), 403);
    let renamed = api.send(reqwest::Method::PATCH, &path, Some(&serde_json::json!({ "name": "Corp" }))).await;
    assert_eq!(renamed.status(), 200);
    let shown = world.server.cli.json(&["idp", "show", &world.idp]).unwrap();
    assert_eq!((shown["name"].as_str(), shown["issuer"].as_str()), (Some("Corp"), Some(world.op.issuer())));
}
