//! The replica's responses, rendered once.
//!
//! Every body is built at start-up; serving a request clones `Bytes` (a
//! reference-count bump) and sets two headers.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

/// Pre-rendered bodies for one replica identity.
#[derive(Clone)]
pub struct Responses {
    home: Bytes,
}

impl Responses {
    pub fn new(id: &str) -> Self {
        Responses {
            home: Bytes::from(envelope(&format!("Hello from Server: {id}"), "successful")),
        }
    }

    /// Routes one request; never fails.
    pub fn answer<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        let path = req.uri().path();
        let known = matches!(path, "/home" | "/heartbeat");
        if known && !matches!(*req.method(), Method::GET | Method::HEAD) {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("<Error> method {} is not allowed on '{path}'", req.method()),
            );
        }
        match path {
            "/home" => json(StatusCode::OK, self.home.clone()),
            "/heartbeat" => {
                let mut resp = Response::new(Full::new(Bytes::new()));
                resp.headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
                resp
            }
            _ => error(
                StatusCode::NOT_FOUND,
                &format!("<Error> '{path}' endpoint does not exist in server replicas"),
            ),
        }
    }
}

fn json(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let len = body.len();
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    resp
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json(status, Bytes::from(envelope(message, "failure")))
}

/// `{"message": "...", "status": "..."}` with Python's `json.dumps`
/// separators, byte for byte what the reference replica sends.
fn envelope(message: &str, status: &str) -> String {
    let quoted = serde_json::Value::from(message).to_string();
    format!("{{\"message\": {quoted}, \"status\": \"{status}\"}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Request<()> {
        Request::builder().uri(path).body(()).unwrap()
    }

    #[test]
    fn home_names_the_replica() {
        let r = Responses::new("Server7").answer(&get("/home"));
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.into_body();
        let bytes = futures_body(body);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["message"], "Hello from Server: Server7");
        assert_eq!(v["status"], "successful");
        assert_eq!(
            bytes,
            r#"{"message": "Hello from Server: Server7", "status": "successful"}"#
        );
    }

    #[test]
    fn heartbeat_is_empty_and_unknown_is_404() {
        let rs = Responses::new("x");
        let hb = rs.answer(&get("/heartbeat"));
        assert_eq!(hb.status(), StatusCode::OK);
        assert!(futures_body(hb.into_body()).is_empty());
        assert_eq!(rs.answer(&get("/nope")).status(), StatusCode::NOT_FOUND);
        let post = Request::builder()
            .method(Method::POST)
            .uri("/home")
            .body(())
            .unwrap();
        assert_eq!(rs.answer(&post).status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    fn futures_body(body: Full<Bytes>) -> Bytes {
        use http_body_util::BodyExt;
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(body.collect())
            .unwrap()
            .to_bytes()
    }
}
