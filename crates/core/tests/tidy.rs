//! Tidy check: the core stays sans-IO. Its manifest may not depend on a runtime, web, database
//! or HTTP-client crate, and its source may not read the clock.

use std::path::Path;

#[test]
fn core_depends_on_no_io_crate() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap_or_default();
    let deps = manifest.split("[dependencies]").nth(1).unwrap_or_default();
    for forbidden in ["tokio", "axum", "hyper", "sqlx", "reqwest", "tower", "ring", "rand"] {
        assert!(!deps.lines().any(|l| l.trim_start().starts_with(forbidden)), "tessera-core must not depend on {forbidden}");
    }
}

#[test]
fn core_reads_no_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(src).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for forbidden in ["SystemTime::now", "Instant::now", "Utc::now", "thread_rng", "OsRng"] {
            assert!(!text.contains(forbidden), "{} uses {forbidden}", entry.path().display());
        }
    }
}
