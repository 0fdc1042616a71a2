//! Second factors (SPEC §11): an authenticator app set up on `/settings/security` and asked for
//! at `/login/mfa`, with codes computed by an implementation nobody here wrote (Python's pyotp,
//! RFC 6238), its recovery codes, replays and clock skew, the lock-out, and its removal. Time
//! moves with the test clock, never with sleeps.

use std::process::Command;

use serde_json::Value;

use crate::agent::*;
use crate::common::*;
use crate::login_security::audit_entries;

/// The code pyotp computes for `secret` at the server's time: the real clock plus `ahead` seconds
/// (how far the test moved the server's clock) plus `shift`.
pub fn pyotp_code(secret: &str, ahead: i64, shift: i64) -> String {
    let script = "import pyotp, sys, time; print(pyotp.TOTP(sys.argv[1]).at(int(time.time()) + int(sys.argv[2])))";
    let output = Command::new("python3").args(["-c", script, secret, &(ahead + shift).to_string()]).output().expect("python3 with pyotp");
    assert!(output.status.success(), "pyotp: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn attribute(html: &str, name: &str) -> String {
    let marker = format!("{name}=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// Sets up the app for the signed-in `agent`; returns its base32 secret and the recovery codes.
async fn set_up_app(agent: &mut Agent<'_>, ahead: i64) -> (String, Vec<String>) {
    let page = agent.get("/settings/security").await.text().await.unwrap();
    assert!(page.contains("Set up an authenticator app"), "{page}");
    let setup = agent.submit("/settings/security/totp", &page, &["csrf_token"], &[]).await;
    assert_eq!(location(&setup), "/settings/security/totp", "post/redirect/get");
    let setup = agent.follow(setup).await.text().await.unwrap();
    let secret = attribute(&setup, "data-totp-secret");
    // A reload shows the same secret (the app may have it already).
    let again = agent.get("/settings/security/totp").await.text().await.unwrap();
    assert_eq!(attribute(&again, "data-totp-secret"), secret);
    assert!(setup.contains(r#"<svg role="img" aria-label="QR code of the authenticator secret""#), "a server-rendered QR code");
    assert!(!setup.contains("<script"), "no script on the page");
    let start = setup.find("href=\"otpauth:").expect("a link to open the app") + "href=\"".len();
    let uri = setup[start..start + setup[start..].find('"').unwrap()].replace("&#38;", "&").replace("&amp;", "&");
    assert!(
        uri.starts_with("otpauth://totp/Tessera:") && uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Tessera"),
        "{uri}"
    );

    // A wrong first code: the same secret is shown again.
    let wrong = if pyotp_code(&secret, ahead, 0) == "000000" { "111111" } else { "000000" };
    let response = agent.submit("/settings/security/totp/confirm", &setup, &["csrf_token"], &[("code", wrong)]).await;
    assert_eq!(response.status(), 400);
    assert_eq!(attribute(&response.text().await.unwrap(), "data-totp-secret"), secret);
    // The app's code turns it on; the recovery codes are shown once.
    let code = pyotp_code(&secret, ahead, 0);
    let response = agent.submit("/settings/security/totp/confirm", &setup, &["csrf_token"], &[("code", &code)]).await;
    assert_eq!(response.status(), 200);
    let shown = response.text().await.unwrap();
    let codes: Vec<String> = shown
        .match_indices("<code data-recovery-code>")
        .map(|(at, marker)| shown[at + marker.len()..].split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{shown}");
    (secret, codes)
}

/// Signs in with the password; returns the agent, holding the second-factor cookie.
async fn password_step<'a>(server: &'a Server, email: &str, password: &str) -> Agent<'a> {
    let mut agent = Agent::new(server);
    let response = agent.login(email, password).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login/mfa", "the second step is asked for");
    assert!(!agent.cookies.contains_key("tessera_session"), "not signed in yet");
    agent
}

async fn second_step(agent: &mut Agent<'_>, code: &str) -> reqwest::Response {
    let page = agent.get("/login/mfa").await.text().await.unwrap();
    agent.submit("/login/mfa", &page, &["csrf_token"], &[("code", code)]).await
}

#[tokio::test]
async fn an_authenticator_app_is_set_up_and_asked_for_at_sign_in_each_code_once() {
    let (server, fixture) = start();
    let mut owner = Agent::new(&server);
    assert_eq!(owner.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let (secret, recovery) = set_up_app(&mut owner, 0).await;
    assert_eq!(audit_entries(&server, "second_factor_added").len(), 1);
    let page = owner.get("/settings/security").await.text().await.unwrap();
    assert!(page.contains(r#"data-totp="on""#) && page.contains("10 recovery codes left"), "{page}");

    // The code that confirmed the app was of this step; two steps later, a code one step old is
    // still accepted (±1 step), once.
    server.advance_clock(60).unwrap();
    let ahead = 60;
    let mut browser = password_step(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let page = browser.get("/login/mfa").await.text().await.unwrap();
    assert!(page.contains(&fixture.owner_email) && page.contains(r#"autocomplete="one-time-code""#));
    assert!(browser.get("/settings/api-clients").await.status().is_redirection(), "nothing is open before the second step");
    // Three steps off either way is refused (±1 step is the window; three, so that a step ending
    // between pyotp and the server cannot bring it within one).
    for shift in [-90, 90] {
        let response = second_step(&mut browser, &pyotp_code(&secret, ahead, shift)).await;
        assert_eq!(response.status(), 401, "a code {shift} s off");
    }
    let code = pyotp_code(&secret, ahead, -30);
    let response = second_step(&mut browser, &code).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");
    assert!(browser.cookies.contains_key("tessera_session") && !browser.cookies.contains_key("tessera_mfa"));
    assert_eq!(browser.get("/settings/api-clients").await.status(), 200);

    // The same code again, from another browser: refused, though within its window.
    let mut replay = password_step(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(second_step(&mut replay, &code).await.status(), 401, "each code once");
    // The current step's code is later: accepted; then the older one never again.
    assert_eq!(second_step(&mut replay, &pyotp_code(&secret, ahead, 0)).await.status(), 303);
    let mut older = password_step(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(second_step(&mut older, &code).await.status(), 401, "an earlier step after a later one");
    // A recovery code, once (any case, with or without its dash).
    let response = second_step(&mut older, &recovery[0].to_uppercase().replace('-', "")).await;
    assert_eq!(response.status(), 303, "a recovery code signs in");
    let mut again = password_step(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(second_step(&mut again, &recovery[0]).await.status(), 401, "a recovery code works once");
    let page = owner.get("/settings/security").await.text().await.unwrap();
    assert!(page.contains("9 recovery codes left"));

    // The password-only session API cannot be used by an account with a second factor.
    let response = http()
        .post(server.url("/sessions"))
        .json(&serde_json::json!({ "email": fixture.owner_email, "password": OWNER_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    let failures = audit_entries(&server, "login_failed");
    assert_eq!(failures.iter().filter(|e| e["detail"]["reason"] == "wrong_second_factor").count(), 5, "{failures:?}");
}

#[tokio::test]
async fn wrong_codes_count_towards_the_lock_out_and_an_expired_sign_in_starts_again() {
    let (server, fixture) = start();
    let mut owner = Agent::new(&server);
    owner.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let (secret, _) = set_up_app(&mut owner, 0).await;
    server.advance_clock(30).unwrap();
    let mut browser = password_step(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let wrong = if pyotp_code(&secret, 30, 0) == "123456" { "654321" } else { "123456" };
    for _ in 0..5 {
        assert_eq!(second_step(&mut browser, wrong).await.status(), 401);
    }
    let locked = second_step(&mut browser, &pyotp_code(&secret, 30, 0)).await;
    assert_eq!(locked.status(), 429, "locked: even the right code waits");
    assert!(locked.headers().contains_key("retry-after"));
    assert_eq!(Agent::new(&server).login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 429, "the same lock as passwords");

    // A sign-in waits 5 minutes for its second step (the lock-out is 15).
    server.advance_clock(16 * 60).unwrap();
    let mut late = password_step(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    server.advance_clock(5 * 60 + 1).unwrap();
    assert_eq!(late.get("/login/mfa").await.status(), 302, "back to the sign-in page");
    let page = late.get("/login").await.text().await.unwrap();
    let response =
        late.post("/login/mfa", &[("csrf_token", &hidden(&page, "csrf_token")), ("code", &pyotp_code(&secret, 30 + 21 * 60 + 1, 0))]).await;
    assert_eq!(response.status(), 404, "the sign-in has expired");
    assert!(response.text().await.unwrap().contains("Sign in again"));
}

#[tokio::test]
async fn removing_the_app_needs_the_current_password() {
    let (server, fixture) = start();
    let mut owner = Agent::new(&server);
    owner.login(&fixture.owner_email, OWNER_PASSWORD).await;
    set_up_app(&mut owner, 0).await;
    let page = owner.get("/settings/security").await.text().await.unwrap();
    let wrong = owner.submit("/settings/security/totp/remove", &page, &["csrf_token"], &[("current_password", "not my password")]).await;
    assert_eq!(wrong.status(), 400);
    assert!(wrong.text().await.unwrap().contains("The current password is not right."));
    let removed = owner.submit("/settings/security/totp/remove", &page, &["csrf_token"], &[("current_password", OWNER_PASSWORD)]).await;
    assert_eq!(location(&removed), "/settings/security?done=totp-removed");
    assert_eq!(audit_entries(&server, "second_factor_removed").len(), 1);
    let mut browser = Agent::new(&server);
    let response = browser.login(&fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(location(&response), "/", "the password alone signs in again");
}

/// ID tokens say how the user signed in (`amr`, `acr`), also after a refresh, and `acr_values=mfa`
/// asks a user with a second factor to sign in with it.
#[tokio::test]
async fn id_tokens_carry_amr_and_acr_and_acr_values_asks_for_the_second_factor() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--scope", "openid", "--grant", "refresh_token"]);
    let mut owner = Agent::new(&server);
    owner.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let id_token = |tokens: &Value| jwt_parts(tokens["id_token"].as_str().expect("an ID token")).1;

    // Signed in with the password alone.
    let url = owner.authorize(&code_query(&client, "&scope=openid+read&nonce=n1"), "allow").await;
    let tokens = redeem_ok(&server, &client, &response_params(&url)["code"]).await;
    assert_eq!((id_token(&tokens)["amr"].clone(), id_token(&tokens)["acr"].clone()), (serde_json::json!(["pwd"]), "pwd".into()));
    // A user without a second factor who is asked for one goes on (acr says what it was).
    let url = owner.authorize(&code_query(&client, "&scope=openid+read&nonce=n2&acr_values=mfa"), "allow").await;
    assert!(url.starts_with("https://app.example/cb?code="), "{url}");

    // With an app set up, the same request asks for a stronger sign-in first.
    let (secret, _) = set_up_app(&mut owner, 0).await;
    let response = owner.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=openid+read&nonce=n3&acr_values=mfa"))).await;
    assert_eq!(response.status(), 302);
    assert!(location(&response).starts_with("/login?return_to="), "{}", location(&response));
    server.advance_clock(30).unwrap();
    let mut strong = password_step(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(second_step(&mut strong, &pyotp_code(&secret, 30, 0)).await.status(), 303);
    let url = strong.authorize(&code_query(&client, "&scope=openid+read&nonce=n4&acr_values=mfa"), "allow").await;
    let tokens = redeem_ok(&server, &client, &response_params(&url)["code"]).await;
    let claims = id_token(&tokens);
    assert_eq!((claims["amr"].clone(), claims["acr"].clone()), (serde_json::json!(["pwd", "otp", "mfa"]), "mfa".into()));
    let refreshed: Value = refresh(&server, &client, tokens["refresh_token"].as_str().unwrap(), &[]).await.json().await.unwrap();
    assert_eq!(id_token(&refreshed)["amr"], serde_json::json!(["pwd", "otp", "mfa"]), "the grant keeps how it was signed in");
    let discovery: Value = http().get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["acr_values_supported"], serde_json::json!(["pwd", "mfa"]));
}

/// `tessera org update ORG --require-mfa true`: members without a second factor are sent to set
/// one up right after signing in and can do nothing else until they have.
#[tokio::test]
async fn an_organization_that_requires_a_second_factor_sends_its_members_to_set_one_up() {
    let (server, fixture) = start();
    let other = tessera_testkit::Fixture::create(&server.cli).unwrap();
    let updated = server.cli.json(&["org", "update", &fixture.org_name, "--require-mfa", "true"]).unwrap();
    assert_eq!((updated["name"].as_str(), updated["require_mfa"].as_bool()), (Some(fixture.org_name.as_str()), Some(true)));
    assert_eq!(audit_entries(&server, "org_updated").len(), 1);
    let client = web_client(&server, &fixture, &["--scope", "openid"]);

    let mut owner = Agent::new(&server);
    let response = owner.login(&fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(response.status(), 303, "the password still signs in");
    for path in ["/", "/settings/api-clients", "/admin/members", "/settings/connected-apps"] {
        let response = owner.get(path).await;
        assert_eq!(location(&response), "/settings/security?done=enrol", "{path}");
    }
    let response = owner.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=openid+read"))).await;
    assert_eq!(location(&response), "/settings/security?done=enrol", "no app may be allowed either");
    let page = owner.get("/settings/security").await.text().await.unwrap();
    assert!(page.contains("Your organization requires a second factor"), "{page}");
    // Nothing else on the page works until then.
    let response = owner
        .submit(
            "/settings/security/password",
            &page,
            &["csrf_token"],
            &[
                ("current_password", OWNER_PASSWORD),
                ("new_password", "another long password"),
                ("confirm_password", "another long password"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/settings/security?done=enrol");
    assert_eq!(owner.get("/logout").await.status(), 200, "signing out works");

    set_up_app(&mut owner, 0).await;
    assert_eq!(owner.get("/settings/api-clients").await.status(), 200, "set up: the portal opens");
    // Another organization's members are not concerned.
    let mut elsewhere = Agent::new(&server);
    elsewhere.login(&other.owner_email, OWNER_PASSWORD).await;
    assert_eq!(elsewhere.get("/settings/api-clients").await.status(), 200);
    // And the requirement can be lifted.
    let lifted = server.cli.json(&["org", "update", &fixture.org_name, "--require-mfa", "false"]).unwrap();
    assert_eq!(lifted.get("require_mfa"), None, "left out when off");
}

/// Step-up (SPEC §11): showing or renewing a secret, adding a second factor and changing a role
/// ask again for the password (and the code, for a user with a second factor) when the sign-in
/// is older than 5 minutes or used one factor only; the action then carries on.
#[tokio::test]
async fn sensitive_actions_ask_again_after_five_minutes_and_then_carry_on() {
    let (server, fixture) = start();
    let (_, client) = add_client(&server, &fixture, "step-up app", &["--grant", "client_credentials", "--scope", "read"]);
    let path = format!("/settings/api-clients/{}", client.client_id);
    let mut owner = Agent::new(&server);
    owner.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let page = owner.get(&path).await.text().await.unwrap();
    let shown = owner.submit(&format!("{path}/secret"), &page, &["csrf_token"], &[]).await;
    let shown = owner.follow(shown).await.text().await.unwrap();
    assert!(shown.contains(&client.client_secret), "within 5 minutes of signing in: shown at once");

    server.advance_clock(5 * 60 + 1).unwrap();
    let asked = owner.submit(&format!("{path}/secret"), &page, &["csrf_token"], &[]).await;
    assert_eq!(asked.status(), 200);
    let asked = asked.text().await.unwrap();
    assert!(asked.contains("Confirm it&#39;s you") || asked.contains("Confirm it's you"), "{asked}");
    assert!(!asked.contains(&client.client_secret) && !asked.contains("step_up_code"), "no secret; no code without a second factor");
    assert!(asked.contains(&format!(r#"action="{path}/secret""#)), "posts back to the same action");
    let wrong = owner.submit(&format!("{path}/secret"), &asked, &["csrf_token"], &[("step_up_password", "not the password")]).await;
    assert_eq!(wrong.status(), 400);
    let confirmed = owner.submit(&format!("{path}/secret"), &asked, &["csrf_token"], &[("step_up_password", OWNER_PASSWORD)]).await;
    let confirmed = owner.follow(confirmed).await;
    assert!(confirmed.text().await.unwrap().contains(&client.client_secret), "the action carried on");
    let again = owner.submit(&format!("{path}/secret"), &page, &["csrf_token"], &[]).await;
    let again = owner.follow(again).await.text().await.unwrap();
    assert!(again.contains(&client.client_secret), "confirmed just now: no second ask");

    // A role change, the same way: the form's fields travel with the confirmation.
    let member = format!("member@{}.test", fixture.org_name);
    let member_id = add_user(&server, &fixture, &member, "member", "member password 1", &[])["id"].as_str().unwrap().to_owned();
    server.advance_clock(5 * 60 + 1).unwrap();
    let members = owner.get("/admin/members").await.text().await.unwrap();
    let asked = owner.submit(&format!("/admin/members/{member_id}"), &members, &["csrf_token"], &[("role", "admin")]).await;
    let asked = asked.text().await.unwrap();
    assert!(asked.contains(r#"name="role" value="admin""#), "{asked}");
    let role_of = |email: &str| {
        let users = server.cli.json(&["user", "list", "--org", &fixture.org_name]).unwrap();
        users.as_array().unwrap().iter().find(|u| u["email"] == email).unwrap()["role"].as_str().unwrap().to_owned()
    };
    assert_eq!(role_of(&member), "member", "not yet");
    let done = owner
        .submit(&format!("/admin/members/{member_id}"), &asked, &["csrf_token", "role"], &[("step_up_password", OWNER_PASSWORD)])
        .await;
    assert_eq!(location(&done), "/admin/members?done=saved");
    assert_eq!(role_of(&member), "admin");

    // With an authenticator app, a session that signed in with the password alone is asked for
    // both, also within 5 minutes; a session that used the app is not.
    let (secret, _) = set_up_app(&mut owner, 10 * 60 + 2).await;
    let asked = owner.submit(&format!("{path}/secret"), &page, &["csrf_token"], &[]).await.text().await.unwrap();
    assert!(asked.contains(r#"name="step_up_code""#), "the code is asked for too: {asked}");
    let without_code = owner
        .submit(&format!("{path}/secret"), &asked, &["csrf_token"], &[("step_up_password", OWNER_PASSWORD), ("step_up_code", "000000")])
        .await;
    assert_eq!(without_code.status(), 400);
    server.advance_clock(30).unwrap();
    let code = pyotp_code(&secret, 10 * 60 + 2 + 30, 0);
    let confirmed = owner
        .submit(&format!("{path}/secret"), &asked, &["csrf_token"], &[("step_up_password", OWNER_PASSWORD), ("step_up_code", &code)])
        .await;
    let confirmed = owner.follow(confirmed).await;
    assert!(confirmed.text().await.unwrap().contains(&client.client_secret), "password and code: shown");
}

/// An owner requires a second factor through the admin API (`PATCH /admin/v1/organization`) or
/// the organization's Settings page; an admin may read the setting, not change it; a member then
/// signing in is sent to set one up.
#[tokio::test]
async fn an_owner_requires_a_second_factor_through_the_admin_api_or_the_settings_page() {
    use crate::admin_api::{ADMIN_SCOPES, Api, admin_token, owner_token};
    let (server, fixture) = start();
    add_user(&server, &fixture, "admin@mfa.test", "admin", "admin password 12", &[]);
    add_user(&server, &fixture, "member@mfa.test", "member", "member password 12", &[]);
    let owner = Api::new(&server, &owner_token(&server, &fixture).await);
    let admin = Api::new(&server, &admin_token(&server, &fixture, "admin@mfa.test", ADMIN_SCOPES).await);

    let shown: Value = owner.get("/organization").await.json().await.unwrap();
    assert_eq!((shown["name"].as_str(), shown["require_mfa"].as_bool()), (Some(fixture.org_name.as_str()), Some(false)));
    let refused = admin.patch("/organization", &serde_json::json!({ "require_mfa": true })).await;
    assert_eq!(refused.status(), 403, "an admin may not change the organization's policy");
    assert_eq!(audit_entries(&server, "access_denied").len(), 1, "and the refusal is audited");
    let unknown = owner.patch("/organization", &serde_json::json!({ "require_mf": true })).await;
    assert_eq!(unknown.status(), 400, "an unknown field is refused, not ignored");
    let updated: Value = owner.patch("/organization", &serde_json::json!({ "require_mfa": true })).await.json().await.unwrap();
    assert_eq!(updated["require_mfa"], true);
    let read_by_admin: Value = admin.get("/organization").await.json().await.unwrap();
    assert_eq!(read_by_admin["require_mfa"], true);
    assert_eq!(audit_entries(&server, "org_updated").len(), 1);

    let mut member = Agent::new(&server);
    assert_eq!(member.login("member@mfa.test", "member password 12").await.status(), 303);
    assert_eq!(location(&member.get("/settings/api-clients").await), "/settings/security?done=enrol");

    // The owner turns it off again on the Settings page (after setting up an app, as required).
    let mut browser = Agent::new(&server);
    browser.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let (_, recovery_codes) = set_up_app(&mut browser, 0).await;
    let page = browser.get("/admin/organization").await.text().await.unwrap();
    assert!(page.contains("Require a second factor of every member") && page.contains(" checked"), "{page}");
    // The session signed in without the app it now has: the change asks for both first.
    let asked = browser.submit("/admin/organization", &page, &["csrf_token"], &[]).await.text().await.unwrap();
    assert!(asked.contains("step_up_code"), "{asked}");
    let confirm = [("step_up_password", OWNER_PASSWORD), ("step_up_code", recovery_codes[0].as_str())];
    let saved = browser.submit("/admin/organization", &asked, &["csrf_token"], &confirm).await;
    assert_eq!(location(&saved), "/admin/organization?done=saved");
    let shown: Value = owner.get("/organization").await.json().await.unwrap();
    assert_eq!(shown["require_mfa"], false, "an unticked box turns it off");
    assert_eq!(member.get("/settings/api-clients").await.status(), 200, "the member is no longer held");
    // An admin sees the setting without the form.
    let mut admin_browser = Agent::new(&server);
    admin_browser.login("admin@mfa.test", "admin password 12").await;
    let page = admin_browser.get("/admin/organization").await.text().await.unwrap();
    assert!(page.contains("Only an owner may change this.") && !page.contains("name=\"require_mfa\""), "{page}");
}

/// A sign-in waiting for its second factor keeps where it goes on to sealed: an invitation's
/// link (`/invite/{token}`) is a secret the store holds only as a hash.
#[tokio::test]
async fn a_waiting_sign_in_keeps_its_return_path_sealed() {
    let (server, fixture) = start();
    let mut owner = Agent::new(&server);
    assert_eq!(owner.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let (secret, _) = set_up_app(&mut owner, 0).await;
    server.advance_clock(30).unwrap();

    let return_to = "/invite/QkNEaW52aXRhdGlvbnRva2VuLW5vdC1pbi10aGUtc3RvcmU";
    let mut agent = Agent::new(&server);
    let page = agent.get("/login").await.text().await.unwrap();
    let fields = [("email", fixture.owner_email.as_str()), ("password", OWNER_PASSWORD), ("return_to", return_to)];
    let response = agent.submit("/login", &page, &["csrf_token"], &fields).await;
    assert_eq!(location(&response), "/login/mfa");
    let stored = store_texts(&server.cli, "SELECT return_to FROM login_challenges").await;
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains("/invite/") && !stored[0].contains(&return_to["/invite/".len()..]), "sealed: {stored:?}");
    let response = second_step(&mut agent, &pyotp_code(&secret, 30, 0)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), return_to, "and opened again to go on");
}
