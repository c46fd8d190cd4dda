//! The admin API calls the experiments make: list, add, remove, and "make
//! the membership exactly this".

use bytes::Bytes;
use http::Method;
use serde::Deserialize;

use super::{Cluster, ClusterError};
use crate::client::HttpClient;

#[derive(Deserialize)]
struct Envelope {
    message: serde_json::Value,
    status: String,
}

#[derive(Deserialize)]
struct Listing {
    #[serde(rename = "N")]
    n: usize,
    replicas: Vec<String>,
}

impl Cluster {
    /// `GET /rep`: the replica hostnames.
    pub async fn replicas(&self) -> Result<Vec<String>, ClusterError> {
        self.listing_with(&self.client).await
    }

    pub(super) async fn listing_with(
        &self,
        client: &HttpClient,
    ) -> Result<Vec<String>, ClusterError> {
        self.call(client, Method::GET, "/rep", None).await
    }

    /// `POST /add` with exactly these hostnames.
    pub async fn add(&self, names: &[String]) -> Result<Vec<String>, ClusterError> {
        let body = serde_json::json!({ "n": names.len(), "hostnames": names });
        self.call(&self.client, Method::POST, "/add", Some(body.to_string()))
            .await
    }

    /// `DELETE /rm` of exactly these hostnames.
    pub async fn remove(&self, names: &[String]) -> Result<Vec<String>, ClusterError> {
        let body = serde_json::json!({ "n": names.len(), "hostnames": names });
        self.call(&self.client, Method::DELETE, "/rm", Some(body.to_string()))
            .await
    }

    /// Removes and adds replicas until the membership is exactly `desired`.
    pub async fn set_members(&self, desired: &[String]) -> Result<(), ClusterError> {
        let current = self.replicas().await?;
        let extra: Vec<String> = current
            .iter()
            .filter(|c| !desired.contains(c))
            .cloned()
            .collect();
        let missing: Vec<String> = desired
            .iter()
            .filter(|d| !current.contains(d))
            .cloned()
            .collect();
        if !extra.is_empty() {
            self.remove(&extra).await?;
        }
        if !missing.is_empty() {
            self.add(&missing).await?;
        }
        let mut now = self.replicas().await?;
        let mut want = desired.to_vec();
        now.sort();
        want.sort();
        if now != want {
            return Err(ClusterError::Admin {
                call: "set members".into(),
                message: format!("wanted {want:?}, ringlb has {now:?}"),
            });
        }
        Ok(())
    }

    async fn call(
        &self,
        client: &HttpClient,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Vec<String>, ClusterError> {
        let call = format!("{method} {path}");
        let fail = |message: String| ClusterError::Admin {
            call: call.clone(),
            message,
        };
        let reply = client
            .send(
                method.clone(),
                &self.admin_uri(path),
                None,
                body.map(Bytes::from),
            )
            .await
            .map_err(|e| fail(e.to_string()))?;
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        if !reply.status.is_success() {
            return Err(fail(format!("{}: {text}", reply.status)));
        }
        let env: Envelope =
            serde_json::from_slice(&reply.body).map_err(|e| fail(format!("{e}: {text}")))?;
        if env.status != "successful" {
            return Err(fail(text));
        }
        let listing: Listing =
            serde_json::from_value(env.message).map_err(|e| fail(format!("{e}: {text}")))?;
        if listing.n != listing.replicas.len() {
            return Err(fail(format!("N disagrees with the list: {text}")));
        }
        Ok(listing.replicas)
    }
}
