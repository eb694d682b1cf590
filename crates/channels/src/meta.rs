//! What WhatsApp and Messenger (Meta's Graph API webhooks) share: the subscription handshake and
//! the `X-Hub-Signature-256` check.

use crate::ChannelError;

/// The header carrying a Meta webhook's signature.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn unsigned(why: &str) -> ChannelError {
    ChannelError::Invalid("invalid_signature", format!("X-Hub-Signature-256 {why}"))
}

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>` over the exact
/// bytes received, in constant time. The header is ASCII, `sha256=` then 64 lower-case hex
/// digits, or refused.
pub fn verify(app_secret: &str, body: &[u8], header: Option<&[u8]>) -> Result<(), ChannelError> {
    use hmac::{KeyInit, Mac};
    let header = header.ok_or_else(|| unsigned("is missing"))?;
    let hex = header
        .strip_prefix(b"sha256=")
        .ok_or_else(|| unsigned("must begin with sha256="))?;
    if hex.len() != 64
        || !hex
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Err(unsigned("must be sha256= and 64 lower-case hex digits"));
    }
    let nibble = |b: u8| {
        if b.is_ascii_digit() {
            b - b'0'
        } else {
            b - b'a' + 10
        }
    };
    let tag: Vec<u8> = hex
        .chunks(2)
        .map(|p| (nibble(p[0]) << 4) | nibble(p[1]))
        .collect();
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(app_secret.as_bytes())
        .map_err(|_| unsigned("cannot be checked"))?;
    mac.update(body);
    mac.verify_slice(&tag)
        .map_err(|_| unsigned("does not match the body under the app secret"))
}

/// The signature a body would carry (for tests and stand-ins).
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    crate::http::sign(app_secret, body)
}

/// Meta's subscription handshake, from the raw query string: `hub.mode=subscribe`,
/// `hub.verify_token` equal to the entry point's (constant time) → the `hub.challenge` to
/// answer.
pub fn handshake(raw_query: &str, verify_token: &str) -> Result<String, ChannelError> {
    let refused = |why: &str| ChannelError::Invalid("verification_failed", why.to_owned());
    if raw_query.len() > 4_096 {
        return Err(refused("the query is too long"));
    }
    let (mut mode, mut token, mut challenge) = (None, None, None);
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        match k.as_ref() {
            "hub.mode" => mode = Some(v.into_owned()),
            "hub.verify_token" => token = Some(v.into_owned()),
            "hub.challenge" => challenge = Some(v.into_owned()),
            _ => {}
        }
    }
    if mode.as_deref() != Some("subscribe") {
        return Err(refused("hub.mode must be subscribe"));
    }
    let token = token.ok_or_else(|| refused("hub.verify_token is missing"))?;
    if !same(token.as_bytes(), verify_token.as_bytes()) {
        return Err(refused("hub.verify_token is not the entry point's"));
    }
    let challenge = challenge.ok_or_else(|| refused("hub.challenge is missing"))?;
    if challenge.is_empty()
        || challenge.len() > 256
        || !challenge.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(refused(
            "hub.challenge must be 1 to 256 visible ASCII characters",
        ));
    }
    Ok(challenge)
}

/// Equal in time independent of where they differ (the length is not secret).
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A Graph API error answer.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct GraphError {
    #[serde(default)]
    pub error: GraphErrorBody,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct GraphErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub error_subcode: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_strictly() {
        let body = br#"{"object":"page","entry":[]}"#;
        let good = sign("app secret", body);
        assert!(verify("app secret", body, Some(good.as_bytes())).is_ok());
        assert!(verify("other secret", body, Some(good.as_bytes())).is_err());
        assert!(verify("app secret", b"{}", Some(good.as_bytes())).is_err());
        assert!(verify("app secret", body, None).is_err());
        let upper = format!("sha256={}", good["sha256=".len()..].to_uppercase());
        assert!(verify("app secret", body, Some(upper.as_bytes())).is_err());
        let sha1 = format!("sha1={}", &good["sha256=".len()..]);
        assert!(verify("app secret", body, Some(sha1.as_bytes())).is_err());
        assert!(verify("app secret", body, Some("sha256=é".as_bytes())).is_err());
        assert!(verify("app secret", body, Some(&[0xff, 0xfe])).is_err());
        assert!(verify("app secret", body, Some(b"sha256=")).is_err());
    }

    #[test]
    fn a_published_vector_checks() {
        // RFC 4231, test case 2 (HMAC-SHA256, key "Jefe")
        let header = b"sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert!(verify("Jefe", b"what do ya want for nothing?", Some(header)).is_ok());
        assert!(verify("Jefe", b"what do ya want for nothing!", Some(header)).is_err());
    }

    #[test]
    fn the_handshake_answers_the_challenge_to_the_right_token_only() {
        let q = "hub.mode=subscribe&hub.verify_token=my%20token&hub.challenge=1158201444";
        assert_eq!(handshake(q, "my token").unwrap(), "1158201444");
        assert!(handshake(q, "my tokeN").is_err());
        assert!(
            handshake(
                "hub.mode=unsubscribe&hub.verify_token=my%20token&hub.challenge=1",
                "my token"
            )
            .is_err()
        );
        assert!(handshake("hub.mode=subscribe&hub.challenge=1", "my token").is_err());
        assert!(handshake("hub.mode=subscribe&hub.verify_token=my%20token", "my token").is_err());
        assert!(
            handshake(
                "hub.mode=subscribe&hub.verify_token=my%20token&hub.challenge=%3Cscript%3E%20",
                "my token"
            )
            .is_err()
        );
    }
}
