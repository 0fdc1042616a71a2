//! Generates the example API's client from its OpenAPI document (`../api/openapi.json`) with
//! progenitor, at every build: a changed API changes the client, and the code using it must keep
//! compiling. Requests go through a hook (`src/lib.rs`) that sends them with `tessera-client`'s
//! middleware, so every generated method gets Tessera's tokens, renewal and retries.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let document = "../api/openapi.json";
    println!("cargo:rerun-if-changed={document}");
    let text = std::fs::read_to_string(document).map_err(|e| format!("cannot read {document}: {e}"))?;
    let spec: openapiv3::OpenAPI = serde_json::from_str(&text).map_err(|e| format!("{document} is not OpenAPI 3: {e}"))?;
    let inner: proc_macro2::TokenStream = "tessera_client::TesseraAuth".parse()?;
    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Separate)
        .with_inner_type(inner)
        .with_derive("PartialEq");
    let tokens = progenitor::Generator::new(&settings).generate_tokens(&spec).map_err(|e| format!("progenitor: {e}"))?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("example_api.rs");
    std::fs::write(&out, tokens.to_string()).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(())
}
