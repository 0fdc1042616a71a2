//! Storage for Tessera: the [`Store`] trait the service layer talks to, and its backends.
//! This is the only crate that writes SQL.
//!
//! Every mutation takes the [`AuditEvent`] that describes it and commits the change, its audit
//! entry and its change-feed row in one transaction: nothing is half-written.

mod sqlite;

use async_trait::async_trait;
use tessera_core::audit::AuditEvent;
use tessera_core::model::{Client, ClientId, ClientStatus, Org, OrgId, ScopeDef, User, UserId};

pub use sqlite::SqliteStore;

/// What went wrong in the store, in terms the service can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or reference rule was broken; the text names the rule, never the data.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The database cannot be reached or is read-only or full: try again later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored data that does not parse: a bug or tampering.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A client's secret as stored: a keyed digest to check it and a sealed copy to show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretMaterial {
    pub tag: Vec<u8>,
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for SecretMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretMaterial(<redacted>)")
    }
}

/// A client with its secret material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub client: Client,
    pub secret: Option<SecretMaterial>,
}

/// Where a signing key is in its life: published ahead of use, signing, or only verifying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Current,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Retired => "retired",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "next" => Some(KeyState::Next),
            "current" => Some(KeyState::Current),
            "retired" => Some(KeyState::Retired),
            _ => None,
        }
    }
}

/// A signing key as stored: the private key sealed under the master key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    pub private_sealed: Vec<u8>,
    pub public_jwk: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord").field("kid", &self.kid).field("alg", &self.alg).field("state", &self.state).finish_non_exhaustive()
    }
}

/// One atomic step of key rotation. Applied only while the current key is still
/// `expected_current`, so that two nodes rotating at once rotate once.
#[derive(Debug, Clone, Default)]
pub struct KeyRotation {
    pub expected_current: Option<String>,
    /// `next` → `current`
    pub promote: Option<String>,
    /// `current` → `retired`
    pub retire: Option<String>,
    pub insert: Vec<KeyRecord>,
    pub purge: Vec<String>,
    pub now: i64,
}

/// The kinds of cached entities the change feed reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Org,
    User,
    Client,
    Scope,
    Key,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Org => "org",
            Entity::User => "user",
            Entity::Client => "client",
            Entity::Scope => "scope",
            Entity::Key => "key",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "org" => Some(Entity::Org),
            "user" => Some(Entity::User),
            "client" => Some(Entity::Client),
            "scope" => Some(Entity::Scope),
            "key" => Some(Entity::Key),
            _ => None,
        }
    }
}

/// One row of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub entity: Entity,
    pub id: String,
}

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub org_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

/// A cheap fingerprint of the store's committed state: equal fingerprints mean nothing was
/// committed in between, by this process or any other.
pub type ChangeStamp = [u8; 48];

/// Tessera's storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// A round trip to the database (`/readyz`).
    async fn ping(&self) -> Result<()>;

    async fn meta(&self, key: &str) -> Result<Option<String>>;
    /// Stores `value` under `key`, replacing any value there.
    async fn set_meta(&self, key: &str, value: &str) -> Result<()>;
    /// Stores `value` under `key` unless a value is there already; returns the stored value.
    async fn init_meta(&self, key: &str, value: &str) -> Result<String>;

    async fn insert_org(&self, org: &Org, audit: &AuditEvent) -> Result<()>;
    /// Finds an organization by id or, failing that, by name.
    async fn find_org(&self, id_or_name: &str) -> Result<Option<Org>>;
    async fn orgs(&self) -> Result<Vec<Org>>;

    /// Adds a scope to the catalogue; an existing one is left as it is (returns false).
    async fn insert_scope(&self, org: &OrgId, scope: &ScopeDef, at: i64, audit: &AuditEvent) -> Result<bool>;
    async fn scopes(&self, org: &OrgId) -> Result<Vec<ScopeDef>>;

    async fn insert_user(&self, user: &User, password_hash: Option<&str>, audit: &AuditEvent) -> Result<()>;
    async fn user(&self, id: &UserId) -> Result<Option<User>>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn set_user_disabled(&self, id: &UserId, disabled: bool, audit: &AuditEvent) -> Result<bool>;

    async fn insert_client(&self, record: &ClientRecord, audit: &AuditEvent) -> Result<()>;
    async fn client(&self, id: &ClientId) -> Result<Option<ClientRecord>>;
    async fn clients(&self, org: Option<&OrgId>) -> Result<Vec<ClientRecord>>;
    async fn set_client_status(&self, id: &ClientId, status: ClientStatus, audit: &AuditEvent) -> Result<bool>;
    async fn replace_client_secret(&self, id: &ClientId, secret: &SecretMaterial, audit: &AuditEvent) -> Result<bool>;
    async fn delete_client(&self, id: &ClientId, audit: &AuditEvent) -> Result<bool>;

    async fn signing_keys(&self) -> Result<Vec<KeyRecord>>;
    /// Applies a rotation step; false when another process rotated first.
    async fn rotate_keys(&self, rotation: &KeyRotation, audit: Option<&AuditEvent>) -> Result<bool>;

    /// Marks a token id revoked until `expires_at` (after which it is dead anyway).
    async fn revoke_token(&self, jti: &str, expires_at: i64, audit: &AuditEvent) -> Result<()>;
    async fn is_revoked(&self, jti: &str) -> Result<bool>;

    async fn append_audit(&self, audit: &AuditEvent) -> Result<()>;
    /// Newest first, entries older than `before` (an id) when given.
    async fn audit_log(&self, org: Option<&OrgId>, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>>;

    /// The cheap fingerprint of committed state, or `None` when this backend has none (then
    /// callers read the change feed on every check).
    fn change_stamp(&self) -> Option<ChangeStamp>;
    /// Change-feed rows after `seq`, oldest first.
    async fn changes_since(&self, seq: i64) -> Result<Vec<Change>>;
    /// The newest change-feed position.
    async fn latest_change(&self) -> Result<i64>;

    /// Deletes revocations of tokens that expired before `revoked_before` (they can never be
    /// active again) and change-feed rows older than `changes_before`.
    async fn purge(&self, revoked_before: i64, changes_before: i64) -> Result<()>;
}

/// Opens the store named by `url` (`sqlite://…`) and applies migrations.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::open(url).await?;
        store.migrate().await?;
        Ok(std::sync::Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Err(StoreError::Unavailable("the PostgreSQL backend is not built into this version".into()))
    } else {
        Err(StoreError::Unavailable("unsupported database URL: use sqlite://PATH".into()))
    }
}
