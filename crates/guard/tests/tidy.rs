//! The libraries for the protected API and its customers stand apart from the server: they
//! depend on the wire types (and the guard on the JOSE code and the sans-IO core, for the one
//! token-lifetime rule), never on the store, service or server (ARCHITECTURE.md).

#[test]
fn guard_and_client_depend_on_no_server_crate() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (manifest, allowed) in
        [("guard/Cargo.toml", &["tessera-proto", "tessera-jose", "tessera-core"][..]), ("client/Cargo.toml", &[][..])]
    {
        let text = std::fs::read_to_string(root.join(manifest)).expect("manifest");
        let dependencies = text.split("[dependencies]").nth(1).and_then(|rest| rest.split("\n[").next()).expect("a [dependencies] table");
        for line in dependencies.lines() {
            let name = line.split(['.', ' ', '=']).next().unwrap_or_default();
            if name.starts_with("tessera-") {
                assert!(allowed.contains(&name), "{manifest} depends on {name}");
            }
        }
    }
}
