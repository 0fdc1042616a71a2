//! Extractors: the parameters of an OAuth endpoint request (form or JSON body, strictly typed
//! and bounded) and the client's address (from the socket, or from `X-Forwarded-For` when the
//! socket is a trusted proxy).

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRef, FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::Response;
use ipnet::IpNet;
use tessera_core::ErrorCode;
use tessera_core::params::Params;
use tessera_service::EndpointRequest;

use crate::AppState;
use crate::error::json_error;
use crate::listener::PeerAddr;

/// The largest request body accepted (SPEC §10: larger gets 413).
pub const MAX_BODY: usize = 64 * 1024;

/// Who may set `X-Forwarded-For`.
#[derive(Debug, Clone, Default)]
pub struct ProxyPolicy {
    pub behind_proxy: bool,
    pub trusted: Vec<IpNet>,
}

impl ProxyPolicy {
    /// The client's address: the socket peer, unless that peer is a trusted proxy, in which
    /// case the right-most `X-Forwarded-For` entry that is not itself a trusted proxy (A14).
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.behind_proxy || !self.is_trusted(peer) {
            return peer;
        }
        let Some(header) = forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for hop in header.rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !self.is_trusted(ip) {
                break;
            }
        }
        client
    }

    /// The scheme the client used, as a trusted proxy reports it in `X-Forwarded-Proto`
    /// (`http` or `https`); `None` when the peer is not a trusted proxy or says nothing usable.
    /// With several proxies the left-most value is the one the client's own connection used.
    pub fn forwarded_proto<'a>(&self, peer: IpAddr, header: Option<&'a str>) -> Option<&'a str> {
        if !self.behind_proxy || !self.is_trusted(peer) {
            return None;
        }
        let first = header?.split(',').next()?.trim();
        if first.eq_ignore_ascii_case("https") {
            Some("https")
        } else if first.eq_ignore_ascii_case("http") {
            Some("http")
        } else {
            None
        }
    }

    /// Whether `peer` is a proxy whose headers are believed.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.behind_proxy && self.is_trusted(peer)
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }
}

/// Every `X-Forwarded-For` line joined in order: a proxy may add its own line rather than append
/// to the client's, and reading only the first line would believe the client's forgery. A line
/// that is not text voids the header (the socket peer is used).
pub(crate) fn forwarded_for(headers: &axum::http::HeaderMap) -> Option<String> {
    let mut joined = String::new();
    for value in headers.get_all("x-forwarded-for") {
        let text = value.to_str().ok()?;
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(text);
    }
    (!joined.is_empty()).then_some(joined)
}

/// Why a request was refused before the service was reached; each endpoint family renders it
/// in its own error shape.
pub struct Rejection {
    pub status: StatusCode,
    pub description: String,
}

fn reject(status: StatusCode, description: impl Into<String>) -> Rejection {
    Rejection { status, description: description.into() }
}

/// An OAuth endpoint request: `Authorization` header, body parameters and client address, and
/// the `Origin` header for CORS.
pub struct OAuthRequest(pub EndpointRequest, pub Option<axum::http::HeaderValue>);

impl<S> FromRequest<S> for OAuthRequest
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (request, origin) = read_endpoint_request(req, &AppState::from_ref(state))
            .await
            .map_err(|r| json_error(r.status, ErrorCode::InvalidRequest, &r.description))?;
        Ok(OAuthRequest(request, origin))
    }
}

/// Reads an endpoint request: parameters from a form or JSON body (at most 64 KiB; credentials
/// never in the URL), one `Authorization` header at most, the client's address and `Origin`.
pub async fn read_endpoint_request(
    req: Request,
    state: &AppState,
) -> Result<(EndpointRequest, Option<axum::http::HeaderValue>), Rejection> {
    let (parts, body) = req.into_parts();
    if let Some(query) = parts.uri.query() {
        // Credentials never travel in the URL (A06); say so without echoing them.
        let names: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        if names
            .iter()
            .any(|(n, _)| matches!(n.as_str(), "client_secret" | "code" | "refresh_token" | "token" | "password" | "refreshToken"))
        {
            return Err(reject(StatusCode::BAD_REQUEST, "credentials and tokens must be sent in the request body, not the URL"));
        }
    }
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => return Err(reject(StatusCode::PAYLOAD_TOO_LARGE, "the request body is larger than 64 KiB")),
    };
    let params = match media.as_str() {
        // A bare POST (the Blue Canvas seed's token request has only the Basic header).
        "" if bytes.is_empty() => Ok(Params::default()),
        "application/x-www-form-urlencoded" => Params::from_form(&bytes),
        "application/json" => Params::from_json(&bytes),
        _ => return Err(reject(StatusCode::BAD_REQUEST, "the body must be application/x-www-form-urlencoded or application/json")),
    }
    .map_err(|e| reject(StatusCode::BAD_REQUEST, e.description))?;
    let authorization = match parts.headers.get_all(header::AUTHORIZATION).iter().collect::<Vec<_>>().as_slice() {
        [] => None,
        [one] => Some(one.to_str().map_err(|_| reject(StatusCode::BAD_REQUEST, "the Authorization header is not text"))?.to_owned()),
        _ => return Err(reject(StatusCode::BAD_REQUEST, "more than one Authorization header")),
    };
    let peer = client_ip(&parts, state);
    let origin = parts.headers.get(header::ORIGIN).cloned();
    // Every DPoP header is passed on: more than one is the service's to refuse (RFC 9449 §4.3).
    let dpop = parts.headers.get_all("dpop").iter().map(|v| v.to_str().unwrap_or_default().to_owned()).collect();
    Ok((EndpointRequest { authorization, params, peer, path: parts.uri.path().to_owned(), dpop }, origin))
}

/// The client's address of a request: the socket peer, or what a trusted proxy says.
pub fn client_ip(parts: &axum::http::request::Parts, state: &AppState) -> IpAddr {
    let peer = parts.extensions.get::<ConnectInfo<PeerAddr>>().map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.0.ip());
    state.proxy.client_ip(peer, forwarded_for(&parts.headers).as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let none = ProxyPolicy::default();
        assert_eq!(none.client_ip(ip("127.0.0.1"), Some("10.1.2.3")), ip("127.0.0.1"));
        let proxy = ProxyPolicy { behind_proxy: true, trusted: vec!["127.0.0.1/32".parse().unwrap(), "192.0.2.0/24".parse().unwrap()] };
        assert_eq!(proxy.client_ip(ip("127.0.0.1"), Some("10.1.2.3")), ip("10.1.2.3"));
        assert_eq!(proxy.client_ip(ip("127.0.0.1"), Some("6.6.6.6, 10.1.2.3, 192.0.2.7")), ip("10.1.2.3"));
        assert_eq!(proxy.client_ip(ip("198.51.100.1"), Some("10.1.2.3")), ip("198.51.100.1"));
        assert_eq!(proxy.client_ip(ip("127.0.0.1"), Some("garbage")), ip("127.0.0.1"));
    }

    #[test]
    fn forwarded_proto_is_believed_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxy = ProxyPolicy { behind_proxy: true, trusted: vec!["127.0.0.1/32".parse().unwrap()] };
        assert_eq!(proxy.forwarded_proto(ip("127.0.0.1"), Some("https")), Some("https"));
        assert_eq!(proxy.forwarded_proto(ip("127.0.0.1"), Some("HTTPS, http")), Some("https"));
        assert_eq!(proxy.forwarded_proto(ip("127.0.0.1"), Some("gopher")), None);
        assert_eq!(proxy.forwarded_proto(ip("198.51.100.1"), Some("https")), None, "not a trusted proxy");
        assert_eq!(ProxyPolicy::default().forwarded_proto(ip("127.0.0.1"), Some("https")), None, "not behind a proxy");
    }

    #[test]
    fn every_forwarded_for_line_counts() {
        let mut headers = axum::http::HeaderMap::new();
        headers.append("x-forwarded-for", "10.1.2.3".parse().unwrap());
        headers.append("x-forwarded-for", "198.51.100.7".parse().unwrap());
        assert_eq!(forwarded_for(&headers).as_deref(), Some("10.1.2.3,198.51.100.7"));
        let proxy = ProxyPolicy { behind_proxy: true, trusted: vec!["127.0.0.1/32".parse().unwrap()] };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(proxy.client_ip(ip("127.0.0.1"), forwarded_for(&headers).as_deref()), ip("198.51.100.7"), "the proxy's own line wins");
    }
}
