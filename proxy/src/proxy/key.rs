//! Where a request's hash key comes from.
//!
//! The key source is chosen once in config. A numeric value becomes the
//! request id `i` (so the assignment's `H(i)` sees the number); any other
//! value is hashed by the ring's family. With no key present, the request
//! draws a random 6-digit id, exactly as the assignment's clients do.

use pingora_proxy::Session;
use rand::Rng;

use crate::config::KeySource;
use crate::ring::{RequestKey, Ring};

/// The ring slot for this request.
pub fn slot_for(source: &KeySource, session: &Session, ring: &Ring) -> u64 {
    let req = session.req_header();
    let found =
        match source {
            KeySource::Header(name) => req
                .headers
                .get(name.as_str())
                .map(|v| ring.slot_of(RequestKey::parse(v.as_bytes()))),
            KeySource::Query(name) => req
                .uri
                .query()
                .and_then(|q| find_pair(q.as_bytes(), b'&', name.as_bytes()))
                .map(|v| ring.slot_of(RequestKey::parse(v))),
            KeySource::Cookie(name) => req
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .find_map(|h| find_pair(h.as_bytes(), b';', name.as_bytes()))
                .map(|v| ring.slot_of(RequestKey::parse(v))),
            KeySource::ClientIp => session
                .client_addr()
                .and_then(|a| a.as_inet())
                .map(|a| match a.ip() {
                    std::net::IpAddr::V4(ip) => ring.slot_of(RequestKey::Bytes(&ip.octets())),
                    std::net::IpAddr::V6(ip) => ring.slot_of(RequestKey::Bytes(&ip.octets())),
                }),
            KeySource::Path => Some(ring.slot_of(RequestKey::Bytes(req.uri.path().as_bytes()))),
            KeySource::Random => None,
        };
    found.unwrap_or_else(|| ring.slot_of(RequestKey::Id(random_id())))
}

/// A random 6-digit request id, as the assignment's clients send.
pub fn random_id() -> u64 {
    rand::rng().random_range(100_000..1_000_000)
}

/// The value of `name` in `k=v<sep>k=v...` (query strings, cookies), with
/// surrounding spaces trimmed. No percent-decoding: keys are opaque bytes.
fn find_pair<'a>(list: &'a [u8], sep: u8, name: &[u8]) -> Option<&'a [u8]> {
    list.split(|b| *b == sep).find_map(|pair| {
        let pair = pair.trim_ascii();
        let eq = pair.iter().position(|b| *b == b'=')?;
        (pair[..eq].trim_ascii() == name).then(|| pair[eq + 1..].trim_ascii())
    })
}

#[cfg(test)]
mod tests {
    use super::find_pair;

    #[test]
    fn finds_pairs() {
        assert_eq!(find_pair(b"a=1&id=42&b=2", b'&', b"id"), Some(&b"42"[..]));
        assert_eq!(find_pair(b"sid=x; id=7", b';', b"id"), Some(&b"7"[..]));
        assert_eq!(find_pair(b"a=1&ids=4", b'&', b"id"), None);
        assert_eq!(find_pair(b"", b'&', b"id"), None);
        assert_eq!(find_pair(b"id", b'&', b"id"), None);
        assert_eq!(find_pair(b"id=", b'&', b"id"), Some(&b""[..]));
    }
}
