//! *Web service*, performed: the definition read, its request rendered from the inputs
//! (`flow::web_service`), authenticated with its sealed secret, sent through the one
//! outbound-address policy (names resolved once and checked, IP literals checked, each redirect
//! checked before it is followed, at most [`REDIRECTS`]), within the definition's timeout, the
//! body read up to its largest size, and the mapped response fields read out of a JSON answer.
//! The same exchange serves the "try it" endpoint, which shows the request, the response and
//! the mapped fields.

use std::time::{Duration, Instant};

use flow::catalogue::ObjectKind;
use flow::effect::{WebServiceCall, WebServiceOutcome};
use flow::objects::BusinessObject;
use flow::web_service::{Auth, Method, RequestBody, WebServiceData};
use serde::Serialize;

use crate::conversations::{Conversations, Result};

/// Most redirects followed.
pub const REDIRECTS: usize = 3;
/// Longest response body the "try it" endpoint shows, in characters.
pub const SHOWN_BODY: usize = 10_000;

/// A request as it went out, for the "try it" endpoint (the credential never shown).
#[derive(Clone, Debug, Serialize)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// A response as it came back.
#[derive(Clone, Debug, Serialize)]
pub struct ReceivedResponse {
    pub status: u16,
    pub content_type: Option<String>,
    /// The body as text, cut at [`SHOWN_BODY`] characters.
    pub body: String,
}

/// One call, all of it: what went out, what came back, and what the action gets.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    pub request: Option<SentRequest>,
    pub response: Option<ReceivedResponse>,
    pub outcome: WebServiceOutcome,
    pub millis: u64,
}

fn not_ok(reason: impl Into<String>, status: Option<u16>) -> WebServiceOutcome {
    WebServiceOutcome::NotOk {
        reason: reason.into(),
        status,
    }
}

/// An error's message with its causes (the policy's refusal is a cause of reqwest's).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The URL without its query and fragment (what the history keeps: a query may carry a key).
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or_default().to_owned(),
    }
}

impl Conversations {
    /// The HTTP client of web services (the outbound-address policy's; each call sets its own
    /// timeout).
    fn web_client(&self) -> Option<&reqwest::Client> {
        self.web_client
            .get_or_init(|| {
                crate::install_crypto();
                self.outbound
                    .client(Duration::from_millis(u64::from(
                        flow::web_service::limits::TIMEOUT_MAX_MS,
                    )))
                    .map_err(|e| tracing::error!(error = %e, "the web services' HTTP client could not start"))
                    .ok()
            })
            .as_ref()
    }

    /// Performs a *Web service* action's call and records it in the interaction's history
    /// (method, the URL without its query, status, time taken, outcome). A call whose method
    /// is not idempotent (POST, PATCH) is first marked under `key` (the turn's input and the
    /// call's rank in it): the same turn run again after a crash finds the mark and takes *Not
    /// OK* instead of calling twice; idempotent ones are simply made again.
    pub(crate) async fn call_web_service(
        &self,
        call: &WebServiceCall,
        key: &str,
        interaction: uuid::Uuid,
        turn: &mut engine::Turn,
        queued: &mut Vec<store::WebCallRow>,
    ) -> Result<WebServiceOutcome> {
        let object = self
            .maker()
            .object_named(ObjectKind::WebService, &call.service)
            .await?;
        let Some(object) = object else {
            return Ok(not_ok("no such web service", None));
        };
        if !call.synchronous {
            return Ok(self.queue_web_call(&object, call, interaction, turn, queued));
        }
        let method = serde_json::from_value::<WebServiceData>(object.data.clone())
            .map(|d| d.method)
            .unwrap_or_default();
        if !method.idempotent() {
            use sha2::Digest;
            let mark = crate::secrets::hex(&sha2::Sha256::digest(key.as_bytes()));
            if !self.store().mark_call(&mark, self.now()).await? {
                let reason = format!(
                    "the server stopped while this {} was being made: it may have reached the web service, so it is not made again",
                    method.as_str()
                );
                turn.events.push(engine::Event::Channel {
                    detail: engine::ChannelNote::WebService {
                        service: object.reference.clone(),
                        method: method.as_str().into(),
                        url: String::new(),
                        status: None,
                        millis: 0,
                        error: Some(reason.clone()),
                    },
                });
                return Ok(not_ok(reason, None));
            }
        }
        let exchange = self.exchange(&object, &call.inputs).await;
        let (status, error) = match &exchange.outcome {
            WebServiceOutcome::Ok { status, .. } => (*status, None),
            WebServiceOutcome::NotOk { reason, status } => (*status, Some(reason.clone())),
        };
        let request = exchange.request.as_ref();
        turn.events.push(engine::Event::Channel {
            detail: engine::ChannelNote::WebService {
                service: object.reference.clone(),
                method: request.map(|r| r.method.clone()).unwrap_or_default(),
                url: request.map(|r| shown_url(&r.url)).unwrap_or_default(),
                status,
                millis: exchange.millis,
                error,
            },
        });
        Ok(exchange.outcome)
    }

    /// An asynchronous call: its request rendered now (a body that is not JSON is *Not OK* at
    /// once), then queued with the turn (written only if the turn is) and answered *OK*; the
    /// delivery loop makes it, at least once, with its id as the `Idempotency-Key`.
    fn queue_web_call(
        &self,
        object: &BusinessObject,
        call: &WebServiceCall,
        interaction: uuid::Uuid,
        turn: &mut engine::Turn,
        queued: &mut Vec<store::WebCallRow>,
    ) -> WebServiceOutcome {
        let def: WebServiceData = match serde_json::from_value(object.data.clone()) {
            Ok(d) => d,
            Err(_) => return not_ok("the web service's definition cannot be read", None),
        };
        let request = match def.request(&call.inputs) {
            Ok(r) => r,
            Err(reason) => return not_ok(reason, None),
        };
        if let Err(reason) = self.outbound.check_url(&request.url) {
            return not_ok(format!("{}: {reason}", shown_url(&request.url)), None);
        }
        let now = self.now();
        let id = uuid::Uuid::now_v7();
        queued.push(store::WebCallRow {
            id,
            interaction_id: interaction,
            service_id: object.id,
            inputs: call.inputs.clone(),
            created_at: now,
            attempts: 0,
            next_attempt_at: Some(now),
            done_at: None,
            last_status: None,
            last_error: None,
        });
        turn.events.push(engine::Event::Channel {
            detail: engine::ChannelNote::WebServiceQueued {
                service: object.reference.clone(),
                method: request.method.as_str().into(),
                url: shown_url(&request.url),
                call_id: id.to_string(),
            },
        });
        WebServiceOutcome::Ok {
            status: None,
            fields: Vec::new(),
        }
    }

    /// Makes the queued calls that are due; how many were made or given up. A 2xx answer is
    /// done; a 4xx one (but 408 and 429) is given up at once (the same call would be refused
    /// again); anything else is tried again with the outbox's backoff, at most
    /// [`crate::delivery::MAX_ATTEMPTS`] times.
    pub async fn deliver_web_calls(&self) -> Result<usize> {
        let store = self.store();
        let due = store.pending_web_calls(self.now(), 100).await?;
        let mut settled = 0;
        for row in due {
            let attempts = row.attempts + 1;
            let object = self
                .maker()
                .store()
                .object(ObjectKind::WebService, row.service_id)
                .await?;
            let Some(object) = object else {
                store
                    .record_web_call(
                        row.id,
                        attempts,
                        None,
                        None,
                        None,
                        Some("the web service was deleted".into()),
                    )
                    .await?;
                settled += 1;
                continue;
            };
            let key = row.id.to_string();
            let x = self.exchange_keyed(&object, &row.inputs, Some(&key)).await;
            let now = self.now();
            let (status, error) = match &x.outcome {
                WebServiceOutcome::Ok { status, .. } => (*status, None),
                WebServiceOutcome::NotOk { reason, status } => (*status, Some(reason.clone())),
            };
            let permanent = status.is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429);
            if error.is_none() {
                store
                    .record_web_call(row.id, attempts, Some(now), None, status, None)
                    .await?;
                settled += 1;
            } else if permanent || attempts >= crate::delivery::MAX_ATTEMPTS {
                tracing::warn!(call = %row.id, service = %object.reference, "a queued web service call was given up after {attempts} attempts: {}", error.as_deref().unwrap_or_default());
                store
                    .record_web_call(row.id, attempts, None, None, status, error)
                    .await?;
                settled += 1;
            } else {
                let next = now
                    .saturating_add(crate::delivery::backoff(attempts))
                    .unwrap_or(now);
                store
                    .record_web_call(row.id, attempts, None, Some(next), status, error)
                    .await?;
            }
        }
        Ok(settled)
    }

    /// A definition's queued calls, newest first.
    pub async fn web_calls(
        &self,
        service: uuid::Uuid,
        page: &store::PageRequest,
    ) -> std::result::Result<store::Page<store::WebCallRow>, store::StoreError> {
        self.store().web_calls_of(service, page).await
    }

    /// Calls a definition with these input values: the request sent, the response, and the
    /// outcome an action would get.
    pub async fn exchange(&self, object: &BusinessObject, inputs: &[(String, String)]) -> Exchange {
        self.exchange_keyed(object, inputs, None).await
    }

    /// [`Self::exchange`], with an `Idempotency-Key` header (queued calls).
    async fn exchange_keyed(
        &self,
        object: &BusinessObject,
        inputs: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Exchange {
        let started = Instant::now();
        let mut shown = None;
        let mut received = None;
        let outcome = self
            .exchange_inner(object, inputs, idempotency_key, &mut shown, &mut received)
            .await;
        Exchange {
            request: shown,
            response: received,
            outcome,
            millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    async fn exchange_inner(
        &self,
        object: &BusinessObject,
        inputs: &[(String, String)],
        idempotency_key: Option<&str>,
        shown: &mut Option<SentRequest>,
        received: &mut Option<ReceivedResponse>,
    ) -> WebServiceOutcome {
        let def: WebServiceData = match serde_json::from_value(object.data.clone()) {
            Ok(d) => d,
            Err(_) => return not_ok("the web service's definition cannot be read", None),
        };
        let secret = match (&def.auth, &object.secret) {
            (Auth::None, _) => None,
            (_, None) => {
                return not_ok("the web service has no secret for its authentication", None);
            }
            (_, Some(sealed)) => match self.secrets.open(sealed) {
                Some(s) => Some(s),
                None => {
                    return not_ok(
                        "the web service's secret cannot be opened (another deployment key?)",
                        None,
                    );
                }
            },
        };
        let request = match def.request(inputs) {
            Ok(r) => r,
            Err(reason) => return not_ok(reason, None),
        };
        let Some(client) = self.web_client() else {
            return not_ok("the web services' HTTP client is not running", None);
        };
        let timeout = Duration::from_millis(u64::from(def.timeout_ms));
        let deadline = Instant::now() + timeout;
        let (body, content_type) = match &request.body {
            RequestBody::None => (None, None),
            RequestBody::Json(text) => (Some(text.clone()), Some("application/json")),
            RequestBody::Form(fields) => (
                Some(
                    fields
                        .iter()
                        .map(|(n, v)| {
                            format!(
                                "{}={}",
                                flow::web_service::url_encode(n),
                                flow::web_service::url_encode(v)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("&"),
                ),
                Some("application/x-www-form-urlencoded"),
            ),
        };
        let mut headers = request.headers.clone();
        if let Some(key) = idempotency_key {
            headers.push(("Idempotency-Key".into(), key.into()));
        }
        if let Some(ct) = content_type
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("Content-Type".into(), ct.into()));
        }
        let mut shown_headers = headers.clone();
        match &def.auth {
            Auth::None => {}
            Auth::Basic { .. } | Auth::Bearer => {
                shown_headers.push(("Authorization".into(), "(the web service's secret)".into()));
            }
            Auth::ApiKey { header } => {
                shown_headers.push((header.clone(), "(the web service's secret)".into()));
            }
        }
        *shown = Some(SentRequest {
            method: request.method.as_str().into(),
            url: request.url.clone(),
            headers: shown_headers,
            body: body.clone(),
        });
        let mut method = request.method;
        let mut url = request.url.clone();
        let mut body = body;
        for hop in 0..=REDIRECTS {
            if let Err(reason) = self.outbound.check_url(&url) {
                return not_ok(format!("{}: {reason}", shown_url(&url)), None);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return not_ok(format!("no answer within {} ms", def.timeout_ms), None);
            }
            let m = reqwest::Method::from_bytes(method.as_str().as_bytes())
                .unwrap_or(reqwest::Method::GET);
            let mut req = client.request(m, &url).timeout(left);
            for (n, v) in &headers {
                req = req.header(n.as_str(), v.as_str());
            }
            if let Some(secret) = &secret {
                req = match &def.auth {
                    Auth::Basic { username } => req.basic_auth(username, Some(secret)),
                    Auth::Bearer => req.bearer_auth(secret),
                    Auth::ApiKey { header } => req.header(header.as_str(), secret.as_str()),
                    Auth::None => req,
                };
            }
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let response = match req.send().await {
                Ok(r) => r,
                Err(e) if e.is_timeout() => {
                    return not_ok(format!("no answer within {} ms", def.timeout_ms), None);
                }
                Err(e) => return not_ok(format!("the call failed: {}", chain(&e)), None),
            };
            let status = response.status();
            if status.is_redirection()
                && let Some(location) = response.headers().get(reqwest::header::LOCATION)
            {
                if hop == REDIRECTS {
                    return not_ok(
                        format!("more than {REDIRECTS} redirects"),
                        Some(status.as_u16()),
                    );
                }
                let next = location
                    .to_str()
                    .ok()
                    .and_then(|l| reqwest::Url::parse(&url).ok()?.join(l).ok());
                let Some(next) = next else {
                    return not_ok(
                        "a redirect to an unreadable location",
                        Some(status.as_u16()),
                    );
                };
                // 303, and 301/302 after a POST, go on with a GET (RFC 9110 §15.4)
                if status == reqwest::StatusCode::SEE_OTHER
                    || (matches!(status.as_u16(), 301 | 302) && method == Method::Post)
                {
                    method = Method::Get;
                    body = None;
                }
                url = next.to_string();
                continue;
            }
            return self.read_answer(&def, response, received).await;
        }
        not_ok(format!("more than {REDIRECTS} redirects"), None)
    }

    /// The answer read up to the definition's largest size, then its fields.
    async fn read_answer(
        &self,
        def: &WebServiceData,
        mut response: reqwest::Response,
        received: &mut Option<ReceivedResponse>,
    ) -> WebServiceOutcome {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let max = def.max_response_bytes as usize;
        let too_big = || {
            not_ok(
                format!("the response is larger than {max} bytes"),
                Some(status),
            )
        };
        if response.content_length().is_some_and(|n| n > max as u64) {
            return too_big();
        }
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > max {
                        return too_big();
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => {
                    return not_ok(
                        format!("no answer within {} ms", def.timeout_ms),
                        Some(status),
                    );
                }
                Err(e) => {
                    return not_ok(
                        format!("the response broke off: {}", chain(&e)),
                        Some(status),
                    );
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        *received = Some(ReceivedResponse {
            status,
            content_type,
            body: text.chars().take(SHOWN_BODY).collect(),
        });
        if !(200..300).contains(&status) {
            return not_ok(format!("the web service answered {status}"), Some(status));
        }
        if def.outputs.is_empty() {
            return WebServiceOutcome::Ok {
                status: Some(status),
                fields: Vec::new(),
            };
        }
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(json) => WebServiceOutcome::Ok {
                status: Some(status),
                fields: def.fields(&json),
            },
            Err(e) => not_ok(format!("the response is not JSON: {e}"), Some(status)),
        }
    }
}
