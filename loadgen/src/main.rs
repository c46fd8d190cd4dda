//! `ringlb-load`: load generator and analysis runner for ringlb.
//!
//! The assignment asks for measurements (A-1..A-4) that need a running
//! balancer, a client sending keyed requests, and charts. This binary does
//! all three from one command each, and computes the ring's own prediction
//! offline so that every measurement can be checked against it.

mod chart;
mod cli;
mod client;
mod cluster;
mod experiments;
mod fire;
mod fire_command;
mod keys;
mod offline;
mod reply;
mod report;
mod setup;
mod stats;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use experiments::{a1, a2, a3, a4, all, moves, offline as offline_cmd, skew, LabError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Offline(args) = cli.command {
        return finish(offline_cmd::command(args).map_err(|e| e.to_string()));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return finish(Err(format!("cannot start the async runtime: {e}"))),
    };
    // Clusters are started from this (the main) thread, never from a spawned
    // task: see cluster::launch.
    let result = runtime.block_on(async {
        tokio::select! {
            r = dispatch(cli.command) => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted; stopping what was started".into()),
        }
    });
    finish(result)
}

async fn dispatch(command: Command) -> Result<(), String> {
    let lab = |r: Result<(), LabError>| r.map_err(|e| e.to_string());
    match command {
        Command::Fire(a) => fire_command::command(a).await,
        Command::A1(a) => lab(a1::command(a).await),
        Command::A2(a) => lab(a2::command(a).await),
        Command::A3(a) => lab(a3::command(a).await),
        Command::A4(a) => lab(a4::command(a).await),
        Command::Moves(a) => lab(moves::command(a).await),
        Command::Zipf(a) => lab(skew::zipf(a).await),
        Command::Slow(a) => lab(skew::slow(a).await),
        Command::Churn(a) => lab(skew::churn(a).await),
        Command::All(a) => lab(all::command(a).await),
        Command::Offline(a) => lab(offline_cmd::command(a)),
    }
}

fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringlb-load: {e}");
            ExitCode::FAILURE
        }
    }
}
