//! Mail servers and certificates of the email tests, shared by the API's tests and the
//! binary's end-to-end tests: a real Dovecot (Debian's `dovecot-imapd`, installed by
//! `scripts/dovecot-setup.sh`), each test starting its own instance with a private
//! configuration, user and maildir on free loopback ports; and a test authority with a
//! `localhost` certificate, made with Debian's `openssl`.

// each test file uses its own part of it
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

pub const USER: &str = "support@shop.test";
pub const PASSWORD: &str = "dovecot-test-password-1";

pub struct Dovecot {
    child: Child,
    /// Plain IMAP (the tests' own sessions).
    pub port: u16,
    /// IMAP over TLS, when started with a certificate.
    pub tls_port: Option<u16>,
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
    /// Plain IMAP only.
    pub fn start() -> Dovecot {
        Dovecot::start_with(None)
    }

    /// Plain IMAP, and IMAP over TLS with this certificate and key (PEM files).
    pub fn start_tls(cert: &Path, key: &Path) -> Dovecot {
        Dovecot::start_with(Some((cert, key)))
    }

    fn start_with(tls: Option<(&Path, &Path)>) -> Dovecot {
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
        let tls_port = tls.map(|_| free_port());
        let ssl = match tls {
            None => "ssl = no".to_owned(),
            Some((cert, key)) => format!(
                "ssl = yes\nssl_cert = <{}\nssl_key = <{}",
                cert.display(),
                key.display()
            ),
        };
        let config = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {run}\nstate_dir = {run}\nlog_path = {log}\n{ssl}\n\
             disable_plaintext_auth = no\nauth_mechanisms = plain login\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n\
             default_internal_user = {internal}\ndefault_internal_group = {mail_group}\ndefault_login_user = {login}\n\
             passdb {{\n  driver = passwd-file\n  args = {users}\n}}\n\
             userdb {{\n  driver = static\n  args = uid={mail_user} gid={mail_group} home={mail}/%u\n}}\n\
             mail_location = maildir:{mail}/%u/Maildir\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = {imaps}\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n",
            run = d.join("run").display(),
            log = d.join("log").display(),
            users = d.join("users").display(),
            mail = d.join("mail").display(),
            imaps = tls_port.unwrap_or(0),
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
            tls_port,
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

    pub async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
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
    pub async fn deliver(&self, raw: &str) {
        let mut s = self.session().await;
        s.append("INBOX", None, None, raw.as_bytes()).await.unwrap();
        s.logout().await.unwrap();
    }

    /// The UIDs flagged `\Seen`.
    pub async fn seen(&self) -> Vec<u32> {
        let mut s = self.session().await;
        s.select("INBOX").await.unwrap();
        let mut seen: Vec<u32> = s.uid_search("SEEN").await.unwrap().into_iter().collect();
        seen.sort_unstable();
        let _ = s.logout().await;
        seen
    }
}

/// A test authority and a certificate for `localhost` it signed, made with Debian's `openssl`
/// (kept in `dir`): (authority, certificate, key).
pub fn certificates(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let p = |name: &str| dir.join(name);
    let run = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?}");
    };
    std::fs::write(
        p("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Switchyard test authority",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    (p("ca.pem"), p("cert.pem"), p("key.pem"))
}
