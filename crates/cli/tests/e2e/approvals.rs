//! Applications awaiting an organization's approval (SPEC §16): a member authorizing one that
//! needs it puts it on the admins' list, with its name, owner and scopes; Reject takes it off
//! until a member asks again, Approve from the list lets it in, and the admin API shows and
//! rejects the same requests.

use serde_json::Value;

use crate::admin_api::{Api, owner_token};
use crate::agent::*;
use crate::common::*;

#[tokio::test]
async fn a_members_attempt_waits_for_the_admins_who_reject_or_approve_it_from_the_list() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--grant", "refresh_token", "--requires-org-approval"]);
    let mut owner = Agent::new(&server);
    let waiting = |page: &str| page.contains(&format!(r#"<input type="hidden" name="client_id" value="{}">"#, client.client_id));
    assert!(owner.login(&fixture.owner_email, OWNER_PASSWORD).await.status() == 303);
    let page = owner.get("/admin/approvals").await.text().await.unwrap();
    assert!(page.contains(r#"id="none-waiting""#) && !waiting(&page), "nothing waits yet: {page}");

    // A member of the organization authorizes it: the code is refused, and the admins see it.
    let member = format!("dev@{}.test", fixture.org_name);
    add_user(&server, &fixture, &member, "member", "member password 1", &[]);
    let mut dev = Agent::new(&server);
    assert_eq!(dev.login(&member, "member password 1").await.status(), 303);
    for _ in 0..2 {
        let code = response_params(&dev.authorize(&code_query(&client, "&scope=read"), "allow").await)["code"].clone();
        assert_oauth_error(redeem(&server, &client, &code, &[]).await, 400, "unauthorized_client").await;
    }
    let page = owner.get("/admin/approvals").await.text().await.unwrap();
    assert!(waiting(&page), "{page}");
    assert!(page.contains("Web App") && page.contains(&fixture.owner_email) && page.contains(&member), "name, owner, who asked");
    assert!(page.contains(">read<") && page.contains("(2 times)"), "its scopes and how often: {page}");

    // The admin API lists the same request.
    let api = Api::new(&server, &owner_token(&server, &fixture).await);
    let listed: Value = api.ok("/approval-requests").await;
    assert_eq!(listed["items"][0]["client_id"], client.client_id.as_str());
    assert_eq!(listed["items"][0]["requests"], 2);

    // Reject: off the list, still not approved; asked again, back on it.
    let response = owner.submit("/admin/approvals/reject", &page, &["csrf_token"], &[("client_id", &client.client_id)]).await;
    let page = owner.follow(response).await.text().await.unwrap();
    assert!(!waiting(&page) && page.contains("The request is rejected"), "{page}");
    let code = response_params(&dev.authorize(&code_query(&client, "&scope=read"), "allow").await)["code"].clone();
    assert_oauth_error(redeem(&server, &client, &code, &[]).await, 400, "unauthorized_client").await;
    let page = owner.get("/admin/approvals").await.text().await.unwrap();
    assert!(waiting(&page), "asked again: waiting again");

    // Approve from the list: it leaves the list for the approved ones, and the member's next code works.
    let response = owner.submit("/admin/approvals", &page, &["csrf_token"], &[("client_id", &client.client_id)]).await;
    let page = owner.follow(response).await.text().await.unwrap();
    assert!(page.contains("The application is approved"), "{page}");
    assert!(page.contains(r#"id="none-waiting""#), "{page}");
    assert!(page.contains(&format!("<code>{}</code>", client.client_id)), "approved: {page}");
    let code = response_params(&dev.authorize(&code_query(&client, "&scope=read"), "allow").await)["code"].clone();
    assert_eq!(redeem(&server, &client, &code, &[]).await.status(), 200);

    // The admin API rejects too, and a request that is not there is 404.
    let path = format!("/approval-requests/{}", client.client_id);
    assert_eq!(api.send(reqwest::Method::DELETE, &path, None).await.status(), 404);
    let log = server.cli.json(&["audit", "list", "--org", &fixture.org_name]).unwrap();
    let actions: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "approval_requested").count(), 2, "once per request: {actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "approval_rejected").count(), 1);
}
