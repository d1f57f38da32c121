//! What every answer says to the browser about itself (the security headers, with the page's
//! script nonce), and the refusal of state-changing requests that another site's page made.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The nonce of this request's inline scripts: made here, given to Leptos for the hydration
/// and resource scripts (see [`provide_page_nonce`]) and named in the policy.
#[derive(Clone)]
pub struct PageNonce(pub String);

/// What the headers depend on.
#[derive(Clone)]
pub struct Policy {
    /// The app's own origin (`AMPWISE_PUBLIC_URL`'s scheme, host and port).
    pub origin: String,
    /// Whether the public address is https: then browsers are told to stay on it (HSTS).
    pub https: bool,
}

impl Policy {
    pub fn new(public_url: &str) -> Self {
        let origin = url::Url::parse(public_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        Self {
            https: origin.starts_with("https://"),
            origin,
        }
    }
}

/// The Content-Security-Policy for an answer: scripts only with this request's nonce (and what
/// they load: the wasm module), no plugins, no framing, forms and fetches only to us.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(nonce) => format!("'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'"),
        None => "'none'".to_string(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
         media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

fn new_nonce() -> String {
    use base64::Engine as _;
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Adds the security headers to every answer, pages and API alike.
pub async fn headers(State(policy): State<Policy>, mut request: Request, next: Next) -> Response {
    // Only a GET renders a page with scripts; the devices' POSTs (thousands a second) and the
    // server functions' answers get the same policy without making a nonce.
    let nonce = (request.method() == Method::GET).then(new_nonce);
    if let Some(nonce) = &nonce {
        request.extensions_mut().insert(PageNonce(nonce.clone()));
    }
    let assets = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    // Pages and answers carry PINs, device tokens, serial numbers and a household's data: no
    // cache (the browser's, a proxy's) keeps them. The bundles' files are the exception.
    if !assets {
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        &content_security_policy(nonce.as_deref()),
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(
        h,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        header::HeaderName::from_static("permissions-policy"),
        "camera=(self), microphone=(), geolocation=()",
    );
    if policy.https {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// Gives Leptos this request's nonce (from the page's request parts), so the scripts it writes
/// carry the one the policy names. Call in the render's context.
pub fn provide_page_nonce() {
    if let Some(parts) = leptos::prelude::use_context::<axum::http::request::Parts>()
        && let Some(PageNonce(nonce)) = parts.extensions.get::<PageNonce>()
    {
        leptos::prelude::provide_context(leptos::nonce::Nonce::from_value(nonce.as_str()));
    }
}

/// The client's address as the trusted proxy reports it: the last entry of its header (the one
/// the proxy itself added; earlier entries come from the client and prove nothing), as
/// `X-Forwarded-For: 203.0.113.9` or `Forwarded: for="[2001:db8::1]:4711"` write it.
pub fn forwarded_address(value: &str) -> Option<std::net::IpAddr> {
    let last = value.rsplit(',').next()?.trim();
    let last = last
        .split(';')
        .find_map(|part| {
            let part = part.trim();
            part.get(..4)
                .filter(|p| p.eq_ignore_ascii_case("for="))
                .map(|_| &part[4..])
        })
        .unwrap_or(last)
        .trim_matches('"');
    if let Ok(ip) = last.parse() {
        return Some(ip);
    }
    if let Ok(sock) = last.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    // "[2001:db8::1]" without a port.
    last.strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .and_then(|l| l.parse().ok())
}

/// Behind a trusted reverse proxy, the client's address is the proxy's header, not the
/// connection's peer (which is the proxy, the same for every user): rate limits then count the
/// real client. Without the setting the header is ignored (anyone could write it).
pub async fn client_address(
    State(header): State<std::sync::Arc<str>>,
    mut request: Request,
    next: Next,
) -> Response {
    let forwarded = request
        .headers()
        .get_all(&*header)
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(forwarded_address);
    if let Some(ip) = forwarded {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(ip, 0)));
    }
    next.run(request).await
}

/// Why a request is refused as another site's, if it is.
pub fn cross_site(method: &Method, headers: &HeaderMap, own_origin: &str) -> Option<&'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // Browsers say where a request comes from; other clients carry no cookies of ours.
    if let Some(site) = get("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Some("the request came from another site");
    }
    match get("origin") {
        None => None,
        Some(origin) => {
            let host = get("host").unwrap_or_default();
            let same_host = url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.path() == "/"
                    && u.host_str().is_some()
                    && match u.port() {
                        Some(port) => format!("{}:{port}", u.host_str().unwrap_or("")) == host,
                        None => u.host_str() == Some(host),
                    }
            });
            (!(same_host || origin == own_origin)).then_some("the request came from another site")
        }
    }
}

/// Refuses state-changing requests another site's page made (a form posted cross-site, a
/// forged log-in), before anything reads them.
pub async fn same_origin(State(policy): State<Policy>, request: Request, next: Next) -> Response {
    match cross_site(request.method(), request.headers(), &policy.origin) {
        None => next.run(request).await,
        Some(why) => {
            tracing::warn!(path = %request.uri().path(), why, "refused a cross-site request");
            (
                StatusCode::FORBIDDEN,
                format!("Refused: {why}. Use Ampwise from its own pages."),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const OWN: &str = "https://app.ampwise.se";

    #[rstest]
    #[case::get_from_anywhere(Method::GET, &[("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")], true)]
    #[case::post_without_browser_headers(Method::POST, &[("host", "app.ampwise.se")], true)]
    #[case::post_same_origin(Method::POST, &[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000"), ("sec-fetch-site", "same-origin")], true)]
    #[case::post_from_public_origin_behind_proxy(Method::POST, &[("host", "10.0.0.5:3000"), ("origin", "https://app.ampwise.se")], true)]
    #[case::post_typed_in_address_bar(Method::POST, &[("host", "app.ampwise.se"), ("sec-fetch-site", "none")], true)]
    #[case::form_from_another_site(Method::POST, &[("host", "app.ampwise.se"), ("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")], false)]
    #[case::sibling_subdomain(Method::POST, &[("host", "app.ampwise.se"), ("origin", "https://blog.ampwise.se"), ("sec-fetch-site", "same-site")], false)]
    #[case::old_browser_origin_only(Method::POST, &[("host", "app.ampwise.se"), ("origin", "https://evil.example")], false)]
    #[case::null_origin_sandboxed_frame(Method::POST, &[("host", "app.ampwise.se"), ("origin", "null")], false)]
    #[case::other_port(Method::POST, &[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3001")], false)]
    #[case::host_prefix_trick(Method::POST, &[("host", "app.ampwise.se"), ("origin", "https://app.ampwise.se.evil.example")], false)]
    #[case::delete_cross_site(Method::DELETE, &[("host", "app.ampwise.se"), ("sec-fetch-site", "cross-site")], false)]
    fn state_changes_come_only_from_our_pages(
        #[case] method: Method,
        #[case] pairs: &[(&str, &str)],
        #[case] allowed: bool,
    ) {
        assert_eq!(cross_site(&method, &headers(pairs), OWN).is_none(), allowed);
    }

    #[rstest]
    #[case::one("203.0.113.9", Some("203.0.113.9"))]
    #[case::client_wrote_one_first("6.6.6.6, 203.0.113.9", Some("203.0.113.9"))]
    #[case::spaces(" 203.0.113.9 ", Some("203.0.113.9"))]
    #[case::ipv6("2001:db8::1", Some("2001:db8::1"))]
    #[case::with_port("203.0.113.9:4711", Some("203.0.113.9"))]
    #[case::forwarded_rfc7239("for=198.51.100.2;proto=https", Some("198.51.100.2"))]
    #[case::forwarded_ipv6(r#"for="[2001:db8::1]:4711""#, Some("2001:db8::1"))]
    #[case::forwarded_ipv6_no_port(r#"for="[2001:db8::1]""#, Some("2001:db8::1"))]
    #[case::garbage("not an address", None)]
    #[case::unknown("for=unknown", None)]
    fn the_proxys_entry_is_the_last(#[case] value: &str, #[case] want: Option<&str>) {
        assert_eq!(
            forwarded_address(value),
            want.map(|w| w.parse::<std::net::IpAddr>().unwrap())
        );
    }

    #[test]
    fn policy_names_the_nonce_and_forbids_framing() {
        let csp = content_security_policy(Some("abc123"));
        assert!(csp.contains("'nonce-abc123'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("object-src 'none'"));
        assert!(!csp.contains("unsafe-eval'") || csp.contains("wasm-unsafe-eval"));
        assert!(content_security_policy(None).contains("script-src 'none'"));
    }

    #[rstest]
    #[case::https("https://app.ampwise.se/", "https://app.ampwise.se", true)]
    #[case::http_with_port("http://127.0.0.1:3000", "http://127.0.0.1:3000", false)]
    fn policy_from_public_url(#[case] url: &str, #[case] origin: &str, #[case] https: bool) {
        let p = Policy::new(url);
        assert_eq!((p.origin.as_str(), p.https), (origin, https));
    }
}
