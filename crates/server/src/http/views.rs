//! The HTML pages (askama templates under `crates/server/templates/`), and how a page becomes
//! a response: `text/html`, never cached, with the framing and content-security headers that
//! the middleware adds to every response.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_service::authorization::ScopeLine;

use crate::error::no_store;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub csrf: &'a str,
    pub return_to: &'a str,
    pub email: &'a str,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Whether to offer "Sign in with a passkey" (the issuer is a domain name).
    pub passkeys: bool,
    /// "Continue with NAME": the identity providers of the organization whose application asks
    /// (text, provider id).
    pub providers: Vec<(String, String)>,
    /// Whether an email of a domain a provider claims signs in without a password (the field
    /// is then optional, and a line says so).
    pub by_email: bool,
}

/// A page's request for a passkey: the ceremony's handle, posted back, and the options for the
/// browser (`assets/webauthn.js`).
pub struct PasskeyPrompt {
    pub ceremony: String,
    pub options: String,
}

impl From<tessera_service::passkeys::PasskeyCeremony> for PasskeyPrompt {
    fn from(ceremony: tessera_service::passkeys::PasskeyCeremony) -> Self {
        Self { ceremony: ceremony.handle, options: ceremony.options }
    }
}

#[derive(Template)]
#[template(path = "passkey_sign_in.html")]
pub struct PasskeySignInPage<'a> {
    pub csrf: &'a str,
    pub return_to: &'a str,
    pub prompt: PasskeyPrompt,
    pub error: Option<&'a str>,
    /// The password sign-in page, going on to the same place.
    pub password_href: String,
}

#[derive(Template)]
#[template(path = "passkey_setup.html")]
pub struct PasskeySetupPage {
    pub nav: Nav,
    pub csrf: String,
    pub prompt: PasskeyPrompt,
    pub name: String,
    pub error: Option<String>,
}

/// One passkey on the security page.
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "password_forgot.html")]
pub struct PasswordForgotPage<'a> {
    pub csrf: &'a str,
    pub mail_enabled: bool,
}

#[derive(Template)]
#[template(path = "password_reset.html")]
pub struct PasswordResetPage<'a> {
    pub csrf: &'a str,
    pub token: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "invite.html")]
pub struct InvitePage<'a> {
    pub csrf: &'a str,
    pub token: &'a str,
    pub org_name: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    pub has_account: bool,
    /// The email of the browser's session, if any.
    pub signed_in_as: Option<&'a str>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "security.html")]
pub struct SecurityPage {
    pub nav: Nav,
    pub csrf: String,
    pub email: String,
    pub email_verified: bool,
    pub mail_enabled: bool,
    pub password_error: Option<String>,
    pub sessions: Vec<SessionRow>,
    pub totp: bool,
    pub recovery_codes_left: i64,
    pub passkeys: Vec<PasskeyRow>,
    /// Whether passkeys can be added here (the issuer is a domain name).
    pub passkeys_enabled: bool,
}

#[derive(Template)]
#[template(path = "step_up.html")]
pub struct StepUpPage {
    pub nav: Nav,
    pub csrf: String,
    pub email: String,
    /// What the action does, after "To": "show the secret".
    pub what: &'static str,
    /// The action's path and its form's fields, posted again with the confirmation.
    pub action: String,
    pub fields: Vec<(String, String)>,
    pub back: String,
    /// Whether to ask for a code too (the user has a second factor).
    pub code: bool,
    /// One of the user's passkeys instead, when they have one.
    pub passkey: Option<PasskeyPrompt>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "login_mfa.html")]
pub struct LoginMfaPage<'a> {
    pub csrf: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
    /// One of the user's passkeys, when they have one.
    pub passkey: Option<PasskeyPrompt>,
    /// Whether an authenticator app is set up (else only recovery codes go in the code field).
    pub totp: bool,
}

#[derive(Template)]
#[template(path = "totp_setup.html")]
pub struct TotpSetupPage {
    pub nav: Nav,
    pub csrf: String,
    pub secret: String,
    pub uri: String,
    /// Made on the server from the otpauth URI (`qrcode`): no user text in it.
    pub qr_svg: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub nav: Nav,
    pub codes: Vec<String>,
}

/// One signed-in browser on the security page.
pub struct SessionRow {
    pub handle: String,
    pub created: String,
    pub last_seen: String,
    pub address: String,
    pub browser: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub csrf: &'a str,
    /// The authorization request's query string, posted back with the decision.
    pub request: &'a str,
    pub client_name: &'a str,
    pub owner: &'a str,
    pub user_email: &'a str,
    pub scopes: &'a [ScopeLine],
    pub organizations: &'a [tessera_service::memberships::OrgChoice],
}

#[derive(Template)]
#[template(path = "approval.html")]
pub struct ApprovalPage<'a> {
    pub csrf: &'a str,
    pub request: &'a str,
    pub client_name: &'a str,
    pub owner: &'a str,
    pub org_name: &'a str,
    pub user_email: &'a str,
    pub already_approved: bool,
    pub scopes: &'a [ScopeLine],
}

/// The device verification page (RFC 8628 §3.3): the code form, or the approval prompt.
#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage<'a> {
    pub csrf: &'a str,
    pub user_email: &'a str,
    /// What the code field holds (a `verification_uri_complete` fills it in).
    pub typed: &'a str,
    pub error: Option<&'a str>,
    pub prompt: Option<&'a tessera_service::device::DevicePrompt>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub is_error: bool,
    pub link: Option<(&'a str, &'a str)>,
    /// On a 5xx page, the request's id, which ties it to the log (SPEC §14).
    pub request_id: Option<String>,
}

impl MessagePage<'_> {
    /// The request's id when `status` is 5xx.
    pub fn request_id_for(status: StatusCode) -> Option<String> {
        let id = status.is_server_error().then(crate::http::page::request_id).flatten()?;
        id.to_str().ok().map(str::to_owned)
    }
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub csrf: &'a str,
    pub user_email: Option<&'a str>,
    /// RP-initiated logout parameters carried through the confirmation.
    pub carry: Vec<(&'a str, &'a str)>,
}

#[derive(Template)]
#[template(path = "setup.html")]
pub struct SetupPage<'a> {
    pub csrf: &'a str,
    pub token: &'a str,
    pub org_name: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
}

/// One row of the connected-applications page.
pub struct ConnectedApp {
    pub client_id: String,
    pub name: String,
    pub scope: String,
}

#[derive(Template)]
#[template(path = "connected_apps.html")]
pub struct ConnectedAppsPage<'a> {
    pub nav: Nav,
    pub csrf: &'a str,
    pub apps: &'a [ConnectedApp],
}

/// The stylesheet every page links (a file, so the CSP needs no inline styles).
pub const STYLESHEET: &str = include_str!("../../assets/tessera.css");

/// Renders `page` with `status`; pages are never cached (they carry CSRF tokens).
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            no_store(&mut response);
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page that only says something.
pub fn message(status: StatusCode, title: &str, message: &str) -> Response {
    let is_error = status.is_client_error() || status.is_server_error();
    html(status, &MessagePage { title, message, is_error, link: None, request_id: MessagePage::request_id_for(status) })
}

/// The signed-in user's navigation bar, with a flash line for the page.
pub struct Nav {
    pub email: String,
    /// The organization the browser works in.
    pub org_name: String,
    /// Shows the Organization link (owners and admins).
    pub admin: bool,
    pub active: &'static str,
    pub notice: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "clients.html")]
pub struct ClientsPage {
    pub nav: Nav,
    pub clients: Vec<tessera_proto::ClientView>,
}

/// What the client form shows: the values as typed (textareas one entry per line).
#[derive(Default)]
pub struct ClientFormValues {
    pub name: String,
    pub grants: Vec<String>,
    pub scopes: Vec<String>,
    pub public: bool,
    pub redirect_uris: String,
    pub allowed_origins: String,
    pub allowed_ips: String,
    pub run_as: String,
    pub access_token_ttl: String,
    pub requires_org_approval: bool,
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// `required` or `optional` (PKCE in the code flow).
    pub pkce: String,
    /// RFC 8707 resources, one per line.
    pub resources: String,
    /// A pasted public key (JWK, JWKS or PEM) for `private_key_jwt`; empty: a secret.
    pub public_key: String,
}

/// A catalogue scope on the form: a member's role may not grant a restricted one.
pub struct ScopeChoice {
    pub name: String,
    pub restricted: bool,
    pub allowed: bool,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "client_form.html")]
pub struct ClientFormPage {
    pub nav: Nav,
    pub csrf: String,
    /// The client id when editing; `None` for a new client.
    pub editing: Option<String>,
    /// A new client: what it is for, chosen on the page before (SPEC §16).
    pub kind: Option<KindChoice>,
    pub form: ClientFormValues,
    /// Whether the redirect URIs and the allowed origins are asked above "Advanced settings"
    /// (the kind needs them, or the client has some) rather than under it.
    pub redirects_up_front: bool,
    pub origins_up_front: bool,
    /// The grants offered, each with a word on what it is for.
    pub grant_choices: Vec<(&'static str, String)>,
    pub scope_choices: Vec<ScopeChoice>,
    pub run_as_choices: Vec<tessera_proto::UserView>,
    pub problems: Vec<FieldProblem>,
}

/// A problem of a form field, in the reader's language.
#[derive(Debug, Clone)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

impl ClientFormPage {
    fn has(&self, field: &str) -> bool {
        self.problems.iter().any(|p| p.field == field)
    }

    /// The problems of `field`, each as a sentence (the service words them as clauses).
    fn err(&self, field: &str) -> String {
        self.problems.iter().filter(|p| p.field == field).map(|p| crate::error::sentence(&p.message)).collect::<Vec<_>>().join(" ")
    }

    fn grant_checked(&self, grant: &str) -> bool {
        self.form.grants.iter().any(|g| g == grant)
    }

    /// "Advanced settings" opens by itself when one of its fields has a problem.
    fn advanced_open(&self) -> bool {
        let up_front = |f: &str| match f {
            "name" | "scopes" => true,
            "redirect_uris" => self.redirects_up_front,
            "allowed_origins" => self.origins_up_front,
            _ => false,
        };
        self.problems.iter().any(|p| !up_front(p.field))
    }

    /// `aria-describedby` and `aria-invalid` of a field with a problem (its message's id is
    /// `FIELD-error`), nothing for one without.
    fn invalid(&self, field: &str) -> String {
        if self.has(field) { format!(r#" aria-invalid="true" aria-describedby="{field}-error""#) } else { String::new() }
    }
}

/// One answer to "what will use this client?" on the portal's first create page; its title and
/// text are in the reader's language (`http::portal::client_pages`).
#[derive(Clone, Copy)]
pub struct KindChoice {
    pub kind: tessera_core::client::AppKind,
}

impl KindChoice {
    pub fn slug(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The grants it starts with, as the page lists them.
    pub fn grants(&self) -> String {
        self.kind.grants().iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Template)]
#[template(path = "client_kind.html")]
pub struct ClientKindPage {
    pub nav: Nav,
    pub kinds: Vec<KindChoice>,
}

#[derive(Template)]
#[template(path = "client.html")]
pub struct ClientPage {
    pub nav: Nav,
    pub csrf: String,
    pub client: tessera_proto::ClientView,
    /// The secret in clear: just created, regenerated, or revealed by its owner.
    pub secret: Option<String>,
    pub can_reveal: bool,
    /// After a roll with a grace period: when the replaced secret stops working, in words.
    pub previous_secret_until: Option<String>,
    /// When the client was made, in words.
    pub created: String,
    /// When it last authenticated, to the minute; `None`: never.
    pub last_used: Option<String>,
}

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub nav: Nav,
    pub csrf: String,
    pub title: String,
    pub text: String,
    pub action: String,
    pub back: String,
    pub button: String,
    pub danger: bool,
    /// The "Roll secret" page: the choice of when the current secret stops (seconds, words).
    pub grace_choices: Vec<(u32, String)>,
    /// Fields the confirmed action posts as they are (name, value).
    pub fields: Vec<(&'static str, &'static str)>,
}

/// A client the generator offers.
pub struct GeneratorClient {
    pub id: String,
    pub name: String,
    /// How it gets a token, in words.
    pub kind: String,
}

/// A token the generator got.
pub struct GeneratorResult {
    pub access_token: String,
    pub expires_in: u64,
    pub expires_at: String,
    pub scope: String,
    pub curl_api: String,
    /// Whether `curl_api` names the API (`serve --api-base-url`) rather than `$API_URL`.
    pub api_named: bool,
    pub curl_token: Option<String>,
    /// The token's header and claims, decoded (an opaque token has none).
    pub claims: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "generator.html")]
pub struct GeneratorPage {
    pub nav: Nav,
    pub csrf: String,
    pub clients: Vec<GeneratorClient>,
    pub selected: String,
    pub scope: String,
    pub callback: String,
    /// A browser client that has not registered the generator's callback yet.
    pub needs_callback: Option<String>,
    pub result: Option<GeneratorResult>,
    /// The implicit flow's callback: the page's script reads the token from the fragment.
    pub implicit: bool,
    pub expected_state: String,
}

#[derive(Template)]
#[template(path = "admin_members.html")]
pub struct MembersPage {
    pub nav: Nav,
    pub csrf: String,
    pub tab: &'static str,
    pub members: Vec<tessera_proto::UserView>,
    pub me: String,
    pub is_owner: bool,
    /// Whether invitations can be mailed (`serve --smtp-url`).
    pub mail_enabled: bool,
    pub invitations: Vec<PendingInvitation>,
    pub drafts: MemberDrafts,
}

/// What the Members page's two forms show again after a refusal (never the password).
#[derive(Debug, Clone, Default)]
pub struct MemberDrafts {
    pub email: String,
    pub role: String,
    pub service: bool,
    pub authorize_applications: bool,
    pub invite_email: String,
    pub invite_role: String,
}

/// An invitation waiting to be accepted, as the Members page lists it.
pub struct PendingInvitation {
    pub email: String,
    pub role: tessera_core::model::Role,
    pub expires_text: String,
}

#[derive(Template)]
#[template(path = "organizations.html")]
pub struct OrganizationsPage {
    pub nav: Nav,
    pub csrf: String,
    pub memberships: Vec<tessera_service::memberships::Membership>,
}

#[derive(Template)]
#[template(path = "admin_organization.html")]
pub struct OrganizationPage {
    pub nav: Nav,
    pub csrf: String,
    pub tab: &'static str,
    pub org_name: String,
    pub require_mfa: bool,
    pub require_sso: bool,
    pub is_owner: bool,
    /// The organization's identity providers (single sign-on).
    pub providers: Vec<tessera_proto::IdentityProviderView>,
    /// Where providers send people back: what to register with a provider.
    pub callback_uri: String,
    /// Why connecting a provider did not go through, and what was typed (never the secret).
    pub provider_error: Option<String>,
    pub draft: ProviderDraft,
}

/// What the connect form keeps after a refusal.
#[derive(Default)]
pub struct ProviderDraft {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub default_role: String,
}

#[derive(Template)]
#[template(path = "admin_scopes.html")]
pub struct ScopesPage {
    pub nav: Nav,
    pub csrf: String,
    pub tab: &'static str,
    pub scopes: Vec<tessera_core::model::ScopeDef>,
}

/// An approval as the page shows it.
pub struct ApprovalRow {
    pub client_id: String,
    pub client_name: String,
    pub approved_by: String,
    pub approved_at_text: String,
}

#[derive(Template)]
#[template(path = "admin_approvals.html")]
pub struct ApprovalsPage {
    pub nav: Nav,
    pub csrf: String,
    pub tab: &'static str,
    pub approvals: Vec<ApprovalRow>,
    /// Applications the organization's members tried to authorize, awaiting approval.
    pub waiting: Vec<WaitingApproval>,
}

pub struct WaitingApproval {
    pub view: tessera_proto::ApprovalRequestView,
    /// When a member last asked, in words.
    pub last_asked: String,
}

/// The audit page's filter, as typed.
#[derive(Default, serde::Deserialize)]
pub struct AuditFilterForm {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub before: Option<i64>,
}

/// An audit entry as the page shows it.
pub struct AuditRow {
    pub at: String,
    /// Who, as people know them (an email, a client's name), and the id behind it.
    pub actor: Named,
    pub action: String,
    pub target: Named,
    pub ip: String,
    /// The detail as key–value pairs, values as text.
    pub detail: Vec<(String, String)>,
}

/// An id shown by name where the page knows one (the id on hover), else the id itself.
pub struct Named {
    pub name: String,
    pub id: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
pub struct AuditPage {
    pub nav: Nav,
    pub tab: &'static str,
    pub filter: AuditFilterForm,
    pub actions: Vec<&'static str>,
    /// The members' emails, offered by the actor filter.
    pub people: Vec<String>,
    pub entries: Vec<AuditRow>,
    pub next: Option<String>,
}

/// The templates' own filters: `{{ "key"|t }}` is message `key` of the reader's language
/// (`http::i18n`); `t1`/`t2` give it one or two named arguments.
mod filters {
    use std::fmt::Display;

    use fluent_bundle::FluentValue;

    /// An argument as the catalogues take it (the service's one rule: a number stays a number).
    fn value(v: &dyn Display) -> FluentValue<'static> {
        tessera_service::i18n::fluent_value(v.to_string())
    }

    pub fn t<K: Display>(key: K, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(crate::http::i18n::text(&key.to_string(), &[]))
    }

    pub fn t1<K: Display, A: Display>(key: K, _: &dyn askama::Values, name: &str, a: A) -> askama::Result<String> {
        Ok(crate::http::i18n::text(&key.to_string(), &[(name, value(&a))]))
    }

    pub fn t2<K: Display, A: Display, B: Display>(
        key: K,
        _: &dyn askama::Values,
        name_a: &str,
        a: A,
        name_b: &str,
        b: B,
    ) -> askama::Result<String> {
        Ok(crate::http::i18n::text(&key.to_string(), &[(name_a, value(&a)), (name_b, value(&b))]))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn only_a_numbers_own_writing_becomes_a_number() {
            let shown = |text: &str| match super::value(&text) {
                fluent_bundle::FluentValue::Number(n) => format!("number {}", n.value),
                fluent_bundle::FluentValue::String(s) => format!("text {s}"),
                _ => "other".to_owned(),
            };
            assert_eq!(shown("12"), "number 12");
            assert_eq!(shown("007"), "text 007");
            assert_eq!(shown("+5"), "text +5");
            assert_eq!(shown("Deploy bot"), "text Deploy bot");
        }
    }
}
