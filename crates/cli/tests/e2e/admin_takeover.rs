//! The administration's two advisories (SECURITY.md "Advisories") and the rules of SPEC §12 that
//! close them, end to end: Tessera's own scopes are first-party only, and nobody obtains a
//! credential that acts as a user of a higher role than their own. Each test reproduces the
//! reported attack step by step and checks that it now fails and changes nothing.

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_SCOPES, Api, admin_token, expect, owner_token, problem};
use crate::agent::*;
use crate::common::*;

const PASSWORD: &str = "a long password 1";

/// The code-flow query of `client` for `scope` with PKCE (S256 over [`VERIFIER`]).
fn query(client: &Fixture, scope: &str) -> String {
    code_query(client, &format!("&scope={scope}&code_challenge={}&code_challenge_method=S256", challenge(VERIFIER)))
}

/// A confidential web app of `org`'s owner registered for openid and both admin scopes.
fn admin_scoped_app(server: &Server, org: &Fixture, name: &str) -> Fixture {
    let mut flags = vec!["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb", "--scope", "openid"];
    flags.extend_from_slice(ADMIN_SCOPES);
    add_client(server, org, name, &flags).1
}

/// Audit entries of `org` with `action`.
fn audited(server: &Server, org: &Fixture, action: &str) -> Vec<Value> {
    let all = server.cli.json(&["audit", "list", "--org", &org.org_name]).unwrap();
    all.as_array().unwrap().iter().filter(|entry| entry["action"] == action).cloned().collect()
}

/// ADV-2026-01: an application of another organization asked for `tessera:admin` and
/// `tessera:clients`; the victim's owner pressed Allow, and the app added an owner of its own.
#[tokio::test]
async fn adv_2026_01_another_orgs_app_never_gets_admin_scopes_through_consent() {
    let (server, victim) = start();
    let attacker = Fixture::create(&server.cli).unwrap();
    let calendar = admin_scoped_app(&server, &attacker, "Team Calendar");

    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&victim.owner_email, OWNER_PASSWORD).await.status(), 303);
    // The consent page offers only what may be granted: no admin scope, in name or in words.
    let page = agent.get(&format!("/oauth2/authorize?{}", query(&calendar, "openid+tessera%3Aadmin+tessera%3Aclients"))).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Allow"), "{page}");
    assert!(!page.contains("tessera:admin") && !page.contains("tessera:clients"), "{page}");
    let url = agent.submit("/oauth2/authorize/decision", &page, &["csrf_token", "request"], &[("decision", "allow")]).await;
    let code = response_params(&location(&url))["code"].clone();
    let tokens = expect(redeem(&server, &calendar, &code, &[("code_verifier", VERIFIER)]).await, 200).await;
    assert_eq!(tokens["scope"], "openid", "{tokens}");
    let stolen = Api::new(&server, tokens["access_token"].as_str().unwrap());
    let owner_before = server.cli.json(&["user", "list", "--org", &victim.org_name]).unwrap();
    problem(
        stolen.post("/members", &json!({ "email": "attacker@evil.example", "role": "owner", "password": PASSWORD })).await,
        403,
        "insufficient_scope",
    )
    .await;
    problem(stolen.get("/clients").await, 403, "insufficient_scope").await;
    assert_eq!(server.cli.json(&["user", "list", "--org", &victim.org_name]).unwrap(), owner_before, "nobody was added");

    // Asking for the admin scopes alone leaves nothing to grant: invalid_scope, back to the app.
    let url = agent.authorize(&query(&calendar, "tessera%3Aadmin+tessera%3Aclients"), "allow").await;
    assert_eq!(response_params(&url)["error"], "invalid_scope", "{url}");

    // A member's consent gives the app nothing of theirs either: no client list, no secret.
    add_user(&server, &victim, "m@victim.test", "member", PASSWORD, &[]);
    let (_, mine) = add_client(&server, &victim, "member's script", &["--grant", "client_credentials", "--scope", "read"]);
    let mut member = Agent::new(&server);
    assert_eq!(member.login("m@victim.test", PASSWORD).await.status(), 303);
    let url = member.authorize(&query(&calendar, "openid+tessera%3Aclients"), "allow").await;
    let code = response_params(&url)["code"].clone();
    let tokens = expect(redeem(&server, &calendar, &code, &[("code_verifier", VERIFIER)]).await, 200).await;
    assert_eq!(tokens["scope"], "openid");
    let app = Api::new(&server, tokens["access_token"].as_str().unwrap());
    problem(app.get(&format!("/clients/{}/secret", mine.client_id)).await, 403, "insufficient_scope").await;

    // The attacker's own organization still gets the admin scopes from its own app.
    let mut own = Agent::new(&server);
    assert_eq!(own.login(&attacker.owner_email, OWNER_PASSWORD).await.status(), 303);
    let url = own.authorize(&query(&calendar, "openid+tessera%3Aadmin"), "allow").await;
    let code = response_params(&url)["code"].clone();
    let tokens = expect(redeem(&server, &calendar, &code, &[("code_verifier", VERIFIER)]).await, 200).await;
    assert_eq!(tokens["scope"], "openid tessera:admin");
}

/// ADV-2026-02: an admin regenerated the secret of the owner's admin client (which runs as the
/// owner), made a token with it, promoted themselves to owner and could demote the owner; the
/// audit log named the owner.
#[tokio::test]
async fn adv_2026_02_an_admin_cannot_take_the_owners_client_and_become_owner() {
    let (server, fixture) = start();
    // The owner's script: client credentials, the admin scopes, running as the owner.
    let mut flags = vec!["--grant", "client_credentials"];
    flags.extend_from_slice(ADMIN_SCOPES);
    let owner_client = add_client(&server, &fixture, "owner's admin script", &flags).1;
    add_user(&server, &fixture, "admin@acme.test", "admin", PASSWORD, &[]);
    let admin_token = admin_token(&server, &fixture, "admin@acme.test", ADMIN_SCOPES).await;
    let admin = Api::new(&server, &admin_token);
    let admin_id = expect(admin.get("/me").await, 200).await["user"]["id"].as_str().unwrap().to_owned();

    let path = format!("/clients/{}/secret", owner_client.client_id);
    problem(admin.get(&path).await, 403, "access_denied").await;
    problem(admin.post(&path, &json!({})).await, 403, "access_denied").await;
    // The owner's secret still works: nothing was replaced.
    let response =
        post_basic(&server, "/oauth2/token", &owner_client.client_id, &owner_client.client_secret, &[("grant_type", "client_credentials")])
            .await;
    assert_eq!(response.status(), 200);
    // Nor can the admin promote themselves, or change the owner.
    problem(admin.patch(&format!("/members/{admin_id}"), &json!({ "role": "owner" })).await, 403, "access_denied").await;
    problem(admin.patch(&format!("/members/{}", fixture.owner_id), &json!({ "role": "member" })).await, 403, "access_denied").await;
    let members = server.cli.json(&["user", "list", "--org", &fixture.org_name]).unwrap();
    let role_of = |id: &str| members.as_array().unwrap().iter().find(|u| u["id"] == id).unwrap()["role"].clone();
    assert_eq!((role_of(&admin_id), role_of(&fixture.owner_id)), (json!("admin"), json!("owner")));

    // Each refusal is audited under the admin's name, with the client they acted through.
    let denied = audited(&server, &fixture, "access_denied");
    assert!(denied.len() >= 2, "{denied:?}");
    for entry in &denied {
        assert_eq!(entry["actor"], admin_id.as_str(), "{entry}");
        assert!(entry["detail"].to_string().contains("via_client"), "{entry}");
    }
    assert!(audited(&server, &fixture, "client_secret_regenerated").is_empty());
}

/// Run-as a higher role: an admin makes a client (new or their own) run as the owner, or
/// changes the owner's client; a member makes one run as an admin.
#[tokio::test]
async fn no_client_can_be_made_to_run_as_a_higher_role() {
    let (server, fixture) = start();
    server.cli.json(&["user", "update", &fixture.owner_email, "--authorize-applications", "true"]).unwrap();
    add_user(&server, &fixture, "admin@acme.test", "admin", PASSWORD, &["--permission", "authorize_applications"]);
    add_user(&server, &fixture, "member@acme.test", "member", PASSWORD, &[]);
    let admin = Api::new(&server, &admin_token(&server, &fixture, "admin@acme.test", ADMIN_SCOPES).await);
    let member = Api::new(&server, &admin_token(&server, &fixture, "member@acme.test", &["--scope", "tessera:clients"]).await);

    let as_owner = json!({ "name": "as owner", "grants": ["client_credentials"], "scopes": ["read"], "run_as": fixture.owner_email });
    problem(admin.post("/clients", &as_owner).await, 403, "access_denied").await;
    let as_admin = json!({ "name": "as admin", "grants": ["client_credentials"], "scopes": ["read"], "run_as": "admin@acme.test" });
    problem(member.post("/clients", &as_admin).await, 403, "access_denied").await;
    // Running as oneself, or as a lower role with the permission, is fine.
    let own =
        expect(admin.post("/clients", &json!({ "name": "mine", "grants": ["client_credentials"], "scopes": ["read"] })).await, 201).await;
    let own_id = own["client_id"].as_str().unwrap();
    problem(admin.patch(&format!("/clients/{own_id}"), &json!({ "run_as": fixture.owner_email })).await, 403, "access_denied").await;
    assert_eq!(expect(admin.get(&format!("/clients/{own_id}")).await, 200).await["run_as"], "admin@acme.test");

    // The owner's client (running as the owner): an admin may rename or turn it off, not change
    // what its tokens act with.
    let owners = format!("/clients/{}", fixture.client_id);
    for edit in [
        json!({ "grants": ["client_credentials", "token_exchange"] }),
        json!({ "scopes": ["read"] }),
        json!({ "run_as": "admin@acme.test" }),
    ] {
        problem(admin.patch(&owners, &edit).await, 403, "access_denied").await;
    }
    let unchanged = expect(admin.get(&owners).await, 200).await;
    assert_eq!((unchanged["run_as"].as_str(), unchanged["scopes"].as_array().unwrap().len()), (Some(fixture.owner_email.as_str()), 3));
    expect(admin.patch(&owners, &json!({ "name": "renamed by the admin" })).await, 200).await;
    expect(admin.post(&format!("{owners}/disable"), &json!({})).await, 200).await;
    // The owner may do all of it.
    let owner = Api::new(&server, &owner_token(&server, &fixture).await);
    expect(owner.post(&format!("{owners}/enable"), &json!({})).await, 200).await;
    expect(owner.patch(&owners, &json!({ "scopes": ["read", "write"] })).await, 200).await;
}

/// The last enabled owner of an organization can be neither demoted nor disabled, not even by
/// the operator; with a second owner both work.
#[tokio::test]
async fn the_last_owner_is_neither_demoted_nor_disabled() {
    let (server, fixture) = start();
    let demote = server.cli.run(&["user", "update", &fixture.owner_email, "--role", "admin"]).unwrap();
    assert!(!demote.success && demote.stderr.contains("last owner"), "{}", demote.stderr);
    let disable = server.cli.run(&["user", "disable", &fixture.owner_email]).unwrap();
    assert!(!disable.success && disable.stderr.contains("last owner"), "{}", disable.stderr);

    add_user(&server, &fixture, "second@acme.test", "owner", PASSWORD, &[]);
    let second = Api::new(&server, &admin_token(&server, &fixture, "second@acme.test", ADMIN_SCOPES).await);
    expect(second.patch(&format!("/members/{}", fixture.owner_id), &json!({ "role": "admin" })).await, 200).await;
    // Now the second owner is the last one: they cannot be disabled by the operator either.
    let disable = server.cli.run(&["user", "disable", "second@acme.test"]).unwrap();
    assert!(!disable.success && disable.stderr.contains("last owner"), "{}", disable.stderr);
}
