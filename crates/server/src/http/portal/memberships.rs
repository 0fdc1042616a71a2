//! `/settings/organizations`: the organizations the signed-in person belongs to, and the switch
//! between them (SPEC §11).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::{Done, nav, notice, signed_in, signed_in_form};
use crate::AppState;
use crate::error::PageResult;
use crate::http::forms::MembershipForm;
use crate::http::pages::{Browser, redirect};
use crate::http::views::{OrganizationsPage, html};

const HERE: &str = "/settings/organizations";

/// `GET /settings/organizations`.
pub async fn organizations(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> PageResult {
    let session = signed_in(&state, &browser, HERE).await?;
    let memberships = state.service.memberships(&session).await?;
    let page = OrganizationsPage {
        nav: nav(&session, "organizations", notice(done.done.as_deref())),
        csrf: state.service.session_csrf(&session),
        memberships,
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /settings/organizations/switch`: this browser works in another of the person's
/// organizations from now on.
pub async fn switch(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<MembershipForm>(&state, &browser, &body).await?;
    state.service.switch_membership(&session, &form.user_id).await?;
    Ok(redirect(StatusCode::SEE_OTHER, "/settings/api-clients?done=switched"))
}
