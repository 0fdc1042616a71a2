//! The forms of our own pages, read once where the request comes in. Each form is a struct of
//! its fields (`#[derive(Deserialize)]`), so a handler never looks a field up by name and a
//! field's name is written in one place. The CSRF token is checked before the fields are read
//! (`pages::signed_in_post`, `pages::pre_login_form`, `portal::signed_in_form`).
//!
//! Reading rules, the same for every form: a field the struct does not name is ignored (the
//! buttons' names, the CSRF token), a missing field is empty (`#[serde(default)]`), and a field
//! the struct names that comes twice makes the form unreadable (a form of ours never sends one).

use serde::Deserialize;
use serde::de::value::{Error as ValueError, MapDeserializer};
use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};

use crate::http::i18n;

/// The most fields a form may carry: the client form's checkbox groups stay far below it.
const MAX_FIELDS: usize = 200;

/// A form body as a browser sent it: its name/value pairs in order, repeated names kept
/// (checkbox groups).
#[derive(Debug, Default, Clone)]
pub(crate) struct FormBody(Vec<(String, String)>);

impl FormBody {
    /// `None` when the body is not a form (a name or value not UTF-8 once decoded: never
    /// rewritten, so two passwords cannot become one) or carries more than [`MAX_FIELDS`] fields.
    pub(crate) fn parse(body: &[u8]) -> Option<Self> {
        let pairs = tessera_core::params::form_pairs(body).ok()?;
        (pairs.len() <= MAX_FIELDS).then_some(Self(pairs))
    }

    /// The form's fields as the struct `T`, under the reading rules of this module.
    pub(crate) fn read<T: DeserializeOwned>(&self) -> Option<T> {
        let pairs = self.0.iter().map(|(name, value)| (name.as_str(), value.as_str()));
        T::deserialize(MapDeserializer::<_, ValueError>::new(pairs)).ok()
    }

    /// The CSRF token every form of ours carries.
    pub(crate) fn csrf_token(&self) -> &str {
        self.0.iter().find(|(name, _)| name == "csrf_token").map_or("", |(_, value)| value.as_str())
    }

    /// The values of a checkbox group, trimmed, the empty ones left out.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty()).collect()
    }

    /// Whether a field of this name was sent at all: a checkbox group carries an empty hidden
    /// field of its name, so that a group with nothing checked is still told from no group.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// The pairs but the ones `leave_out` names: what a confirmation page posts on unchanged.
    pub(crate) fn pairs_except(&self, leave_out: &[&str]) -> Vec<(String, String)> {
        self.0.iter().filter(|(name, _)| !leave_out.contains(&name.as_str())).cloned().collect()
    }
}

/// The whole form, for a reader that needs its repeated names (the client form).
impl<'de> Deserialize<'de> for FormBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = FormBody;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("form fields")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FormBody, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(FormBody(pairs))
            }
        }
        deserializer.deserialize_map(Pairs)
    }
}

/// The "Roll secret" form: how long the current secret keeps working beside the new one.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RollFields {
    /// Seconds: one of [`GRACE_CHOICES`]; empty: at once.
    #[serde(default)]
    pub grace: String,
}

/// What the "Roll secret" page offers (SPEC §13), in seconds.
pub(crate) const GRACE_CHOICES: [u32; 4] = [0, 3600, 86_400, 604_800];

/// [`GRACE_CHOICES`] with how the page says them, in the reader's language.
pub(crate) fn grace_choices() -> Vec<(u32, String)> {
    let words: [String; GRACE_CHOICES.len()] = [
        i18n::text("portal-grace-now", &[]),
        i18n::text("portal-grace-hour", &[]),
        i18n::text("portal-grace-day", &[]),
        i18n::text("portal-grace-week", &[]),
    ];
    GRACE_CHOICES.into_iter().zip(words).collect()
}

impl RollFields {
    /// The grace the form chose; `None` for anything the page does not offer.
    pub fn grace(&self) -> Option<u32> {
        if self.grace.is_empty() {
            return Some(0);
        }
        GRACE_CHOICES.iter().copied().find(|seconds| seconds.to_string() == self.grace)
    }
}

/// A checkbox: ticked when sent as `on` (a browser's value), `true` or `1`.
pub(crate) fn checkbox<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let value = String::deserialize(deserializer)?;
    Ok(matches!(value.as_str(), "on" | "true" | "1"))
}

/// A form whose fields the handler does not need (a button that is its own action).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NoFields {}

/// The password (and code) a step-up confirmation adds to the form it confirms, or instead a
/// passkey's answer to the ceremony the page carried.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StepUpFields {
    pub step_up_password: String,
    pub step_up_code: String,
    pub step_up_ceremony: String,
    pub step_up_credential: String,
}

/// Signing in with a passkey alone: `POST /login/passkey`, first without an answer (the page
/// that asks for the passkey), then with the browser's answer to its ceremony.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PasskeySignInForm {
    pub csrf_token: String,
    pub return_to: String,
    pub ceremony: String,
    pub credential: String,
}

/// A new passkey: `POST /settings/security/passkeys`, the browser's answer to the ceremony and
/// the name the person gave it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewPasskeyForm {
    pub ceremony: String,
    pub name: String,
    pub credential: String,
}

/// Removing a passkey: `POST /settings/security/passkeys/remove`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PasskeyForm {
    pub passkey: String,
}

/// Sign-in: `POST /login`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LoginForm {
    pub csrf_token: String,
    pub return_to: String,
    pub email: String,
    pub password: String,
}

/// "Continue with NAME": `POST /login/sso`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SsoStartForm {
    pub csrf_token: String,
    pub return_to: String,
    pub provider: String,
}

/// A code: the first one of an authenticator app being set up.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CodeForm {
    pub csrf_token: String,
    pub code: String,
}

/// The second step of a sign-in: `POST /login/mfa`, a code, or a passkey's answer to the
/// ceremony the page carried.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LoginMfaForm {
    pub csrf_token: String,
    pub code: String,
    pub ceremony: String,
    pub credential: String,
}

/// The first owner: `POST /setup/{token}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SetupForm {
    pub csrf_token: String,
    pub email: String,
    pub password: String,
}

/// `POST /password/forgot`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ForgotPasswordForm {
    pub email: String,
}

/// A new password typed twice: `POST /password/reset/{token}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewPasswordForm {
    pub csrf_token: String,
    pub new_password: String,
    pub confirm_password: String,
}

/// `POST /settings/security/password`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ChangePasswordForm {
    pub current_password: String,
    pub new_password: String,
    pub confirm_password: String,
}

/// A form that confirms with the current password (removing the second factor).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CurrentPasswordForm {
    pub current_password: String,
}

/// Ending one signed-in browser.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SessionForm {
    pub session: String,
}

/// Allow or Deny on the consent and device pages, with the authorization request it answers
/// (empty on the device page, which carries the user code instead).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DecisionForm {
    pub request: String,
    pub user_code: String,
    pub decision: String,
    /// The organization chosen on the consent page (a user id of the person's), if it offered one.
    pub membership: String,
}

impl DecisionForm {
    /// True for Allow, false for Deny, `None` for a form with neither.
    pub(crate) fn allowed(&self) -> Option<bool> {
        match self.decision.as_str() {
            "allow" => Some(true),
            "deny" => Some(false),
            _ => None,
        }
    }
}

/// An RP-initiated logout's parameters (OIDC RP-Initiated Logout §2), which the confirmation
/// page carries from its `GET` to its `POST`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LogoutRequest {
    pub client_id: String,
    pub id_token_hint: String,
    pub post_logout_redirect_uri: String,
    pub state: String,
}

impl LogoutRequest {
    /// The parameters given, as hidden fields of the confirmation page.
    pub(crate) fn carried(&self) -> Vec<(&'static str, &str)> {
        [
            ("client_id", &self.client_id),
            ("id_token_hint", &self.id_token_hint),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
            ("state", &self.state),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| (name, value.as_str()))
        .collect()
    }
}

/// A form about one client: withdrawing consent, approving, the token generator's secret.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ClientIdForm {
    pub client_id: String,
}

/// The token generator: `POST /settings/token-generator`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GeneratorForm {
    pub client_id: String,
    pub scope: String,
}

/// A client's ON/OFF switch.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ClientStatusForm {
    pub status: String,
}

/// A new member: `POST /admin/members`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewMemberForm {
    pub email: String,
    pub password: String,
    pub role: String,
    #[serde(deserialize_with = "checkbox")]
    pub service: bool,
    #[serde(deserialize_with = "checkbox")]
    pub authorize_applications: bool,
}

/// An invitation: `POST /admin/members/invite`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct InviteForm {
    pub email: String,
    pub role: String,
}

/// A member's role: `POST /admin/members/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MemberRoleForm {
    pub role: String,
    #[serde(deserialize_with = "checkbox")]
    pub authorize_applications: bool,
}

/// One of the person's memberships: `POST /settings/organizations/switch`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MembershipForm {
    pub user_id: String,
}

/// The organization's settings: `POST /admin/organization`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OrganizationForm {
    #[serde(deserialize_with = "checkbox")]
    pub require_mfa: bool,
    #[serde(deserialize_with = "checkbox")]
    pub require_sso: bool,
}

/// An identity provider to connect: `POST /admin/organization/identity-providers`.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct IdentityProviderForm {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub default_role: String,
}

impl std::fmt::Debug for IdentityProviderForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProviderForm").field("name", &self.name).field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// An identity provider to disconnect: `POST /admin/organization/identity-providers/remove`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProviderIdForm {
    pub id: String,
}

/// A scope of the catalogue and whether it is restricted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ScopeForm {
    pub name: String,
    #[serde(deserialize_with = "checkbox")]
    pub restricted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_reads_into_its_struct_ignoring_other_fields() {
        let form = FormBody::parse(b"csrf_token=t&role=admin&authorize_applications=on&submit=Save").unwrap();
        let fields: MemberRoleForm = form.read().unwrap();
        assert_eq!(fields.role, "admin");
        assert!(fields.authorize_applications);
        assert_eq!(form.csrf_token(), "t");
    }

    #[test]
    fn a_missing_field_is_empty_and_an_unticked_box_false() {
        let fields: MemberRoleForm = FormBody::parse(b"csrf_token=t").unwrap().read().unwrap();
        assert_eq!(fields.role, "");
        assert!(!fields.authorize_applications);
    }

    #[test]
    fn a_named_field_sent_twice_makes_the_form_unreadable() {
        let form = FormBody::parse(b"role=admin&role=owner").unwrap();
        assert!(form.read::<MemberRoleForm>().is_none());
        // A name the struct does not know may repeat (the client form's checkbox groups).
        assert!(form.read::<NoFields>().is_some());
    }

    #[test]
    fn the_whole_form_keeps_repeated_names_in_order() {
        let form: FormBody = FormBody::parse(b"scopes=&scopes=a&scopes=b").unwrap().read().unwrap();
        assert_eq!(form.all("scopes"), ["a", "b"]);
        assert!(form.has("scopes"));
        assert!(!form.has("grants"));
    }

    #[test]
    fn too_many_fields_or_a_body_that_is_no_form_is_refused() {
        let many = vec!["a=1"; MAX_FIELDS + 1].join("&");
        assert!(FormBody::parse(many.as_bytes()).is_none());
        assert!(FormBody::parse(b"password=%FF").is_none());
    }
}
