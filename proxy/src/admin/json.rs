//! JSON replies in the assignment's shape and formatting.
//!
//! Bodies are `{"message": ..., "status": "successful" | "failure"}`, written
//! with Python's default separators (`", "` and `": "`) so they match the
//! reference implementation byte for byte, not only value for value.

use std::io;

use bytes::Bytes;
use serde::Serialize;
use serde_json::ser::Formatter;

/// An HTTP status and a JSON body (and, rarely, a header more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
    /// Headers besides `Content-Type` and `Content-Length`.
    pub headers: Vec<(&'static str, &'static str)>,
}

impl Reply {
    /// `{"message": <message>, "status": "successful"}`.
    pub fn success(status: u16, message: impl Serialize) -> Reply {
        Reply::envelope(status, message, "successful")
    }

    /// `{"message": "<message>", "status": "failure"}`.
    pub fn failure(status: u16, message: impl Into<String>) -> Reply {
        Reply::envelope(status, message.into(), "failure")
    }

    /// The same reply with one header more.
    pub fn with_header(mut self, name: &'static str, value: &'static str) -> Reply {
        self.headers.push((name, value));
        self
    }

    fn envelope(status: u16, message: impl Serialize, outcome: &str) -> Reply {
        #[derive(Serialize)]
        struct Envelope<'a, M> {
            message: M,
            status: &'a str,
        }
        Reply {
            status,
            body: Bytes::from(to_python_json(&Envelope {
                message,
                status: outcome,
            })),
            headers: Vec::new(),
        }
    }
}

/// Serializes like Python's `json.dumps` with default separators.
pub fn to_python_json(value: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    // Serializing plain data into a Vec cannot fail.
    if value.serialize(&mut ser).is_err() {
        return br#"{"message": "<Error> internal serialization error", "status": "failure"}"#
            .to_vec();
    }
    out
}

struct PythonFormatter;

/// `", "` before every element but the first.
fn separator<W: ?Sized + io::Write>(w: &mut W, first: bool) -> io::Result<()> {
    if first {
        Ok(())
    } else {
        w.write_all(b", ")
    }
}

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separator(w, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separator(w, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_python() {
        #[derive(Serialize)]
        struct Rep {
            #[serde(rename = "N")]
            n: usize,
            replicas: Vec<&'static str>,
        }
        let r = Reply::success(
            200,
            Rep {
                n: 3,
                replicas: vec!["Server1", "Server2", "Server3"],
            },
        );
        assert_eq!(
            r.body,
            r#"{"message": {"N": 3, "replicas": ["Server1", "Server2", "Server3"]}, "status": "successful"}"#
        );
        let e = Reply::failure(
            400,
            "<Error> '/other' endpoint does not exist in server replicas",
        );
        assert_eq!(
            e.body,
            r#"{"message": "<Error> '/other' endpoint does not exist in server replicas", "status": "failure"}"#
        );
    }
}
