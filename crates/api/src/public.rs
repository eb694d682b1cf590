//! The public surface's guards: rate limits per client address and per entry point (429 with
//! `Retry-After`), and, on the administration listener, the `Host` check against DNS
//! rebinding (421 `host_not_allowed`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{AppState, Problem};

/// A sustained rate and the burst allowed above it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    /// `per_second`, with bursts of twice as many.
    pub fn per_second(n: u32) -> Rate {
        Rate {
            per_second: f64::from(n.max(1)),
            burst: f64::from(n.max(1)) * 2.0,
        }
    }
}

/// Most keys a limiter remembers (full buckets are forgotten first).
const KEYS: usize = 100_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key.
pub(crate) struct Limiter {
    rate: Rate,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    pub(crate) fn new(rate: Rate) -> Limiter {
        Limiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(seconds to wait)` when there is none.
    fn take(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let rate = self.rate;
        let refill = |b: &mut Bucket| {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens = (b.tokens + elapsed * rate.per_second).min(rate.burst);
            b.at = now;
        };
        if !buckets.contains_key(key) && buckets.len() >= KEYS {
            buckets.retain(|_, b| {
                refill(b);
                b.tokens < rate.burst
            });
            if buckets.len() >= KEYS {
                // a flood of active keys: the fuller half goes (the keys being limited stay)
                let mut tokens: Vec<f64> = buckets.values().map(|b| b.tokens).collect();
                let middle = tokens.len() / 2;
                let (_, median, _) = tokens.select_nth_unstable_by(middle, f64::total_cmp);
                let median = *median;
                buckets.retain(|_, b| b.tokens < median);
                if buckets.len() >= KEYS {
                    buckets.clear();
                }
            }
        }
        let b = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        refill(b);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// The key of an address's limit: an IPv4 address, or an IPv6 address's /64 (one subscriber
/// has a whole /64 to draw addresses from).
pub(crate) fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The limiters of the public surface.
pub(crate) struct PublicLimits {
    pub(crate) per_address: Limiter,
    pub(crate) per_entry_point: Limiter,
}

/// Over a limit: how long to wait, and which limit.
pub(crate) struct Limited {
    retry_after: u64,
    what: &'static str,
}

impl IntoResponse for Limited {
    fn into_response(self) -> Response {
        let mut r = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many requests {}: try again in {} s",
                self.what, self.retry_after
            ),
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after));
        r
    }
}

fn too_many(retry_after: u64, what: &'static str) -> Limited {
    Limited { retry_after, what }
}

/// The value of a path parameter (`{reference}`): template and path are matched from their
/// ends (inside a nested router the path has lost the prefix the template keeps).
pub(crate) fn param_of(template: &str, path: &str, name: &str) -> Option<String> {
    template
        .rsplit('/')
        .zip(path.rsplit('/'))
        .find(|(t, _)| *t == name)
        .map(|(_, v)| v.to_owned())
}

/// The entry point a public path names.
fn entry_point_of(template: &str, path: &str) -> Option<String> {
    param_of(template, path, "{reference}")
}

impl PublicLimits {
    /// Counts a request to the public surface; the problem to answer when over a limit.
    pub(crate) fn check(
        &self,
        peer: Option<IpAddr>,
        template: &str,
        path: &str,
    ) -> Result<(), Limited> {
        let now = Instant::now();
        // a provider's webhooks come from few addresses in bursts, signed: only the entry
        // point's limit applies to them
        let webhook = template.starts_with("/webhooks/");
        if let Some(ip) = peer.filter(|_| !webhook) {
            self.per_address
                .take(&address_key(ip), now)
                .map_err(|s| too_many(s, "from this address"))?;
        }
        if let Some(ep) = entry_point_of(template, path) {
            self.per_entry_point
                .take(&ep, now)
                .map_err(|s| too_many(s, "on this entry point"))?;
        }
        Ok(())
    }
}

pub(crate) fn peer(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// A route layer for the public routes outside the document (chat pages, their sockets and
/// uploads).
pub(crate) async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    if let Err(r) = state.public.check(peer(&req), &template, req.uri().path()) {
        return r.into_response();
    }
    next.run(req).await
}

/// The `Host` names the administration listener answers (ports are ignored); `None`: any.
#[derive(Clone, Debug)]
pub struct AllowedHosts(pub Option<Vec<String>>);

fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            name
        } else {
            host
        }
    })
}

/// Refuses a request whose `Host` is not one of the allowed names (a page of another site that
/// resolves its own name to this server cannot reach the administration).
pub(crate) async fn check_host(
    State(allowed): State<std::sync::Arc<AllowedHosts>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(names) = &allowed.0 else {
        return next.run(req).await;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())
        .unwrap_or_default();
    let name = host_name(host).to_ascii_lowercase();
    if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
        next.run(req).await
    } else {
        Problem::new(
            StatusCode::MISDIRECTED_REQUEST,
            "host_not_allowed",
            format!("this server does not answer for the host '{host}' (see allowed_hosts)"),
        )
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_refill_at_their_rate() {
        let l = Limiter::new(Rate {
            per_second: 2.0,
            burst: 3.0,
        });
        let t = Instant::now();
        for _ in 0..3 {
            assert!(l.take("a", t).is_ok());
        }
        assert_eq!(l.take("a", t), Err(1));
        assert!(l.take("b", t).is_ok(), "another key has its own bucket");
        assert!(l.take("a", t + Duration::from_millis(500)).is_ok());
        assert!(l.take("a", t + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn host_names_and_entry_points() {
        assert_eq!(host_name("example.com:8080"), "example.com");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("localhost"), "localhost");
        assert_eq!(
            entry_point_of(
                "/api/v1/channels/http/{reference}/messages",
                "/api/v1/channels/http/site/messages"
            ),
            Some("site".into())
        );
        assert_eq!(entry_point_of("/healthz", "/healthz"), None);
        assert_eq!(
            entry_point_of(
                "/api/v1/channels/http/{reference}/messages",
                "/channels/http/site/messages"
            ),
            Some("site".into()),
            "inside the nested router"
        );
    }
}

#[cfg(test)]
mod flood_tests {
    use super::*;

    #[test]
    fn a_flood_of_keys_keeps_the_limited_ones_and_ipv6_counts_by_64() {
        let limiter = Limiter::new(Rate {
            per_second: 1.0,
            burst: 2.0,
        });
        let now = Instant::now();
        // one key drained
        assert!(limiter.take("abuser", now).is_ok());
        assert!(limiter.take("abuser", now).is_ok());
        assert!(limiter.take("abuser", now).is_err());
        // a flood of new keys, each used once (one token left, not full)
        for i in 0..KEYS + 10 {
            let _ = limiter.take(&format!("k{i}"), now);
        }
        assert!(
            limiter.take("abuser", now).is_err(),
            "the limited key was kept"
        );
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(address_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1");
    }
}
