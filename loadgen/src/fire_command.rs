//! `ringlb-load fire`: load a balancer that is already running.

use std::time::Duration;

use http::{HeaderName, Uri};

use crate::cli::FireArgs;
use crate::client::HttpClient;
use crate::fire::{fire, Load};
use crate::keys::KeyPlan;
use crate::report::FireReport;

pub async fn command(args: FireArgs) -> Result<(), String> {
    let uri: Uri = args
        .url
        .parse()
        .map_err(|e| format!("--url {:?}: {e}", args.url))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(format!(
            "--url must be http://host[:port]/path, got {:?}",
            args.url
        ));
    }
    let header = HeaderName::from_bytes(args.header_name.as_bytes()).map_err(|_| {
        format!(
            "--header-name {:?} is not a valid header name",
            args.header_name
        )
    })?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let plan = KeyPlan::from_flags(args.requests, args.ids, args.no_key, seed);
    let concurrency = args.concurrency.max(1);
    let client = HttpClient::new(concurrency, Duration::from_millis(args.timeout_ms.max(1)));
    let load = Load {
        uri,
        header: (!args.no_key).then_some(header),
        keys: plan.keys(),
        concurrency,
        pace: None,
        progress: true,
    };
    let run = fire(&client, &load).await;
    let report = FireReport::new(&run, &args.url, plan.describe(), concurrency);
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", report.table());
    }
    Ok(())
}
