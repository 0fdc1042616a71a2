//! SPEC §13: `tessera export` writes the documented format (`docs/migration.md`), which an
//! independent validator (Python's jsonschema) checks against `docs/migration.schema.json`: every
//! organization with its scopes, people with their memberships, clients with every setting;
//! secrets only with `--include-secrets`; the file it is written to readable by its owner only.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use crate::common::*;

/// Exports with `args` to a file in the server's data directory; its mode and its JSON.
fn export(server: &Server, args: &[&str]) -> (u32, Value) {
    let file = server.cli.data_dir.join("export.json");
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    assert!(server.cli.run_to_file(&all, &file).unwrap(), "tessera export {args:?}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    let text = std::fs::read_to_string(&file).unwrap();
    validate(&file);
    std::fs::remove_file(&file).unwrap();
    (mode, serde_json::from_str(&text).unwrap())
}

/// The independent check of the file against the published JSON Schema.
fn validate(file: &Path) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/migration.schema.json");
    let check = "import json, sys, jsonschema\n\
                 schema = json.load(open(sys.argv[1]))\n\
                 jsonschema.Draft202012Validator.check_schema(schema)\n\
                 jsonschema.validate(json.load(open(sys.argv[2])), schema)";
    let output = std::process::Command::new("python3").args(["-c", check]).arg(schema).arg(file).output().expect("python3 runs");
    assert!(output.status.success(), "the export does not follow docs/migration.schema.json: {}", String::from_utf8_lossy(&output.stderr));
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|item| item[key] == value).unwrap_or_else(|| panic!("no {key}={value} in {list}"))
}

#[tokio::test]
async fn export_writes_the_documented_format_with_secrets_only_when_asked() {
    let (server, fixture) = start();
    let other = Fixture::create(&server.cli).unwrap();
    // A person in both organizations, a service user, a client with settings beyond the defaults.
    server.cli.json(&["user", "create", "--org", &other.org_name, "--email", &fixture.owner_email, "--role", "admin"]).unwrap();
    server
        .cli
        .json(&["user", "create", "--org", &fixture.org_name, "--email", "robot@acme.test", "--role", "member", "--service"])
        .unwrap();
    let flags =
        ["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb", "--scope", "read", "--allowed-ip", "10.0.0.0/8"];
    let (web, web_client) = add_client(&server, &fixture, "web", &[&flags[..], &["--access-token-ttl", "600", "--require-dpop"]].concat());

    let (mode, all) = export(&server, &[]);
    assert_eq!(mode, 0o600, "readable by its owner only");
    assert_eq!(all["format"], "tessera-export/1");
    let org = find(&all["organizations"], "id", &fixture.org_id);
    assert_eq!(org["name"], fixture.org_name.as_str());
    assert_eq!(find(&org["scopes"], "name", "admin")["restricted"], true);
    let owner = find(&all["people"], "email", &fixture.owner_email);
    let orgs: Vec<&str> = owner["memberships"].as_array().unwrap().iter().map(|m| m["organization"].as_str().unwrap()).collect();
    assert!(orgs.contains(&fixture.org_id.as_str()) && orgs.contains(&other.org_id.as_str()), "one person, two memberships: {owner}");
    assert!(owner.get("password_hash").is_none(), "no hash without --include-secrets");
    let robot = find(&all["people"], "email", "robot@acme.test");
    assert_eq!(robot["memberships"][0]["service"], true);
    let exported = find(&all["clients"], "id", &web_client.client_id);
    for key in
        ["name", "grants", "scopes", "redirect_uris", "allowed_ips", "access_token_ttl", "dpop_bound_access_tokens", "pkce", "status"]
    {
        assert_eq!(exported[key], web[key], "{key}");
    }
    assert_eq!(exported["owner"], web["owner_id"]);
    assert!(exported.get("client_secret").is_none() && !all.to_string().contains(&web_client.client_secret), "no secret without the flag");
    assert!(!all.to_string().contains("session-api-"), "the built-in session clients are made again on first use");

    let (_, with_secrets) = export(&server, &["--include-secrets", "--org", &fixture.org_name]);
    assert_eq!(find(&with_secrets["clients"], "id", &web_client.client_id)["client_secret"], web_client.client_secret.as_str());
    let hash = find(&with_secrets["people"], "email", &fixture.owner_email)["password_hash"].as_str().unwrap().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(find(&with_secrets["people"], "email", "robot@acme.test").get("password_hash").is_none(), "a service user has none");
    assert_eq!(with_secrets["organizations"].as_array().unwrap().len(), 1, "--org: that organization only");
    let memberships = &find(&with_secrets["people"], "email", &fixture.owner_email)["memberships"];
    assert_eq!(memberships.as_array().unwrap().len(), 1, "--org: the memberships there only: {memberships}");
}
