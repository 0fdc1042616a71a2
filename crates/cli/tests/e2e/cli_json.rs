//! The command line for scripts (SPEC §14): with `--json` every error is one object
//! `{"error": CODE, "message": TEXT}` on stderr, nothing on stdout and a non-zero exit status
//! (2 for a command line clap refuses); messages name the value that was not found; `scope
//! create` prints the scope; the server's tuning flags are `serve`'s. No server runs: each
//! command works on a data directory of its own.

use std::io::Write as _;
use std::process::Stdio;

use serde_json::{Value, json};
use tessera_testkit::{Cli, TempDir};

use crate::common::bin;

/// What one run of `tessera` did.
#[derive(Debug)]
struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `tessera --data-dir DIR ARGS…` (the store's flags first, `--json` only where `args` says),
/// with `env` and `stdin`.
fn tessera(cli: &Cli, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
    let mut command = std::process::Command::new(bin());
    command.arg("--data-dir").arg(&cli.data_dir).args(&cli.global).args(args);
    command.env_remove("TESSERA_MASTER_KEY").envs(env.iter().copied());
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into(),
        stderr: String::from_utf8_lossy(&output.stderr).into(),
    }
}

/// A run that must fail as `--json` says: nothing on stdout, exactly one line on stderr, one
/// object with a string `error` and `message`; returns the object.
fn refused(run: &Run, what: &[&str]) -> Value {
    assert_ne!(run.status, Some(0), "{what:?} must fail: {run:?}");
    assert!(run.status.is_some(), "{what:?} ended by a signal: {run:?}");
    assert_eq!(run.stdout, "", "{what:?} printed on stdout");
    assert_eq!(run.stderr.lines().count(), 1, "{what:?}: one line on stderr: {:?}", run.stderr);
    let error: Value = serde_json::from_str(&run.stderr).unwrap_or_else(|e| panic!("{what:?}: not JSON ({e}): {:?}", run.stderr));
    let object = error.as_object().unwrap_or_else(|| panic!("{what:?}: not an object: {error}"));
    assert!(object["error"].is_string() && object["message"].is_string(), "{what:?}: {error}");
    assert!(object.keys().all(|key| ["error", "message", "field"].contains(&key.as_str())), "{what:?}: {error}");
    error
}

/// A data directory with organization `acme` and its owner `o@acme.test`.
fn with_acme(dir: &TempDir) -> Cli {
    let cli = dir.cli(bin()).unwrap();
    cli.json(&["org", "create", "--name", "acme"]).unwrap();
    cli.json(&["user", "create", "--org", "acme", "--email", "o@acme.test", "--role", "owner"]).unwrap();
    cli
}

#[test]
fn a_command_line_clap_refuses_is_a_usage_error_with_status_2() {
    let dir = TempDir::new("cli-json").unwrap();
    let cli = dir.cli(bin()).unwrap();
    for args in [
        &["--json", "org", "create", "--name", "acme", "--nosuch"][..],
        &["org", "create", "--json"],
        &["audit", "list", "--limit", "many", "--json"],
        &["--json", "org"],
        &["--json", "nosuch"],
        &["--json", "org", "list", "--leeway", "5"],
        &["--json", "--leeway", "5", "serve"],
    ] {
        let run = tessera(&cli, args, &[], "");
        let error = refused(&run, args);
        assert_eq!(error["error"], "usage", "{args:?}: {error}");
        assert_eq!(run.status, Some(2), "{args:?}: clap's exit status");
    }
    let unknown = refused(&tessera(&cli, &["--json", "org", "list", "--leeway", "5"], &[], ""), &[]);
    let message = unknown["message"].as_str().unwrap();
    assert!(message.contains("--leeway") && message.contains("tessera org list"), "names the flag and the usage: {message}");

    // Without --json, clap's text as before.
    let run = tessera(&cli, &["org", "create", "--nosuch"], &[], "");
    assert_eq!(run.status, Some(2));
    assert!(run.stdout.is_empty() && run.stderr.starts_with("error: "), "{run:?}");
    // --help is no error, --json or not.
    let help = tessera(&cli, &["--json", "org", "create", "--help"], &[], "");
    assert_eq!(help.status, Some(0), "{help:?}");
    assert!(help.stdout.contains("--name") && !help.stdout.contains("--leeway"), "server tuning is serve's: {}", help.stdout);
    let serve_help = tessera(&cli, &["serve", "--help"], &[], "");
    assert!(serve_help.stdout.contains("--leeway") && serve_help.stdout.contains("--access-token-ttl"), "{}", serve_help.stdout);
    assert!(!cli.data_dir.join("tessera.db").exists(), "a refused command line touches no store");
}

#[test]
fn not_found_names_the_value_that_was_not_found() {
    let dir = TempDir::new("cli-json").unwrap();
    let cli = with_acme(&dir);
    for (args, message) in [
        (&["--json", "scope", "create", "--org", "nosuch", "x"][..], r#"organization "nosuch" not found"#),
        (&["--json", "user", "disable", "nobody@example.com"], r#"user "nobody@example.com" not found"#),
        (&["user", "update", "nobody@example.com", "--role", "admin", "--json"], r#"user "nobody@example.com" not found"#),
        (&["--json", "client", "show", "cl_nosuch"], r#"client "cl_nosuch" not found"#),
        (&["--json", "client", "disable", "cl_nosuch"], r#"client "cl_nosuch" not found"#),
        (&["--json", "client", "approve", "cl_nosuch", "--org", "acme"], r#"client "cl_nosuch" not found"#),
        (
            &["--json", "client", "create", "--org", "acme", "--owner", "ghost@acme.test", "--name", "c"],
            r#"user "ghost@acme.test" not found"#,
        ),
        (&["--json", "scope", "update", "--org", "acme", "nosuch:read", "--restricted", "true"], r#"scope "nosuch:read" not found"#),
        (&["--json", "idp", "show", "idp_nosuch"], r#"identity provider "idp_nosuch" not found"#),
        (&["--json", "idp", "remove", "idp_nosuch"], r#"identity provider "idp_nosuch" not found"#),
        (&["--json", "user", "list", "--org", "nosuch"], r#"organization "nosuch" not found"#),
        (&["--json", "export", "--org", "nosuch"], r#"organization "nosuch" not found"#),
    ] {
        let error = refused(&tessera(&cli, args, &[], ""), args);
        assert_eq!(error, json!({ "error": "not_found", "message": message }), "{args:?}");
    }
    // The same message without --json, as `error: TEXT`.
    let run = tessera(&cli, &["user", "disable", "nobody@example.com"], &[], "");
    assert!(run.status.is_some_and(|status| status != 0) && run.stdout.is_empty(), "{run:?}");
    assert_eq!(run.stderr, "error: user \"nobody@example.com\" not found\n");
}

#[test]
fn refusals_carry_their_code_and_field_and_never_a_secret() {
    let dir = TempDir::new("cli-json").unwrap();
    let cli = with_acme(&dir);
    cli.json(&["org", "create", "--name", "beta"]).unwrap();
    let secret = "s3cret-that-never-shows";
    let idp = |issuer: &str| {
        let args = ["--json", "idp", "add", "--org", "acme", "--name", "Acme SSO", "--issuer", issuer, "--client-id", "tessera"];
        tessera(&cli, &[&args[..], &["--client-secret-stdin"]].concat(), &[], &format!("{secret}\n"))
    };

    let bad_issuer = idp("ftp://login.acme.example");
    let error = refused(&bad_issuer, &["idp", "add"]);
    assert_eq!((&error["error"], &error["field"]), (&json!("invalid"), &json!("issuer")), "{error}");
    assert!(!bad_issuer.stderr.contains(secret));
    assert_eq!(idp("https://login.acme.example").status, Some(0), "the provider is added");
    let again = idp("https://login.acme.example");
    let error = refused(&again, &["idp", "add", "again"]);
    assert_eq!(error["error"], "conflict", "{error}");
    assert!(error["message"].as_str().unwrap().contains("Acme SSO") && !again.stderr.contains(secret), "{error}");

    let args = ["--json", "org", "update", "beta", "--require-sso", "true"];
    let error = refused(&tessera(&cli, &args, &[], ""), &args);
    assert_eq!((&error["error"], &error["field"]), (&json!("invalid"), &json!("require_sso")), "{error}");
    let args = ["--json", "org", "create", "--name", "acme"];
    let error = refused(&tessera(&cli, &args, &[], ""), &args);
    assert_eq!(error["error"], "invalid", "{error}");
    assert!(error["message"].as_str().unwrap().contains(r#""acme""#), "names the name taken: {error}");
    assert!(error.get("field").is_none(), "no field when the rule names none: {error}");

    let password = "qwerty123456";
    let args = ["--json", "user", "create", "--org", "acme", "--email", "m@acme.test", "--role", "member", "--password-stdin"];
    let weak = tessera(&cli, &args, &[], &format!("{password}\n"));
    let error = refused(&weak, &args);
    assert_eq!(error["error"], "invalid", "{error}");
    assert!(!weak.stderr.contains(password), "the password is never in the message: {error}");
    let args = ["--json", "user", "create", "--org", "acme", "--email", "k@acme.test", "--role", "king"];
    let error = refused(&tessera(&cli, &args, &[], ""), &args);
    assert_eq!(error["error"], "invalid_input", "{error}");
    assert!(error["message"].as_str().unwrap().contains("king"), "{error}");
}

#[test]
fn configuration_errors_are_invalid_config_and_every_command_reads_the_servers_settings_from_the_environment() {
    let dir = TempDir::new("cli-json").unwrap();
    let cli = with_acme(&dir);
    let bad_file = dir.path().join("bad.toml");
    std::fs::write(&bad_file, "listen = 5\n").unwrap();
    let bad_file = bad_file.to_str().unwrap();
    let missing_file = dir.path().join("missing.toml");
    let missing_file = missing_file.to_str().unwrap();
    for (args, env, says) in [
        (&["--json", "--log", "tessera=loud", "org", "list"][..], &[][..], "--log"),
        (&["--json", "--config", bad_file, "org", "list"], &[], "invalid config file"),
        (&["--json", "--config", missing_file, "org", "list"], &[], "cannot read the config file"),
        (&["--json", "org", "list"], &[("TESSERA_LEEWAY", "soon")], "TESSERA_LEEWAY"),
        (&["--json", "org", "list"], &[("TESSERA_ACCESS_TOKEN_TTL", "0")], "at least 1 second"),
        (&["--json", "org", "list"], &[("TESSERA_SIGNING_ALG", "HS256")], "HS256"),
    ] {
        let error = refused(&tessera(&cli, args, env, ""), args);
        assert_eq!(error["error"], "invalid_config", "{args:?} {env:?}: {error}");
        assert!(error["message"].as_str().unwrap().contains(says), "{args:?} {env:?}: {error}");
    }
    // A setting of the server from the environment or the file is one every command takes.
    let good = tessera(&cli, &["--json", "org", "list"], &[("TESSERA_LEEWAY", "5")], "");
    assert_eq!(good.status, Some(0), "{good:?}");
}

#[test]
fn an_import_file_that_cannot_be_read_is_io_and_one_that_does_not_parse_is_invalid_input() {
    let dir = TempDir::new("cli-json").unwrap();
    let cli = dir.cli(bin()).unwrap();
    let missing = dir.path().join("nosuch.json");
    let args = ["--json", "import", missing.to_str().unwrap()];
    let error = refused(&tessera(&cli, &args, &[], ""), &args);
    assert_eq!(error["error"], "io", "{error}");
    assert!(error["message"].as_str().unwrap().contains("nosuch.json"), "{error}");
    let garbled = dir.path().join("garbled.json");
    std::fs::write(&garbled, "{ not json").unwrap();
    let args = ["--json", "import", garbled.to_str().unwrap()];
    let error = refused(&tessera(&cli, &args, &[], ""), &args);
    assert_eq!(error["error"], "invalid_input", "{error}");
    assert!(error["message"].as_str().unwrap().contains("garbled.json"), "{error}");
}

#[test]
fn scope_create_prints_the_scope_as_scope_list_does() {
    let dir = TempDir::new("cli-json").unwrap();
    let cli = with_acme(&dir);
    let read = cli.json(&["scope", "create", "--org", "acme", "projects:read"]).unwrap();
    assert_eq!(read, json!({ "name": "projects:read", "restricted": false }));
    let admin = cli.json(&["scope", "create", "--org", "acme", "projects:admin", "--restricted"]).unwrap();
    assert_eq!(admin, json!({ "name": "projects:admin", "restricted": true }));
    let again = cli.json(&["scope", "create", "--org", "acme", "projects:admin"]).unwrap();
    assert_eq!(again, admin, "an existing scope is printed as it stands, unchanged");
    let list = cli.json(&["scope", "list", "--org", "acme"]).unwrap();
    for scope in [&read, &admin] {
        assert!(list.as_array().unwrap().contains(scope), "{scope} in {list}");
    }
    let openid = cli.json(&["scope", "create", "--org", "acme", "openid"]).unwrap();
    assert_eq!(openid, json!({ "name": "openid", "restricted": false }), "a built-in scope: a no-op");
}
