//! The `ringlb` binary: parse flags and config, assemble, run, clean up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{RunArgs, Server};
use ringlb::config::Settings;

mod tidy;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ringlb: a consistent-hashing HTTP load balancer.
#[derive(Parser, Debug)]
#[command(name = "ringlb", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    pingora: Opt,
    /// Override `ringlb.listen` (the proxy's address).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Override `ringlb.admin.listen`.
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
}

const DEFAULT_CONF: &str = "conf/ringlb.yaml";

/// Whether replica names handed over by the old process fit this (maybe
/// changed) config: as many as `replicas.max` allows and the ring holds.
fn fits(settings: &Settings, names: &[String]) -> Result<(), String> {
    let (n, max) = (names.len() as u64, u64::from(settings.replicas.max));
    if n > max {
        return Err(format!("{n} replicas, replicas.max is {max}"));
    }
    let (vnodes, slots) = (
        u128::from(settings.ring.vnodes),
        u128::from(settings.ring.slots),
    );
    if u128::from(n) * vnodes > slots {
        return Err(format!(
            "{n} replicas x {vnodes} virtual nodes > {slots} slots"
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    // Millisecond timestamps: failover is measured in milliseconds, and
    // operators (and tests) read detection times off the log.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    let mut cli = Cli::parse();
    let path = PathBuf::from(
        cli.pingora
            .conf
            .get_or_insert_with(|| DEFAULT_CONF.to_string())
            .clone(),
    );

    let mut settings = match Settings::load(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ringlb: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(l) = cli.listen {
        settings.listen = l;
    }
    if let Some(l) = cli.admin_listen {
        settings.admin.listen = l;
    }
    // Pingora's own keys, checked now so -t covers them too.
    let mut conf = match ServerConf::load_yaml_with_opt_override(&cli.pingora) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ringlb: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    settings.pingora.apply(&mut conf);
    // Per-thread pools need a reactor per thread (proxy/worker.rs).
    settings.upstream.pool_per_thread &= !conf.work_stealing;
    // A reactor per thread, more than one, and no read-ahead to carry over
    // (clients/rehome.rs).
    settings.clients.rehome &=
        conf.threads > 1 && !conf.work_stealing && settings.clients.read_buffer_bytes == 0;
    if cli.pingora.test {
        println!("ringlb: {} is valid", path.display());
        return ExitCode::SUCCESS;
    }
    if cli.pingora.daemon || conf.daemon {
        // Daemonizing forks after ringlb's own threads (replica supervision,
        // the Docker client) have started; they would not survive it.
        eprintln!("ringlb: daemon mode is not supported; run ringlb under a service manager (systemd, Docker) instead");
        return ExitCode::from(2);
    }
    let nofile = ringlb::limits::raise_nofile();
    if settings.clients.max_connections.is_none() {
        let budget = ringlb::clients::connection_budget(nofile.unwrap_or(1024));
        log::info!("at most {budget} client connections (from the open-file limit; ringlb.clients.max_connections sets it)");
        settings.clients.max_connections = Some(budget);
    }

    let handover_file = ringlb::upgrade::handover_file(&conf.upgrade_sock);
    let pid_file = ringlb::upgrade::pid_file(&conf.upgrade_sock);
    let upgrading = cli.pingora.upgrade;
    // Pingora reads `-u` from the options; the config was loaded above.
    let mut opt = cli.pingora;
    opt.conf = None;
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    // With -u: blocks until the running process sends its sockets.
    server.bootstrap();
    if let Err(e) = ringlb::upgrade::write_pid(&pid_file) {
        log::warn!("cannot write {}: {e}", pid_file.display());
    }
    if upgrading {
        match ringlb::upgrade::read_names(&handover_file) {
            Ok((pid, names)) => match fits(&settings, &names) {
                Ok(()) => {
                    log::info!(
                        "upgrade: taking over {} replica(s) from process {pid}: {}",
                        names.len(),
                        names.join(", ")
                    );
                    settings.replicas.initial = names;
                }
                Err(why) => log::warn!(
                    "upgrade: the replicas of process {pid} do not fit this config ({why}); starting the configured ones"
                ),
            },
            Err(e) => log::warn!(
                "upgrade: no replica names from the old process ({e}); starting the configured ones"
            ),
        }
    }
    let running = match ringlb::app::install(&mut server, &settings) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ringlb: {e}");
            ringlb::upgrade::remove_pid(&pid_file);
            return ExitCode::FAILURE;
        }
    };
    log::info!(
        "ringlb proxy on {}, admin on {}",
        settings.listen,
        settings.admin.listen
    );
    // Freed memory back to the OS while idle (see tidy.rs); joined at exit.
    let tidy = tidy::Tidy::start(std::time::Duration::from_secs(1));
    server.run(RunArgs {
        shutdown_signal: Box::new(ringlb::upgrade::UpgradeSignal {
            fleet: running.fleet.clone(),
            handover: running.handover.clone(),
            file: handover_file,
            provisioner: running.provisioner.clone(),
            pid_file: pid_file.clone(),
        }),
    });
    // Pingora may have ended the health keeper before it handed over (its
    // runtime is cut after the grace period), so the hand-over is decided
    // here once more: containers stay for the new process, child
    // processes stop.
    if running.handover.taken_over() && running.provisioner.hand_over() {
        log::info!("upgrade: done, the new process serves the replicas");
    } else {
        if running.handover.in_progress() {
            log::warn!(
                "upgrade: no new process took over ({} names none); stopping the replicas",
                pid_file.display()
            );
        }
        log::info!("stopping replicas");
        running.provisioner.stop_all_blocking();
    }
    ringlb::upgrade::remove_pid(&pid_file);
    drop(tidy);
    ExitCode::SUCCESS
}
