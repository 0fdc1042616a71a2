//! Scopes and roles in the browser flows: restricted scopes for members, and who may approve a
//! client for an organization (SECURITY.md §8, Q04–Q06).

use serde_json::Value;

use crate::agent::*;
use crate::common::*;

#[tokio::test]
async fn q04_a_member_never_gets_a_restricted_scope_through_authorization() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--scope", "admin"]);
    add_user(&server, &fixture, "member@q04.test", "member", "member pw 1 long", &[]);
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login("member@q04.test", "member pw 1 long").await.status(), 303);
    let url = agent.authorize(&code_query(&client, "&scope=read+admin"), "allow").await;
    let code = response_params(&url).get("code").cloned().unwrap_or_else(|| panic!("{url}"));
    let tokens = redeem_ok(&server, &client, &code).await;
    assert_eq!(tokens["scope"], "read", "the restricted scope is dropped and the response shows it");
    let (_, claims) = jwt_parts(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["scope"], "read");
    let introspection = introspect(&server, &fixture, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(introspection["scope"], "read");
    // Asking for the restricted scope alone leaves nothing: invalid_scope at the redirect.
    let url = agent.authorize(&code_query(&client, "&scope=admin"), "allow").await;
    assert_eq!(response_params(&url).get("error").map(String::as_str), Some("invalid_scope"), "{url}");
    // The owner of the same org gets it.
    let mut owner = Agent::new(&server);
    let code = owner_code(&mut owner, &fixture, &client, "&scope=read+admin").await;
    assert_eq!(redeem_ok(&server, &client, &code).await["scope"], "admin read");
}

fn approval_query(client: &Fixture, org_id: &str) -> String {
    format!(
        "response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=org&org_id={org_id}&state=s&code_challenge={}&code_challenge_method=S256",
        client.client_id,
        challenge(VERIFIER)
    )
}

/// Whether `client` is still unapproved for the org of `owner`: their code is refused.
async fn unapproved_for(server: &Server, owner: &Fixture, client: &Fixture) -> bool {
    let mut agent = Agent::new(server);
    let code = owner_code(&mut agent, owner, client, "&scope=read").await;
    let response = redeem(server, client, &code, &[]).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    status == 400 && body["error"] == "unauthorized_client"
}

#[tokio::test]
async fn q05_a_member_cannot_approve_a_client_for_the_org() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--grant", "refresh_token", "--requires-org-approval"]);
    add_user(&server, &fixture, "member@q05.test", "member", "member pw 1 long", &[]);
    let mut member = Agent::new(&server);
    assert_eq!(member.login("member@q05.test", "member pw 1 long").await.status(), 303);
    let response = member.get(&format!("/oauth2/authorize?{}", approval_query(&client, &fixture.org_id))).await;
    assert_eq!(response.status(), 302, "refused with a redirect, not an approval page");
    let params = response_params(&location(&response));
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "s");
    assert!(!params.contains_key("code"));
    assert!(unapproved_for(&server, &fixture, &client).await, "the client stays unapproved");
    let audit = server.cli.json(&["audit", "list", "--org", &fixture.org_name]).unwrap();
    assert!(!audit.to_string().contains("org_approved"), "{audit}");
}

#[tokio::test]
async fn q06_an_admin_of_one_org_cannot_approve_for_another() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--grant", "refresh_token", "--requires-org-approval"]);
    let other = tessera_testkit::Fixture::create(&server.cli).unwrap();
    add_user(&server, &fixture, "admin@q06.test", "admin", "admin pw 1 long", &[]);
    assert!(unapproved_for(&server, &other, &client).await, "org B starts unapproved");
    let mut admin = Agent::new(&server);
    assert_eq!(admin.login("admin@q06.test", "admin pw 1 long").await.status(), 303);
    let response = admin.get(&format!("/oauth2/authorize?{}", approval_query(&client, &other.org_id))).await;
    let params = if response.status() == 302 {
        response_params(&location(&response))
    } else {
        // Should a page show anyway, pressing Approve must still be refused.
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        let response = admin.submit("/oauth2/authorize/approve", &page, &["csrf_token", "request"], &[]).await;
        response_params(&location(&response))
    };
    assert_eq!(params.get("error").map(String::as_str), Some("access_denied"), "{params:?}");
    assert!(unapproved_for(&server, &other, &client).await, "org B unchanged");
    let audit = server.cli.json(&["audit", "list", "--org", &other.org_name]).unwrap();
    assert!(!audit.to_string().contains("org_approved"), "{audit}");
    // The same admin may approve for their own org.
    let response = admin.get(&format!("/oauth2/authorize?{}", approval_query(&client, &fixture.org_id))).await;
    assert_eq!(response.status(), 200);
}
