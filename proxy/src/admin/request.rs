//! Parsing `/add` and `/rm` bodies: `{"n": <int>, "hostnames": [<str>...]}`.
//!
//! Each way a body can be wrong gets its own message; `hostnames` may be
//! omitted (or null) and means "none named".

use serde_json::Value;

/// A parsed membership change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRequest {
    pub n: u64,
    pub hostnames: Vec<String>,
}

/// Parses a change body; the error is the message for a 400.
pub fn parse_change(body: &[u8]) -> Result<ChangeRequest, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(
            "<Error> request body must be a JSON object like {\"n\": 1, \"hostnames\": [\"S1\"]}"
                .to_string(),
        );
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("<Error> malformed JSON: {e}"))?;
    let Value::Object(map) = value else {
        return Err("<Error> request body must be a JSON object".to_string());
    };
    if let Some(k) = map.keys().find(|k| *k != "n" && *k != "hostnames") {
        return Err(format!(
            "<Error> unknown field {k:?}; expected \"n\" and \"hostnames\""
        ));
    }
    let n = match map.get("n") {
        None | Some(Value::Null) => return Err("<Error> \"n\" is required".to_string()),
        Some(Value::Number(num)) => match (num.as_u64(), num.as_i64()) {
            (Some(n), _) => n,
            (None, Some(neg)) => {
                return Err(format!("<Error> \"n\" must not be negative, got {neg}"))
            }
            _ => return Err(format!("<Error> \"n\" must be an integer, got {num}")),
        },
        Some(other) => {
            return Err(format!(
                "<Error> \"n\" must be an integer, got {}",
                kind(other)
            ))
        }
    };
    let hostnames = match map.get("hostnames") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "<Error> \"hostnames\" must be a list of strings, found {} in it",
                    kind(other)
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "<Error> \"hostnames\" must be a list of strings, got {}",
                kind(other)
            ))
        }
    };
    Ok(ChangeRequest { n, hostnames })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_seed_bodies() {
        let r =
            parse_change(br#"{"n": 3, "hostnames": ["Server0", "Server1", "Server2"]}"#).unwrap();
        assert_eq!(r.n, 3);
        assert_eq!(r.hostnames, ["Server0", "Server1", "Server2"]);
        assert_eq!(parse_change(br#"{"n": 2}"#).unwrap().hostnames.len(), 0);
        assert_eq!(
            parse_change(br#"{"n": 2, "hostnames": null}"#).unwrap().n,
            2
        );
    }

    #[test]
    fn rejects_each_kind_of_bad_body() {
        for (body, needle) in [
            (&b""[..], "must be a JSON object"),
            (b"{", "malformed JSON"),
            (b"[1]", "must be a JSON object"),
            (br#"{"n": "3"}"#, "must be an integer"),
            (br#"{"n": 1.5}"#, "must be an integer"),
            (br#"{"n": -1}"#, "must not be negative"),
            (br#"{"n": 1e40}"#, "must be an integer"),
            (br#"{"hostnames": []}"#, "is required"),
            (br#"{"n": 1, "hostnames": "S1"}"#, "must be a list"),
            (
                br#"{"n": 1, "hostnames": [1]}"#,
                "\"hostnames\" must be a list of strings, found a number in it",
            ),
            (br#"{"n": 1, "extra": 1}"#, "unknown field"),
        ] {
            let e = parse_change(body).unwrap_err();
            assert!(
                e.contains(needle),
                "{:?}: {e}",
                String::from_utf8_lossy(body)
            );
            assert!(e.starts_with("<Error> "));
        }
    }
}
