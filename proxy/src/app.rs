//! Assembling ringlb from its settings: the fleet, its provisioner, and the
//! Pingora services (proxy, admin, health keeper) in one `Server`.

use std::net::SocketAddr;
use std::sync::Arc;

use pingora::server::Server;
use pingora::services::background::background_service;
use pingora_core::listeners::{L4BufferSettings, ListenerConfig};
use pingora_core::services::listening::Service;
use tokio::sync::mpsc;

use crate::admin::{AccessPolicy, AdminApi, AdminService, HeaderLimits};
use crate::clients::{ConnGate, Deadlines, Guarded, ADMIN_MAX_CONNECTIONS};
use crate::config::Settings;
use crate::fleet::{Fleet, FleetOptions, FleetParts, Ownership};
use crate::health::{Heartbeat, Inputs, Keeper};
use crate::metrics::Metrics;
use crate::provision::{Provisioned, Provisioner, Timeouts};
use crate::proxy::{AccessLog, RingProxy};
use crate::ring::RingSpec;
use crate::upgrade::Handover;

/// Handles `main` keeps: to hand over on SIGQUIT and to clean up after
/// the server stops.
pub struct Running {
    pub provisioner: Arc<dyn Provisioner>,
    pub fleet: Arc<Fleet>,
    pub handover: Arc<Handover>,
}

/// A TCP listener whose connections get `read_buffer` bytes of userspace
/// read buffer (Pingora's `add_tcp` always gives 64 KiB, which is most of
/// what an idle connection costs; see `clients.read_buffer_bytes`).
fn client_listener(addr: SocketAddr, read_buffer: usize) -> ListenerConfig {
    ListenerConfig::tcp(addr.to_string()).l4_buffer(L4BufferSettings::default().read(read_buffer))
}

/// Adds ringlb's services to `server`.
pub fn install(server: &mut Server, settings: &Settings) -> Result<Running, String> {
    // Before anything is started: a log that cannot be opened stops start-up.
    let access_log = settings
        .access_log
        .as_ref()
        .map(|target| {
            AccessLog::open(target)
                .map_err(|e| format!("ringlb.access_log.path: cannot open {target}: {e}"))
        })
        .transpose()?;
    let Provisioned {
        provisioner,
        discovery,
        exits,
    } = crate::provision::build(
        &settings.replicas.provisioner,
        Timeouts {
            start: settings.replicas.start_timeout,
            stop: settings.replicas.stop_timeout,
        },
    )?;
    let metrics = Arc::new(Metrics::new());
    let spec = RingSpec {
        slots: settings.ring.slots,
        vnodes: settings.ring.vnodes,
        family: settings.ring.family.build(),
    };
    let fleet = Arc::new(Fleet::new(
        FleetParts {
            spec,
            provisioner: provisioner.clone(),
            ownership: match &discovery {
                Some(_) => Ownership::Engine,
                None => Ownership::Ringlb,
            },
            probe: Arc::new(Heartbeat),
            metrics: metrics.clone(),
        },
        FleetOptions {
            max_replicas: settings.replicas.max,
            start_timeout: settings.replicas.start_timeout,
            drain_timeout: settings.replicas.drain_timeout,
            health: settings.health.clone(),
        },
    ));
    let (suspects_tx, suspects_rx) = mpsc::channel(64);
    let handover = Arc::new(Handover::new(crate::upgrade::pid_file(
        &server.configuration.upgrade_sock,
    )));
    let access = AccessPolicy::new(
        settings.admin.token.clone(),
        settings.admin.access.allow_remote_changes,
        provisioner.local_gateways(),
    );
    let api = Arc::new(AdminApi::new(
        fleet.clone(),
        settings.admin.max_body_bytes,
        access,
        metrics.clone(),
    ));

    let keeper = background_service(
        "ringlb health keeper",
        Keeper::new(
            fleet.clone(),
            settings.replicas.initial.clone(),
            settings.health.interval,
            Inputs {
                exits,
                suspects: suspects_rx,
                discovery,
            },
            handover.clone(),
        ),
    );

    let proxy_logic = RingProxy::new(
        settings,
        fleet.ring(),
        settings.admin.on_proxy_port.then(|| api.clone()),
        suspects_tx,
        metrics.clone(),
        access_log,
        handover.clone(),
    );
    let c = &settings.clients;
    let deadlines = Deadlines {
        header: c.header_timeout,
        idle: c.idle_timeout,
    };
    let proxy_app = Guarded::new(
        "proxy",
        pingora_proxy::http_proxy(&server.configuration, proxy_logic),
        ConnGate::new(c.max_connections.unwrap_or(usize::MAX), c.max_per_client),
        deadlines,
    )
    .counted_in(metrics.clone())
    .rehoming(c.rehome);
    let mut proxy = Service::new("ringlb proxy".to_string(), proxy_app);
    proxy.add_listener(client_listener(settings.listen, c.read_buffer_bytes));

    let admin_app = Guarded::new(
        "admin",
        AdminService::new(
            api,
            HeaderLimits {
                max_headers: c.max_headers,
                max_header_bytes: c.max_header_bytes,
            },
        ),
        ConnGate::new(ADMIN_MAX_CONNECTIONS, None),
        deadlines,
    );
    let mut admin = Service::new("ringlb admin".to_string(), admin_app);
    admin.add_listener(client_listener(settings.admin.listen, c.read_buffer_bytes));
    admin.threads = Some(1);

    let keeper = server.add_service(keeper);
    let proxy = server.add_service(proxy);
    let admin = server.add_service(admin);
    // Serve only once the initial replicas answered.
    proxy.add_dependency(&keeper);
    admin.add_dependency(&keeper);
    Ok(Running {
        provisioner,
        fleet,
        handover,
    })
}
