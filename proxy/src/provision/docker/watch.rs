//! Replica exits, as the Engine reports them: a `die` event for one of our
//! containers that nobody asked to stop becomes an [`Exited`], so the fleet
//! replaces the replica at once instead of waiting for missed heartbeats.
//!
//! The event stream is filtered by our owner label. If it breaks (daemon
//! restart), we reconnect; after every (re)connect a sweep compares the
//! containers we track with what runs, so an exit missed in between is
//! still reported.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::containers::owner_filter;
use super::Shared;

/// Pause before reconnecting a broken event stream.
const RECONNECT: Duration = Duration::from_millis(500);

/// Runs until `shutdown` fires (or its sender is dropped).
pub async fn watch(shared: &Shared, mut shutdown: oneshot::Receiver<()>) {
    let path = format!(
        "/events?filters={}",
        owner_filter(
            &shared.settings.owner,
            json!({ "type": ["container"], "event": ["die"] })
        )
    );
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            ended = follow(shared, &path) => {
                log::warn!("docker event stream ended ({ended}); reconnecting");
            }
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(RECONNECT) => {}
        }
    }
}

/// Follows one event stream until it ends; why it ended.
async fn follow(shared: &Shared, path: &str) -> String {
    let mut lines = match shared.engine.stream(path).await {
        Ok(l) => l,
        Err(e) => return e.to_string(),
    };
    sweep(shared).await;
    loop {
        match lines.next().await {
            Ok(Some(event)) => on_event(shared, &event),
            Ok(None) => return "closed by the Engine".to_string(),
            Err(e) => return e,
        }
    }
}

fn on_event(shared: &Shared, event: &Value) {
    let Some(id) = event
        .pointer("/Actor/ID")
        .or_else(|| event.get("id"))
        .and_then(Value::as_str)
    else {
        return;
    };
    let code = event
        .pointer("/Actor/Attributes/exitCode")
        .and_then(Value::as_str)
        .unwrap_or("?");
    shared.exited(
        |tracked_id| tracked_id == id,
        false,
        &format!("exit code {code}"),
    );
}

/// Reports tracked containers that no longer run.
async fn sweep(shared: &Shared) {
    match shared.engine.list(&shared.settings.owner).await {
        Ok(listed) => shared.exited(
            |id| !listed.iter().any(|c| c.id == id && c.running),
            true,
            "found not running",
        ),
        Err(e) => log::warn!("docker sweep: {e}"),
    }
}
