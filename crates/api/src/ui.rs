//! The browser UI (the Maker and the agent desk, `ui/`): its built files, embedded in the binary
//! at compile time, served at `/`. A path that is no file is a page of the single-page app
//! (`index.html`); paths under `/api/` stay the API's. Files under `/assets/` carry a content
//! hash in their names and are cached for good; `index.html` is never cached. Its
//! `Content-Security-Policy` allows nothing from elsewhere.

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::problem::Problem;

/// One built file of the UI.
#[derive(Debug)]
pub struct Asset {
    /// Its path under `ui/dist`, with `/` separators and no leading `/`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
}

/// The UI's files (none: the binary was built before the UI).
pub type Assets = &'static [Asset];

const POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// What the server answers for a path none of its routes has.
pub(crate) async fn fallback(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || !(method == Method::GET || method == Method::HEAD) {
        return crate::not_found().await.into_response();
    }
    let assets = state.limits.ui;
    let wanted = path.trim_start_matches('/');
    if let Some(a) = assets.iter().find(|a| a.path == wanted) {
        let cache = if a.path.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return file(a, cache);
    }
    // a file that is not there is not found; any other path is a page of the app
    let last = wanted.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return crate::not_found().await.into_response();
    }
    match assets.iter().find(|a| a.path == "index.html") {
        Some(index) => file(index, "no-cache"),
        None => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ui_not_built",
            "this binary was built without the browser UI: run scripts/ui-build.sh, then build it again (scripts/serve.sh does both)",
        )
        .into_response(),
    }
}

fn file(a: &Asset, cache: &'static str) -> Response {
    let mut r = (StatusCode::OK, a.bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if a.content_type.starts_with("text/html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(POLICY),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    r
}
