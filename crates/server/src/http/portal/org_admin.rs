//! The organization admin pages (`/admin/…`): members, the scope catalogue, approvals of
//! applications and the audit log.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

use tessera_core::model::Role;
use tessera_service::ServiceError;
use tessera_service::admin::{Actor, AuditFilter, NewIdentityProvider, NewUser, OrgChange};
use tessera_service::session::SignedIn;

use crate::http::forms::{
    ClientIdForm, IdentityProviderForm, InviteForm, MemberRoleForm, NewMemberForm, NoFields, OrganizationForm, ProviderIdForm, ScopeForm,
};

use super::{Done, acting, nav, notice, signed_in, signed_in_form, stepped_up};
use crate::AppState;
use crate::error::{PageResult, sentence};
use crate::http::dates;
use crate::http::i18n;
use crate::http::pages::{Browser, redirect};
use crate::http::views::{
    ApprovalRow, ApprovalsPage, AuditFilterForm, AuditPage, AuditRow, MemberDrafts, MembersPage, Named, OrganizationPage,
    PendingInvitation, ProviderDraft, ScopesPage, WaitingApproval, html,
};

/// A role as the pages name it, in the reader's language (`member`, `admin`, `owner` in
/// English); an unknown one as it is.
pub fn role_name(role: &str) -> String {
    match role {
        "member" => i18n::text("admin-role-member", &[]),
        "admin" => i18n::text("admin-role-admin", &[]),
        "owner" => i18n::text("admin-role-owner", &[]),
        other => other.to_owned(),
    }
}

/// `GET /admin`.
pub async fn admin_home() -> Response {
    redirect(StatusCode::FOUND, "/admin/members")
}

/// `GET /admin/members`.
pub async fn members(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> PageResult {
    let session = signed_in(&state, &browser, "/admin/members").await?;
    members_page(&state, &session, notice(done.done.as_deref()), None).await
}

async fn members_page(state: &AppState, session: &SignedIn, notice: Option<String>, error: Option<String>) -> PageResult {
    members_page_with(state, session, notice, error, StatusCode::BAD_REQUEST, MemberDrafts::default()).await
}

/// The members page after a refused change: the reason on the page, with 403.
async fn members_refused(state: &AppState, session: &SignedIn, why: &str) -> PageResult {
    members_page_with(state, session, None, Some(sentence(why)), StatusCode::FORBIDDEN, MemberDrafts::default()).await
}

/// The members page after an add or an invitation that did not go through: the reason, and
/// the form as it was sent (but the password), so nothing typed is lost.
async fn members_page_again(state: &AppState, session: &SignedIn, why: String, status: StatusCode, drafts: MemberDrafts) -> PageResult {
    members_page_with(state, session, None, Some(sentence(&why)), status, drafts).await
}

/// The members page; `error_status` is the status when it shows an error.
async fn members_page_with(
    state: &AppState,
    session: &SignedIn,
    notice: Option<String>,
    error: Option<String>,
    error_status: StatusCode,
    drafts: MemberDrafts,
) -> PageResult {
    let user = &session.user;
    let actor = Actor::user(user.clone());
    let members = state.service.members(&actor, user.org_id.as_str()).await?;
    let invitations = state
        .service
        .pending_invitations(&actor, &user.org_id)
        .await?
        .into_iter()
        .map(|i| PendingInvitation { email: i.email, role: i.role, expires_text: dates::utc(i.expires_at) })
        .collect();
    let mut page_nav = nav(session, "admin", notice);
    let status = if error.is_some() { error_status } else { StatusCode::OK };
    page_nav.error = error;
    let page = MembersPage {
        nav: page_nav,
        csrf: state.service.session_csrf(session),
        tab: "members",
        members,
        me: user.id.to_string(),
        is_owner: user.role == Role::Owner,
        mail_enabled: state.service.mail_enabled(),
        invitations,
        drafts,
    };
    Ok(html(status, &page))
}

/// `POST /admin/members`: adds a member.
pub async fn add_member(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<NewMemberForm>(&state, &browser, &body).await?;
    let NewMemberForm { email, password, service, authorize_applications, role } = form;
    let drafts = MemberDrafts { email: email.clone(), role: role.clone(), service, authorize_applications, ..MemberDrafts::default() };
    let again = |why: String, status| members_page_again(&state, &session, why, status, drafts.clone());
    let Some(role) = Role::parse(&role) else {
        return again(i18n::text("admin-pick-role", &[]), StatusCode::BAD_REQUEST).await;
    };
    if !service && password.is_empty() {
        return again(i18n::text("admin-members-password-needed", &[]), StatusCode::BAD_REQUEST).await;
    }
    let new = NewUser {
        password_hash: None,
        org: session.user.org_id.to_string(),
        email,
        role,
        service,
        authorize_applications,
        password: (!service).then_some(password),
    };
    match state.service.create_user(&acting(&session, &browser), new).await {
        Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, "/admin/members?done=added")),
        Err(ServiceError::Invalid(why)) => again(i18n::said(&why.message), StatusCode::BAD_REQUEST).await,
        Err(ServiceError::Forbidden(why)) => again(i18n::said(&why), StatusCode::FORBIDDEN).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/members/invite`: mails an invitation to join.
pub async fn invite(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<InviteForm>(&state, &browser, &body).await?;
    let drafts = MemberDrafts { invite_email: form.email.clone(), invite_role: form.role.clone(), ..MemberDrafts::default() };
    let again = |why: String, status| members_page_again(&state, &session, why, status, drafts.clone());
    let Some(role) = Role::parse(&form.role) else {
        return again(i18n::text("admin-pick-role", &[]), StatusCode::BAD_REQUEST).await;
    };
    let actor = acting(&session, &browser);
    match state.service.invite_by_mail(&actor, session.user.org_id.as_str(), &form.email, role).await {
        Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, "/admin/members?done=invited")),
        Err(ServiceError::Invalid(why)) => again(i18n::said(&why.message), StatusCode::BAD_REQUEST).await,
        Err(ServiceError::Forbidden(why)) => again(i18n::said(&why), StatusCode::FORBIDDEN).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/members/{id}`: role and permission.
pub async fn update_member(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<MemberRoleForm>(&state, &browser, &body).await?;
    let session =
        stepped_up(&state, &browser, session, &body, &format!("/admin/members/{id}"), "change a member's role", "/admin/members").await?;
    let Some(role) = Role::parse(&form.role) else {
        return members_page(&state, &session, None, Some(sentence(&i18n::text("admin-pick-role", &[])))).await;
    };
    let actor = acting(&session, &browser);
    match state.service.update_member(&actor, &id, Some(role), Some(form.authorize_applications)).await {
        Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, "/admin/members?done=saved")),
        Err(ServiceError::Forbidden(why)) => members_refused(&state, &session, &i18n::said(&why)).await,
        Err(e) => Err(e.into()),
    }
}

async fn set_member_disabled(state: &AppState, browser: &Browser, id: &str, body: &Bytes, disabled: bool) -> PageResult {
    let (session, NoFields {}) = signed_in_form(state, browser, body).await?;
    match state.service.set_user_disabled(&acting(&session, browser), id, disabled).await {
        Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, if disabled { "/admin/members?done=disabled" } else { "/admin/members?done=enabled" })),
        Err(ServiceError::Forbidden(why)) => members_refused(state, &session, &i18n::said(&why)).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/members/{id}/disable`.
pub async fn disable_member(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> PageResult {
    set_member_disabled(&state, &browser, &id, &body, true).await
}

/// `POST /admin/members/{id}/enable`.
pub async fn enable_member(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> PageResult {
    set_member_disabled(&state, &browser, &id, &body, false).await
}

async fn scopes_page(state: &AppState, session: &SignedIn, notice: Option<String>, error: Option<String>) -> PageResult {
    let user = &session.user;
    let actor = Actor::user(user.clone());
    // Reading the catalogue is open to members (for the client form); this page is not.
    state.service.require_runs_org(&actor, &user.org_id)?;
    let scopes = state.service.scopes(&actor, user.org_id.as_str()).await?;
    let mut page_nav = nav(session, "admin", notice);
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page_nav.error = error;
    Ok(html(status, &ScopesPage { nav: page_nav, csrf: state.service.session_csrf(session), tab: "scopes", scopes }))
}

/// `GET /admin/scopes`.
pub async fn scopes(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> PageResult {
    let session = signed_in(&state, &browser, "/admin/scopes").await?;
    scopes_page(&state, &session, notice(done.done.as_deref()), None).await
}

/// `POST /admin/scopes`: adds a scope to the catalogue.
pub async fn add_scope(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<ScopeForm>(&state, &browser, &body).await?;
    let actor = acting(&session, &browser);
    match state.service.create_scope(&actor, session.user.org_id.as_str(), form.name.trim(), form.restricted).await {
        Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, "/admin/scopes?done=added")),
        Err(ServiceError::Invalid(why)) => scopes_page(&state, &session, None, Some(sentence(&i18n::said(&why.message)))).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/scopes/restriction`.
pub async fn restrict_scope(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<ScopeForm>(&state, &browser, &body).await?;
    let actor = acting(&session, &browser);
    match state.service.set_scope_restricted(&actor, session.user.org_id.as_str(), &form.name, form.restricted).await {
        Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, "/admin/scopes?done=saved")),
        Err(e) => Err(e.into()),
    }
}

async fn approvals_page(state: &AppState, session: &SignedIn, notice: Option<String>, error: Option<String>) -> PageResult {
    let user = &session.user;
    let approvals = state.service.org_approvals(&Actor::user(user.clone()), user.org_id.as_str()).await?;
    let mut rows = Vec::new();
    for a in approvals {
        let by = match state.service.member(&Actor::user(user.clone()), &a.approved_by).await {
            Ok(u) => u.email,
            Err(_) => a.approved_by.clone(),
        };
        rows.push(ApprovalRow {
            client_id: a.client_id,
            client_name: a.client_name,
            approved_by: by,
            approved_at_text: dates::utc(a.approved_at),
        });
    }
    let waiting = state
        .service
        .approval_requests(&Actor::user(user.clone()), user.org_id.as_str())
        .await?
        .into_iter()
        .map(|r| WaitingApproval { last_asked: dates::utc(r.last_requested_at), view: r })
        .collect();
    let mut page_nav = nav(session, "admin", notice);
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page_nav.error = error;
    let csrf = state.service.session_csrf(session);
    Ok(html(status, &ApprovalsPage { nav: page_nav, csrf, tab: "approvals", approvals: rows, waiting }))
}

/// `GET /admin/approvals`.
pub async fn approvals(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> PageResult {
    let session = signed_in(&state, &browser, "/admin/approvals").await?;
    approvals_page(&state, &session, notice(done.done.as_deref()), None).await
}

async fn set_approval(state: &AppState, browser: &Browser, body: &Bytes, approve: bool) -> PageResult {
    let (session, form) = signed_in_form::<ClientIdForm>(state, browser, body).await?;
    let actor = acting(&session, browser);
    match state.service.set_org_approval(&actor, form.client_id.trim(), session.user.org_id.as_str(), approve).await {
        Ok(()) => {
            Ok(redirect(StatusCode::SEE_OTHER, if approve { "/admin/approvals?done=approved" } else { "/admin/approvals?done=withdrawn" }))
        }
        Err(ServiceError::NotFound("client")) => {
            approvals_page(state, &session, None, Some(i18n::text("admin-approvals-no-client", &[]))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/approvals`.
pub async fn approve(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    set_approval(&state, &browser, &body, true).await
}

/// `POST /admin/approvals/reject`: a request for approval leaves the list.
pub async fn reject(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<ClientIdForm>(&state, &browser, &body).await?;
    let actor = acting(&session, &browser);
    state.service.reject_approval_request(&actor, form.client_id.trim(), session.user.org_id.as_str()).await?;
    Ok(redirect(StatusCode::SEE_OTHER, "/admin/approvals?done=rejected"))
}

/// `POST /admin/approvals/withdraw`.
pub async fn withdraw(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    set_approval(&state, &browser, &body, false).await
}

/// The actions the audit filter suggests.
const AUDIT_ACTIONS: [&str; 28] = [
    "client_created",
    "client_updated",
    "client_deleted",
    "client_enabled",
    "client_disabled",
    "client_secret_regenerated",
    "client_previous_secret_expired",
    "client_secret_revealed",
    "client_auth_failed",
    "user_created",
    "user_updated",
    "user_disabled",
    "user_enabled",
    "scope_created",
    "scope_updated",
    "registration_token_created",
    "login_failed",
    "password_changed",
    "password_reset_requested",
    "email_verified",
    "token_revoked",
    "token_exchanged",
    "grant_revoked",
    "org_approved",
    "org_approval_withdrawn",
    "approval_requested",
    "approval_rejected",
    "consent_granted",
];

const AUDIT_PAGE: u32 = 50;

/// `GET /admin/audit`: the organization's audit log, filtered, newest first, 50 a page.
pub async fn audit(State(state): State<AppState>, browser: Browser, Query(filter): Query<AuditFilterForm>) -> PageResult {
    let session = signed_in(&state, &browser, "/admin/audit").await?;
    let user = &session.user;
    let actor = Actor::user(user.clone());
    let query = AuditFilter {
        org: None,
        actor: Some(filter.actor.clone()),
        action: Some(filter.action.clone()),
        target: Some(filter.client.clone()),
        since: dates::instant(&filter.from, false),
        // "To" includes that whole day.
        until: dates::instant(&filter.to, true),
        before: filter.before,
        limit: AUDIT_PAGE + 1,
    };
    let mut entries = state.service.audit_log(&actor, query).await?;
    let more = entries.len() > AUDIT_PAGE as usize;
    entries.truncate(AUDIT_PAGE as usize);
    let next = more.then(|| {
        let last = entries.last().map_or(0, |e| e.id);
        let pairs = [
            ("actor", filter.actor.as_str()),
            ("action", filter.action.as_str()),
            ("client", filter.client.as_str()),
            ("from", filter.from.as_str()),
            ("to", filter.to.as_str()),
        ];
        let mut query: Vec<(&str, String)> = pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, (*v).to_owned())).collect();
        query.push(("before", last.to_string()));
        format!("/admin/audit?{}", serde_urlencoded::to_string(query).unwrap_or_default())
    });
    // People by email and clients by name: what the organization's admins know them by.
    let mut names: HashMap<String, String> = HashMap::new();
    let members = state.service.members(&actor, user.org_id.as_str()).await?;
    names.extend(members.iter().map(|m| (m.id.clone(), m.email.clone())));
    let clients = state.service.list_clients(&actor, None).await?;
    names.extend(clients.into_iter().map(|c| (c.client_id, c.name)));
    let named = |id: String| Named { name: names.get(&id).cloned().unwrap_or_else(|| id.clone()), id };
    let rows = entries
        .into_iter()
        .map(|e| AuditRow {
            at: dates::utc_seconds(e.at),
            actor: named(e.actor),
            action: e.action,
            target: named(e.target.unwrap_or_default()),
            ip: e.ip.unwrap_or_default(),
            detail: detail_pairs(e.detail, &names),
        })
        .collect();
    let people = members.into_iter().map(|m| m.email).collect();
    Ok(html(
        StatusCode::OK,
        &AuditPage {
            nav: nav(&session, "admin", None),
            tab: "audit",
            filter,
            actions: AUDIT_ACTIONS.to_vec(),
            people,
            entries: rows,
            next,
        },
    ))
}

/// `GET /admin/organization`: the organization's settings and identity providers; owners change
/// them, admins read them.
pub async fn organization(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> PageResult {
    let session = signed_in(&state, &browser, "/admin/organization").await?;
    organization_page(&state, &session, notice(done.done.as_deref()), None, ProviderDraft::default()).await
}

async fn organization_page(
    state: &AppState,
    session: &SignedIn,
    notice: Option<String>,
    provider_error: Option<String>,
    draft: ProviderDraft,
) -> PageResult {
    let user = &session.user;
    let actor = Actor::user(user.clone());
    let org = state.service.show_org(&actor, user.org_id.as_str()).await?;
    let providers = state.service.identity_providers(&actor, Some(user.org_id.as_str())).await?;
    let status = if provider_error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = OrganizationPage {
        nav: nav(session, "admin", notice),
        csrf: state.service.session_csrf(session),
        tab: "organization",
        org_name: org.name,
        require_mfa: org.require_mfa,
        require_sso: org.require_sso,
        is_owner: user.role == Role::Owner,
        providers,
        callback_uri: state.service.sso_callback_uri(),
        provider_error,
        draft,
    };
    Ok(html(status, &page))
}

/// `POST /admin/organization`: how members sign in, with a second factor or through the
/// identity provider (step-up first).
pub async fn update_organization(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<OrganizationForm>(&state, &browser, &body).await?;
    let here = "/admin/organization";
    let session = stepped_up(&state, &browser, session, &body, here, "change the organization's settings", here).await?;
    let user = &session.user;
    let change = OrgChange { require_mfa: Some(form.require_mfa), require_sso: Some(form.require_sso) };
    state.service.update_org(&Actor::user(user.clone()), user.org_id.as_str(), change).await?;
    Ok(redirect(StatusCode::SEE_OTHER, "/admin/organization?done=saved"))
}

/// `POST /admin/organization/identity-providers`: connects an upstream OpenID Provider (owners,
/// after a step-up); a refused one comes back on the page with what was typed, but the secret.
pub async fn add_identity_provider(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<IdentityProviderForm>(&state, &browser, &body).await?;
    let here = "/admin/organization";
    let session = stepped_up(&state, &browser, session, &body, here, "change the organization's settings", here).await?;
    let user = &session.user;
    let draft = ProviderDraft {
        name: form.name.clone(),
        issuer: form.issuer.clone(),
        client_id: form.client_id.clone(),
        default_role: form.default_role.clone(),
    };
    let default_role = Role::parse(&form.default_role).unwrap_or(Role::Member);
    let new = NewIdentityProvider {
        org: user.org_id.to_string(),
        name: form.name,
        issuer: form.issuer,
        client_id: form.client_id,
        client_secret: form.client_secret,
        email_domains: Vec::new(),
        default_role,
    };
    match state.service.add_identity_provider(&Actor::user(user.clone()), new).await {
        Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, "/admin/organization?done=added")),
        Err(ServiceError::Invalid(why)) => {
            organization_page(&state, &session, None, Some(sentence(&i18n::said(&why.message))), draft).await
        }
        Err(ServiceError::Conflict(why)) => organization_page(&state, &session, None, Some(sentence(&i18n::said(&why))), draft).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/organization/identity-providers/remove`: disconnects one (owners, after a
/// step-up).
pub async fn remove_identity_provider(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<ProviderIdForm>(&state, &browser, &body).await?;
    let here = "/admin/organization";
    let session = stepped_up(&state, &browser, session, &body, here, "change the organization's settings", here).await?;
    state.service.remove_identity_provider(&Actor::user(session.user.clone()), &form.id).await?;
    Ok(redirect(StatusCode::SEE_OTHER, "/admin/organization?done=removed"))
}

/// An audit entry's detail as key–value pairs: a string as it is (an id the page knows by its
/// name), a list of strings joined with commas, anything else as JSON.
fn detail_pairs(detail: serde_json::Value, names: &HashMap<String, String>) -> Vec<(String, String)> {
    use serde_json::Value;
    let text = |value: Value| match value {
        Value::String(text) => names.get(&text).cloned().unwrap_or(text),
        Value::Array(items) if items.iter().all(Value::is_string) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    };
    match detail {
        Value::Object(fields) => fields.into_iter().map(|(key, value)| (key.replace('_', " "), text(value))).collect(),
        Value::Null => Vec::new(),
        other => vec![("detail".to_owned(), text(other))],
    }
}
