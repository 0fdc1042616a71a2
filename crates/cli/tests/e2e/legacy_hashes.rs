//! SPEC §13: people moved in from another vendor keep their passwords. Their hashes, made by
//! libraries nobody here wrote (Python's bcrypt, passlib and argon2-cffi:
//! `interop/python/legacy_hashes.py`), are brought in with `user create --password-hash-stdin`;
//! each person signs in through the login page or `POST /sessions`, and afterwards the store
//! holds an Argon2id hash of Tessera's parameters, which the next sign-in verifies. A hash whose
//! verification would cost too much, or that Tessera cannot read, is refused where it enters.

use serde_json::{Value, json};

use crate::agent::Agent;
use crate::common::*;

pub const PASSWORD: &str = "moved in with this password";

/// Hashes of [`PASSWORD`] by scheme, from the independent libraries.
pub fn hashes() -> Value {
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/python/legacy_hashes.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(PASSWORD)
        .output()
        .expect("python3 runs (scripts/test installs bcrypt, passlib and argon2-cffi)");
    assert!(output.status.success(), "legacy_hashes.py: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn bring(server: &Server, fixture: &Fixture, email: &str, hash: &str) -> Result<Value, String> {
    let args = ["user", "create", "--org", &fixture.org_name, "--email", email, "--role", "member", "--password-hash-stdin"];
    server.cli.json_with_stdin(&args, &format!("{hash}\n")).map_err(|e| e.to_string())
}

async fn stored_hash(server: &Server, email: &str) -> String {
    let sql = format!("SELECT password_hash FROM people WHERE email = '{email}'");
    store_texts(&server.cli, &sql).await.pop().expect("the person's row")
}

async fn session_api(server: &Server, email: &str, password: &str) -> u16 {
    let body = json!({ "email": email, "password": password });
    http().post(server.url("/sessions")).json(&body).send().await.unwrap().status().as_u16()
}

async fn login_page(server: &Server, email: &str, password: &str) -> u16 {
    Agent::new(server).login(email, password).await.status().as_u16()
}

#[tokio::test]
async fn brought_hashes_sign_in_once_and_are_argon2id_afterwards() {
    let (server, fixture) = start();
    let hashes = hashes();
    for (n, (scheme, hash)) in hashes.as_object().unwrap().iter().enumerate() {
        let hash = hash.as_str().unwrap();
        let email = format!("moved{n}@acme.test");
        bring(&server, &fixture, &email, hash).unwrap_or_else(|e| panic!("{scheme}: {e}"));
        assert_eq!(stored_hash(&server, &email).await, hash, "{scheme}: stored as brought");
        // A wrong password is refused and changes nothing.
        assert_eq!(login_page(&server, &email, "not the password at all").await, 401, "{scheme}: refused");
        assert_eq!(stored_hash(&server, &email).await, hash);
        // The first sign-in through one door, the next through the other.
        let (first, second): (u16, u16) = if n % 2 == 0 {
            (login_page(&server, &email, PASSWORD).await, session_api(&server, &email, PASSWORD).await)
        } else {
            let first = session_api(&server, &email, PASSWORD).await;
            (first, login_page(&server, &email, PASSWORD).await)
        };
        let (expected_first, expected_second) = if n % 2 == 0 { (303, 201) } else { (201, 303) };
        assert_eq!((first, second), (expected_first, expected_second), "{scheme}");
        let upgraded = stored_hash(&server, &email).await;
        assert!(upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{scheme}: re-hashed, the old one gone: {upgraded}");
    }
    let audit = crate::login_security::audit_entries(&server, "password_hash_upgraded");
    assert_eq!(audit.len(), hashes.as_object().unwrap().len(), "{audit:?}");
    assert!(!format!("{audit:?}").contains("$2b$"), "the audit names the scheme, never the hash");
}

#[tokio::test]
async fn hashes_too_costly_or_unreadable_are_refused_where_they_enter() {
    let (server, fixture) = start();
    let refused = [
        // 4 GiB of Argon2 memory per verification.
        ("$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA", "the limit"),
        ("$2b$17$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "the limit"),
        ("$pbkdf2-sha256$50000000$c2FsdA$aGFzaA", "the limit"),
        ("$scrypt$ln=22,r=8,p=1$c2FsdA$aGFzaA", "the limit"),
        ("$md5$abc$def", "unknown password hash scheme"),
        ("5f4dcc3b5aa765d61d8327deb882cf99", "starts with $"),
    ];
    for (n, (hash, why)) in refused.iter().enumerate() {
        let email = format!("refused{n}@acme.test");
        let error = bring(&server, &fixture, &email, hash).expect_err(hash);
        assert!(error.contains(why), "{hash}: {error}");
        let users = server.cli.json(&["user", "list", "--org", &fixture.org_name]).unwrap();
        assert!(!users.to_string().contains(&email), "nothing half-made: {users}");
    }
}
