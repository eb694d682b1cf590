//! Email entry points over real SMTP: lettre (a real SMTP client) delivers to the built-in
//! listener; each email runs the mailbox's production email routing — its priority tested,
//! keywords and language detected — and waits for an agent; a reply joins its interaction, a
//! new email starts another, a message sent again is recognised; unknown recipients and
//! oversized messages are refused with their SMTP codes.

use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::watch;

mod support;

use support::Relay as Peer;

struct Env {
    server: support::TestServer,
    http: reqwest::Client,
    base: String,
    smtp_port: u16,
    relay: Peer,
    _stop: watch::Sender<bool>,
}

impl Env {
    async fn start(max_message_bytes: usize) -> Env {
        Env::start_with(max_message_bytes, None).await
    }

    /// [`Env::start`], customers reaching the public surface at `public_url`.
    async fn start_with(max_message_bytes: usize, public_url: Option<&str>) -> Env {
        let (stop, stopped) = watch::channel(false);
        let (relay, relay_port) = Peer::start(stopped.clone()).await;
        let settings = runtime::ServiceSettings {
            conversations: runtime::conversations::Settings {
                relay: Some(Arc::new(
                    channels::relay::Relay::parse(
                        &format!("smtp://127.0.0.1:{relay_port}?tls=none"),
                        "mx.shop.test",
                    )
                    .unwrap(),
                )),
                public_url: public_url.map(str::to_owned),
                ..Default::default()
            },
            ..Default::default()
        };
        let server = support::start(settings, support::limits()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let smtp_port = listener.local_addr().unwrap().port();
        let config = Arc::new(channels::smtp::SmtpConfig {
            hostname: "mx.shop.test".into(),
            max_message_bytes,
            ..Default::default()
        });
        let sink = Arc::new(runtime::email::EmailSink(server.conversations.clone()));
        tokio::spawn(channels::smtp::serve(listener, config, sink, stopped));
        Env {
            base: format!("{}/api/v1", server.root),
            http: support::admin_client(),
            server,
            smtp_port,
            relay,
            _stop: stop,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}/{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn send(
        &self,
        from: &str,
        to: &str,
        raw: &str,
    ) -> Result<(), lettre::transport::smtp::Error> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(self.smtp_port)
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let sender = (!from.is_empty()).then(|| from.parse().unwrap());
        let envelope = Envelope::new(sender, vec![to.parse().unwrap()]).unwrap();
        transport
            .send_raw(&envelope, raw.as_bytes())
            .await
            .map(|_| ())
    }

    async fn interactions(&self) -> Vec<Value> {
        let (_, list) = self.call(Method::GET, "interactions?limit=50", None).await;
        list["items"].as_array().cloned().unwrap_or_default()
    }

    async fn detail(&self, id: &str) -> Value {
        self.call(Method::GET, &format!("interactions/{id}"), None)
            .await
            .1
    }
}

fn id(n: usize) -> String {
    uuid::Uuid::from_u128(n as u128 + 1).to_string()
}

/// Start → priority; High → keywords (Link 1: invoices, Link 2: deliveries); Link 1 → language
/// (fr, en, stored in `lang`); each end assigns `path` and the French invoices go to Ann.
fn email_routing() -> Value {
    let assign = |path: &str| json!({"assignments": [{"variable": "path", "value": path}]});
    let actions = [
        ("start", json!({})),
        ("test_email_priority", json!({})),
        (
            "detect_keywords",
            json!({"search_in": "subject_and_body", "groups": [{"keywords": ["facture", "invoice"]}, {"keywords": ["livraison"]}]}),
        ),
        (
            "detect_language",
            json!({"languages": ["fr", "en"], "min_confidence": 30, "store_in": "lang"}),
        ),
        ("assign_variables", assign("french invoice")),
        (
            "distribute_to_user",
            json!({"user": {"by": "reference", "reference": "ann"}}),
        ),
        ("assign_variables", assign("normal")),
        ("assign_variables", assign("low")),
        ("assign_variables", assign("delivery")),
        ("assign_variables", assign("no keyword")),
        ("assign_variables", assign("english invoice")),
    ];
    let links = [
        (0, "ok", 1),
        (1, "high", 2),
        (1, "normal", 6),
        (1, "low", 7),
        (2, "link_1", 3),
        (2, "link_2", 8),
        (2, "by_default", 9),
        (3, "link_1", 4),
        (3, "link_2", 10),
        (4, "ok", 5),
    ];
    document("MAIL", "interaction_start", &actions, &links)
}

/// An email routing document with one version in production: its actions (type, parameters)
/// and links (from, branch, to) by position.
fn document(
    reference: &str,
    kind: &str,
    actions: &[(&str, Value)],
    links: &[(usize, &str, usize)],
) -> Value {
    json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": reference, "name": reference, "kind": kind, "channel_family": "email"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": actions.iter().enumerate().map(|(k, (ty, params))| json!({"id": id(k), "type": ty, "params": params})).collect::<Vec<_>>(),
            "links": links.iter().enumerate().map(|(k, (from, branch, to))| json!({"id": id(1_000 + k), "from": id(*from), "branch": branch, "to": id(*to)})).collect::<Vec<_>>()
        }}]
    })
}

fn branches(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "branch")
        .map(|e| e["event"]["branch"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn setup(env: &Env) -> (Value, String) {
    let (s, r) = env
        .call(Method::POST, "routings/import", Some(email_routing()))
        .await;
    assert_eq!(s, 201, "{r}");
    let routing = r["routing"]["id"].as_str().unwrap().to_owned();
    let (s, ep) = env
        .call(Method::POST, "entry-points", Some(json!({"reference": "support", "name": "Support", "channel": "email", "address": "Support@Shop.test", "aliases": ["help@shop.test"], "start_routing_id": routing})))
        .await;
    assert_eq!(s, 201, "{ep}");
    assert_eq!(ep["address"], "support@shop.test");
    assert_eq!(ep["aliases"], json!(["help@shop.test"]));
    let (s, ann) = env
        .call(
            Method::POST,
            "users",
            Some(json!({"reference": "ann", "name": "Ann"})),
        )
        .await;
    assert_eq!(s, 201, "{ann}");
    let r = reqwest::Client::new()
        .put(format!("{}/agent/presence", env.base))
        .bearer_auth(ann["token"].as_str().unwrap())
        .json(&json!({"presence": "online"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    (ep, ann["token"].as_str().unwrap().to_owned())
}

const FIRST: &str = "From: =?ISO-8859-1?Q?Am=E9lie_Dupr=E9?= <Amelie@Example.com>\r\nTo: support@shop.test\r\nSubject: =?UTF-8?Q?Facture_erron=C3=A9e?=\r\nMessage-ID: <first-1@example.com>\r\nX-Priority: 1 (Highest)\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nBonjour, la facture que vous m'avez envoyée la semaine dernière est erronée : le montant ne correspond pas à ma commande. Pouvez-vous la corriger ?\r\n.Une ligne qui commence par un point.\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Bonjour, la facture est <b>erronée</b>.</p>\r\n--b1--\r\n";

#[tokio::test]
async fn an_email_runs_its_mailbox_routing_and_its_replies_join_the_interaction() {
    let env = Env::start(channels::email::limits::MESSAGE_BYTES).await;
    setup(&env).await;
    env.send("amelie@example.com", "support@shop.test", FIRST)
        .await
        .unwrap();
    let list = env.interactions().await;
    assert_eq!(list.len(), 1, "{list:#?}");
    let first = list[0]["id"].as_str().unwrap().to_owned();
    let d = env.detail(&first).await;
    assert_eq!(
        branches(&d)[..4],
        ["ok", "high", "link_1", "link_1"],
        "{d:#}"
    );
    assert_eq!(d["variables"]["lang"], "fr");
    assert_eq!(d["variables"]["path"], "french invoice");
    support::assert_system_variables_listed(&env.server.root, &d["system"]).await;
    let email = &d["system"]["email"];
    assert_eq!(email["from"], "amelie@example.com");
    assert_eq!(email["from_name"], "Amélie Dupré");
    assert_eq!(email["subject"], "Facture erronée");
    assert_eq!(email["priority"], "high");
    assert_eq!(email["message_id"], "first-1@example.com");
    // dot-stuffing undone, the text part preferred, the HTML kept apart
    assert!(
        email["text"].as_str().unwrap().contains("\n.Une ligne"),
        "{email:#}"
    );
    assert!(email["html"].as_str().unwrap().contains("<b>erronée</b>"));
    assert_eq!(d["system"]["customer"]["name"], "Amélie Dupré");
    // the raw message is kept, readable by the API
    let raw = env
        .http
        .get(format!(
            "{}{}",
            env.server.root,
            email["raw_url"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert!(
        raw.text()
            .await
            .unwrap()
            .contains("Message-ID: <first-1@example.com>")
    );
    // it waits for Ann's answer
    assert_ne!(d["status"], "closed", "{d:#}");

    // the same message delivered again: recognised, nothing new
    env.send("amelie@example.com", "support@shop.test", FIRST)
        .await
        .unwrap();
    assert_eq!(env.interactions().await.len(), 1);

    // a reply (In-Reply-To the first) joins the interaction, through an alias
    let reply = "From: amelie@example.com\r\nTo: help@shop.test\r\nSubject: Re: Facture erronée\r\nMessage-ID: <reply-2@example.com>\r\nIn-Reply-To: <first-1@example.com>\r\nReferences: <first-1@example.com>\r\n\r\nJ'ajoute la commande en pièce jointe.\r\n";
    env.send("amelie@example.com", "help@shop.test", reply)
        .await
        .unwrap();
    let list = env.interactions().await;
    assert_eq!(list.len(), 1, "{list:#?}");
    let d = env.detail(&first).await;
    let ins = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "message_in")
        .count();
    assert_eq!(ins, 2, "{d:#}");
    assert_eq!(d["system"]["email"]["message_id"], "reply-2@example.com");

    // a reply naming the interaction's reference in its subject joins it too
    let reference = flow::email::subject_reference(uuid::Uuid::parse_str(&first).unwrap());
    let by_subject = format!(
        "From: amelie@example.com\r\nTo: support@shop.test\r\nSubject: Re: suivi {reference}\r\nMessage-ID: <subject-3@example.com>\r\n\r\nDes nouvelles ?\r\n"
    );
    env.send("amelie@example.com", "support@shop.test", &by_subject)
        .await
        .unwrap();
    assert_eq!(env.interactions().await.len(), 1);

    // a new email (no reference) starts another interaction: normal priority, no keyword needed
    let other = "From: amelie@example.com\r\nTo: support@shop.test\r\nSubject: Horaires\r\nMessage-ID: <other-4@example.com>\r\nImportance: low\r\n\r\nQuels sont vos horaires ?\r\n";
    env.send("amelie@example.com", "support@shop.test", other)
        .await
        .unwrap();
    let list = env.interactions().await;
    assert_eq!(list.len(), 2);
    let second = list.iter().find(|i| i["id"] != first.as_str()).unwrap();
    let d = env.detail(second["id"].as_str().unwrap()).await;
    assert_eq!(d["variables"]["path"], "low", "{d:#}");
    assert_eq!(d["status"], "closed");
}

#[tokio::test]
async fn the_listener_refuses_unknown_recipients_and_oversized_messages() {
    let env = Env::start(4 * 1024).await;
    setup(&env).await;
    let unknown = env
        .send(
            "amelie@example.com",
            "nobody@shop.test",
            "From: amelie@example.com\r\n\r\nx\r\n",
        )
        .await
        .unwrap_err();
    assert!(unknown.is_permanent(), "{unknown}");
    assert!(
        unknown.to_string().contains("550")
            || unknown.status().is_some_and(|c| c.to_string() == "550"),
        "{unknown}"
    );
    let big = format!(
        "From: amelie@example.com\r\nSubject: big\r\n\r\n{}\r\n",
        "x".repeat(70)
            .repeat(100)
            .chars()
            .collect::<Vec<_>>()
            .chunks(70)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("\r\n")
    );
    let too_big = env
        .send("amelie@example.com", "support@shop.test", &big)
        .await
        .unwrap_err();
    assert!(too_big.is_permanent(), "{too_big}");
    assert!(
        too_big.to_string().contains("552")
            || too_big.status().is_some_and(|c| c.to_string() == "552"),
        "{too_big}"
    );
    // nothing was recorded; a message without sender is refused for good
    assert!(env.interactions().await.is_empty());
    let no_sender = env
        .send("", "support@shop.test", "Subject: who?\r\n\r\nx\r\n")
        .await;
    assert!(no_sender.is_err() || env.interactions().await.is_empty());
    // a message that fits still goes in
    env.send("amelie@example.com", "support@shop.test", "From: amelie@example.com\r\nSubject: small\r\nMessage-ID: <s@example.com>\r\n\r\nsmall\r\n")
        .await
        .unwrap();
    assert_eq!(env.interactions().await.len(), 1);
}

#[tokio::test]
async fn mailbox_entry_points_check_their_address_and_aliases() {
    let env = Env::start(channels::email::limits::MESSAGE_BYTES).await;
    let (s, p) = env
        .call(
            Method::POST,
            "entry-points",
            Some(json!({"reference": "nomail", "name": "No address", "channel": "email"})),
        )
        .await;
    assert_eq!(s, 422, "{p}");
    let (s, p) = env
        .call(Method::POST, "entry-points", Some(json!({"reference": "bad", "name": "Bad", "channel": "email", "address": "not an address"})))
        .await;
    assert_eq!(s, 422, "{p}");
    let (s, p) = env
        .call(Method::POST, "entry-points", Some(json!({"reference": "twice", "name": "Twice", "channel": "email", "address": "a@shop.test", "aliases": ["A@shop.test"]})))
        .await;
    assert_eq!(s, 422, "{p}");
    let (s, p) = env
        .call(Method::POST, "entry-points", Some(json!({"reference": "web", "name": "Web", "channel": "web_chat", "aliases": ["a@shop.test"]})))
        .await;
    assert_eq!(s, 422, "{p}");
    let (s, p) = env
        .call(Method::POST, "entry-points", Some(json!({"reference": "mail", "name": "Mail", "channel": "email", "address": "a@shop.test"})))
        .await;
    assert_eq!(s, 201, "{p}");
    // an address another mailbox has is refused
    let (s, p) = env
        .call(Method::POST, "entry-points", Some(json!({"reference": "mail2", "name": "Mail 2", "channel": "email", "address": "b@shop.test", "aliases": ["a@shop.test"]})))
        .await;
    assert_eq!(s, 409, "{p}");
    assert_eq!(p["code"], "address_taken");
    // a messaging routing cannot be bound to a mailbox
    let (s, r) = env
        .call(Method::POST, "routings", Some(json!({"reference": "MSG", "name": "Messaging", "kind": "interaction_start", "channel_family": "messaging"})))
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, p) = env
        .call(
            Method::PATCH,
            &format!("entry-points/{}", p_id(&env, "mail").await),
            Some(json!({"start_routing_id": r["id"]})),
        )
        .await;
    assert_eq!(s, 422, "{p}");
}

async fn p_id(env: &Env, reference: &str) -> String {
    let (_, list) = env.call(Method::GET, "entry-points", None).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["reference"] == reference)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_agent_answers_by_email_in_the_thread_and_the_customer_replies_to_it() {
    let env = Env::start(channels::email::limits::MESSAGE_BYTES).await;
    let (_, token) = setup(&env).await;
    env.send("amelie@example.com", "support@shop.test", FIRST)
        .await
        .unwrap();
    let iid = env.interactions().await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = reqwest::Client::new();
    let r = agent
        .post(format!("{}/agent/conversations/{iid}/accept", env.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    // she sees the email's headers and attachments in the conversation
    let r = agent
        .get(format!("{}/agent/conversations/{iid}", env.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let conversation: Value = r.json().await.unwrap();
    assert!(
        conversation.to_string().contains("Facture erronée"),
        "{conversation:#}"
    );
    let r = agent
        .post(format!("{}/agent/conversations/{iid}/messages", env.base))
        .bearer_auth(&token)
        .json(&json!({"text": "Bonjour, nous corrigeons la facture."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let sent = env.relay.wait(1).await;
    let (recipients, raw) = &sent[0];
    assert_eq!(recipients, &vec!["amelie@example.com".to_owned()]);
    let parsed = channels::email::parse(
        raw.as_bytes(),
        channels::email::Envelope::default(),
        &|_| false,
    )
    .unwrap();
    let answer = parsed.email();
    assert_eq!(answer.from, "support@shop.test");
    assert_eq!(answer.from_name, "Support");
    assert_eq!(answer.in_reply_to.as_deref(), Some("first-1@example.com"));
    assert_eq!(answer.references, vec!["first-1@example.com".to_owned()]);
    let reference = flow::email::subject_reference(uuid::Uuid::parse_str(&iid).unwrap());
    assert_eq!(answer.subject, format!("Re: Facture erronée {reference}"));
    assert!(
        answer
            .text
            .starts_with("Bonjour, nous corrigeons la facture."),
        "{}",
        answer.text
    );
    assert!(
        answer
            .text
            .contains("> Bonjour, la facture que vous m'avez envoyée"),
        "{}",
        answer.text
    );
    assert_eq!(
        runtime::email::interaction_of(&answer.message_id).map(|u| u.to_string()),
        Some(iid.clone())
    );
    // the customer answers the agent's email: it joins the interaction and reaches the agent
    let again = format!(
        "From: amelie@example.com\r\nTo: support@shop.test\r\nSubject: Re: {}\r\nMessage-ID: <thanks-5@example.com>\r\nIn-Reply-To: <{}>\r\n\r\nMerci !\r\n",
        answer.subject, answer.message_id
    );
    env.send("amelie@example.com", "support@shop.test", &again)
        .await
        .unwrap();
    assert_eq!(env.interactions().await.len(), 1);
    let d = env.detail(&iid).await;
    assert_eq!(d["system"]["email"]["message_id"], "thanks-5@example.com");
    // the reply's delivery is on the outbox row: the history has no failure
    assert!(!d.to_string().contains("\"failed\""), "{d:#}");
    // she closes it
    let r = agent
        .post(format!("{}/agent/conversations/{iid}/close", env.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(env.detail(&iid).await["status"], "closed");
}

/// Start → *Send an email* (the ACK template from the mailbox, to the sender, a copy to an
/// address the relay refuses) → *Partially sent* → *Transfer the email* to billing (the original
/// attached); each other branch notes where it went.
fn acknowledging_routing() -> Value {
    let assign = |path: &str| json!({"assignments": [{"variable": "path", "value": path}]});
    let actions = [
        ("start", json!({})),
        (
            "send_email",
            json!({"template": {"by": "reference", "reference": "ACK"}, "template_variables": [{"field": "name", "value": "{{ customer.name }}"}, {"field": "subject", "value": "{{ email.subject }}"}], "send": {"type": "basic", "mailbox": {"by": "reference", "reference": "support"}}, "to": ["{{ email.from }}"], "cc": ["refuse-boss@shop.test"]}),
        ),
        (
            "transfer_email",
            json!({"mailbox": {"by": "reference", "reference": "support"}, "to": ["billing@shop.test"], "comment": "For you", "close_interaction": false}),
        ),
        ("assign_variables", assign("transferred")),
        ("assign_variables", assign("acknowledged")),
        ("assign_variables", assign("ack failed: {{ system.error }}")),
        ("assign_variables", assign("no template")),
        (
            "assign_variables",
            assign("transfer failed: {{ system.error }}"),
        ),
    ];
    let links = [
        (0, "ok", 1),
        (1, "partially_sent", 2),
        (1, "ok", 4),
        (1, "error", 5),
        (1, "reference_not_found", 6),
        (2, "ok", 3),
        (2, "error", 7),
    ];
    document("ACK", "interaction_start", &actions, &links)
}

#[tokio::test]
async fn send_an_email_and_transfer_the_email_take_their_branches() {
    let env = Env::start(channels::email::limits::MESSAGE_BYTES).await;
    // a file the template attaches: its bytes are the body, its type the Content-Type
    let pdf = b"%PDF-1.4\n% conditions generales\n%%EOF\n".to_vec();
    let upload = |name: &str, content_type: &str, body: Vec<u8>| {
        env.http
            .post(
                reqwest::Url::parse_with_params(&format!("{}/files", env.base), [("name", name)])
                    .unwrap(),
            )
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let r = upload("Conditions générales.pdf", "application/pdf", pdf.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let file: Value = r.json().await.unwrap();
    assert_eq!(
        (&file["name"], &file["content_type"], &file["size"]),
        (
            &json!("Conditions générales.pdf"),
            &json!("application/pdf"),
            &json!(pdf.len())
        )
    );
    let file_id = file["id"].as_str().unwrap().to_owned();
    let bytes = env
        .http
        .get(format!("{}/files/{file_id}/content", env.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.to_vec(), pdf);
    for (name, content_type, body, code) in [
        ("empty.txt", "text/plain", Vec::new(), "invalid_field"),
        (
            "../etc/passwd",
            "text/plain",
            b"x".to_vec(),
            "invalid_field",
        ),
        ("a.txt", "not a type", b"x".to_vec(), "invalid_field"),
    ] {
        let r = upload(name, content_type, body).await.unwrap();
        assert_eq!(r.status(), 422, "{name}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["code"], code, "{p}");
    }
    // over the server's body limit: refused while read
    let r = upload(
        "big.bin",
        "application/octet-stream",
        vec![7; 11 * 1024 * 1024],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 413);
    // a template cannot attach a file that is not stored
    let (s, p) = env
        .call(Method::POST, "email-templates", Some(json!({"reference": "GHOST", "name": "Ghost", "data": {"subject": "s", "text": "t", "attachments": [uuid::Uuid::now_v7()]}})))
        .await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")), "{p}");
    let (s, t) = env
        .call(Method::POST, "email-templates", Some(json!({"reference": "ACK", "name": "Acknowledgement", "data": {"subject": "We got your message: {{ subject }}", "text": "Hello {{ name }}, we will answer soon.", "html": "<p>Hello {{ name }}</p>", "variables": ["name", "subject"], "attachments": [file_id]}})))
        .await;
    assert_eq!(s, 201, "{t}");
    // the file cannot go while the template attaches it
    let (s, p) = env
        .call(Method::DELETE, &format!("files/{file_id}"), None)
        .await;
    assert_eq!((s, p["code"].as_str()), (409, Some("in_use")), "{p}");
    let (s, _) = env
        .call(
            Method::POST,
            "email-templates",
            Some(json!({"reference": "BAD", "name": "Bad", "data": {"subject": "", "text": "x"}})),
        )
        .await;
    assert_eq!(s, 422);
    let (s, r) = env
        .call(
            Method::POST,
            "routings/import",
            Some(acknowledging_routing()),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, ep) = env
        .call(Method::POST, "entry-points", Some(json!({"reference": "support", "name": "Support", "channel": "email", "address": "support@shop.test", "start_routing_id": r["routing"]["id"]})))
        .await;
    assert_eq!(s, 201, "{ep}");

    // a person writes: acknowledged (the copy refused: Partially sent), then transferred
    env.send("amelie@example.com", "support@shop.test", FIRST)
        .await
        .unwrap();
    let sent = env.relay.wait(2).await;
    let d = env
        .detail(env.interactions().await[0]["id"].as_str().unwrap())
        .await;
    assert_eq!(d["variables"]["path"], "transferred", "{d:#}");
    let (to, ack) = &sent[0];
    assert_eq!(to, &vec!["amelie@example.com".to_owned()]);
    let ack = channels::email::parse(
        ack.as_bytes(),
        channels::email::Envelope::default(),
        &|_| false,
    )
    .unwrap();
    assert_eq!(ack.email().subject, "We got your message: Facture erronée");
    assert!(
        ack.email()
            .text
            .contains("Hello Amélie Dupré, we will answer soon."),
        "{:?}",
        ack.email().text
    );
    assert!(ack.email().html.contains("<p>Hello Amélie Dupré</p>"));
    // with the template's attachment, named and typed as uploaded
    let attached = &ack.email().attachments;
    assert_eq!(attached.len(), 1, "{attached:?}");
    assert_eq!(
        (attached[0].name.as_str(), attached[0].content_type.as_str()),
        ("Conditions générales.pdf", "application/pdf")
    );
    assert_eq!(ack.attachments[0].data, pdf);
    // an automatic send says so (RFC 3834)
    assert_eq!(
        ack.email().automatic,
        Some(flow::email::AutoReason::AutoSubmitted)
    );
    let (to, fwd) = &sent[1];
    assert_eq!(to, &vec!["billing@shop.test".to_owned()]);
    let fwd = channels::email::parse(
        fwd.as_bytes(),
        channels::email::Envelope::default(),
        &|_| false,
    )
    .unwrap();
    assert_eq!(fwd.email().subject, "Fwd: Facture erronée");
    assert_eq!(
        fwd.email().in_reply_to.as_deref(),
        Some("first-1@example.com")
    );
    assert_eq!(
        fwd.email().attachments[0].content_type,
        "message/rfc822",
        "{:?}",
        fwd.email().attachments
    );
    assert!(
        String::from_utf8_lossy(&fwd.attachments[0].data)
            .contains("Message-ID: <first-1@example.com>")
    );
    // the history says who got what
    let notes: Vec<&Value> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["event"]["detail"])
        .filter(|n| n["note"] == "email")
        .collect();
    assert_eq!(notes.len(), 2, "{d:#}");
    assert_eq!(
        (
            notes[0]["send_type"].as_str(),
            &notes[0]["to"],
            &notes[0]["refused"]
        ),
        (
            Some("basic"),
            &json!(["amelie@example.com"]),
            &json!(["refuse-boss@shop.test"])
        )
    );
    assert_eq!(
        (notes[1]["send_type"].as_str(), &notes[1]["to"]),
        (Some("transfer"), &json!(["billing@shop.test"]))
    );

    // an auto-reply: the acknowledgement to its sender is left out, the copy refused: Error
    let oof = "From: amelie@example.com\r\nTo: support@shop.test\r\nSubject: Absent\r\nMessage-ID: <oof-9@example.com>\r\nAuto-Submitted: auto-replied\r\n\r\nJe suis absente.\r\n";
    env.send("amelie@example.com", "support@shop.test", oof)
        .await
        .unwrap();
    let list = env.interactions().await;
    assert_eq!(list.len(), 2);
    let d = env.detail(list[0]["id"].as_str().unwrap()).await;
    assert!(
        d["variables"]["path"]
            .as_str()
            .unwrap()
            .starts_with("ack failed:"),
        "{d:#}"
    );
    assert!(
        d.to_string()
            .contains("\"suppressed\":[\"amelie@example.com\"]"),
        "{d:#}"
    );
    // nothing more went to the customer
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(env.relay.wait(2).await.len(), 2);

    // the template gone: Reference not found
    let (_, templates) = env.call(Method::GET, "email-templates", None).await;
    let ack_id = templates["items"][0]["id"].as_str().unwrap().to_owned();
    let (s, _) = env
        .call(Method::DELETE, &format!("email-templates/{ack_id}"), None)
        .await;
    assert_eq!(s, 204);
    // no template attaches the file any more: it can go
    let (s, _) = env
        .call(Method::DELETE, &format!("files/{file_id}"), None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = env
        .call(Method::GET, &format!("files/{file_id}"), None)
        .await;
    assert_eq!(s, 404);
    let again = "From: bob@example.com\r\nTo: support@shop.test\r\nSubject: Hello\r\nMessage-ID: <bob-1@example.com>\r\n\r\nHi\r\n";
    env.send("bob@example.com", "support@shop.test", again)
        .await
        .unwrap();
    let list = env.interactions().await;
    let d = env.detail(list[0]["id"].as_str().unwrap()).await;
    assert_eq!(d["variables"]["path"], "no template", "{d:#}");
}

#[tokio::test]
async fn a_version_in_test_processes_its_mailbox_and_the_end_routing_runs_for_emails() {
    let env = Env::start(channels::email::limits::MESSAGE_BYTES).await;
    let (ep, _) = setup(&env).await;
    let routing = ep["start_routing_id"].as_str().unwrap().to_owned();
    // an interaction-end routing for the mailbox: it notes the subject it closed on
    let end_doc = document(
        "MAIL-END",
        "interaction_end",
        &[
            ("start", json!({})),
            (
                "assign_variables",
                json!({"assignments": [{"variable": "closed_on", "value": "{{ email.subject }}"}]}),
            ),
        ],
        &[(0, "ok", 1)],
    );
    let (s, end) = env
        .call(Method::POST, "routings/import", Some(end_doc))
        .await;
    assert_eq!(s, 201, "{end}");
    // a version in development that only notes its path, put in test on the mailbox
    let (_, v2) = env
        .call(
            Method::POST,
            &format!("routings/{routing}/versions"),
            Some(json!({"name": "trial"})),
        )
        .await;
    let v2 = v2["id"].as_str().unwrap().to_owned();
    let (_, version) = env.call(Method::GET, &format!("versions/{v2}"), None).await;
    let start = version["tree"]["actions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, added) = env
        .call(Method::POST, &format!("versions/{v2}/actions"), Some(json!({"type": "assign_variables", "params": {"assignments": [{"variable": "path", "value": "trial"}]}, "after": {"action_id": start, "branch": "ok"}})))
        .await;
    assert_eq!(s, 201, "{added}");
    let (s, p) = env
        .call(
            Method::POST,
            &format!("versions/{v2}/put-in-test"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let ep_id = ep["id"].as_str().unwrap();
    let (s, p) = env
        .call(
            Method::PATCH,
            &format!("entry-points/{ep_id}"),
            Some(json!({"test_version_id": v2, "end_routing_id": end["routing"]["id"]})),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    // the version's card lists the mailbox to send test emails to
    let (_, card) = env.call(Method::GET, &format!("versions/{v2}"), None).await;
    assert_eq!(card["test_entry_points"][0]["channel"], "email");
    assert_eq!(card["test_entry_points"][0]["address"], "support@shop.test");

    env.send("amelie@example.com", "support@shop.test", FIRST)
        .await
        .unwrap();
    let list = env.interactions().await;
    let test = list
        .iter()
        .find(|i| i["mode"] == "test")
        .expect("a test interaction");
    assert_eq!(test["version_id"], v2.as_str());
    let d = env.detail(test["id"].as_str().unwrap()).await;
    assert_eq!(d["variables"]["path"], "trial");
    assert_eq!(d["status"], "closed");
    // History shows the execution
    let (_, history) = env
        .call(Method::GET, &format!("versions/{v2}/history"), None)
        .await;
    assert_eq!(history["items"][0]["id"], test["id"], "{history:#}");
    // and the end routing ran on the closed email interaction, with its email
    let end_run = list
        .iter()
        .find(|i| i["mode"] == "end")
        .expect("an end run");
    let d = env.detail(end_run["id"].as_str().unwrap()).await;
    assert_eq!(d["system"]["interaction"]["parent"], test["id"]);
    assert_eq!(d["variables"]["closed_on"], "Facture erronée", "{d:#}");
}

#[tokio::test]
async fn the_listener_offers_starttls_with_a_certificate() {
    let env = Env::start(channels::email::limits::MESSAGE_BYTES).await;
    setup(&env).await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = support::mail::certificates(dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_stop, stopped) = watch::channel(false);
    let config = Arc::new(channels::smtp::SmtpConfig {
        tls: Some(Arc::new(channels::smtp::tls_from_pem(&cert, &key).unwrap())),
        ..Default::default()
    });
    let sink = Arc::new(runtime::email::EmailSink(env.server.conversations.clone()));
    tokio::spawn(channels::smtp::serve(listener, config, sink, stopped));
    let root = lettre::transport::smtp::client::Certificate::from_pem(&std::fs::read(&ca).unwrap())
        .unwrap();
    let tls = lettre::transport::smtp::client::TlsParameters::builder("localhost".into())
        .add_root_certificate(root)
        .build_rustls()
        .unwrap();
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("localhost")
        .port(port)
        .tls(lettre::transport::smtp::client::Tls::Required(tls))
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let envelope = Envelope::new(
        Some("amelie@example.com".parse().unwrap()),
        vec!["support@shop.test".parse().unwrap()],
    )
    .unwrap();
    transport
        .send_raw(&envelope, FIRST.as_bytes())
        .await
        .unwrap();
    assert_eq!(env.interactions().await.len(), 1);
}

/// Speaks SMTP by hand: each line sent and the first line of its answer.
async fn converse(port: u16, lines: &[&str]) -> Vec<String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut answers = Vec::new();
    let mut line = String::new();
    read.read_line(&mut line).await.unwrap();
    answers.push(line.trim_end().to_owned());
    for l in lines {
        write.write_all(l.as_bytes()).await.unwrap();
        write.write_all(b"\r\n").await.unwrap();
        // an answer of several lines (EHLO) ends with a line whose code is followed by a space
        loop {
            line.clear();
            if read.read_line(&mut line).await.unwrap() == 0 {
                answers.push("(closed)".into());
                return answers;
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        answers.push(line.trim_end().to_owned());
    }
    answers
}

#[tokio::test]
async fn the_listener_keeps_to_the_protocol_and_its_bounds() {
    let env = Env::start(channels::email::limits::MESSAGE_BYTES).await;
    setup(&env).await;
    let codes = |a: Vec<String>| {
        a.iter()
            .map(|l| l.get(..3).unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    let got = converse(
        env.smtp_port,
        &[
            "MAIL FROM:<a@example.com>",
            "EHLO client.test",
            "RCPT TO:<support@shop.test>",
            "MAIL FROM:<a@example.com> SIZE=999999999999",
            "MAIL FROM:<a@example.com>",
            "DATA",
            "RCPT TO:<nobody@shop.test>",
            "RCPT TO:support@shop.test",
            "VRFY support",
            "NOOP",
            "RSET",
            "STARTTLS",
            "AUTH PLAIN x",
            "BOGUS",
            "QUIT",
        ],
    )
    .await;
    assert_eq!(
        codes(got),
        [
            "220", "503", "250", "503", "552", "250", "554", "550", "501", "252", "250", "250",
            "502", "502", "500", "221"
        ]
    );
    // a command line over the limit closes the session
    let long = format!("HELO {}", "x".repeat(5_000));
    let got = converse(env.smtp_port, &[&long]).await;
    assert_eq!(codes(got), ["220", "500"]);
    // a dot-stuffed message with bare LF line ends is taken as CRLF, its leading dot restored
    let got = converse(env.smtp_port, &["HELO c", "MAIL FROM:<amelie@example.com>", "RCPT TO:<support@shop.test>", "DATA", "From: amelie@example.com\nSubject: dots\nMessage-ID: <dots@example.com>\n\n..leading dot\n.", "QUIT"]).await;
    assert_eq!(
        codes(got),
        ["220", "250", "250", "250", "354", "250", "221"]
    );
    let list = env.interactions().await;
    let d = env.detail(list[0]["id"].as_str().unwrap()).await;
    assert_eq!(d["system"]["email"]["text"], ".leading dot");
}

#[tokio::test]
async fn a_reply_the_relay_refuses_is_given_up_and_recorded() {
    let env = Env::start(channels::email::limits::MESSAGE_BYTES).await;
    let (_, token) = setup(&env).await;
    let refused = FIRST
        .replace("Amelie@Example.com", "refuse-me@example.com")
        .replace("first-1@", "refused-1@");
    env.send("refuse-me@example.com", "support@shop.test", &refused)
        .await
        .unwrap();
    let iid = env.interactions().await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = reqwest::Client::new();
    let r = agent
        .post(format!("{}/agent/conversations/{iid}/accept", env.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = agent
        .post(format!("{}/agent/conversations/{iid}/messages", env.base))
        .bearer_auth(&token)
        .json(&json!({"text": "Hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    for _ in 0..200 {
        let d = env.detail(&iid).await;
        let failed = d["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"]["detail"]["status"] == "failed")
            .cloned();
        if let Some(f) = failed {
            assert!(
                f["event"]["detail"]["error"]
                    .as_str()
                    .unwrap()
                    .contains("refused"),
                "{f:#}"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the refusal was not recorded: {:#}", env.detail(&iid).await);
}

/// The relay over STARTTLS (`smtp://`: required), its certificate signed by a private
/// authority: refused while the authority is not trusted (nothing sent, the failure told),
/// sent once `mail_ca_file`'s authorities are.
#[tokio::test]
async fn the_relay_speaks_starttls_to_a_certificate_of_a_trusted_authority() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = support::mail::certificates(dir.path());
    let peer = Peer::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_stop, stopped) = watch::channel(false);
    let config = Arc::new(channels::smtp::SmtpConfig {
        hostname: "localhost".into(),
        tls: Some(Arc::new(channels::smtp::tls_from_pem(&cert, &key).unwrap())),
        ..Default::default()
    });
    tokio::spawn(channels::smtp::serve(
        listener,
        config,
        Arc::new(peer.clone()),
        stopped,
    ));
    let url = format!("smtp://localhost:{port}");
    let message = channels::relay::Outgoing {
        message_id: "tls-1@shop.test".into(),
        from: "support@shop.test".into(),
        to: vec!["amelie@example.com".into()],
        subject: "Over TLS".into(),
        text: "Bonjour".into(),
        ..Default::default()
    };
    let untrusting = channels::relay::Relay::parse(&url, "sy.test").unwrap();
    let outcomes = channels::relay::send(&untrusting, &message).await.unwrap();
    assert!(
        matches!(
            &outcomes[0].1,
            channels::relay::RecipientOutcome::Failed(why) if !why.is_empty()
        ),
        "{:?}",
        outcomes[0].1
    );
    assert!(peer.got.lock().unwrap().is_empty());
    let authorities =
        channels::relay::MailAuthorities::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
    let trusting = channels::relay::Relay::parse_trusting(&url, "sy.test", &authorities).unwrap();
    let outcomes = channels::relay::send(&trusting, &message).await.unwrap();
    assert_eq!(
        outcomes,
        [(
            "amelie@example.com".to_owned(),
            channels::relay::RecipientOutcome::Accepted
        )]
    );
    let (to, raw) = &peer.wait(1).await[0];
    assert_eq!(to, &vec!["amelie@example.com".to_owned()]);
    assert!(raw.contains("Subject: Over TLS"), "{raw}");
    // a file that holds no certificate is refused
    assert!(channels::relay::MailAuthorities::from_pem(b"not a certificate").is_err());
}

/// The survey of `tests/surveys.rs`, and an email routing whose Start attaches it (every branch
/// of *Survey* ends the routing: the interaction closes).
async fn survey_setup(env: &Env) {
    let (s, survey) = env
        .call(Method::POST, "surveys", Some(json!({"reference": "CSAT", "name": "Satisfaction", "data": {
            "intro": "Two quick questions about your email",
            "questions": [
                {"key": "score", "text": "How would you rate us?", "answer": {"type": "rating", "min": 1, "max": 5}},
                {"key": "solved", "text": "Was your problem solved?", "answer": {"type": "choice", "options": ["Yes", "No"]}},
                {"key": "comment", "text": "Anything to add?", "answer": {"type": "free_text"}}
            ],
            "thanks": "Thank you!"
        }})))
        .await;
    assert_eq!(s, 201, "{survey}");
    let doc = document(
        "mail-survey",
        "interaction_start",
        &[
            ("start", json!({})),
            (
                "survey",
                json!({"survey": {"by": "reference", "reference": "CSAT"}}),
            ),
        ],
        &[(0, "ok", 1)],
    );
    let (s, r) = env.call(Method::POST, "routings/import", Some(doc)).await;
    assert_eq!(s, 201, "{r}");
    let (s, ep) = env
        .call(Method::POST, "entry-points", Some(json!({"reference": "support", "name": "Support", "channel": "email", "address": "support@shop.test", "start_routing_id": r["routing"]["id"]})))
        .await;
    assert_eq!(s, 201, "{ep}");
}

const QUESTION: &str = "From: amelie@example.com\r\nTo: support@shop.test\r\nSubject: Horaires\r\nMessage-ID: <survey-1@example.com>\r\n\r\nQuels sont vos horaires ?\r\n";

#[tokio::test]
async fn an_email_interaction_s_survey_goes_by_email_and_is_answered_on_its_page() {
    let env = Env::start_with(
        channels::email::limits::MESSAGE_BYTES,
        Some("https://help.shop.test/"),
    )
    .await;
    survey_setup(&env).await;
    env.send("amelie@example.com", "support@shop.test", QUESTION)
        .await
        .unwrap();
    // the interaction closed with its routing: the survey's link goes to the customer
    let list = env.interactions().await;
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["status"], "closed");
    let sent = env.relay.wait(1).await;
    assert_eq!(sent[0].0, ["amelie@example.com"]);
    let text = sent[0].1.replace("=\r\n", "");
    assert!(
        text.contains("Two quick questions about your email"),
        "{text}"
    );
    let at = text
        .find("https://help.shop.test/survey/")
        .unwrap_or_else(|| panic!("no link in {text}"));
    let token: String = text[at + "https://help.shop.test/survey/".len()..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "{text}");

    // the page, on the public surface: the form of its questions
    let page = format!("{}/survey/{token}", env.server.public_root);
    let client = reqwest::Client::new();
    let r = client.get(&page).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("How would you rate us?"), "{html}");
    assert_eq!(html.matches("type=\"radio\" name=\"score\"").count(), 5);
    // an answer out of range shows the form again, saying which and keeping what was written
    let answers = |score: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("score", score)
            .append_pair("solved", "Yes")
            .append_pair("comment", "Clair & rapide <merci>")
            .finish()
    };
    let post = |body: String| {
        client
            .post(&page)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let r = post(answers("9")).await.unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("How would you rate us?: Please answer with a number from 1 to 5."),
        "{html}"
    );
    assert!(html.contains("Clair &amp; rapide &lt;merci&gt;"), "{html}");
    let r = post(answers("5")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Thank you!"));
    // taken once
    let r = post(answers("1")).await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("has been answered"));
    let r = client
        .get(format!(
            "{}/survey/{}",
            env.server.public_root,
            "0".repeat(64)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (_, page) = env.call(Method::GET, "survey-responses", None).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["status"], "completed");
    assert_eq!(items[0]["channel"], "email");
    assert_eq!(
        items[0]["answers"],
        json!({"score": 5, "solved": "Yes", "comment": "Clair & rapide <merci>"})
    );
}

#[tokio::test]
async fn a_survey_by_email_needs_the_public_url_of_its_page() {
    let env = Env::start(channels::email::limits::MESSAGE_BYTES).await;
    survey_setup(&env).await;
    env.send("amelie@example.com", "support@shop.test", QUESTION)
        .await
        .unwrap();
    let list = env.interactions().await;
    let d = env.detail(list[0]["id"].as_str().unwrap()).await;
    assert_eq!(branches(&d), ["ok", "error"], "{d:#}");
    assert!(
        d["system"]["system"]["error"]
            .as_str()
            .unwrap()
            .contains("public_url"),
        "{d:#}"
    );
    let (_, page) = env.call(Method::GET, "survey-responses", None).await;
    assert_eq!(page["items"], json!([]));
}
