// Cargo applies a package's build-dependencies only when it has a build script; this one makes
// the proc-macro and build-script crates (syn, serde, ...) share one feature set too.
fn main() {}
