//! Audit events: what changed or failed, by whom, against what. The store appends them in the
//! same transaction as the change they describe.

use serde::Serialize;

/// Every kind of audited event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    OrgCreated,
    ScopeCreated,
    UserCreated,
    UserDisabled,
    UserEnabled,
    ClientCreated,
    ClientDeleted,
    ClientEnabled,
    ClientDisabled,
    ClientSecretRegenerated,
    /// The secret a roll with a grace period replaced stopped working (SPEC §13).
    ClientPreviousSecretExpired,
    /// A password hash brought from another vendor was replaced with Argon2id at sign-in.
    PasswordHashUpgraded,
    /// `tessera import` wrote a file's records (SPEC §13).
    Imported,
    ClientAuthFailed,
    ClientAuthLocked,
    TokenRevoked,
    KeysRotated,
    LoginFailed,
    LoginLocked,
    ConsentGranted,
    ConsentRevoked,
    OrgApproved,
    OrgApprovalWithdrawn,
    /// A member tried to authorize an application that awaits the organization's approval.
    ApprovalRequested,
    ApprovalRejected,
    GrantRevoked,
    RefreshTokenMisused,
    SessionCreated,
    SessionEnded,
    ClientUpdated,
    ClientSecretRevealed,
    UserUpdated,
    ScopeUpdated,
    /// RFC 8693: a client exchanged a subject token for a new access token.
    TokenExchanged,
    /// An initial access token for dynamic client registration (RFC 7591 §3) was issued.
    RegistrationTokenCreated,
    /// An administrative action refused because the caller may not do it (SPEC §12): the detail
    /// names the action and the reason.
    AccessDenied,
    /// SPEC §11: a password-reset link was mailed (`detail.mailed`), or refused by the hourly limit.
    PasswordResetRequested,
    /// A password was set: by its user (`detail.how`: `change`, `reset`) or by the operator (`set`).
    PasswordChanged,
    /// A verification link was mailed to the user's email.
    EmailVerificationRequested,
    /// The user proved they receive mail at their email.
    EmailVerified,
    /// A second factor was added (`detail.factor`: `totp`), or removed.
    SecondFactorAdded,
    SecondFactorRemoved,
    /// An organization's settings changed (`detail`: what was set).
    OrgUpdated,
    /// A browser moved to another membership of the same person (`detail.from_org`).
    SessionSwitched,
    /// An email was invited to the organization (`detail`: email, role, mailed).
    UserInvited,
    /// An invitation was accepted: the membership it made is the target.
    InvitationAccepted,
    /// An organization connected an upstream OpenID Provider (SPEC §15), changed or removed one.
    IdentityProviderAdded,
    IdentityProviderUpdated,
    IdentityProviderRemoved,
    /// A sign-in through an upstream provider (`detail`: provider, issuer, and whether it made
    /// the member or linked the account).
    FederatedSignIn,
    /// A sign-in through an upstream provider that did not go through (`detail.reason`).
    FederatedSignInFailed,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::TokenExchanged => "token_exchanged",
            AuditAction::OrgCreated => "org_created",
            AuditAction::ScopeCreated => "scope_created",
            AuditAction::UserCreated => "user_created",
            AuditAction::UserDisabled => "user_disabled",
            AuditAction::UserEnabled => "user_enabled",
            AuditAction::ClientCreated => "client_created",
            AuditAction::ClientDeleted => "client_deleted",
            AuditAction::ClientEnabled => "client_enabled",
            AuditAction::ClientDisabled => "client_disabled",
            AuditAction::ClientSecretRegenerated => "client_secret_regenerated",
            AuditAction::ClientPreviousSecretExpired => "client_previous_secret_expired",
            AuditAction::PasswordHashUpgraded => "password_hash_upgraded",
            AuditAction::Imported => "imported",
            AuditAction::ClientAuthFailed => "client_auth_failed",
            AuditAction::ClientAuthLocked => "client_auth_locked",
            AuditAction::TokenRevoked => "token_revoked",
            AuditAction::KeysRotated => "keys_rotated",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::LoginLocked => "login_locked",
            AuditAction::ConsentGranted => "consent_granted",
            AuditAction::ConsentRevoked => "consent_revoked",
            AuditAction::OrgApproved => "org_approved",
            AuditAction::OrgApprovalWithdrawn => "org_approval_withdrawn",
            AuditAction::ApprovalRequested => "approval_requested",
            AuditAction::ApprovalRejected => "approval_rejected",
            AuditAction::GrantRevoked => "grant_revoked",
            AuditAction::RefreshTokenMisused => "refresh_token_misused",
            AuditAction::SessionCreated => "session_created",
            AuditAction::SessionEnded => "session_ended",
            AuditAction::ClientUpdated => "client_updated",
            AuditAction::ClientSecretRevealed => "client_secret_revealed",
            AuditAction::UserUpdated => "user_updated",
            AuditAction::ScopeUpdated => "scope_updated",
            AuditAction::RegistrationTokenCreated => "registration_token_created",
            AuditAction::AccessDenied => "access_denied",
            AuditAction::PasswordResetRequested => "password_reset_requested",
            AuditAction::PasswordChanged => "password_changed",
            AuditAction::EmailVerificationRequested => "email_verification_requested",
            AuditAction::EmailVerified => "email_verified",
            AuditAction::SecondFactorAdded => "second_factor_added",
            AuditAction::SecondFactorRemoved => "second_factor_removed",
            AuditAction::OrgUpdated => "org_updated",
            AuditAction::SessionSwitched => "session_switched",
            AuditAction::UserInvited => "user_invited",
            AuditAction::InvitationAccepted => "invitation_accepted",
            AuditAction::IdentityProviderAdded => "identity_provider_added",
            AuditAction::IdentityProviderUpdated => "identity_provider_updated",
            AuditAction::IdentityProviderRemoved => "identity_provider_removed",
            AuditAction::FederatedSignIn => "federated_sign_in",
            AuditAction::FederatedSignInFailed => "federated_sign_in_failed",
        }
    }
}

/// One audit entry. `detail` never holds a secret, a token or a password.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub at: i64,
    pub org_id: Option<String>,
    /// Who did it: `cli`, `system`, a user id or a client id.
    pub actor: String,
    pub action: AuditAction,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
}
