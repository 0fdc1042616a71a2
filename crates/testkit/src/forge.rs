//! Tokens that are validly signed yet wrong (SECURITY.md §7: "tokens that must be validly signed
//! yet wrong use a key the component under test trusts").
//!
//! [`Forge`] unseals a running server's current signing key through the project's own public
//! APIs (the store, the master key, `SecretKeys`, `SigningKey`) and signs whatever header and
//! claims a test gives it, so a test controls `alg`, `typ`, `kid`, `crit`, `jku`, `aud`, `exp`…
//! while the signature stays one the server accepts.

use std::path::PathBuf;

use anyhow::{Context, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use tessera_jose::{Algorithm, SigningKey};
use tessera_service::secrets::{MasterKey, SecretKeys};
use tessera_store::KeyState;

use crate::Cli;

/// A server's signing key, unsealed for a test.
pub struct Forge {
    key: SigningKey,
}

impl std::fmt::Debug for Forge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forge").field("kid", &self.key.kid()).finish_non_exhaustive()
    }
}

impl Forge {
    /// The key that currently signs for the server `cli` works on (`server.cli`): its store
    /// (`--database-url`, else `tessera.db` in the data directory) and its master key file.
    pub async fn current(cli: &Cli) -> anyhow::Result<Self> {
        let flag = |name: &str| cli.global.iter().position(|f| f == name).and_then(|at| cli.global.get(at + 1)).cloned();
        let url = flag("--database-url").unwrap_or_else(|| format!("sqlite://{}", cli.data_dir.join("tessera.db").display()));
        let key_file = flag("--master-key-file").map_or_else(|| cli.data_dir.join("master.key"), PathBuf::from);
        let store = tessera_store::open(&url).await.with_context(|| format!("cannot open the store {url}"))?;
        let records = store.signing_keys().await.context("cannot read the signing keys")?;
        drop(store);
        let master_text = std::fs::read_to_string(key_file).context("cannot read the master key file")?;
        let master = MasterKey::parse(&master_text).context("master.key")?;
        let secrets = SecretKeys::new(&master).context("cannot derive the secret keys")?;
        let record = records.iter().find(|r| r.state == KeyState::Current).context("the store has no current signing key")?;
        let alg = Algorithm::parse(&record.alg).with_context(|| format!("unknown key algorithm {:?}", record.alg))?;
        let der = secrets.open(&format!("signing-key:{}", record.kid), &record.private_sealed).context("cannot unseal the signing key")?;
        let key = SigningKey::from_pkcs8(alg, &der).context("cannot load the signing key")?;
        ensure!(key.kid() == record.kid, "the unsealed key's thumbprint {} is not its kid {}", key.kid(), record.kid);
        Ok(Self { key })
    }

    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The JOSE name of the key's algorithm (`ES256`, `EdDSA`, `RS256`).
    pub fn alg(&self) -> &'static str {
        self.key.algorithm().name()
    }

    /// The public key as the server publishes it in its JWKS.
    pub fn public_jwk(&self) -> anyhow::Result<Value> {
        Ok(serde_json::to_value(self.key.public_jwk())?)
    }

    /// The header the server itself would write: `{alg, typ, kid}`.
    pub fn header(&self, typ: &str) -> Value {
        json!({ "alg": self.alg(), "typ": typ, "kid": self.kid() })
    }

    /// A compact JWS of `header` and `claims`, both serialised as given, signed with the key.
    pub fn sign(&self, header: &Value, claims: &Value) -> anyhow::Result<String> {
        self.sign_bytes(&serde_json::to_vec(header)?, &serde_json::to_vec(claims)?)
    }

    /// A compact JWS of raw header and payload bytes (which need not be JSON, nor UTF-8).
    pub fn sign_bytes(&self, header: &[u8], payload: &[u8]) -> anyhow::Result<String> {
        let mut token = B64.encode(header);
        token.push('.');
        B64.encode_string(payload, &mut token);
        let signature = self.key.sign_raw(token.as_bytes()).map_err(|e| anyhow::anyhow!("signing failed: {e}"))?;
        token.push('.');
        B64.encode_string(signature, &mut token);
        Ok(token)
    }
}
