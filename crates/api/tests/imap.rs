//! A mailbox read over IMAP from a real Dovecot (Debian's `dovecot-imapd`, installed by
//! `scripts/dovecot-setup.sh`; each test starts its own instance with a private configuration,
//! user and maildir on a free loopback port): messages already there and messages arriving
//! later (IDLE) become interactions once each, are flagged `\Seen`, and a second server on the
//! same data reads none of them again.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

mod support;

const USER: &str = "support@shop.test";
const PASSWORD: &str = "dovecot-test-password-1";

struct Dovecot {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dovecot_binary() -> PathBuf {
    ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("Dovecot is not installed: run scripts/dovecot-setup.sh (scripts/test.sh does)")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn id_of(flag: &str) -> String {
    let out = Command::new("id").arg(flag).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl Dovecot {
    fn start() -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["run", "mail"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        // Dovecot's login processes never run as root: under root the package's own users
        // serve the test, otherwise the user running it
        let root = id_of("-u") == "0";
        let (internal, login, mail_user, mail_group) = if root {
            (
                "dovecot".to_owned(),
                "dovenull".to_owned(),
                "dovecot".to_owned(),
                "dovecot".to_owned(),
            )
        } else {
            let me = id_of("-un");
            (me.clone(), me.clone(), me, id_of("-gn"))
        };
        std::fs::write(
            d.join("users"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .unwrap();
        let port = free_port();
        let config = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {run}\nstate_dir = {run}\nlog_path = {log}\nssl = no\n\
             disable_plaintext_auth = no\nauth_mechanisms = plain login\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n\
             default_internal_user = {internal}\ndefault_internal_group = {mail_group}\ndefault_login_user = {login}\n\
             passdb {{\n  driver = passwd-file\n  args = {users}\n}}\n\
             userdb {{\n  driver = static\n  args = uid={mail_user} gid={mail_group} home={mail}/%u\n}}\n\
             mail_location = maildir:{mail}/%u/Maildir\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n",
            run = d.join("run").display(),
            log = d.join("log").display(),
            users = d.join("users").display(),
            mail = d.join("mail").display(),
        );
        std::fs::write(d.join("dovecot.conf"), config).unwrap();
        if root {
            let status = Command::new("chown")
                .args(["-R", "dovecot:dovecot"])
                .arg(d.join("mail"))
                .status()
                .unwrap();
            assert!(status.success());
        }
        let child = Command::new(dovecot_binary())
            .arg("-F")
            .arg("-c")
            .arg(d.join("dovecot.conf"))
            .spawn()
            .expect("dovecot starts");
        let dovecot = Dovecot {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return dovecot;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "Dovecot did not listen: {}",
            std::fs::read_to_string(dovecot._dir.path().join("log")).unwrap_or_default()
        );
    }

    async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap();
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .unwrap()
    }

    /// Puts a message in INBOX, as a delivery would.
    async fn deliver(&self, raw: &str) {
        let mut s = self.session().await;
        s.append("INBOX", None, None, raw.as_bytes()).await.unwrap();
        s.logout().await.unwrap();
    }

    /// The UIDs flagged `\Seen`.
    async fn seen(&self) -> Vec<u32> {
        let mut s = self.session().await;
        s.select("INBOX").await.unwrap();
        let mut seen: Vec<u32> = s.uid_search("SEEN").await.unwrap().into_iter().collect();
        seen.sort_unstable();
        let _ = s.logout().await;
        seen
    }
}

fn message(n: usize) -> String {
    format!(
        "From: Ana <ana@example.com>\r\nTo: {USER}\r\nSubject: Question {n}\r\nMessage-ID: <imap-{n}@example.com>\r\nImportance: high\r\n\r\nQuestion number {n}.\r\n"
    )
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, format!("{base}/api/v1/{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn subjects(http: &reqwest::Client, base: &str) -> Vec<String> {
    let (_, list) = call(http, base, Method::GET, "interactions?limit=100", None).await;
    let mut out = Vec::new();
    for i in list["items"].as_array().unwrap() {
        let (_, d) = call(
            http,
            base,
            Method::GET,
            &format!("interactions/{}", i["id"].as_str().unwrap()),
            None,
        )
        .await;
        out.push(
            d["system"]["email"]["subject"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    out.sort();
    out
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mailbox_read_over_imap_becomes_interactions_once_each() {
    let dovecot = Dovecot::start();
    dovecot.deliver(&message(1)).await;
    dovecot.deliver(&message(2)).await;
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let http = support::admin_client();
    let base = server.root.clone();
    let doc = json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": "MAIL", "name": "Mail", "kind": "interaction_start", "channel_family": "email"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": [{"id": uuid::Uuid::from_u128(1), "type": "start", "params": {}}, {"id": uuid::Uuid::from_u128(2), "type": "test_email_priority", "params": {}}],
            "links": [{"id": uuid::Uuid::from_u128(11), "from": uuid::Uuid::from_u128(1), "branch": "ok", "to": uuid::Uuid::from_u128(2)}]
        }}]
    });
    let (s, r) = call(&http, &base, Method::POST, "routings/import", Some(doc)).await;
    assert_eq!(s, 201, "{r}");
    // the IMAP account is write-only: only its names are shown
    let (s, ep) = call(&http, &base, Method::POST, "entry-points", Some(json!({"reference": "support", "name": "Support", "channel": "email", "address": USER, "start_routing_id": r["routing"]["id"],
        "secrets": {"imap_host": "127.0.0.1", "imap_port": dovecot.port.to_string(), "imap_username": USER, "imap_password": PASSWORD, "imap_tls": "none"}}))).await;
    assert_eq!(s, 201, "{ep}");
    assert!(!ep.to_string().contains(PASSWORD));
    assert_eq!(ep["secrets_set"].as_array().unwrap().len(), 5, "{ep}");
    let (s, p) = call(&http, &base, Method::POST, "entry-points", Some(json!({"reference": "bad", "name": "Bad", "channel": "email", "address": "bad@shop.test", "secrets": {"imap_host": "127.0.0.1", "imap_tls": "maybe"}}))).await;
    assert_eq!(s, 422, "{p}");

    // the messages already there are read, each once, and flagged \Seen
    until("the two messages became interactions", async || {
        subjects(&http, &base).await == ["Question 1", "Question 2"]
    })
    .await;
    until("both were flagged seen", async || {
        dovecot.seen().await == [1, 2]
    })
    .await;
    // a message arriving later is read at once (IDLE)
    dovecot.deliver(&message(3)).await;
    until("the third message became an interaction", async || {
        subjects(&http, &base).await.len() == 3
    })
    .await;
    let (_, list) = call(&http, &base, Method::GET, "interactions?limit=100", None).await;
    let first = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, d) = call(
        &http,
        &base,
        Method::GET,
        &format!("interactions/{first}"),
        None,
    )
    .await;
    assert_eq!(
        d["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["type"] == "branch")
            .map(|e| e["event"]["branch"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["ok", "high"]
    );
    // where reading stands is kept with the folder's UIDVALIDITY; a new reader (the entry point
    // changed, as after a restart) starts from there and reads only what is new
    let ep_id = uuid::Uuid::parse_str(ep["id"].as_str().unwrap()).unwrap();
    let (validity, last) = store::InteractionStore::imap_state(&server.store, ep_id)
        .await
        .unwrap()
        .unwrap();
    assert!(validity > 0);
    assert_eq!(last, 3);
    let (s, _) = call(
        &http,
        &base,
        Method::PATCH,
        &format!("entry-points/{ep_id}"),
        Some(json!({"name": "Support desk"})),
    )
    .await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    dovecot.deliver(&message(4)).await;
    until("the fourth message became an interaction", async || {
        subjects(&http, &base).await.len() == 4
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        subjects(&http, &base).await,
        ["Question 1", "Question 2", "Question 3", "Question 4"]
    );
    assert_eq!(
        store::InteractionStore::imap_state(&server.store, ep_id)
            .await
            .unwrap(),
        Some((validity, 4))
    );
    assert_eq!(dovecot.seen().await, [1, 2, 3, 4]);
}
