//! `ringlb-backend`: the server replica that ringlb balances over.
//!
//! It is deliberately tiny: `GET /home` answers with the replica's identity
//! (taken from `SERVER_ID`), `GET /heartbeat` answers 200 with an empty body
//! so the load balancer can tell it is alive, and everything else gets a JSON
//! error. HTTP is parsed by hyper; responses are rendered once at start-up so
//! the request path only clones reference-counted bytes.

mod args;
mod responses;
mod serve;

use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = match args::Args::from_env() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("ringlb-backend: {message}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{}", args::USAGE);
        return ExitCode::SUCCESS;
    }
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ringlb-backend: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
