//! Storage for Tessera: the [`Store`] trait the service layer talks to, and its backends.
//! This is the only crate that writes SQL.
//!
//! Every mutation takes the [`AuditEvent`] that describes it and commits the change, its audit
//! entry and its change-feed row in one transaction: nothing is half-written.

mod backup;
mod migration;
mod postgres;
mod sql;
mod sqlite;
mod sqlite_replay;

use async_trait::async_trait;
use tessera_core::audit::AuditEvent;
use tessera_core::code::IssuedCode;
use tessera_core::device::DeviceAuthorization;
use tessera_core::model::{Client, ClientId, ClientStatus, Org, OrgId, PersonId, Role, ScopeDef, User, UserId};
use tessera_core::par::PushedRequest;
use tessera_core::refresh::RefreshRecord;
use tessera_core::scope::ScopeSet;

pub use backup::{BackupError, BackupFiles, backup, replay_file};
pub use migration::{MigrationReport, MigrationState, MigrationStatus, migration_status};
pub use postgres::{PgBackend, PgStore};
pub use sql::SqlStore;
pub use sqlite::{SqliteBackend, SqliteStore};

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

/// A database error in the store's terms: broken rules become conflicts (naming the rule, not
/// the data), everything else is unavailability.
impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) => {
                if db.is_unique_violation() {
                    StoreError::Conflict("already exists")
                } else if db.is_foreign_key_violation() {
                    StoreError::Conflict("refers to something that does not exist or is still in use")
                } else if db.is_check_violation() {
                    StoreError::Conflict("value out of range")
                } else {
                    StoreError::Unavailable(db.message().to_owned())
                }
            }
            _ => StoreError::Unavailable(e.to_string()),
        }
    }
}

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
    /// The secret a roll with a grace period replaced, while that grace runs.
    pub previous_secret: Option<PreviousSecret>,
}

/// What `tessera import` writes, checked and decided by the service: each record created, or
/// changed to what the file says (SPEC §13). Applied in one transaction.
#[derive(Debug, Default)]
pub struct ImportBatch {
    pub orgs: Vec<Org>,
    /// Each organization's scopes: created, or their restriction set as given.
    pub scopes: Vec<(OrgId, ScopeDef)>,
    pub people: Vec<ImportedPerson>,
    /// Memberships: created, or their role, flags and status set as given (never their
    /// organization or person).
    pub memberships: Vec<User>,
    /// Clients with `true` when new; an existing one gets its settings, status and, when the
    /// file has one, its secret.
    pub clients: Vec<(ClientRecord, bool)>,
}

/// A person as imported.
#[derive(Clone)]
pub struct ImportedPerson {
    pub id: PersonId,
    pub email: String,
    /// `None`: an existing person keeps theirs (a new one has none).
    pub password_hash: Option<String>,
    pub email_verified_at: Option<i64>,
    pub created_at: i64,
}

impl std::fmt::Debug for ImportedPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedPerson").field("id", &self.id).field("email", &self.email).finish_non_exhaustive()
    }
}

/// A replaced client secret that keeps working until `expires_at` (a roll with a grace period,
/// SPEC §13): its keyed tag only.
#[derive(Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub tag: Vec<u8>,
    pub expires_at: i64,
}

impl std::fmt::Debug for PreviousSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviousSecret").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
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
    /// An access token revoked by its `jti` (the revocation feed; caches ignore it).
    Token,
    /// A grant revoked, and with it every token of its family (the revocation feed).
    Grant,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Org => "org",
            Entity::User => "user",
            Entity::Client => "client",
            Entity::Scope => "scope",
            Entity::Key => "key",
            Entity::Token => "token",
            Entity::Grant => "grant",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "org" => Some(Entity::Org),
            "user" => Some(Entity::User),
            "client" => Some(Entity::Client),
            "scope" => Some(Entity::Scope),
            "key" => Some(Entity::Key),
            "token" => Some(Entity::Token),
            "grant" => Some(Entity::Grant),
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

/// Which audit entries to read: all filters are optional and combine with AND; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub org: Option<OrgId>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// The entry's target: a client id, user id or scope name.
    pub target: Option<String>,
    /// Entries at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Entries before this time (Unix seconds).
    pub until: Option<i64>,
    /// Entries older than this id (the cursor of the next page).
    pub before: Option<i64>,
    pub limit: u32,
}

/// An organization's approval of a client (the Bluescape seed's whitelisting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    pub client_id: ClientId,
    pub org_id: OrgId,
    pub approved_by: String,
    pub approved_at: i64,
}

/// An application that members of an organization tried to authorize and that awaits the
/// organization's approval (SPEC §16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequestRecord {
    pub client_id: ClientId,
    pub org_id: OrgId,
    /// The member who asked last (`None`: removed since).
    pub requested_by: Option<UserId>,
    pub first_requested_at: i64,
    pub last_requested_at: i64,
    pub requests: i64,
}

/// An upstream OpenID Provider an organization signs its members in with (SPEC §15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProviderRecord {
    pub id: String,
    pub org_id: OrgId,
    /// What the sign-in page calls it: "Continue with NAME".
    pub name: String,
    pub issuer: String,
    /// Tessera's client at the provider.
    pub client_id: String,
    /// Its secret, sealed under the master key (bound to the provider's id).
    pub client_secret_sealed: Vec<u8>,
    /// The email domains the organization claims for this provider, lower case: an email of one
    /// of them signs in here. A domain belongs to at most one provider in the store.
    pub email_domains: Vec<String>,
    /// The role of a member made at their first sign-in.
    pub default_role: Role,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a single-use link mailed to a user is for (SPEC §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountTokenPurpose {
    PasswordReset,
    EmailVerification,
}

impl AccountTokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "password_reset" => Some(Self::PasswordReset),
            "email_verification" => Some(Self::EmailVerification),
            _ => None,
        }
    }
}

/// A single-use link mailed to a user, looked up by the keyed hash of its token. Times are on
/// the lifetime clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTokenRecord {
    pub user_id: UserId,
    pub purpose: AccountTokenPurpose,
    pub created_at: i64,
    pub expires_at: i64,
    /// When it was used or replaced by a newer link of its purpose.
    pub spent_at: Option<i64>,
}

/// An invitation of an email to an organization with a role (SPEC §11), looked up by the keyed
/// hash of its link's token. Times are on the lifetime clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: String,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    pub authorize_applications: bool,
    /// The id the membership gets when accepted (an admin who added a person with an account
    /// was answered with it); `None`: a new one.
    pub member_id: Option<UserId>,
    /// Who invited: a user id, or `cli`.
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// When it was accepted, or replaced by a newer invitation of the same email.
    pub accepted_at: Option<i64>,
}

/// A user's approval of a device authorization: who, when they signed in and how (RFC 8176),
/// and the scope they granted.
#[derive(Debug, Clone, Copy)]
pub struct DeviceApproval<'a> {
    pub user: &'a UserId,
    pub auth_time: i64,
    pub amr: &'a [String],
    pub scope: &'a ScopeSet,
}

/// A person's passkey (WebAuthn): the credential id the authenticator names it by, the name the
/// person gave it, and the verified credential as webauthn-rs keeps it (JSON: the public key and
/// the signature counter; nothing secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    /// Our handle, which forms carry to name it (`pk_…`).
    pub id: String,
    pub person_id: PersonId,
    pub credential_id: Vec<u8>,
    pub name: String,
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A WebAuthn ceremony under way: its challenge state between the request that starts it and the
/// one that finishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnCeremony {
    /// Whose passkey is added or asked for; `None` for a sign-in that names nobody first.
    pub person_id: Option<PersonId>,
    /// What finishing it does: `register`, `second_factor`, `step_up` or `sign_in`.
    pub purpose: String,
    /// The ceremony state as webauthn-rs serialises it.
    pub state: String,
    /// On the lifetime clock.
    pub expires_at: i64,
}

/// A new password for a user, and what goes with it.
#[derive(Debug, Clone, Copy)]
pub struct PasswordChange<'a> {
    pub user: &'a UserId,
    /// The new Argon2id hash.
    pub password_hash: &'a str,
    /// The one session that stays signed in (the browser that changed the password), as the
    /// keyed hash of its id; every other session of the user ends. `None`: every session ends.
    pub keep_session: Option<&'a [u8]>,
    /// Set when the change also proves the email (a reset link was followed): `email_verified_at`
    /// becomes this unless it was set already.
    pub email_verified_at: Option<i64>,
}

/// A user's authenticator app (RFC 6238), its secret sealed under the master key.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpFactor {
    pub secret_sealed: Vec<u8>,
    pub created_at: i64,
    /// When the first correct code confirmed it; unconfirmed factors are not asked for.
    pub confirmed_at: Option<i64>,
    /// The last time step accepted: a code of it or an earlier step is refused.
    pub last_step: i64,
}

impl std::fmt::Debug for TotpFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpFactor").field("confirmed_at", &self.confirmed_at).field("last_step", &self.last_step).finish_non_exhaustive()
    }
}

/// A sign-in whose password was right, waiting for its second factor (by the keyed hash of a
/// cookie of its own). Times on the lifetime clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginChallenge {
    pub user_id: UserId,
    /// Where the sign-in goes on to, sealed by the service (it may carry an invitation's token).
    pub return_to: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A signed-in browser session (looked up by the keyed hash of its cookie value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user_id: UserId,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// Where the browser signed in from, as the user's list of sessions shows it; `None` for
    /// sessions older than the columns.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// How it signed in (RFC 8176 values: `pwd`, `otp`, `mfa`); empty for sessions older than
    /// the column (a password).
    pub amr: Vec<String>,
}

/// One authorization by a user for a client: the root of a token family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub id: String,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub scope: ScopeSet,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    /// RFC 8707: the resources named at authorization; later token requests of this grant may
    /// only narrow them. Empty: none were named.
    pub resources: Vec<String>,
    /// How the user signed in for it (the session's `amr`); empty when not known (grants older
    /// than the column, the device grant): ID tokens then say nothing of it.
    pub amr: Vec<String>,
    /// The grant this one descends from (a token exchange's, under the exchanged token's grant):
    /// revoking or deleting the parent revokes or deletes this one too. `None`: a user's own.
    pub parent_id: Option<String>,
}

/// An authorization code as stored, with the grant it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub grant: GrantRecord,
    pub code: IssuedCode,
}

/// What happened when a code was presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use: the code is now consumed.
    Fresh(CodeRecord),
    /// Used before: the caller revokes its grant (C01).
    Reused(CodeRecord),
    Unknown,
}

/// A refresh token as stored, in its family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshLookup {
    pub record: RefreshRecord,
    pub grant: GrantRecord,
}

/// What resource servers must refuse, read in one snapshot for the revocation feed
/// ([`Store::refusals`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refusals {
    /// The change-feed position this answer is complete up to.
    pub cursor: i64,
    /// True when this is everything still relevant rather than the changes after the cursor
    /// asked for (none was given, or it is no longer in the retained feed).
    pub full: bool,
    /// Revoked access-token ids with their `exp`.
    pub tokens: Vec<(String, i64)>,
    /// Revoked grant ids with the time of revocation.
    pub grants: Vec<(String, i64)>,
    /// Clients and whether their tokens still work (OFF, deleted, or a disabled owner or run-as
    /// user: false). A full answer lists only the false ones.
    pub clients: Vec<(String, bool)>,
    /// Users and whether their tokens still work (disabled or gone: false). A full answer lists
    /// only the false ones.
    pub users: Vec<(String, bool)>,
    /// Users whose access tokens issued before the time given no longer work (a lowered role),
    /// where that time is past `since`.
    pub users_not_before: Vec<(String, i64)>,
    /// Clients whose access tokens issued before the time given no longer work (a scope or the
    /// run-as user taken from the registration), where that time is past `since`.
    pub clients_not_before: Vec<(String, i64)>,
    /// Whether the signing keys changed after the cursor.
    pub keys_changed: bool,
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
    async fn delete_meta(&self, key: &str) -> Result<()>;
    /// Stores `value` under `key` unless a value is there already; returns the stored value.
    async fn init_meta(&self, key: &str, value: &str) -> Result<String>;

    async fn insert_org(&self, org: &Org, audit: &AuditEvent) -> Result<()>;
    /// Sets how an organization's members sign in: whether a second factor is required, and
    /// whether single sign-on is (password sign-in off but for owners); `false` when there is
    /// no such org.
    async fn set_org_sign_in_rules(&self, org: &OrgId, require_mfa: bool, require_sso: bool, audit: &AuditEvent) -> Result<bool>;
    /// Finds an organization by id or, failing that, by name.
    async fn find_org(&self, id_or_name: &str) -> Result<Option<Org>>;
    async fn orgs(&self) -> Result<Vec<Org>>;

    /// Adds a scope to the catalogue; an existing one is left as it is (returns false).
    async fn insert_scope(&self, org: &OrgId, scope: &ScopeDef, at: i64, audit: &AuditEvent) -> Result<bool>;
    async fn scopes(&self, org: &OrgId) -> Result<Vec<ScopeDef>>;
    /// Marks a catalogue scope restricted (owners and admins only) or not; false if unknown.
    /// With `members_not_before`, in the same transaction the organization's members (who may
    /// not hold a restricted scope) have their access tokens issued before that time ended, fed
    /// like a lowered role, so that every guard refuses what introspection refuses.
    async fn set_scope_restricted(
        &self,
        org: &OrgId,
        name: &str,
        restricted: bool,
        members_not_before: Option<i64>,
        audit: &AuditEvent,
    ) -> Result<bool>;

    /// Adds the membership `user`. When no person has its email, a new person comes first (under
    /// the user's id, with `password_hash`); otherwise the membership joins that person, whose
    /// password stays theirs (`password_hash` is not used). A second membership of the same
    /// person in the same organization is a conflict.
    async fn insert_user(&self, user: &User, password_hash: Option<&str>, audit: &AuditEvent) -> Result<()>;
    async fn user(&self, id: &UserId) -> Result<Option<User>>;
    /// A membership of the person with this email, whatever its case: an enabled one first,
    /// then the one the person was made with, then the oldest (for what concerns the person:
    /// signing in, their password).
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// The membership in `org` of the person with this email.
    async fn member_by_email(&self, org: &OrgId, email: &str) -> Result<Option<User>>;
    /// Records an invitation (only the keyed hash of its link's token); a pending invitation of
    /// the same email to the same organization is replaced.
    async fn insert_invitation(&self, invitation: &Invitation, token_hash: &[u8], audit: &AuditEvent) -> Result<()>;
    /// The invitation whose link's token has `token_hash`, pending or not.
    async fn invitation(&self, token_hash: &[u8]) -> Result<Option<Invitation>>;
    /// An organization's invitations still pending at `now`, newest first.
    async fn pending_invitations(&self, org: &OrgId, now: i64) -> Result<Vec<Invitation>>;
    /// Accepts the invitation whose token has `token_hash` if it is still pending at `now`, in
    /// one transaction: the membership `user` is added as [`Store::insert_user`] adds one
    /// (`password_hash` for a new person), the person's email is proven at `at`, and the
    /// invitation is spent. False when it is no longer pending.
    async fn accept_invitation(
        &self,
        token_hash: &[u8],
        user: &User,
        password_hash: Option<&str>,
        now: i64,
        at: i64,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Every membership of `person`, with its organization's name, by that name.
    async fn memberships(&self, person: &PersonId) -> Result<Vec<(User, String)>>;
    /// The membership a sign-in of `person` lands in when nothing names one (a passkey names the
    /// person only): the one a sign-in by email picks.
    async fn preferred_membership(&self, person: &PersonId) -> Result<Option<User>>;
    /// Moves a browser session to another enabled membership of the same person; false when
    /// `to` is not one.
    async fn switch_session(&self, id_hash: &[u8], to: &UserId) -> Result<bool>;
    async fn user_count(&self) -> Result<i64>;
    async fn set_user_disabled(&self, id: &UserId, disabled: bool, audit: &AuditEvent) -> Result<bool>;
    /// The users of an organization, by email.
    async fn users(&self, org: &OrgId) -> Result<Vec<User>>;
    /// Sets a user's role and `authorize_applications` permission.
    /// Sets a user's role and permission; `tokens_not_before` (when given) ends every access
    /// token of the user issued before it (a lowered role).
    async fn update_user(
        &self,
        id: &UserId,
        role: Role,
        authorize_applications: bool,
        tokens_not_before: Option<i64>,
        audit: &AuditEvent,
    ) -> Result<bool>;

    async fn insert_client(&self, record: &ClientRecord, audit: &AuditEvent) -> Result<()>;
    async fn client(&self, id: &ClientId) -> Result<Option<ClientRecord>>;
    async fn clients(&self, org: Option<&OrgId>) -> Result<Vec<ClientRecord>>;
    /// Whether some client that is ON lists `origin` among its allowed origins (CORS preflight).
    async fn origin_registered(&self, origin: &str) -> Result<bool>;
    async fn set_client_status(&self, id: &ClientId, status: ClientStatus, audit: &AuditEvent) -> Result<bool>;
    /// Stores an edited client: name, run-as user, grants, scopes, redirect URIs, allowed origins
    /// and IPs, access-token lifetime, approval, PAR, DPoP, resources and keys (not its owner,
    /// kind, authentication method or secret).
    async fn update_client(&self, client: &Client, audit: &AuditEvent) -> Result<bool>;
    /// A new secret; tokens already issued stay valid until they expire or are revoked (V08).
    /// `previous_until`: the secret being replaced keeps working until then (a roll with a grace
    /// period); `None`: it stops at the commit, and so does any earlier one still in its grace.
    async fn replace_client_secret(
        &self,
        id: &ClientId,
        secret: &SecretMaterial,
        previous_until: Option<i64>,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Writes an import in one transaction: all of it or nothing, with `audit` and a change-feed
    /// row for every record written.
    async fn import(&self, batch: &ImportBatch, audit: &AuditEvent) -> Result<()>;
    /// Replaces a person's password hash with `to` if it is still `from` (a hash brought from
    /// another vendor, re-hashed at sign-in): no session ends, nothing else changes. `false` when
    /// the hash changed meanwhile (a password change won).
    async fn upgrade_password_hash(&self, user: &UserId, from: &str, to: &str, audit: &AuditEvent) -> Result<bool>;
    /// Forgets the replaced secrets whose grace ended at or before `now`, each with an audit entry
    /// (`client_previous_secret_expired`); returns the clients concerned.
    async fn expire_previous_secrets(&self, now: i64) -> Result<Vec<ClientId>>;
    async fn delete_client(&self, id: &ClientId, audit: &AuditEvent) -> Result<bool>;

    async fn signing_keys(&self) -> Result<Vec<KeyRecord>>;
    /// Applies a rotation step; false when another process rotated first.
    async fn rotate_keys(&self, rotation: &KeyRotation, audit: Option<&AuditEvent>) -> Result<bool>;

    /// Marks a token id revoked until `expires_at` (after which it is dead anyway).
    async fn revoke_token(&self, jti: &str, expires_at: i64, audit: &AuditEvent) -> Result<()>;

    /// The user with `email` and their password hash (none for service users).
    async fn user_credentials(&self, email: &str) -> Result<Option<(User, Option<String>)>>;

    /// Stores a new session; `replaces` (the id hash of the browser's previous session, if
    /// any) is deleted in the same transaction, so no pre-login id survives a login (B08).
    async fn insert_session(&self, id_hash: &[u8], session: &SessionRecord, replaces: Option<&[u8]>) -> Result<()>;
    async fn session(&self, id_hash: &[u8]) -> Result<Option<SessionRecord>>;
    async fn touch_session(&self, id_hash: &[u8], now: i64) -> Result<()>;
    /// The session's user confirmed who they are again (step-up): its sign-in time and methods.
    async fn renew_session_sign_in(&self, id_hash: &[u8], auth_time: i64, amr: &[String]) -> Result<()>;
    async fn delete_session(&self, id_hash: &[u8]) -> Result<()>;
    /// A user's sessions (keyed hash of the id, and the session), newest first.
    async fn user_sessions(&self, user: &UserId) -> Result<Vec<(Vec<u8>, SessionRecord)>>;
    /// Ends a user's sessions, all but `keep` when given; returns how many ended.
    async fn delete_user_sessions(&self, user: &UserId, keep: Option<&[u8]>) -> Result<u64>;

    /// Stores a new single-use link unless `limit` links of its purpose were made for its user
    /// since `window_start` (then `false`, and nothing is written). The user's earlier unspent
    /// links of the purpose are spent in the same transaction: only the newest one works.
    async fn insert_account_token(&self, token_hash: &[u8], record: &AccountTokenRecord, window_start: i64, limit: i64) -> Result<bool>;
    async fn account_token(&self, token_hash: &[u8]) -> Result<Option<AccountTokenRecord>>;
    /// Sets a user's password: ends their sessions but `keep_session`, and with `spend` (a
    /// password-reset link's hash and the time) spends that link in the same transaction, or
    /// writes nothing when it is no longer usable (`false`). Audited and fed as a user change.
    async fn change_password(&self, change: &PasswordChange<'_>, spend: Option<(&[u8], i64)>, audit: &AuditEvent) -> Result<bool>;
    async fn totp_factor(&self, user: &UserId) -> Result<Option<TotpFactor>>;
    /// Stores a new unconfirmed authenticator for `user`, replacing an unconfirmed one; `false`
    /// (nothing written) when a confirmed one exists.
    async fn begin_totp(&self, user: &UserId, secret_sealed: &[u8], at: i64) -> Result<bool>;
    /// Confirms `user`'s unconfirmed authenticator with the step of its first code, and replaces
    /// their recovery codes with `recovery_hashes`, audited, in one transaction; `false` when
    /// there is no unconfirmed authenticator.
    async fn confirm_totp(&self, user: &UserId, step: i64, recovery_hashes: &[Vec<u8>], audit: &AuditEvent) -> Result<bool>;
    /// Accepts `step` of `user`'s confirmed authenticator once: `false` when it (or a later step)
    /// was accepted already.
    async fn use_totp_step(&self, user: &UserId, step: i64) -> Result<bool>;
    /// Spends one of `user`'s recovery codes; `false` when it is not theirs or used.
    async fn use_recovery_code(&self, user: &UserId, code_hash: &[u8], at: i64) -> Result<bool>;
    /// `user`'s recovery codes not used yet.
    async fn recovery_codes_left(&self, user: &UserId) -> Result<i64>;
    /// Removes `user`'s authenticator and recovery codes, audited; `false` when there was none.
    async fn remove_totp(&self, user: &UserId, audit: &AuditEvent) -> Result<bool>;
    /// The passkeys of `user`'s person, oldest first.
    async fn passkeys(&self, user: &UserId) -> Result<Vec<PasskeyRecord>>;
    /// The passkey an authenticator names by `credential_id`, whoever's it is.
    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRecord>>;
    /// Adds a passkey and, when `recovery_hashes` is not empty, replaces the person's recovery
    /// codes with them, audited, in one transaction; `false` (nothing written) when its
    /// credential id is registered already, to anyone.
    async fn insert_passkey(&self, passkey: &PasskeyRecord, recovery_hashes: &[Vec<u8>], audit: &AuditEvent) -> Result<bool>;
    /// After a sign-in with it: the credential with its new counter, and when.
    async fn passkey_used(&self, id: &str, credential: &str, at: i64) -> Result<()>;
    /// Removes one of `user`'s person's passkeys, audited; the recovery codes go too when no
    /// second factor is left. `false` when it is not theirs.
    async fn remove_passkey(&self, user: &UserId, id: &str, audit: &AuditEvent) -> Result<bool>;
    /// Stores a ceremony under way (and drops those expired before `now`).
    async fn insert_webauthn_ceremony(&self, id_hash: &[u8], ceremony: &WebauthnCeremony, now: i64) -> Result<()>;
    /// Spends a ceremony: returns it and deletes it, so that of two attempts to finish it one
    /// gets it.
    async fn take_webauthn_ceremony(&self, id_hash: &[u8]) -> Result<Option<WebauthnCeremony>>;
    /// Stores a sign-in waiting for its second factor (and drops those expired before `created_at`).
    async fn insert_login_challenge(&self, id_hash: &[u8], challenge: &LoginChallenge) -> Result<()>;
    async fn login_challenge(&self, id_hash: &[u8]) -> Result<Option<LoginChallenge>>;
    /// Ends a waiting sign-in; `false` when it was gone already (of two submissions, one wins).
    async fn delete_login_challenge(&self, id_hash: &[u8]) -> Result<bool>;

    /// Spends an email-verification link of `user` and marks their email proven at `at`;
    /// `false` when the link is no longer usable at `now` (nothing written).
    async fn verify_email(&self, token_hash: &[u8], user: &UserId, now: i64, at: i64, audit: &AuditEvent) -> Result<bool>;

    /// The scope `user` has consented to for `client`, if any.
    async fn consent(&self, user: &UserId, client: &ClientId) -> Result<Option<ScopeSet>>;
    /// Records consent to `scope` (added to what was consented before).
    async fn save_consent(&self, user: &UserId, client: &ClientId, scope: &ScopeSet, at: i64) -> Result<()>;
    /// Withdraws consent and revokes every grant of `user` for `client`.
    async fn revoke_consent(&self, user: &UserId, client: &ClientId, audit: &AuditEvent) -> Result<bool>;
    /// The clients `user` has consented to, with the scopes.
    async fn consents(&self, user: &UserId) -> Result<Vec<(ClientId, ScopeSet)>>;

    async fn org_approved(&self, client: &ClientId, org: &OrgId) -> Result<bool>;
    /// The clients approved for an organization, newest approval first.
    async fn org_approvals(&self, org: &OrgId) -> Result<Vec<ApprovalRecord>>;
    /// Approves (or withdraws the approval of) `client` for `org`; withdrawing revokes the
    /// grants of that org's users for the client.
    async fn set_org_approval(&self, client: &ClientId, org: &OrgId, approved_by: &str, approve: bool, audit: &AuditEvent) -> Result<bool>;
    /// Notes that `user` of `org` tried to authorize `client`, which awaits the organization's
    /// approval: a new request (with `audit`, which is kept only then), or one more of a known one.
    /// Approving the client (`set_org_approval`) removes the request.
    async fn note_approval_request(&self, client: &ClientId, org: &OrgId, user: &UserId, audit: &AuditEvent) -> Result<()>;
    /// Records when clients last authenticated: each `(client, at)` raises its mark to `at`
    /// (never lowers it); a client deleted meanwhile is skipped. No audit entry, no feed row.
    async fn mark_clients_used(&self, marks: &[(ClientId, i64)]) -> Result<()>;
    /// When `client` last authenticated, to the minute; `None`: never since it was made.
    async fn client_last_used(&self, client: &ClientId) -> Result<Option<i64>>;
    /// The requests awaiting an organization's approval, the most recently asked first.
    async fn approval_requests(&self, org: &OrgId) -> Result<Vec<ApprovalRequestRecord>>;
    /// Rejects a request: removes it, with `audit`; `false` when there was none.
    async fn reject_approval_request(&self, client: &ClientId, org: &OrgId, audit: &AuditEvent) -> Result<bool>;

    /// Adds an identity provider with its domains; a name the organization uses already, or a
    /// domain another provider claims, is a conflict.
    async fn insert_identity_provider(&self, provider: &IdentityProviderRecord, audit: &AuditEvent) -> Result<()>;
    /// Replaces a provider's settings and domains (same conflicts); `false` when there is none.
    async fn update_identity_provider(&self, provider: &IdentityProviderRecord, audit: &AuditEvent) -> Result<bool>;
    /// Removes a provider (its domains go with it; links of people to its issuer stay).
    async fn delete_identity_provider(&self, id: &str, audit: &AuditEvent) -> Result<bool>;
    async fn identity_provider(&self, id: &str) -> Result<Option<IdentityProviderRecord>>;
    /// The providers of an organization (every one's with `None`), by organization and name.
    async fn identity_providers(&self, org: Option<&OrgId>) -> Result<Vec<IdentityProviderRecord>>;
    /// Whether any provider claims an email domain (one cheap query for every sign-in page).
    async fn any_claimed_domain(&self) -> Result<bool>;
    /// The provider that claims an email domain (lower case).
    async fn identity_provider_for_domain(&self, domain: &str) -> Result<Option<IdentityProviderRecord>>;
    /// The person an upstream identity (issuer and subject) is linked to.
    async fn federated_person(&self, issuer: &str, subject: &str) -> Result<Option<PersonId>>;
    /// A sign-in through a provider, in one transaction: with `new_member`, the membership
    /// `user` is added first (as [`Store::insert_user`] adds one, without a password: a new
    /// person, or the person with its email); then the upstream identity is linked to the
    /// user's person, unless it is linked already; with `audit`.
    async fn federated_sign_in(&self, issuer: &str, subject: &str, user: &User, new_member: bool, audit: &AuditEvent) -> Result<()>;

    /// Stores a new grant and its authorization code in one transaction.
    async fn insert_code(&self, code_hash: &[u8], record: &CodeRecord) -> Result<()>;
    /// Consumes a code atomically: of two concurrent redemptions exactly one is `Fresh`.
    async fn redeem_code(&self, code_hash: &[u8], now: i64) -> Result<CodeRedemption>;
    /// Stores a grant without a code (the implicit flow).
    async fn insert_grant(&self, grant: &GrantRecord) -> Result<()>;
    /// Revokes a grant and with it every token of its family.
    async fn revoke_grant(&self, grant_id: &str, audit: &AuditEvent) -> Result<()>;
    /// Issues the first refresh token of a grant, setting the family's expiry and the DPoP key
    /// it is bound to (RFC 9449 §5; `None`: unbound).
    async fn insert_refresh_token(
        &self,
        token_hash: &[u8],
        grant_id: &str,
        family_expires_at: Option<i64>,
        dpop_jkt: Option<&str>,
        now: i64,
    ) -> Result<()>;
    async fn refresh_token(&self, token_hash: &[u8]) -> Result<Option<RefreshLookup>>;
    /// Rotates `old` (which must still be active) to `new`; false when it was not active any
    /// more (a concurrent rotation won).
    async fn rotate_refresh_token(&self, old: &[u8], new: &[u8], now: i64) -> Result<bool>;
    /// Stores a pushed authorization request (RFC 9126) under the keyed hash of its reference.
    async fn insert_pushed_request(&self, reference_hash: &[u8], pushed: &PushedRequest, created_at: i64) -> Result<()>;
    /// A pushed request, whatever its state, and whether this call opened it: it is first
    /// marked opened at `now` when it was never opened and has not expired (one atomic update,
    /// so every node sees one opening time).
    async fn open_pushed_request(&self, reference_hash: &[u8], now: i64) -> Result<Option<(PushedRequest, bool)>>;
    /// Consumes a pushed request atomically: true for exactly one caller.
    async fn consume_pushed_request(&self, reference_hash: &[u8], now: i64) -> Result<bool>;
    /// Stores a new device authorization under the keyed hashes of its device and user codes;
    /// `Conflict` when the user code is taken (the caller draws another).
    async fn insert_device_authorization(&self, device_hash: &[u8], user_hash: &[u8], device: &DeviceAuthorization) -> Result<()>;
    async fn device_authorization(&self, device_hash: &[u8]) -> Result<Option<DeviceAuthorization>>;
    async fn device_authorization_by_user_code(&self, user_hash: &[u8]) -> Result<Option<DeviceAuthorization>>;
    /// Records a poll at `now` with `interval`, only if no other poll was recorded since the
    /// one the caller saw (`previous`) and the user has not decided; false otherwise.
    async fn record_device_poll(&self, device_hash: &[u8], previous: Option<i64>, now: i64, interval: i64) -> Result<bool>;
    /// The user's decision, only while the authorization is pending and unexpired: approved
    /// (with the user, their `auth_time` and the scope they may grant) or denied (`None`).
    async fn decide_device_authorization(&self, user_hash: &[u8], approval: Option<DeviceApproval<'_>>, now: i64) -> Result<bool>;
    /// Spends an approved device code: true for exactly one caller.
    async fn consume_device_authorization(&self, device_hash: &[u8]) -> Result<bool>;
    /// Whether an access token is revoked, by its own id or through its grant.
    async fn token_revoked(&self, jti: &str, grant_id: Option<&str>) -> Result<bool>;

    /// Counts one failure of `key` in its fixed window of `window` seconds (a window that has
    /// ended starts a new one at `now`); returns the count in the window, this failure included.
    /// Atomic: concurrent failures from any number of nodes are all counted.
    async fn record_failure(&self, key: &str, now: i64, window: i64) -> Result<u32>;
    /// The failures counted for `key` in a window that has not ended by `now`, and its end.
    async fn failures(&self, key: &str, now: i64) -> Result<Option<(u32, i64)>>;
    async fn clear_failures(&self, key: &str) -> Result<()>;

    async fn append_audit(&self, audit: &AuditEvent) -> Result<()>;
    /// The entries `query` selects, newest first.
    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>>;

    /// The cheap fingerprint of committed state, or `None` when this backend has none (then
    /// callers read the change feed on every check).
    fn change_stamp(&self) -> Option<ChangeStamp>;
    /// Starts following what other processes commit, for a long-running node (`serve`): until
    /// then, and on SQLite always, nothing runs in the background. PostgreSQL: listens for
    /// change-feed commits (which makes [`Store::change_stamp`] cheap) and registers the node.
    fn follow_changes(&self) {}
    /// Change-feed rows after `seq`, oldest first.
    async fn changes_since(&self, seq: i64) -> Result<Vec<Change>>;
    /// The newest change-feed position.
    async fn latest_change(&self) -> Result<i64>;

    /// The revocation feed (one consistent read): with `after`, what changed past that feed
    /// position; without it, or when rows past it have been purged, everything still relevant:
    /// revoked tokens, grants revoked and clients deleted at or after `since`, clients and users
    /// whose tokens no longer work.
    async fn refusals(&self, after: Option<i64>, since: i64) -> Result<Refusals>;

    /// Deletes revocations of tokens that expired before `revoked_before` (they can never be
    /// active again), sessions and failure windows that ended before it, and change-feed rows
    /// and authorization codes older than `changes_before`, and pushed authorization requests
    /// that can no longer be used.
    async fn purge(&self, revoked_before: i64, changes_before: i64) -> Result<()>;
    /// Records that `client` used the assertion `jti`, remembered until `expires_at`; `false`
    /// when it was used before. One atomic unique insert, so of two nodes racing with one
    /// assertion exactly one succeeds (RFC 7523 §3 item 7).
    async fn consume_assertion_jti(&self, client: &ClientId, jti: &str, expires_at: i64) -> Result<bool>;
    /// Records that the DPoP proof `jti` of the key with thumbprint `jkt` was used, remembered
    /// until `expires_at`; `false` when it was used before. One atomic unique insert, so of two
    /// nodes racing with one proof exactly one succeeds (RFC 9449 §11.1). Purged by [`Store::purge`].
    async fn consume_dpop_jti(&self, jkt: &str, jti: &str, expires_at: i64) -> Result<bool>;
    /// Stores an initial access token for dynamic registration (RFC 7591 §3) by its keyed
    /// hash: registrations with it make clients of `owner` in `org`. `uses`: `None` unlimited.
    async fn insert_initial_access_token(
        &self,
        token_hash: &[u8],
        org: &OrgId,
        owner: &UserId,
        expires_at: Option<i64>,
        uses: Option<i64>,
        audit: &AuditEvent,
    ) -> Result<()>;
    /// The organization and owner of an initial access token that is unexpired and has a use left.
    async fn initial_access_token(&self, token_hash: &[u8], now: i64) -> Result<Option<(OrgId, UserId)>>;
    /// Inserts a dynamically registered client with the keyed hash of its registration access
    /// token (RFC 7592), spending one use of the initial access token, if any, in the same
    /// transaction (one conditional UPDATE: of registrations racing for the last use, one
    /// wins). `false`, and nothing inserted, when that token is spent or expired by then.
    async fn insert_registered_client(
        &self,
        record: &ClientRecord,
        initial_token_hash: Option<&[u8]>,
        registration_token_hash: &[u8],
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// The keyed hash of a client's registration access token; `None` for a client that was
    /// not registered dynamically (or does not exist).
    async fn registration_token_hash(&self, client: &ClientId) -> Result<Option<Vec<u8>>>;
}

/// Opens the store named by `url` (`sqlite://…` or `postgres://…`) and applies migrations.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    open_with(url, true).await
}

/// Opens the store named by `url`; applies pending migrations when `migrate` is true.
pub async fn open_with(url: &str, migrate: bool) -> Result<std::sync::Arc<dyn Store>> {
    let (store, current): (std::sync::Arc<dyn Store>, bool) = if url.starts_with("sqlite:") {
        let store = SqliteStore::open(url).await?;
        let current = migrate || store.schema_current().await?;
        (std::sync::Arc::new(store), current)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let store = PgStore::open(url).await?;
        let current = migrate || store.schema_current().await?;
        (std::sync::Arc::new(store), current)
    } else {
        return Err(StoreError::Unavailable("unsupported database URL: use sqlite://PATH or postgres://…".into()));
    };
    if migrate {
        store.migrate().await?;
    } else if !current {
        return Err(StoreError::Unavailable("the store's schema is behind this version of tessera: run `tessera migrate`".into()));
    }
    Ok(store)
}
