//! The README's "Five minutes with Tessera" runs as written (SPEC §16): a fresh server in an
//! empty directory, then every `sh` block of that section, in order, in one bash with `set -e`,
//! as a reader would paste them. Blocks fenced as "```sh example" show a command's shape with
//! placeholders (`…`) and are not run; the first block, which builds the release binary and
//! starts it, is what this test does itself with the binary under test. The only change to the
//! text is the server's address (another free port than 8080, so tests can run side by side).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;

const SECTION: &str = "## Five minutes with Tessera";

/// The section's runnable blocks, in order: every ```sh block but the first (build and start)
/// and those fenced "```sh example".
fn walk_through(readme: &str) -> Vec<String> {
    let start = readme.find(SECTION).expect("the README has its walk-through");
    let section = &readme[start + SECTION.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else { continue };
        let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        if info.trim() == "sh" {
            blocks.push(body.join("\n"));
        }
    }
    assert!(blocks.len() >= 2, "the walk-through has its blocks: {blocks:?}");
    assert!(blocks[0].contains("tessera serve &"), "the first block starts the server: {}", blocks[0]);
    blocks.remove(0);
    blocks
}

/// The server the first block starts, stopped by its PID when the test ends.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_readme_walk_through_runs_as_written_against_a_fresh_server() {
    let readme = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let blocks = walk_through(&readme);
    let dir = tessera_testkit::TempDir::new("readme").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    // `tessera serve &` in an empty directory: ./tessera-data/ is made there.
    let _serving = Serving(
        Command::new(bin())
            .arg("serve")
            .env("TESSERA_LISTEN", &address)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let up = eventually(Duration::from_secs(30), || std::net::TcpStream::connect(&address).is_ok());
    assert!(up, "the server listens on {address}");

    // `alias tessera=…` of the first block, for a non-interactive bash.
    let script =
        format!("set -euo pipefail\ntessera() {{ '{}' \"$@\"; }}\n{}\n", bin(), blocks.join("\n").replace("127.0.0.1:8080", &address));
    let output = Command::new("bash").arg("-c").arg(&script).current_dir(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the walk-through failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    // curl -s succeeds on an error answer too: what came back is checked here.
    assert!(!stdout.contains("\"error\""), "an endpoint answered an error:\n{stdout}");
    let token: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("token.json")).unwrap()).unwrap();
    assert_eq!(token["token_type"], "Bearer", "{token}");
    assert!(stdout.contains("\"active\":true"), "introspection says the token is active:\n{stdout}");
}
