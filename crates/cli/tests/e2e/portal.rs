//! The developer portal, the token generator and the organization admin pages over HTTP (the
//! same pages in Chromium: `portal_browser.rs`): who sees what (A11, 404 rather than 403 for
//! what is not yours), forged forms (restricted scopes, run-as users), CSRF, the generator's
//! two paths, the admin pages and the audit log's filters and pages.

use serde_json::Value;

use tessera_testkit::Fixture;

use crate::agent::*;
use crate::common::*;

pub const MEMBER_PASSWORD: &str = "member password 1";

/// A client registered with the CLI for `owner` (an email in the fixture's organization).
pub fn client_of(server: &Server, fixture: &Fixture, owner: &str, name: &str, flags: &[&str]) -> Fixture {
    let mut args = vec!["client", "create", "--org", &fixture.org_name, "--owner", owner, "--name", name];
    args.extend_from_slice(flags);
    let created = server.cli.json(&args).expect("client create");
    Fixture {
        client_id: created["client_id"].as_str().unwrap().to_owned(),
        client_secret: created["client_secret"].as_str().unwrap_or_default().to_owned(),
        ..fixture.clone()
    }
}

pub fn member_email(fixture: &Fixture, name: &str) -> String {
    format!("{name}@{}.test", fixture.org_name)
}

async fn signed_in<'a>(server: &'a Server, email: &str, password: &str) -> Agent<'a> {
    let mut agent = Agent::new(server);
    let response = agent.login(email, password).await;
    assert_eq!(response.status(), 303, "login of {email}");
    agent
}

async fn page(agent: &mut Agent<'_>, path: &str) -> (u16, String) {
    let response = agent.get(path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn audit(server: &Server, fixture: &Fixture) -> Vec<Value> {
    server.cli.json(&["audit", "list", "--org", &fixture.org_name]).unwrap().as_array().unwrap().clone()
}

#[tokio::test]
async fn a11_only_the_owner_reveals_a_secret_and_the_reveal_is_audited() {
    let (server, fixture) = start();
    let dev = member_email(&fixture, "dev");
    let other = member_email(&fixture, "other");
    let dev_user = add_user(&server, &fixture, &dev, "member", MEMBER_PASSWORD, &[]);
    add_user(&server, &fixture, &other, "member", MEMBER_PASSWORD, &[]);
    let client = client_of(&server, &fixture, &dev, "dev tool", &["--scope", "read"]);
    let path = format!("/settings/api-clients/{}", client.client_id);

    let mut owner_of_client = signed_in(&server, &dev, MEMBER_PASSWORD).await;
    let (status, html) = page(&mut owner_of_client, &path).await;
    assert_eq!(status, 200);
    assert!(html.contains("Client ID") && html.contains(&client.client_id), "{html}");
    assert!(!html.contains(&client.client_secret), "the secret is masked until Show");
    let response = owner_of_client.submit(&format!("{path}/secret"), &html, &["csrf_token"], &[]).await;
    assert!(!location(&response).contains(&client.client_secret), "never in a URL");
    let response = owner_of_client.follow(response).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.text().await.unwrap().contains(&client.client_secret), "Show reveals it to the owner");
    let (_, again) = page(&mut owner_of_client, &path).await;
    assert!(!again.contains(&client.client_secret), "once: a reload shows it masked");
    let reveals: Vec<Value> = audit(&server, &fixture).into_iter().filter(|e| e["action"] == "client_secret_revealed").collect();
    assert_eq!(reveals.len(), 1, "one audited reveal");
    assert_eq!(reveals[0]["actor"], dev_user["id"]);
    assert_eq!(reveals[0]["target"], client.client_id.as_str());

    // The organization's owner sees the client but may not reveal its secret.
    let mut admin = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let (status, html) = page(&mut admin, &path).await;
    assert_eq!(status, 200);
    assert!(!html.contains("id=\"show-secret\"") && html.contains("Only the client's owner may see it"), "{html}");
    let (_, form) = page(&mut admin, "/settings/api-clients/new?kind=server").await;
    let response = admin.submit(&format!("{path}/secret"), &form, &["csrf_token"], &[]).await;
    assert_eq!(response.status(), 403);
    assert!(!response.text().await.unwrap().contains(&client.client_secret));

    // Another member does not even learn that the client exists.
    let mut stranger = signed_in(&server, &other, MEMBER_PASSWORD).await;
    let (status, _) = page(&mut stranger, &path).await;
    assert_eq!(status, 404);
    let (_, own_list) = page(&mut stranger, "/settings/api-clients").await;
    assert!(!own_list.contains(&client.client_id), "other members' clients are not listed");
    let (_, form) = page(&mut stranger, "/settings/api-clients/new?kind=server").await;
    let response = stranger.submit(&format!("{path}/secret"), &form, &["csrf_token"], &[]).await;
    assert_eq!(response.status(), 404);

    // Nor does anyone of another organization, whatever their role.
    let other_org = Fixture::create(&server.cli).unwrap();
    let mut foreign = signed_in(&server, &other_org.owner_email, OWNER_PASSWORD).await;
    let (status, _) = page(&mut foreign, &path).await;
    assert_eq!(status, 404);
    let (status, _) = page(&mut foreign, &format!("/settings/api-clients/{}/edit", client.client_id)).await;
    assert_eq!(status, 404);
    assert_eq!(audit(&server, &fixture).iter().filter(|e| e["action"] == "client_secret_revealed").count(), 1);
}

#[tokio::test]
async fn q04_a_forged_form_gets_no_restricted_scope_and_no_run_as_user_without_the_permission() {
    let (server, fixture) = start();
    let dev = member_email(&fixture, "dev");
    let plain = member_email(&fixture, "plain");
    let robot = member_email(&fixture, "robot");
    add_user(&server, &fixture, &dev, "member", MEMBER_PASSWORD, &[]);
    add_user(&server, &fixture, &plain, "member", MEMBER_PASSWORD, &[]);
    add_user(&server, &fixture, &robot, "member", MEMBER_PASSWORD, &["--permission", "authorize_applications"]);
    let mut agent = signed_in(&server, &dev, MEMBER_PASSWORD).await;
    let (status, form) = page(&mut agent, "/settings/api-clients/new?kind=server").await;
    assert_eq!(status, 200);
    assert!(form.contains(r#"value="admin" disabled"#), "the restricted scope is offered disabled: {form}");
    assert!(form.contains(&format!(r#"<option value="{robot}""#)), "a user holding the permission is offered");
    assert!(!form.contains(&format!(r#"<option value="{plain}""#)), "a user without it is not");

    let post = |extra: Vec<(&'static str, String)>| {
        let mut fields = vec![("name", "forged".to_owned()), ("grants", "client_credentials".to_owned()), ("scopes", "read".to_owned())];
        fields.extend(extra);
        fields
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let csrf = hidden(&form, "csrf_token");
        let mut all: Vec<(&str, String)> = vec![("csrf_token", csrf)];
        all.extend(fields);
        all
    };
    let forms = [
        (post(vec![("scopes", "admin".into())]), "may not grant the restricted scope"),
        (post(vec![("run_as", plain.clone())]), "lacks the authorize_applications permission"),
        (post(vec![("scopes", "nonexistent".into())]), "is not in the organization"),
        (
            post(vec![("allowed_ips", "10.0.0.0/33".into()), ("allowed_origins", "https://a.example/path".into())]),
            "is not an address or CIDR range",
        ),
        (post(vec![("access_token_ttl", "soon".into())]), "whole number of seconds"),
    ];
    for (fields, expected) in forms {
        let all = send(fields);
        let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = agent.post("/settings/api-clients/new", &borrowed).await;
        assert_eq!(response.status(), 400, "{borrowed:?}");
        let html = response.text().await.unwrap();
        assert!(html.contains(expected), "{expected}: {html}");
        assert!(html.contains("class=\"field-error\""), "inline, by the field");
    }
    // Both origin and IP problems were reported at once.
    let all = send(post(vec![("allowed_ips", "10.0.0.0/33".into()), ("allowed_origins", "https://a.example/path".into())]));
    let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let html = agent.post("/settings/api-clients/new", &borrowed).await.text().await.unwrap();
    assert!(html.contains("must look like https://host[:port]") && html.contains("CIDR range"), "every bad field: {html}");
    let created: Vec<Value> = server.cli.json(&["client", "list", "--org", &fixture.org_name]).unwrap().as_array().unwrap().clone();
    assert!(created.iter().all(|c| c["name"] != "forged"), "nothing was registered");

    // The service's rules speak the reader's language: the same refusals on a German page.
    assert_eq!(agent.get("/language?set=de&return_to=/").await.status(), 303);
    for (fields, german) in [
        (post(vec![("scopes", "admin".into())]), "eingeschränkten Scope „admin“ nicht vergeben"),
        (post(vec![("scopes", "nonexistent".into())]), "Scope „nonexistent“ steht nicht im Katalog"),
        (post(vec![("run_as", plain.clone())]), "fehlt das Recht authorize_applications"),
    ] {
        let all = send(fields);
        let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = agent.post("/settings/api-clients/new", &borrowed).await;
        assert_eq!(response.status(), 400);
        let html = response.text().await.unwrap();
        assert!(html.contains(german), "{german}: {html}");
    }
    assert_eq!(agent.get("/language?set=en&return_to=/").await.status(), 303);

    // The permitted choices go through.
    let all = send(post(vec![("run_as", robot.clone())]));
    let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = agent.post("/settings/api-clients/new", &borrowed).await;
    let html = agent.follow(response).await.text().await.unwrap();
    assert!(html.contains(&robot), "run as the permitted user: {html}");
}

#[tokio::test]
async fn portal_forms_need_the_session_csrf_token_and_our_origin() {
    let (server, fixture) = start();
    let mut agent = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let path = format!("/settings/api-clients/{}/status", fixture.client_id);
    let (_, html) = page(&mut agent, &format!("/settings/api-clients/{}", fixture.client_id)).await;
    let csrf = hidden(&html, "csrf_token");
    let response = agent.post(&path, &[("status", "off")]).await;
    assert_eq!(response.status(), 403, "no token");
    let response = agent.post(&path, &[("status", "off"), ("csrf_token", "forged")]).await;
    assert_eq!(response.status(), 403, "a wrong token");
    agent.origin = Some("https://evil.example".into());
    let response = agent.post(&path, &[("status", "off"), ("csrf_token", &csrf)]).await;
    assert_eq!(response.status(), 403, "another origin");
    assert_eq!(token(&server, &fixture, None).await["token_type"], "Bearer", "the client is still on");
    agent.origin = Some(server.url("").trim_end_matches('/').to_owned());
    let response = agent.post(&path, &[("status", "off"), ("csrf_token", &csrf)]).await;
    assert_eq!(response.status(), 303);
    let refused =
        post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(refused.status(), 401, "turned off from the portal");
}

#[tokio::test]
async fn clients_are_edited_turned_off_and_on_and_deleted_from_the_portal() {
    let (server, fixture) = start();
    let dev = member_email(&fixture, "dev");
    add_user(&server, &fixture, &dev, "member", MEMBER_PASSWORD, &[]);
    let client = client_of(&server, &fixture, &dev, "before", &["--scope", "read"]);
    let path = format!("/settings/api-clients/{}", client.client_id);
    let mut agent = signed_in(&server, &dev, MEMBER_PASSWORD).await;
    let (_, form) = page(&mut agent, &format!("{path}/edit")).await;
    let csrf = hidden(&form, "csrf_token");
    let edit = |name: &'static str, ips: &'static str| {
        vec![("csrf_token", csrf.clone()), ("name", name.to_owned()), ("allowed_ips", ips.to_owned()), ("access_token_ttl", "120".into())]
    };
    let bad = edit("after", "not an address");
    let response = agent.post(&format!("{path}/edit"), &bad.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("is not an address or CIDR range"));
    let good = edit("after", "127.0.0.0/8");
    let response = agent.post(&format!("{path}/edit"), &good.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!(response.status(), 303);
    let shown = server.cli.json(&["client", "show", &client.client_id]).unwrap();
    assert_eq!(shown["name"], "after");
    assert_eq!(shown["allowed_ips"], serde_json::json!(["127.0.0.0/8"]));
    let issued = token(&server, &client, None).await;
    assert_eq!(issued["expires_in"], 120, "the edited lifetime applies to the next token");

    let response = agent.post(&format!("{path}/status"), &[("status", "off"), ("csrf_token", &csrf)]).await;
    assert_eq!(response.status(), 303);
    assert!(!is_active(&server, &fixture, issued["access_token"].as_str().unwrap()).await, "OFF stops live tokens");
    let response = agent.post(&format!("{path}/status"), &[("status", "on"), ("csrf_token", &csrf)]).await;
    assert_eq!(response.status(), 303);
    let (_, html) = page(&mut agent, &format!("{path}?done=on")).await;
    assert!(html.contains("The client is on"), "{html}");

    let (status, confirm) = page(&mut agent, &format!("{path}/delete")).await;
    assert_eq!(status, 200);
    let response = agent.submit(&format!("{path}/delete"), &confirm, &["csrf_token"], &[]).await;
    assert_eq!(response.status(), 303);
    let (status, _) = page(&mut agent, &path).await;
    assert_eq!(status, 404);
    let actions: Vec<String> = audit(&server, &fixture).iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    for action in ["client_updated", "client_disabled", "client_enabled", "client_deleted"] {
        assert!(actions.iter().any(|a| a == action), "{action} audited: {actions:?}");
    }
}

#[tokio::test]
async fn the_generator_gets_a_client_credentials_token_and_walks_a_code_flow_through() {
    let (server, fixture) = start();
    let mut agent = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let (status, html) = page(&mut agent, &format!("/tools/access-token?client_id={}", fixture.client_id)).await;
    assert_eq!(status, 200);
    let response =
        agent.submit("/tools/access-token", &html, &["csrf_token"], &[("client_id", &fixture.client_id), ("scope", "read")]).await;
    // Post/redirect/get: the token comes to the page in a sealed cookie, never in the address.
    assert_eq!(response.status(), 303);
    let shown_at = location(&response);
    assert_eq!(shown_at, format!("/tools/access-token?client_id={}", fixture.client_id));
    let response = agent.follow(response).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer", "L02: the page shows a token");
    let html = response.text().await.unwrap();
    let token = between(&html, "aria-label=\"Access token\">", "</textarea>");
    assert!(is_active(&server, &fixture, &token).await, "a real token");
    assert!(html.contains("id=\"token-scope\">read<"), "its scope is shown");
    assert!(html.contains(&format!("Authorization: Bearer {token}")), "a copy-ready curl line");
    assert!(!html.contains(&fixture.client_secret), "the secret is not on the page");
    // A reload shows the page without the token and asks for no other one.
    let (status, again) = page(&mut agent, &shown_at).await;
    assert_eq!(status, 200);
    assert!(!again.contains(&token), "shown once");
    assert!(!again.contains("aria-label=\"Access token\""), "no other token either");

    // A code-flow client: the callback is registered first, then the walk-through runs.
    let web = client_of(
        &server,
        &fixture,
        &fixture.owner_email,
        "web app",
        &["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb", "--scope", "read"],
    );
    let response = agent.submit("/tools/access-token", &html, &["csrf_token"], &[("client_id", &web.client_id)]).await;
    let page_html = response.text().await.unwrap();
    assert!(page_html.contains("id=\"add-callback\""), "offers to register the callback: {page_html}");
    let response = agent.submit("/tools/access-token/callback-uri", &page_html, &["csrf_token"], &[("client_id", &web.client_id)]).await;
    assert_eq!(response.status(), 303);
    let shown = server.cli.json(&["client", "show", &web.client_id]).unwrap();
    assert_eq!(shown["redirect_uris"][1], server.url("/tools/access-token/callback"));

    let response =
        agent.submit("/tools/access-token", &page_html, &["csrf_token"], &[("client_id", &web.client_id), ("scope", "read")]).await;
    assert_eq!(response.status(), 303);
    let authorize = location(&response);
    let query = authorize.split_once('?').unwrap().1.to_owned();
    assert!(query.contains("code_challenge_method=S256"), "PKCE: {query}");
    let landed = agent.authorize(&query, "allow").await;
    assert!(landed.starts_with(&server.url("/tools/access-token/callback?")), "{landed}");
    let response = agent.get(&landed).await;
    assert_eq!(response.status(), 303, "the code is redeemed and the token shown on the generator's page");
    let response = agent.follow(response).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let token = between(&html, "aria-label=\"Access token\">", "</textarea>");
    let claims = jwt_parts(&token).1;
    assert_eq!(claims["client_id"], web.client_id.as_str());
    assert_eq!(claims["sub"], fixture.owner_id.as_str(), "a token for the signed-in user");
    // The walk-through's cookie is spent: replaying the callback fails cleanly.
    let response = agent.get(&landed).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("expired"));
}

fn between(html: &str, start: &str, end: &str) -> String {
    let from = html.find(start).unwrap_or_else(|| panic!("no {start} in {html}")) + start.len();
    html[from..from + html[from..].find(end).unwrap()].trim().to_owned()
}

#[tokio::test]
async fn admin_pages_are_for_owners_and_admins_and_change_members_scopes_and_approvals() {
    let (server, fixture) = start();
    let dev = member_email(&fixture, "dev");
    let admin_email = member_email(&fixture, "admin");
    let dev_user = add_user(&server, &fixture, &dev, "member", MEMBER_PASSWORD, &[]);
    add_user(&server, &fixture, &admin_email, "admin", MEMBER_PASSWORD, &[]);

    let mut member = signed_in(&server, &dev, MEMBER_PASSWORD).await;
    for path in ["/admin/members", "/admin/scopes", "/admin/approvals", "/admin/audit"] {
        let (status, _) = page(&mut member, path).await;
        assert_eq!(status, 403, "{path} is not for members");
    }
    let (_, portal) = page(&mut member, "/settings/api-clients").await;
    assert!(!portal.contains("href=\"/admin/members\""), "no Organization link for members");

    let mut admin = signed_in(&server, &admin_email, MEMBER_PASSWORD).await;
    let (status, html) = page(&mut admin, "/admin/members").await;
    assert_eq!(status, 200);
    assert!(html.contains(&dev), "{html}");
    assert!(!between(&html, "<select id=\"role\"", "</select>").contains("owner"), "admins are not offered to add owners");
    let dev_id = dev_user["id"].as_str().unwrap();
    let response = admin.submit(&format!("/admin/members/{dev_id}"), &html, &["csrf_token"], &[("role", "owner")]).await;
    assert_eq!(response.status(), 403, "only an owner makes an owner");
    let response = admin
        .submit(&format!("/admin/members/{dev_id}"), &html, &["csrf_token"], &[("role", "admin"), ("authorize_applications", "true")])
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = page(&mut admin, "/admin/members").await;
    assert!(html.contains(&format!("id=\"member-{dev_id}\"")), "{html}");

    let mut owner = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let (_, owner_view) = page(&mut owner, "/admin/members").await;
    assert!(between(&owner_view, "<select id=\"role\"", "</select>").contains("value=\"owner\""), "owners are");

    // Add a member and a service user.
    let response = admin
        .submit(
            "/admin/members",
            &html,
            &["csrf_token"],
            &[("email", &member_email(&fixture, "new")), ("role", "member"), ("password", "short")],
        )
        .await;
    assert_eq!(response.status(), 400, "a password of fewer than 12 characters");
    let response = admin
        .submit(
            "/admin/members",
            &html,
            &["csrf_token"],
            &[("email", &member_email(&fixture, "new")), ("role", "member"), ("password", "long enough 1")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = admin
        .submit(
            "/admin/members",
            &html,
            &["csrf_token"],
            &[("email", &member_email(&fixture, "bot")), ("role", "member"), ("service", "true"), ("authorize_applications", "true")],
        )
        .await;
    assert_eq!(response.status(), 303);
    signed_in(&server, &member_email(&fixture, "new"), "long enough 1").await;

    // Scopes: add one and restrict it.
    let (_, html) = page(&mut admin, "/admin/scopes").await;
    let response = admin.submit("/admin/scopes", &html, &["csrf_token"], &[("name", "billing")]).await;
    assert_eq!(response.status(), 303);
    let response = admin.submit("/admin/scopes/restriction", &html, &["csrf_token"], &[("name", "billing"), ("restricted", "true")]).await;
    assert_eq!(response.status(), 303);
    let scopes = server.cli.json(&["scope", "list", "--org", &fixture.org_name]).unwrap();
    let billing = scopes.as_array().unwrap().iter().find(|s| s["name"] == "billing").unwrap().clone();
    assert_eq!(billing["restricted"], true);

    // Approvals: approve another organization's client, then withdraw.
    let other = Fixture::create(&server.cli).unwrap();
    let (_, html) = page(&mut admin, "/admin/approvals").await;
    let response = admin.submit("/admin/approvals", &html, &["csrf_token"], &[("client_id", &other.client_id)]).await;
    assert_eq!(response.status(), 303);
    let (_, html) = page(&mut admin, "/admin/approvals").await;
    assert!(html.contains(&other.client_id) && html.contains(&admin_email), "approved by the admin: {html}");
    let response = admin.submit("/admin/approvals/withdraw", &html, &["csrf_token"], &[("client_id", &other.client_id)]).await;
    assert_eq!(response.status(), 303);
    let (_, html) = page(&mut admin, "/admin/approvals").await;
    assert!(!html.contains(&format!("<code>{}</code>", other.client_id)), "withdrawn");

    // An admin cannot act on another organization's members.
    let (_, html) = page(&mut admin, "/admin/members").await;
    let response = admin.submit(&format!("/admin/members/{}/disable", other.owner_id), &html, &["csrf_token"], &[]).await;
    assert_eq!(response.status(), 404);
    // Nor on themselves.
    let admin_id = server
        .cli
        .json(&["audit", "list", "--org", &fixture.org_name])
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user_created" && e["detail"]["email"] == admin_email.as_str())
        .unwrap()["target"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = admin.submit(&format!("/admin/members/{admin_id}/disable"), &html, &["csrf_token"], &[]).await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("cannot change your own account"));
}

#[tokio::test]
async fn the_audit_page_filters_by_actor_action_client_and_date_and_pages_back() {
    let (server, fixture) = start();
    for n in 0..52 {
        server.cli.json(&["scope", "create", "--org", &fixture.org_name, &format!("s{n}")]).unwrap();
    }
    let mut admin = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let (status, html) = page(&mut admin, "/admin/audit").await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("<tr>").count() - 1, 50, "a page of 50 entries (one header row)");
    let end = html.find("\" rel=\"next\"").expect("an Older entries link");
    let older = html[html[..end].rfind("href=\"").unwrap() + 6..end].replace("&amp;", "&");
    let (status, html) = page(&mut admin, &older).await;
    assert_eq!(status, 200);
    assert!(html.matches("<tr>").count() > 1, "the older entries");

    let (_, html) = page(&mut admin, "/admin/audit?action=scope_created").await;
    assert_eq!(html.matches("<code>scope_created</code>").count(), 50);
    assert!(!html.contains("<code>client_created</code>"));
    let (_, html) = page(&mut admin, &format!("/admin/audit?client={}", fixture.client_id)).await;
    assert!(html.contains("<code>client_created</code>") && !html.contains("<code>scope_created</code>"), "{html}");
    let (_, html) = page(&mut admin, "/admin/audit?actor=cli&action=user_created").await;
    assert!(html.contains("<code>user_created</code>"));
    let (_, html) = page(&mut admin, &format!("/admin/audit?actor={}", fixture.owner_email)).await;
    assert!(html.contains("No entries."), "the owner did nothing audited yet: {html}");
    let (_, html) = page(&mut admin, "/admin/audit?from=2999-01-01").await;
    assert!(html.contains("No entries."));
    let (_, html) = page(&mut admin, "/admin/audit?to=1999-12-31").await;
    assert!(html.contains("No entries."));
    let (status, _) = page(&mut admin, "/admin/audit?before=abc").await;
    assert_eq!(status, 400, "a malformed cursor is a clear 400");
}

#[tokio::test]
async fn the_home_page_sends_a_signed_in_user_to_the_portal() {
    let (server, fixture) = start();
    let mut agent = Agent::new(&server);
    let response = agent.get("/").await;
    assert_eq!(location(&response), "/login");
    let mut agent = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let response = agent.get("/").await;
    assert_eq!(location(&response), "/settings/api-clients");
    let (status, html) = page(&mut agent, "/settings/api-clients").await;
    assert_eq!(status, 200);
    assert!(html.contains(&fixture.client_id) && html.contains("href=\"/admin/members\""), "{html}");
}

/// SPEC §16: a client's page says when it was made and when it was last used (to the minute).
#[tokio::test]
async fn a_clients_page_shows_when_it_was_made_and_last_used() {
    let (server, fixture) = start();
    let mut owner = signed_in(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let path = format!("/settings/api-clients/{}", fixture.client_id);
    let (_, html) = page(&mut owner, &path).await;
    assert!(html.contains(r#"<dd id="created">"#) && html.contains(" UTC</dd>"), "{html}");
    assert!(html.contains(r#"<dd id="last-used"><span class="muted">not yet</span></dd>"#), "{html}");
    let token = post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[("grant_type", "client_credentials")]);
    assert_eq!(token.await.status(), 200);
    let (_, html) = page(&mut owner, &path).await;
    let used = html.split(r#"<dd id="last-used">"#).nth(1).unwrap().split("</dd>").next().unwrap();
    assert!(used.ends_with(" UTC") && !used.contains("not yet"), "the token request marked it: {used}");
    // The admin API says it too, in Unix seconds.
    let api = crate::admin_api::Api::new(&server, &crate::admin_api::owner_token(&server, &fixture).await);
    let shown = api.ok(&format!("/clients/{}", fixture.client_id)).await;
    assert!(shown["last_used_at"].as_i64().is_some_and(|at| at > 1_700_000_000), "{shown}");
}
