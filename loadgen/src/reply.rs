//! Reading a replica's identity out of its `/home` answer.
//!
//! The replica says who it is in the body:
//! `{"message": "Hello from Server: <ID>", "status": "successful"}`. That is
//! the only way a client can tell which replica the balancer chose, so this
//! parse is what every per-replica count rests on.

const PREFIX: &str = "Hello from Server: ";

/// The replica id in a `/home` body, or `None` if the body is not one.
pub fn replica_of(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if v.get("status")?.as_str()? != "successful" {
        return None;
    }
    let id = v.get("message")?.as_str()?.strip_prefix(PREFIX)?;
    (!id.is_empty()).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::replica_of;

    #[test]
    fn reads_the_server_id() {
        let body = br#"{"message": "Hello from Server: Server2", "status": "successful"}"#;
        assert_eq!(replica_of(body).as_deref(), Some("Server2"));
        assert_eq!(
            replica_of(br#"{"status":"successful","message":"Hello from Server: a b"}"#).as_deref(),
            Some("a b")
        );
    }

    #[test]
    fn rejects_other_bodies() {
        assert_eq!(replica_of(b""), None);
        assert_eq!(replica_of(b"not json"), None);
        assert_eq!(
            replica_of(br#"{"message": "Hello from Server: ", "status": "successful"}"#),
            None
        );
        assert_eq!(
            replica_of(br#"{"message": "Hello from Server: S1", "status": "failure"}"#),
            None
        );
        assert_eq!(
            replica_of(br#"{"message": {"N": 3}, "status": "successful"}"#),
            None
        );
    }
}
