//! SPEC §13: a company moves its customers in with `tessera import`. A file with clients that
//! keep their old ids and secrets and people whose hashes were made by libraries nobody here
//! wrote (`interop/python/legacy_hashes.py`) is imported into a running server: the clients get
//! tokens with their old credentials on the canonical path and under their profile's, the people
//! sign in through the login page and `POST /sessions` (and hold Argon2id hashes afterwards). A bad
//! file imports nothing and names each problem; importing twice changes nothing the second time;
//! export, then import into a fresh store, round-trips.

use serde_json::{Value, json};

use crate::agent::Agent;
use crate::common::*;
use crate::legacy_hashes::{PASSWORD, hashes};

const ORG: &str = "org_globex_legacy";
const APP: &str = "legacy.app-1";
const APP_SECRET: &str = "the-old-vendor's-secret_1";
const SERVICE: &str = "svc~2";
const NEWCOMER: &str = "newcomer@globex.test";

/// The file a company writes from its old vendor's data.
fn moving_file() -> Value {
    let hashes = hashes();
    let mut people: Vec<Value> = hashes
        .as_object()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(n, (_, hash))| {
            json!({
                "id": format!("legacy|{n}"),
                "email": format!("user{n}@globex.test"),
                "password_hash": hash,
                "memberships": [{ "id": format!("auth0|{n}"), "organization": ORG, "role": if n == 0 { "owner" } else { "member" } }],
            })
        })
        .collect();
    // Someone whose hash the old vendor would not give: invited to choose a password.
    people.push(json!({
        "id": "legacy|nohash",
        "email": NEWCOMER,
        "memberships": [{ "id": "auth0|nohash", "organization": ORG, "role": "member" }],
    }));
    json!({
        "format": "tessera-export/1",
        "exported_at": 1_700_000_000,
        "organizations": [{ "id": ORG, "name": "Globex", "scopes": [{ "name": "read" }, { "name": "admin", "restricted": true }] }],
        "people": people,
        "clients": [
            {
                "id": APP, "organization": ORG, "name": "Billing sync", "owner": "auth0|0", "run_as": "auth0|0", "status": "on",
                "token_endpoint_auth_method": "client_secret_post", "grants": ["client_credentials"], "scopes": ["read"],
                "pkce": "required", "client_secret": APP_SECRET,
            },
            {
                "id": SERVICE, "organization": ORG, "name": "Reports", "owner": "auth0|0", "run_as": "auth0|0", "status": "on",
                "token_endpoint_auth_method": "client_secret_basic", "grants": ["client_credentials"], "scopes": ["read"], "pkce": "required",
            },
        ],
    })
}

/// `tessera import` of `file` (written to the data directory) with `extra` flags.
fn import(server: &Server, file: &Value, extra: &[&str]) -> Result<Value, String> {
    let path = server.cli.data_dir.join("import.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let mut args = vec!["import", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    server.cli.json(&args).map_err(|e| e.to_string())
}

async fn client_credentials(server: &Server, path: &str, id: &str, secret: &str, basic: bool) -> reqwest::Response {
    let grant = [("grant_type", "client_credentials")];
    if basic {
        post_basic(server, path, id, secret, &grant).await
    } else {
        post_form(server, path, &[grant[0], ("client_id", id), ("client_secret", secret)]).await
    }
}

fn created(report: &Value, kind: &str) -> usize {
    report["created"][kind].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_company_moves_in_with_its_clients_ids_secrets_and_passwords() {
    let (server, _) = start_with(ServerOptions { serve: vec!["--profile".into(), "blueconic".into()], ..ServerOptions::default() });
    let file = moving_file();
    let people = file["people"].as_array().unwrap().len();
    let with_hashes = people - 1;

    // A dry run says what it would do and writes nothing.
    let planned = import(&server, &file, &["--dry-run"]).unwrap();
    assert_eq!((planned["dry_run"].as_bool(), created(&planned, "people"), created(&planned, "clients")), (Some(true), people, 2));
    assert!(server.cli.json(&["user", "list", "--org", ORG]).is_err(), "nothing written by a dry run");
    assert_eq!(planned["invitations"][0]["email"], NEWCOMER, "whom it would invite");
    assert!(planned["invitations"][0].get("link").is_none(), "and no link made");

    let report = import(&server, &file, &["--issuer", &server.base]).unwrap();
    assert_eq!((created(&report, "organizations"), created(&report, "memberships"), created(&report, "clients")), (1, people, 2));
    let made = &report["client_secrets_made"];
    assert_eq!(made.as_array().unwrap().len(), 1, "a secret is made for the client that came without one: {made}");
    assert_eq!(made[0]["client_id"], SERVICE);
    let made_secret = made[0]["client_secret"].as_str().unwrap().to_owned();

    // The old credentials work at once, on the canonical path and the profile's (BlueConic: form body).
    for (path, basic) in [("/oauth2/token", false), ("/rest/v2/oauth/token", false)] {
        let response = client_credentials(&server, path, APP, APP_SECRET, basic).await;
        assert_eq!(response.status(), 200, "{path}");
        let token: Value = response.json().await.unwrap();
        let claims = jwt_parts(token["access_token"].as_str().unwrap()).1;
        assert_eq!((claims["client_id"].as_str(), claims["sub"].as_str()), (Some(APP), Some("auth0|0")), "ids kept: {claims}");
    }
    assert_eq!(client_credentials(&server, "/oauth2/token", SERVICE, &made_secret, true).await.status(), 200);
    assert_eq!(client_credentials(&server, "/oauth2/token", APP, "a wrong secret", false).await.status(), 401);

    // The newcomer's invitation: a link (printed, as mail is off here) where they choose a password.
    let invitations = report["invitations"].as_array().unwrap();
    assert_eq!(invitations.len(), 1, "{invitations:?}");
    assert_eq!(invitations[0]["email"], NEWCOMER);
    let link = invitations[0]["link"].as_str().unwrap().to_owned();
    let mut newcomer = Agent::new(&server);
    let page = newcomer.get(&link).await.text().await.unwrap();
    let chosen = "the newcomer's own password";
    let set = newcomer.submit(&link, &page, &["csrf_token"], &[("new_password", chosen), ("confirm_password", chosen)]).await;
    assert!(set.status().is_redirection() || set.status() == 200, "{}", set.status());
    assert_eq!(Agent::new(&server).login(NEWCOMER, chosen).await.status(), 303, "the newcomer signs in");

    // People sign in with the passwords they had, by the page or the session API.
    for n in 0..with_hashes {
        let email = format!("user{n}@globex.test");
        let status = if n % 2 == 0 {
            Agent::new(&server).login(&email, PASSWORD).await.status().as_u16()
        } else {
            let body = json!({ "email": email, "password": PASSWORD });
            http().post(server.url("/sessions")).json(&body).send().await.unwrap().status().as_u16()
        };
        assert!(status == 303 || status == 201, "{email}: {status}");
        let stored = store_texts(&server.cli, &format!("SELECT password_hash FROM people WHERE email = '{email}'")).await;
        assert!(stored[0].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{email}: {}", stored[0]);
    }

    // Ids with `.` and `~` work wherever an id goes: the CLI, the portal's pages.
    assert_eq!(server.cli.json(&["client", "show", SERVICE]).unwrap()["client_id"], SERVICE);
    let mut owner = Agent::new(&server);
    assert_eq!(owner.login("user0@globex.test", PASSWORD).await.status(), 303);
    for id in [APP, SERVICE] {
        let page = owner.get(&format!("/settings/api-clients/{id}")).await;
        assert_eq!(page.status(), 200, "{id}");
        assert!(page.text().await.unwrap().contains(&format!("<code id=\"client-id\">{id}</code>")), "{id}");
    }

    // The same file again: nothing to do (the people keep the passwords they now sign in with).
    let again = import(&server, &file, &[]).unwrap();
    assert_eq!((again["created"].clone(), again["changed"].clone()), (json!({}), json!({})), "{again}");
    assert_eq!(client_credentials(&server, "/oauth2/token", APP, APP_SECRET, false).await.status(), 200);

    // Export everything, import it into a fresh store (before its first start, which would make
    // a "default" organization of its own), start a server on it and use it there.
    let exported = server.cli.data_dir.join("moved.json");
    assert!(server.cli.run_to_file(&["export", "--include-secrets"], &exported).unwrap());
    let fresh = tessera_testkit::TempDir::new("moved").unwrap();
    let cli = fresh.cli(bin()).unwrap();
    std::fs::create_dir_all(&cli.data_dir).unwrap();
    let round = cli.json(&["import", exported.to_str().unwrap()]).unwrap();
    assert_eq!(round["changed"], json!({}), "{round}");
    let elsewhere = Server::start_in(cli, &[]).unwrap();
    assert_eq!(client_credentials(&elsewhere, "/oauth2/token", APP, APP_SECRET, false).await.status(), 200);
    assert_eq!(client_credentials(&elsewhere, "/oauth2/token", SERVICE, &made_secret, true).await.status(), 200);
    assert_eq!(Agent::new(&elsewhere).login("user1@globex.test", PASSWORD).await.status(), 303);
    let again_there = elsewhere.cli.json(&["import", exported.to_str().unwrap()]).unwrap();
    assert_eq!((again_there["created"].clone(), again_there["changed"].clone()), (json!({}), json!({})), "{again_there}");
}

#[tokio::test]
async fn a_bad_file_imports_nothing_and_names_each_problem() {
    let (server, _) = start();
    let path = server.cli.data_dir.join("broken.json");
    std::fs::write(&path, "{\"format\": \"tessera-export/1\", \"organizations\": [").unwrap();
    let broken = server.cli.json(&["import", path.to_str().unwrap()]).unwrap_err().to_string();
    assert!(broken.contains("line 1"), "the place of a JSON error: {broken}");

    let mut file = moving_file();
    file["format"] = json!("tessera-export/9");
    let version = import(&server, &file, &[]).unwrap_err();
    assert!(version.contains("tessera-export/9") && version.contains("tessera-export/1"), "{version}");

    // One bad record of each kind among good ones: every problem named, nothing written.
    let mut file = moving_file();
    file["format"] = json!("tessera-export/1");
    file["people"][1]["password_hash"] = json!("$md5$abc$def");
    file["people"][2]["memberships"][0]["role"] = json!("superuser");
    file["clients"][1]["grants"] = json!(["client_credentials", "password"]);
    file["clients"][0]["run_as"] = json!("auth0|nobody");
    let refused = import(&server, &file, &[]).unwrap_err();
    for named in [
        "people[1] (legacy|1): password_hash",
        "people[2] (legacy|2).memberships[0] (auth0|2): role",
        "clients[1] (svc~2): grants",
        "clients[0] (legacy.app-1): run_as",
    ] {
        assert!(refused.contains(named), "names {named:?}: {refused}");
    }
    assert!(server.cli.json(&["user", "list", "--org", ORG]).is_err(), "nothing imported");

    let mut file = moving_file();
    file["clients"][0]["unknown_setting"] = json!(true);
    let unknown = import(&server, &file, &[]).unwrap_err();
    assert!(unknown.contains("clients[0]") && unknown.contains("unknown_setting"), "{unknown}");
}
